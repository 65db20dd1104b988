import type { MemberAdd, MemberRemove } from "../commands.js";
import { MEMBER_COLUMNS, type MemberRow, toMember } from "../mapping.js";
import { type ApplyResult, refusal, type StateEvent, success } from "../results.js";
import { runStatement, selectOne } from "../sql.js";
import { type ApplyContext, roleIn } from "./context.js";
import { PROJECT_NOT_FOUND } from "./projects.js";
import { idsOf, touchTasks } from "./task-rows.js";

async function loadMember(
  ctx: ApplyContext,
  projectId: string,
  userId: string,
): Promise<MemberRow | undefined> {
  return selectOne<MemberRow>(
    ctx.tx,
    `SELECT ${MEMBER_COLUMNS} FROM project_members m JOIN users u ON u.id = m.user_id
     WHERE m.project_id = ? AND m.user_id = ?`,
    [projectId, userId],
  );
}

async function ownerCount(ctx: ApplyContext, projectId: string): Promise<number> {
  const row = await selectOne<{ n: number }>(
    ctx.tx,
    "SELECT COUNT(*) AS n FROM project_members WHERE project_id = ? AND role = 'owner'",
    [projectId],
  );
  return Number(row?.n ?? 0);
}

/**
 * Adds a user by username, or changes the role of an existing member (the API has no separate
 * endpoint for roles): 201 when added, 200 when the membership already existed.
 */
export async function addMember(ctx: ApplyContext, cmd: MemberAdd): Promise<ApplyResult> {
  const role = await roleIn(ctx.tx, cmd.projectId, cmd.actorId);
  if (!role) return refusal("not_found", PROJECT_NOT_FOUND);
  if (role !== "owner") return refusal("forbidden", "only a project's owners can add members");
  const user = await selectOne<{ id: string }>(ctx.tx, "SELECT id FROM users WHERE username = ?", [
    cmd.username,
  ]);
  if (!user) return refusal("not_found", `no user is named ${cmd.username}`);
  const existing = await loadMember(ctx, cmd.projectId, user.id);
  if (existing) {
    if (existing.role === cmd.role) return success(200, { member: toMember(existing) });
    if (existing.role === "owner" && (await ownerCount(ctx, cmd.projectId)) === 1) {
      return refusal("conflict", "a project must keep at least one owner");
    }
    await runStatement(ctx.tx, "UPDATE project_members SET role = ? WHERE project_id = ? AND user_id = ?", [
      cmd.role,
      cmd.projectId,
      user.id,
    ]);
    const member = toMember((await loadMember(ctx, cmd.projectId, user.id))!);
    return success(200, { member }, [{ type: "member.updated", projectId: cmd.projectId, data: member }]);
  }
  await runStatement(
    ctx.tx,
    "INSERT INTO project_members (project_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
    [cmd.projectId, user.id, cmd.role, ctx.at],
  );
  const member = toMember((await loadMember(ctx, cmd.projectId, user.id))!);
  return success(201, { member }, [{ type: "member.added", projectId: cmd.projectId, data: member }]);
}

/**
 * Owners remove anyone; a member may remove only themselves (leave). The removed user's tasks in
 * the project are unassigned, since an assignee must be a member.
 */
export async function removeMember(ctx: ApplyContext, cmd: MemberRemove): Promise<ApplyResult> {
  const role = await roleIn(ctx.tx, cmd.projectId, cmd.actorId);
  if (!role) return refusal("not_found", PROJECT_NOT_FOUND);
  if (role !== "owner" && cmd.userId !== cmd.actorId) {
    return refusal("forbidden", "only a project's owners can remove other members");
  }
  const target = await loadMember(ctx, cmd.projectId, cmd.userId);
  if (!target) return refusal("not_found", "member not found");
  if (target.role === "owner" && (await ownerCount(ctx, cmd.projectId)) === 1) {
    return refusal("conflict", "a project must keep at least one owner");
  }
  await runStatement(ctx.tx, "DELETE FROM project_members WHERE project_id = ? AND user_id = ?", [
    cmd.projectId,
    cmd.userId,
  ]);
  const assigned = await idsOf(
    ctx,
    "SELECT id FROM tasks WHERE assignee_id = ? AND project_id = ? ORDER BY id",
    [cmd.userId, cmd.projectId],
  );
  if (assigned.length > 0) {
    await runStatement(
      ctx.tx,
      "UPDATE tasks SET assignee_id = NULL WHERE assignee_id = ? AND project_id = ?",
      [cmd.userId, cmd.projectId],
    );
  }
  const events: StateEvent[] = [
    {
      type: "member.removed",
      projectId: cmd.projectId,
      data: { projectId: cmd.projectId, userId: cmd.userId },
    },
    ...(await touchTasks(ctx, assigned)),
  ];
  return success(204, null, events);
}
