import type { TaskCreate, TaskDelete, TaskUpdate } from "../commands.js";
import { PRIORITY_CODE, STATUS_CODE } from "../limits.js";
import { NO_DUE_DATE_SORT, type Task } from "../mapping.js";
import { type ApplyResult, type FieldProblem, refusal, type StateEvent, success } from "../results.js";
import { type Param, placeholders, runStatement, runText, selectOne, selectText } from "../sql.js";
import { placeTask } from "../task-placement.js";
import { dbToIso } from "../time.js";
import { type Actor, type ApplyContext, roleIn } from "./context.js";
import { PROJECT_NOT_FOUND } from "./projects.js";
import { loadTask, loadTaskRow } from "./task-rows.js";

const TASK_NOT_FOUND = "task not found";

function invalid(problems: FieldProblem[]): ApplyResult {
  return refusal("validation_failed", "the request has invalid fields", problems);
}

async function checkAssignee(
  ctx: ApplyContext,
  projectId: string,
  assigneeId: string | null,
): Promise<FieldProblem[]> {
  if (assigneeId === null || (await roleIn(ctx.tx, projectId, assigneeId))) return [];
  return [{ path: "assigneeId", message: "must be a member of the task's project" }];
}

async function checkLabels(
  ctx: ApplyContext,
  projectId: string,
  labelIds: readonly string[],
): Promise<FieldProblem[]> {
  if (labelIds.length === 0) return [];
  const found = new Set(
    (
      await selectText<{ id: string }>(
        ctx.tx,
        `SELECT id FROM labels WHERE project_id = ? AND id IN (${placeholders(labelIds.length)})`,
        [projectId, ...labelIds],
      )
    ).map((r) => r.id),
  );
  return labelIds.flatMap((id, i) =>
    found.has(id) ? [] : [{ path: `labelIds[${i}]`, message: "must be a label of the task's project" }],
  );
}

async function writeLabels(
  ctx: ApplyContext,
  taskId: string,
  labelIds: readonly string[],
  replace: boolean,
): Promise<void> {
  if (replace) await runStatement(ctx.tx, "DELETE FROM task_labels WHERE task_id = ?", [taskId]);
  if (labelIds.length === 0) return;
  const values = labelIds.map(() => "(?, ?)").join(", ");
  await runText(
    ctx.tx,
    `INSERT INTO task_labels (task_id, label_id) VALUES ${values}`,
    labelIds.flatMap((id) => [taskId, id]),
  );
}

function repositioned(projectId: string, status: number, renumbered: boolean): StateEvent[] {
  return renumbered ? [{ type: "tasks.repositioned", projectId, data: { projectId, status } }] : [];
}

/** The columns of a new task row, matching the placeholders of NEW_TASK_VALUES and newTask's row. */
export const NEW_TASK_COLUMNS = `id, project_id, title, description, status, priority, due_date, due_sort, assignee_id,
  position, created_by, created_at, updated_at, completed_at, version`;
export const NEW_TASK_VALUES = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)";

/**
 * A created task as it is stored (the row's parameters) and answered (the entity), built from the
 * same values: the one-by-one path and the fast path for runs of creates (bulk-create.ts) both use
 * it, so they cannot drift apart. `at` is the command's time as a DATETIME value.
 */
export function newTask(
  cmd: TaskCreate,
  projectId: string,
  position: string,
  at: string,
): { task: Task; row: Param[] } {
  const status = cmd.status ?? "todo";
  const priority = cmd.priority ?? "medium";
  const dueDate = cmd.dueDate ?? null;
  const assigneeId = cmd.assigneeId ?? null;
  const completedAt = status === "done" ? at : null;
  const row: Param[] = [
    cmd.id,
    projectId,
    cmd.title,
    cmd.description ?? "",
    STATUS_CODE[status],
    PRIORITY_CODE[priority],
    dueDate,
    dueDate ?? NO_DUE_DATE_SORT,
    assigneeId,
    position,
    cmd.actorId,
    at,
    at,
    completedAt,
  ];
  const task: Task = {
    id: cmd.id,
    projectId,
    title: cmd.title,
    description: cmd.description ?? "",
    status,
    priority,
    dueDate,
    assigneeId,
    labelIds: [...(cmd.labelIds ?? [])].sort(compareIds),
    position,
    createdBy: cmd.actorId,
    createdAt: dbToIso(at),
    updatedAt: dbToIso(at),
    completedAt: completedAt === null ? null : dbToIso(completedAt),
    version: 1,
  };
  return { task, row };
}

export async function createTask(ctx: ApplyContext, cmd: TaskCreate, actor: Actor): Promise<ApplyResult> {
  const projectId = cmd.projectId ?? actor.inboxProjectId;
  if (projectId === null)
    return invalid([{ path: "projectId", message: "is required (the user has no Inbox)" }]);
  // One round trip for both checks: creating tasks is the hot path of bulk loads.
  const found = await selectOne<{ role: string | null; taken: number }>(
    ctx.tx,
    `SELECT (SELECT role FROM project_members WHERE project_id = ? AND user_id = ?) AS role,
       EXISTS (SELECT 1 FROM tasks WHERE id = ?) AS taken`,
    [projectId, actor.id, cmd.id],
  );
  if (!found?.role) return refusal("not_found", PROJECT_NOT_FOUND);
  if (Number(found.taken) === 1) return refusal("conflict", "a task with this id already exists");
  const assigneeId = cmd.assigneeId ?? null;
  const problems = [
    ...(await checkAssignee(ctx, projectId, assigneeId)),
    ...(await checkLabels(ctx, projectId, cmd.labelIds ?? [])),
  ];
  if (problems.length > 0) return invalid(problems);
  const status = cmd.status ?? "todo";
  const placement = await placeTask(ctx, {
    column: { projectId, status: STATUS_CODE[status] },
    beforeId: cmd.beforeId,
    afterId: cmd.afterId,
  });
  if ("problems" in placement) return invalid(placement.problems);
  // The entity is built from the values written rather than read back; a test checks it equals the read.
  const { task, row } = newTask(cmd, projectId, placement.position, ctx.at);
  await runStatement(ctx.tx, `INSERT INTO tasks (${NEW_TASK_COLUMNS}) VALUES ${NEW_TASK_VALUES}`, row);
  await writeLabels(ctx, cmd.id, task.labelIds, false);
  return success(201, { task }, [
    ...repositioned(projectId, STATUS_CODE[status], placement.renumbered),
    { type: "task.created", projectId, data: task },
  ]);
}

/** Byte order of ASCII ids, as ascii_bin (and so GROUP_CONCAT ... ORDER BY label_id) sorts them. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A partial update, possibly a move (new status, project, or beforeId/afterId). Moving to another
 * column without beforeId/afterId appends at its end. Moving to another project drops the task's
 * labels (labels belong to a project) unless new labelIds are given; the assignee must be a member
 * of the target project.
 */
export async function updateTask(ctx: ApplyContext, cmd: TaskUpdate, actor: Actor): Promise<ApplyResult> {
  const row = await loadTaskRow(ctx, cmd.taskId);
  if (!row || !(await roleIn(ctx.tx, row.project_id, actor.id))) return refusal("not_found", TASK_NOT_FOUND);
  if (cmd.expectedVersion !== undefined && cmd.expectedVersion !== Number(row.version)) {
    return refusal(
      "precondition_failed",
      `the task is at version ${row.version}, not ${cmd.expectedVersion}`,
    );
  }
  const projectId = cmd.projectId ?? row.project_id;
  const projectChanged = projectId !== row.project_id;
  if (projectChanged && !(await roleIn(ctx.tx, projectId, actor.id)))
    return refusal("not_found", PROJECT_NOT_FOUND);
  const assigneeId = cmd.assigneeId !== undefined ? cmd.assigneeId : row.assignee_id;
  const labelIds = cmd.labelIds ?? (projectChanged ? [] : undefined);
  const problems = [
    ...(cmd.assigneeId !== undefined || projectChanged
      ? await checkAssignee(ctx, projectId, assigneeId)
      : []),
    ...(cmd.labelIds !== undefined ? await checkLabels(ctx, projectId, cmd.labelIds) : []),
  ];
  if (problems.length > 0) return invalid(problems);
  const status = cmd.status !== undefined ? STATUS_CODE[cmd.status] : Number(row.status);
  const columnChanged = projectChanged || status !== Number(row.status);
  let position = row.position;
  let renumbered = false;
  if (columnChanged || cmd.beforeId !== undefined || cmd.afterId !== undefined) {
    const placement = await placeTask(ctx, {
      column: { projectId, status },
      beforeId: cmd.beforeId,
      afterId: cmd.afterId,
      movingId: row.id,
    });
    if ("problems" in placement) return invalid(placement.problems);
    position = placement.position;
    renumbered = placement.renumbered;
  }
  const wasDone = Number(row.status) === STATUS_CODE.done;
  const isDone = status === STATUS_CODE.done;
  const completedAt = isDone ? (wasDone ? row.completed_at : ctx.at) : null;
  const dueDate = cmd.dueDate !== undefined ? cmd.dueDate : row.due_date;
  await runStatement(
    ctx.tx,
    `UPDATE tasks SET project_id = ?, title = ?, description = ?, status = ?, priority = ?, due_date = ?,
       due_sort = ?, assignee_id = ?, position = ?, completed_at = ?, updated_at = ?, version = version + 1
     WHERE id = ?`,
    [
      projectId,
      cmd.title ?? row.title,
      cmd.description ?? row.description,
      status,
      cmd.priority !== undefined ? PRIORITY_CODE[cmd.priority] : Number(row.priority),
      dueDate,
      dueDate ?? NO_DUE_DATE_SORT,
      assigneeId,
      position,
      completedAt,
      ctx.at,
      row.id,
    ],
  );
  if (labelIds !== undefined) await writeLabels(ctx, row.id, labelIds, true);
  const task = await loadTask(ctx, row.id);
  const events: StateEvent[] = [...repositioned(projectId, status, renumbered)];
  // Subscribers of the project the task left learn of it too: the task's projectId tells them it moved.
  if (projectChanged) events.push({ type: "task.updated", projectId: row.project_id, data: task });
  events.push({ type: "task.updated", projectId, data: task });
  return success(200, { task }, events);
}

export async function deleteTask(ctx: ApplyContext, cmd: TaskDelete, actor: Actor): Promise<ApplyResult> {
  const row = await selectOne<{ project_id: string; version: number }>(
    ctx.tx,
    "SELECT project_id, version FROM tasks WHERE id = ?",
    [cmd.taskId],
  );
  if (!row || !(await roleIn(ctx.tx, row.project_id, actor.id))) return refusal("not_found", TASK_NOT_FOUND);
  if (cmd.expectedVersion !== undefined && cmd.expectedVersion !== Number(row.version)) {
    return refusal(
      "precondition_failed",
      `the task is at version ${row.version}, not ${cmd.expectedVersion}`,
    );
  }
  await runStatement(ctx.tx, "DELETE FROM tasks WHERE id = ?", [cmd.taskId]);
  return success(204, null, [{ type: "task.deleted", projectId: row.project_id, data: { id: cmd.taskId } }]);
}
