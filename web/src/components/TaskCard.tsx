import type { Label } from "../api/types";
import { STATUS_LABEL, STATUSES, type Task, type TaskStatus } from "../api/types";
import { Menu, type MenuItem } from "./Menu";
import { TaskMeta } from "./TaskMeta";

export type MoveCommand = "up" | "down" | "top" | "bottom" | TaskStatus;

/**
 * One card of the board. The card's main button opens the task; it is also the handle for
 * keyboard moves (Alt+arrows) and the drag source. The ⋯ menu offers the same moves.
 */
export function TaskCard(props: {
  task: Task;
  labels: Label[];
  assigneeName: string | null;
  pending: boolean;
  index: number;
  count: number;
  dropBefore: boolean;
  dragging: boolean;
  onOpen: () => void;
  onMove: (cmd: MoveCommand) => void;
  onDelete: () => void;
  onKeyNav: (e: KeyboardEvent) => void;
  onDragStart: (e: DragEvent) => void;
  onDragEnd: () => void;
}) {
  const { task } = props;
  const items: MenuItem[] = [
    { label: "Open", onSelect: props.onOpen },
    ...STATUSES.filter((s) => s !== task.status).map((s) => ({
      label: `Move to ${STATUS_LABEL[s]}`,
      onSelect: () => props.onMove(s),
    })),
    { label: "Move up", onSelect: () => props.onMove("up"), disabled: props.index === 0 },
    { label: "Move down", onSelect: () => props.onMove("down"), disabled: props.index >= props.count - 1 },
    { label: "Move to top", onSelect: () => props.onMove("top"), disabled: props.index === 0 },
    {
      label: "Move to bottom",
      onSelect: () => props.onMove("bottom"),
      disabled: props.index >= props.count - 1,
    },
    { label: "Delete…", onSelect: props.onDelete, danger: true },
  ];
  const classes = ["card"];
  if (props.pending) classes.push("card-pending");
  if (props.dropBefore) classes.push("drop-before");
  if (props.dragging) classes.push("card-dragging");
  return (
    <li
      class={classes.join(" ")}
      data-task-id={task.id}
      draggable={!task.id.startsWith("pending-")}
      onDragStart={props.onDragStart}
      onDragEnd={props.onDragEnd}
    >
      <button
        type="button"
        class="card-main"
        onClick={props.onOpen}
        onKeyDown={props.onKeyNav}
        aria-describedby="board-keys-help"
      >
        <span class="card-title">{task.title}</span>
        <span class="visually-hidden">
          , {props.index + 1} of {props.count} in {STATUS_LABEL[task.status]}.
        </span>
        <TaskMeta
          task={task}
          labels={props.labels}
          assigneeName={props.assigneeName}
          saving={props.pending}
        />
      </button>
      <Menu label={`Actions for ${task.title}`} items={items} />
    </li>
  );
}
