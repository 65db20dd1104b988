import { PRIORITY_LABEL, STATUS_LABEL, type Task, type TaskEdit } from "../api/types";
import { type DataState, data, memberName, resolveConflict } from "../app/data";
import { formatDateTime, formatDay } from "../lib/format";
import { useStore } from "../lib/store";
import { Dialog } from "./Dialog";

const selectAll = (s: DataState) => s;

const FIELD_LABEL: Record<keyof TaskEdit, string> = {
  title: "Title",
  description: "Description",
  status: "Status",
  priority: "Priority",
  dueDate: "Due date",
  assigneeId: "Assignee",
  labelIds: "Labels",
  projectId: "Project",
};

function show(state: DataState, field: keyof TaskEdit, value: unknown): string {
  switch (field) {
    case "status":
      return STATUS_LABEL[value as Task["status"]] ?? String(value);
    case "priority":
      return PRIORITY_LABEL[value as Task["priority"]] ?? String(value);
    case "dueDate":
      return value ? formatDay(String(value)) : "none";
    case "assigneeId":
      return memberName(state, (value as string | null) ?? null);
    case "labelIds":
      return (
        (value as string[]).map((id) => state.labels.find((l) => l.id === id)?.name ?? "?").join(", ") ||
        "none"
      );
    case "projectId":
      return state.projects.find((p) => p.id === value)?.name ?? String(value);
    default:
      return String(value ?? "") || "(empty)";
  }
}

/** A 412: the task changed elsewhere since the user saw it. Show both and let the user choose. */
export function ConflictDialog() {
  const state = useStore(data, selectAll);
  const c = state.conflict;
  if (!c) return null;
  const fields = Object.keys(c.edit) as (keyof TaskEdit)[];
  return (
    <Dialog open title="This task was changed by someone else" onClose={() => resolveConflict("theirs")} wide>
      <p>
        While you edited “{c.base.title}” (version {c.base.version}), it was changed elsewhere: it is now at
        version {c.current.version}, updated {formatDateTime(c.current.updatedAt)}. Nothing of yours was saved
        yet.
      </p>
      <table class="conflict-table">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Your change</th>
            <th scope="col">Now (version {c.current.version})</th>
          </tr>
        </thead>
        <tbody>
          {fields.map((f) => (
            <tr key={f}>
              <th scope="row">{FIELD_LABEL[f]}</th>
              <td>{show(state, f, c.edit[f])}</td>
              <td>{show(state, f, c.current[f])}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="dialog-actions">
        <button type="button" class="button" onClick={() => resolveConflict("theirs")}>
          Keep theirs
        </button>
        <button type="button" class="button button-primary" onClick={() => resolveConflict("mine")}>
          Apply my change on top
        </button>
      </div>
    </Dialog>
  );
}
