import { useState } from "preact/hooks";
import { newIdempotencyKey } from "../api/client";
import { PRIORITIES, PRIORITY_LABEL, type TaskPriority } from "../api/types";
import { createTask } from "../app/data";

/**
 * Adds a task to the end of To do. Enter adds and keeps the focus here for the next one; the
 * `n` shortcut focuses it from anywhere. One Idempotency-Key per submitted title.
 */
export function QuickAdd(props: { disabled?: boolean }) {
  const [title, setTitle] = useState("");
  const [priority, setPriority] = useState<TaskPriority>("medium");

  const submit = (e: Event) => {
    e.preventDefault();
    const t = title.trim();
    if (!t) return;
    setTitle("");
    void createTask({ title: t, priority }, newIdempotencyKey());
  };

  return (
    <form class="quick-add" onSubmit={submit} aria-label="Quick add a task">
      <label class="visually-hidden" for="quick-add-title">
        New task title
      </label>
      <input
        id="quick-add-title"
        class="quick-add-input"
        placeholder="Add a task… (n, then Enter)"
        maxLength={200}
        autoComplete="off"
        value={title}
        disabled={props.disabled}
        onInput={(e) => setTitle(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            setTitle("");
            e.currentTarget.blur();
          }
        }}
      />
      <label class="visually-hidden" for="quick-add-priority">
        Priority
      </label>
      <select
        id="quick-add-priority"
        value={priority}
        disabled={props.disabled}
        onChange={(e) => setPriority(e.currentTarget.value as TaskPriority)}
      >
        {PRIORITIES.map((p) => (
          <option key={p} value={p}>
            {PRIORITY_LABEL[p]}
          </option>
        ))}
      </select>
      <button type="submit" class="button button-primary" disabled={props.disabled || !title.trim()}>
        Add
      </button>
    </form>
  );
}
