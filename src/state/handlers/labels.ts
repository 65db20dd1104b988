import type { LabelCreate, LabelDelete } from "../commands.js";
import { LABEL_COLUMNS, type LabelRow, toLabel } from "../mapping.js";
import { type ApplyResult, refusal, success } from "../results.js";
import { runStatement, selectOne } from "../sql.js";
import { type ApplyContext, roleIn } from "./context.js";
import { PROJECT_NOT_FOUND } from "./projects.js";
import { idsOf, touchTasks } from "./task-rows.js";

async function loadLabel(ctx: ApplyContext, id: string): Promise<LabelRow | undefined> {
  return selectOne<LabelRow>(ctx.tx, `SELECT ${LABEL_COLUMNS} FROM labels l WHERE l.id = ?`, [id]);
}

export async function createLabel(ctx: ApplyContext, cmd: LabelCreate): Promise<ApplyResult> {
  if (!(await roleIn(ctx.tx, cmd.projectId, cmd.actorId))) return refusal("not_found", PROJECT_NOT_FOUND);
  if (await loadLabel(ctx, cmd.id)) return refusal("conflict", "a label with this id already exists");
  const clash = await selectOne(ctx.tx, "SELECT 1 AS one FROM labels WHERE project_id = ? AND name = ?", [
    cmd.projectId,
    cmd.name,
  ]);
  if (clash) return refusal("conflict", `the project already has a label named ${cmd.name}`);
  await runStatement(
    ctx.tx,
    "INSERT INTO labels (id, project_id, name, color, created_at) VALUES (?, ?, ?, ?, ?)",
    [cmd.id, cmd.projectId, cmd.name, cmd.color, ctx.at],
  );
  const label = toLabel((await loadLabel(ctx, cmd.id))!);
  return success(201, { label }, [{ type: "label.created", projectId: cmd.projectId, data: label }]);
}

/** Removing a label takes it off its tasks, which is a change of each of them. */
export async function deleteLabel(ctx: ApplyContext, cmd: LabelDelete): Promise<ApplyResult> {
  const label = await loadLabel(ctx, cmd.labelId);
  if (!label || !(await roleIn(ctx.tx, label.project_id, cmd.actorId))) {
    return refusal("not_found", "label not found");
  }
  const tagged = await idsOf(
    ctx,
    "SELECT task_id AS id FROM task_labels WHERE label_id = ? ORDER BY task_id",
    [cmd.labelId],
  );
  await runStatement(ctx.tx, "DELETE FROM labels WHERE id = ?", [cmd.labelId]);
  const events = [
    { type: "label.deleted" as const, projectId: label.project_id, data: { id: label.id } },
    ...(await touchTasks(ctx, tagged)),
  ];
  return success(204, null, events);
}
