import type { Label, Task } from "../api/types";
import { PRIORITY_LABEL } from "../api/types";
import { formatDay, initials, isOverdue } from "../lib/format";
import { LabelChip } from "./ProjectSettings";

/** Priority, due date, labels and assignee of a task, as on a card or a list row. */
export function TaskMeta(props: {
  task: Task;
  labels: Label[];
  assigneeName: string | null;
  saving?: boolean;
}) {
  const { task } = props;
  const overdue = isOverdue(task.dueDate, task.status === "done");
  const labels = task.labelIds.flatMap((id) => props.labels.filter((l) => l.id === id));
  return (
    <span class="task-meta">
      <span class={`priority priority-${task.priority}`}>{PRIORITY_LABEL[task.priority]}</span>
      {task.dueDate && (
        <span class={overdue ? "due due-overdue" : "due"}>
          {overdue ? "Overdue · " : "Due "}
          {formatDay(task.dueDate)}
        </span>
      )}
      {labels.map((l) => (
        <LabelChip key={l.id} label={l} />
      ))}
      {props.saving && <span class="card-saving">saving…</span>}
      {props.assigneeName && (
        <span class="avatar" title={`Assigned to ${props.assigneeName}`}>
          <span aria-hidden="true">{initials(props.assigneeName)}</span>
          <span class="visually-hidden">Assigned to {props.assigneeName}</span>
        </span>
      )}
    </span>
  );
}
