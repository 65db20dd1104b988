import { useEffect, useRef, useState } from "preact/hooks";
import {
  PRIORITIES,
  PRIORITY_LABEL,
  STATUS_LABEL,
  STATUSES,
  type Task,
  type TaskEdit,
  type TaskPriority,
  type TaskStatus,
} from "../api/types";
import {
  type DataState,
  data,
  deleteTask,
  displayed,
  fetchTask,
  isPending,
  loadComments,
  memberName,
  updateTask,
} from "../app/data";
import { navigate, patchRoute, router } from "../app/router";
import { formatDateTime, textOn, timeAgo } from "../lib/format";
import { useStore } from "../lib/store";
import { Comments } from "./Comments";
import { ConfirmDialog } from "./ConfirmDialog";

const selectAll = (s: DataState) => s;

interface DraftHandlers {
  onInput: (value: string) => void;
  /** The edit was saved or abandoned: follow the task again. */
  done: () => void;
  /** The task as it was when the user started typing: the version the edit is based on. */
  base: () => Task;
}

/**
 * Text saved when the field loses focus (or on Enter). It follows remote changes until the user
 * types; from the first keystroke the edit is based on the version they saw then, so a change
 * made elsewhere meanwhile surfaces as a conflict (412) instead of being overwritten.
 */
function useDraft(task: Task, field: "title" | "description"): [string, (v: string) => void, DraftHandlers] {
  const value = task[field];
  const [draft, setDraft] = useState(value);
  const editingFrom = useRef<Task | null>(null);
  useEffect(() => {
    if (!editingFrom.current) setDraft(value);
  }, [value]);
  return [
    draft,
    setDraft,
    {
      onInput: (v) => {
        if (!editingFrom.current) editingFrom.current = task;
        setDraft(v);
      },
      done: () => {
        editingFrom.current = null;
      },
      base: () => editingFrom.current ?? task,
    },
  ];
}

/** Every field of a task, its comments, and who made it when. Opens beside the board or the list. */
export function TaskDetail(props: { taskId: string }) {
  const state = useStore(data, selectAll);
  const task = displayed(state, props.taskId);
  const [missing, setMissing] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    setMissing(false);
    void loadComments(props.taskId);
    // Into the panel, unless the user is already in it (effects run after paint: never steal focus).
    const panel = heading.current?.closest("aside");
    if (!panel?.contains(document.activeElement)) heading.current?.focus();
  }, [props.taskId]);

  // Not on the current board (a shared link, or deleted meanwhile): ask the cluster.
  useEffect(() => {
    if (task || !state.tasksLoaded) return;
    let cancelled = false;
    fetchTask(props.taskId)
      .then((t) => {
        if (cancelled) return;
        if (!t) setMissing(true);
        else if (t.projectId !== state.projectId) {
          const r = router.get().route;
          navigate({
            view: r.view === "list" ? "list" : "board",
            projectId: t.projectId,
            taskId: t.id,
            filters: {},
          });
        }
      })
      .catch(() => setMissing(true));
    return () => {
      cancelled = true;
    };
  }, [props.taskId, task === undefined, state.tasksLoaded, state.projectId]);

  const close = () => {
    patchRoute({ taskId: undefined });
    // Back to the card the panel was opened from, when it is still there.
    setTimeout(() => {
      document
        .querySelector<HTMLElement>(
          `[data-task-id="${CSS.escape(props.taskId)}"] .card-main, [data-row-id="${CSS.escape(props.taskId)}"] button`,
        )
        ?.focus();
    }, 0);
  };

  return (
    <aside class="detail" aria-labelledby="detail-heading">
      <header class="detail-header">
        <h2 id="detail-heading" tabIndex={-1} ref={heading}>
          Task details
        </h2>
        <button type="button" class="icon-button" aria-label="Close task details (Escape)" onClick={close}>
          ✕
        </button>
      </header>
      {task ? (
        <TaskFields task={task} state={state} onDeleted={close} />
      ) : missing ? (
        <p class="notice notice-warn" role="alert">
          This task does not exist any more (it may have been deleted elsewhere), or you cannot see it.
        </p>
      ) : (
        <p class="muted">Loading…</p>
      )}
      {task && <Comments taskId={task.id} />}
    </aside>
  );
}

function TaskFields(props: { task: Task; state: DataState; onDeleted: () => void }) {
  const { task, state } = props;
  const [title, setTitle, titleDraft] = useDraft(task, "title");
  const [description, , descDraft] = useDraft(task, "description");
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [titleError, setTitleError] = useState<string | null>(null);
  const save = (edit: TaskEdit) => void updateTask(task, edit);
  const pending = isPending(state, task.id) && !task.id.startsWith("pending-");
  const readOnly = task.id.startsWith("pending-");

  const saveTitle = () => {
    const t = title.trim();
    const base = titleDraft.base();
    titleDraft.done();
    if (!t) {
      setTitleError("A task needs a title.");
      setTitle(task.title);
      return;
    }
    setTitleError(null);
    if (t !== base.title) void updateTask(base, { title: t });
  };

  const saveDescription = () => {
    const base = descDraft.base();
    descDraft.done();
    if (description !== base.description) void updateTask(base, { description });
  };

  return (
    <div class="detail-fields">
      <label class="field">
        <span>Title</span>
        <input
          class="detail-title"
          value={title}
          maxLength={200}
          disabled={readOnly}
          aria-invalid={titleError !== null}
          onInput={(e) => titleDraft.onInput(e.currentTarget.value)}
          onBlur={saveTitle}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              saveTitle();
            }
          }}
        />
        {titleError && <small class="field-error">{titleError}</small>}
      </label>

      <div class="field-grid">
        <label class="field">
          <span>Status</span>
          <select
            value={task.status}
            disabled={readOnly}
            onChange={(e) => save({ status: e.currentTarget.value as TaskStatus })}
          >
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_LABEL[s]}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>Priority</span>
          <select
            value={task.priority}
            disabled={readOnly}
            onChange={(e) => save({ priority: e.currentTarget.value as TaskPriority })}
          >
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {PRIORITY_LABEL[p]}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>Due date</span>
          <span class="with-button">
            <input
              type="date"
              value={task.dueDate ?? ""}
              disabled={readOnly}
              onChange={(e) => save({ dueDate: e.currentTarget.value || null })}
            />
            {task.dueDate && (
              <button
                type="button"
                class="icon-button"
                aria-label="Clear the due date"
                onClick={() => save({ dueDate: null })}
              >
                ✕
              </button>
            )}
          </span>
        </label>
        <label class="field">
          <span>Assignee</span>
          <select
            value={task.assigneeId ?? ""}
            disabled={readOnly}
            onChange={(e) => save({ assigneeId: e.currentTarget.value || null })}
          >
            <option value="">Unassigned</option>
            {state.members.map((m) => (
              <option key={m.userId} value={m.userId}>
                {m.displayName || m.username}
              </option>
            ))}
            {task.assigneeId && !state.members.some((m) => m.userId === task.assigneeId) && (
              <option value={task.assigneeId}>{memberName(state, task.assigneeId)}</option>
            )}
          </select>
        </label>
        <label class="field">
          <span>Project</span>
          <select
            value={task.projectId}
            disabled={readOnly}
            onChange={(e) => save({ projectId: e.currentTarget.value })}
          >
            {state.projects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
      </div>

      <fieldset class="field labels-field">
        <legend>Labels</legend>
        {state.labels.length === 0 && (
          <span class="muted">This project has no labels (add some in its settings ⚙).</span>
        )}
        <div class="label-options">
          {state.labels.map((l) => {
            const on = task.labelIds.includes(l.id);
            return (
              <label key={l.id} class={on ? "label-option label-option-on" : "label-option"}>
                <input
                  type="checkbox"
                  checked={on}
                  disabled={readOnly}
                  onChange={() =>
                    save({
                      labelIds: on ? task.labelIds.filter((x) => x !== l.id) : [...task.labelIds, l.id],
                    })
                  }
                />
                <span class="label-chip" style={{ background: l.color, color: textOn(l.color) }}>
                  {l.name}
                </span>
              </label>
            );
          })}
        </div>
      </fieldset>

      <label class="field">
        <span>Description</span>
        <textarea
          rows={6}
          maxLength={10000}
          value={description}
          disabled={readOnly}
          placeholder="Add details… (saved when you leave the field, or Ctrl+Enter)"
          onInput={(e) => descDraft.onInput(e.currentTarget.value)}
          onBlur={saveDescription}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              saveDescription();
            }
          }}
        />
      </label>

      <dl class="detail-meta">
        <div>
          <dt>Created</dt>
          <dd>
            {formatDateTime(task.createdAt)} by {memberName(state, task.createdBy)}
          </dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>
            <time dateTime={task.updatedAt} title={formatDateTime(task.updatedAt)}>
              {timeAgo(task.updatedAt)}
            </time>{" "}
            · version {task.version}
            {pending && <span class="muted"> · saving…</span>}
          </dd>
        </div>
        {task.completedAt && (
          <div>
            <dt>Completed</dt>
            <dd>{formatDateTime(task.completedAt)}</dd>
          </div>
        )}
      </dl>

      <div class="detail-actions">
        <button
          type="button"
          class="button button-danger"
          disabled={readOnly}
          onClick={() => setConfirmDelete(true)}
        >
          Delete task…
        </button>
      </div>
      <ConfirmDialog
        open={confirmDelete}
        title="Delete this task?"
        message={`“${task.title}” and its comments are deleted on every node.`}
        confirmLabel="Delete task"
        danger
        onCancel={() => setConfirmDelete(false)}
        onConfirm={() => {
          setConfirmDelete(false);
          props.onDeleted();
          void deleteTask(task);
        }}
      />
    </div>
  );
}
