import type { ProjectCreate, ProjectDelete, ProjectUpdate } from "../commands.js";
import { PROJECT_COLUMNS, type ProjectRow, toProject } from "../mapping.js";
import { type ApplyResult, refusal, success } from "../results.js";
import { runStatement, selectOne } from "../sql.js";
import { type ApplyContext, roleIn } from "./context.js";

async function loadProject(ctx: ApplyContext, id: string): Promise<ProjectRow | undefined> {
  return selectOne<ProjectRow>(ctx.tx, `SELECT ${PROJECT_COLUMNS} FROM projects p WHERE p.id = ?`, [id]);
}

export const PROJECT_NOT_FOUND = "project not found";

export async function createProject(ctx: ApplyContext, cmd: ProjectCreate): Promise<ApplyResult> {
  if (await loadProject(ctx, cmd.id)) return refusal("conflict", "a project with this id already exists");
  await runStatement(
    ctx.tx,
    "INSERT INTO projects (id, name, description, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, 1)",
    [cmd.id, cmd.name, cmd.description ?? "", ctx.at, ctx.at],
  );
  await runStatement(
    ctx.tx,
    "INSERT INTO project_members (project_id, user_id, role, created_at) VALUES (?, ?, 'owner', ?)",
    [cmd.id, cmd.actorId, ctx.at],
  );
  const project = toProject((await loadProject(ctx, cmd.id))!);
  return success(201, { project }, [{ type: "project.created", projectId: project.id, data: project }]);
}

export async function updateProject(ctx: ApplyContext, cmd: ProjectUpdate): Promise<ApplyResult> {
  const role = await roleIn(ctx.tx, cmd.projectId, cmd.actorId);
  const row = role ? await loadProject(ctx, cmd.projectId) : undefined;
  if (!role || !row) return refusal("not_found", PROJECT_NOT_FOUND);
  if (role !== "owner") return refusal("forbidden", "only a project's owners can change it");
  if (cmd.expectedVersion !== undefined && cmd.expectedVersion !== Number(row.version)) {
    return refusal(
      "precondition_failed",
      `the project is at version ${row.version}, not ${cmd.expectedVersion}`,
    );
  }
  await runStatement(
    ctx.tx,
    "UPDATE projects SET name = ?, description = ?, updated_at = ?, version = version + 1 WHERE id = ?",
    [cmd.name ?? row.name, cmd.description ?? row.description, ctx.at, cmd.projectId],
  );
  const project = toProject((await loadProject(ctx, cmd.projectId))!);
  return success(200, { project }, [{ type: "project.updated", projectId: project.id, data: project }]);
}

/** Deleting a project removes its tasks, labels, comments and memberships (ON DELETE CASCADE). */
export async function deleteProject(ctx: ApplyContext, cmd: ProjectDelete): Promise<ApplyResult> {
  const role = await roleIn(ctx.tx, cmd.projectId, cmd.actorId);
  const row = role ? await loadProject(ctx, cmd.projectId) : undefined;
  if (!role || !row) return refusal("not_found", PROJECT_NOT_FOUND);
  if (role !== "owner") return refusal("forbidden", "only a project's owners can delete it");
  if (cmd.expectedVersion !== undefined && cmd.expectedVersion !== Number(row.version)) {
    return refusal(
      "precondition_failed",
      `the project is at version ${row.version}, not ${cmd.expectedVersion}`,
    );
  }
  // New tasks without a project go to the Inbox, so it must always exist.
  if (
    await selectOne(ctx.tx, "SELECT 1 AS one FROM users WHERE inbox_project_id = ? LIMIT 1", [cmd.projectId])
  ) {
    return refusal("conflict", "an Inbox project cannot be deleted");
  }
  await runStatement(ctx.tx, "DELETE FROM projects WHERE id = ?", [cmd.projectId]);
  return success(204, null, [
    { type: "project.deleted", projectId: cmd.projectId, data: { id: cmd.projectId } },
  ]);
}
