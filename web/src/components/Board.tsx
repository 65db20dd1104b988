import { useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { STATUS_LABEL, STATUSES, type Task, type TaskStatus } from "../api/types";
import {
  boardColumns,
  type DataState,
  data,
  deleteTask,
  isPending,
  memberName,
  moveTask,
  reloadProject,
} from "../app/data";
import { patchRoute } from "../app/router";
import { isSameSpot, type Place, placeAt } from "../lib/board-order";
import { useStore } from "../lib/store";
import { ConfirmDialog } from "./ConfirmDialog";
import { QuickAdd } from "./QuickAdd";
import { type MoveCommand, TaskCard } from "./TaskCard";

const selectAll = (s: DataState) => s;
const isReal = (t: Task) => !t.id.startsWith("pending-");
/** How long after a keyboard move the focus follows the moved card. */
const FOCUS_FOLLOW_MS = 2_000;

function focusCard(status: TaskStatus, index: number): boolean {
  const cards = document.querySelectorAll<HTMLButtonElement>(`[data-column="${status}"] .card-main`);
  const el = cards[Math.max(0, Math.min(index, cards.length - 1))];
  el?.focus();
  return el !== undefined;
}

/** Where in `list` (the column without the dragged card) the pointer at `y` drops it. */
function dropIndex(list: HTMLElement, draggedId: string | null, y: number): number {
  const cards = [...list.querySelectorAll<HTMLElement>("[data-task-id]")].filter(
    (el) => el.dataset["taskId"] !== draggedId,
  );
  const i = cards.findIndex((el) => {
    const r = el.getBoundingClientRect();
    return y < r.top + r.height / 2;
  });
  return i < 0 ? cards.length : i;
}

/**
 * The kanban board: To do, In progress, Done. Cards move by drag and drop, by Alt+arrow keys on
 * a focused card, or through each card's menu; every way ends in the same PATCH with
 * beforeId/afterId, shown at once and rolled back if the cluster refuses it.
 */
export function Board() {
  const state = useStore(data, selectAll);
  const columns = useMemo(
    () => boardColumns(state),
    [state.tasks, state.overlays, state.creating, state.projectId],
  );
  const [dragId, setDragId] = useState<string | null>(null);
  const [drop, setDrop] = useState<{ status: TaskStatus; index: number } | null>(null);
  const [announcement, setAnnouncement] = useState("");
  const [confirmDelete, setConfirmDelete] = useState<Task | null>(null);
  const focusAfterMove = useRef<{ id: string; status: TaskStatus; at: number } | null>(null);

  // After a keyboard move the card is re-rendered (in another column it is a new element, and a
  // reordered one loses the focus when the DOM moves it): put the focus back on it, right after
  // each commit (a layout effect: a deferred effect could run against the DOM before the move).
  // Only while the focus is lost or still on that card, and only briefly, so it never steals it.
  useLayoutEffect(() => {
    const pending = focusAfterMove.current;
    if (!pending) return;
    if (Date.now() - pending.at > FOCUS_FOLLOW_MS) {
      focusAfterMove.current = null;
      return;
    }
    const card = `[data-task-id="${CSS.escape(pending.id)}"]`;
    const el = document.querySelector<HTMLButtonElement>(
      `[data-column="${pending.status}"] ${card} .card-main`,
    );
    const active = document.activeElement;
    if (!el || el === active) return;
    if (active === null || active === document.body || active.closest(card)) el.focus();
  });

  const column = (s: TaskStatus) => (columns.get(s) ?? []).filter(isReal);

  const move = (task: Task, cmd: MoveCommand, sameIndex = false) => {
    const col = column(task.status);
    const i = col.findIndex((t) => t.id === task.id);
    let status: TaskStatus = task.status;
    let place: Place;
    if (cmd === "up" || cmd === "top") {
      if (i <= 0) return;
      place = { beforeId: (cmd === "up" ? col[i - 1] : col[0])!.id };
    } else if (cmd === "down" || cmd === "bottom") {
      if (i < 0 || i >= col.length - 1) return;
      place = { afterId: (cmd === "down" ? col[i + 1] : col[col.length - 1])!.id };
    } else {
      status = cmd;
      const target = column(cmd);
      place = placeAt(target, task.id, sameIndex ? i : target.length);
    }
    void moveTask(task, status, place);
    const after = boardColumns(data.get()).get(status) ?? [];
    const at = after.findIndex((t) => t.id === task.id);
    setAnnouncement(
      `Moved “${task.title}” to ${STATUS_LABEL[status]}${at >= 0 ? `, position ${at + 1} of ${after.length}` : ""}.`,
    );
  };

  const onKeyNav = (task: Task, status: TaskStatus, index: number) => (e: KeyboardEvent) => {
    const si = STATUSES.indexOf(status);
    const key = e.key;
    if (e.altKey && !e.ctrlKey && !e.metaKey) {
      let cmd: MoveCommand | undefined;
      if (key === "ArrowUp") cmd = "up";
      else if (key === "ArrowDown") cmd = "down";
      else if (key === "ArrowLeft" && si > 0) cmd = STATUSES[si - 1];
      else if (key === "ArrowRight" && si < STATUSES.length - 1) cmd = STATUSES[si + 1];
      if (!cmd) return;
      e.preventDefault();
      const status = cmd === "up" || cmd === "down" ? task.status : (cmd as TaskStatus);
      focusAfterMove.current = { id: task.id, status, at: Date.now() };
      move(task, cmd, true);
      return;
    }
    if (e.ctrlKey || e.metaKey || e.shiftKey) return;
    if (key === "ArrowDown") focusCard(status, index + 1);
    else if (key === "ArrowUp") focusCard(status, index - 1);
    else if (key === "ArrowLeft" || key === "ArrowRight") {
      const next = STATUSES[si + (key === "ArrowLeft" ? -1 : 1)];
      if (!next) return;
      if (!focusCard(next, index)) return;
    } else if (key === "Delete") setConfirmDelete(task);
    else return;
    e.preventDefault();
  };

  const onDragOver = (status: TaskStatus) => (e: DragEvent) => {
    if (!dragId) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = "move";
    const index = dropIndex(e.currentTarget as HTMLElement, dragId, e.clientY);
    if (drop?.status !== status || drop.index !== index) setDrop({ status, index });
  };

  const onDrop = (status: TaskStatus) => (e: DragEvent) => {
    e.preventDefault();
    const id = dragId ?? e.dataTransfer?.getData("text/plain") ?? "";
    const index = dropIndex(e.currentTarget as HTMLElement, id, e.clientY);
    setDrop(null);
    setDragId(null);
    const task = [...columns.values()].flat().find((t) => t.id === id);
    if (!task) return;
    const target = column(status);
    if (status === task.status && isSameSpot(target, id, index)) return;
    void moveTask(task, status, placeAt(target, id, index));
    setAnnouncement(`Moved “${task.title}” to ${STATUS_LABEL[status]}, position ${index + 1}.`);
  };

  if (!state.tasksLoaded) {
    return (
      <div class="board" aria-busy="true">
        <QuickAdd disabled />
        <div class="columns">
          {STATUSES.map((s) => (
            <section key={s} class="column">
              <h2 class="column-title">{STATUS_LABEL[s]}</h2>
              <p class="muted column-empty">Loading…</p>
            </section>
          ))}
        </div>
      </div>
    );
  }

  return (
    <div class="board">
      <QuickAdd />
      {state.tasksError && (
        <p class="notice notice-error" role="alert">
          Could not load the tasks: {state.tasksError}{" "}
          <button type="button" class="button button-small" onClick={() => void reloadProject()}>
            Try again
          </button>
        </p>
      )}
      <p id="board-keys-help" class="visually-hidden">
        Enter opens the task. Arrow keys move between cards. Alt with an arrow key moves the card up, down, or
        to the next column. The actions menu next to each card offers the same moves.
      </p>
      <div class="columns">
        {STATUSES.map((status) => {
          const tasks = columns.get(status) ?? [];
          const others = tasks.filter((t) => t.id !== dragId);
          const dropHere = drop?.status === status ? drop.index : -1;
          const headingId = `column-${status}`;
          return (
            <section key={status} class="column" aria-labelledby={headingId}>
              <h2 class="column-title" id={headingId}>
                {STATUS_LABEL[status]} <span class="count">{tasks.length}</span>
              </h2>
              <ol
                class={dropHere === others.length ? "column-list drop-end" : "column-list"}
                data-column={status}
                aria-labelledby={headingId}
                onDragOver={onDragOver(status)}
                onDragLeave={(e) => {
                  const to = e.relatedTarget as Node | null;
                  if (!to || !(e.currentTarget as HTMLElement).contains(to)) setDrop(null);
                }}
                onDrop={onDrop(status)}
              >
                {tasks.map((t, i) => (
                  <TaskCard
                    key={t.id}
                    task={t}
                    labels={state.labels}
                    assigneeName={t.assigneeId ? memberName(state, t.assigneeId) : null}
                    pending={isPending(state, t.id)}
                    index={i}
                    count={tasks.length}
                    dropBefore={dropHere >= 0 && others[dropHere]?.id === t.id}
                    dragging={dragId === t.id}
                    onOpen={() => patchRoute({ taskId: t.id })}
                    onMove={(cmd) => move(t, cmd)}
                    onDelete={() => setConfirmDelete(t)}
                    onKeyNav={onKeyNav(t, status, i)}
                    onDragStart={(e) => {
                      e.dataTransfer?.setData("text/plain", t.id);
                      if (e.dataTransfer) e.dataTransfer.effectAllowed = "move";
                      setDragId(t.id);
                    }}
                    onDragEnd={() => {
                      setDragId(null);
                      setDrop(null);
                    }}
                  />
                ))}
                {tasks.length === 0 && <li class="column-empty muted">No tasks</li>}
              </ol>
            </section>
          );
        })}
      </div>
      <p class="visually-hidden" aria-live="assertive">
        {announcement}
      </p>
      <ConfirmDialog
        open={confirmDelete !== null}
        title="Delete this task?"
        message={`“${confirmDelete?.title ?? ""}” and its comments are deleted on every node.`}
        confirmLabel="Delete task"
        danger
        onCancel={() => setConfirmDelete(null)}
        onConfirm={() => {
          const t = confirmDelete;
          setConfirmDelete(null);
          if (t) void deleteTask(t);
        }}
      />
    </div>
  );
}
