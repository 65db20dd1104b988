import type { CommentCreate, CommentDelete } from "../commands.js";
import { COMMENT_COLUMNS, type CommentRow, toComment } from "../mapping.js";
import { type ApplyResult, refusal, success } from "../results.js";
import { runStatement, selectOne } from "../sql.js";
import { type Actor, type ApplyContext, roleIn } from "./context.js";

export async function createComment(
  ctx: ApplyContext,
  cmd: CommentCreate,
  actor: Actor,
): Promise<ApplyResult> {
  const task = await selectOne<{ project_id: string }>(ctx.tx, "SELECT project_id FROM tasks WHERE id = ?", [
    cmd.taskId,
  ]);
  if (!task || !(await roleIn(ctx.tx, task.project_id, actor.id)))
    return refusal("not_found", "task not found");
  if (await selectOne(ctx.tx, "SELECT 1 AS one FROM comments WHERE id = ?", [cmd.id])) {
    return refusal("conflict", "a comment with this id already exists");
  }
  if (cmd.body.trim() === "") {
    return refusal("validation_failed", "the request has invalid fields", [
      { path: "body", message: "must not be blank" },
    ]);
  }
  await runStatement(
    ctx.tx,
    "INSERT INTO comments (id, task_id, author_id, body, created_at) VALUES (?, ?, ?, ?, ?)",
    [cmd.id, cmd.taskId, actor.id, cmd.body, ctx.at],
  );
  const row = await selectOne<CommentRow>(
    ctx.tx,
    `SELECT ${COMMENT_COLUMNS} FROM comments c WHERE c.id = ?`,
    [cmd.id],
  );
  const comment = toComment(row!);
  return success(201, { comment }, [{ type: "comment.created", projectId: task.project_id, data: comment }]);
}

/** Its author or an admin may delete a comment, and only while they can see its task. */
export async function deleteComment(
  ctx: ApplyContext,
  cmd: CommentDelete,
  actor: Actor,
): Promise<ApplyResult> {
  const row = await selectOne<{ task_id: string; author_id: string; project_id: string }>(
    ctx.tx,
    "SELECT c.task_id, c.author_id, t.project_id FROM comments c JOIN tasks t ON t.id = c.task_id WHERE c.id = ?",
    [cmd.commentId],
  );
  if (!row || !(await roleIn(ctx.tx, row.project_id, actor.id)))
    return refusal("not_found", "comment not found");
  if (row.author_id !== actor.id && !actor.isAdmin) {
    return refusal("forbidden", "only the comment's author or an admin can delete it");
  }
  await runStatement(ctx.tx, "DELETE FROM comments WHERE id = ?", [cmd.commentId]);
  return success(204, null, [
    { type: "comment.deleted", projectId: row.project_id, data: { id: cmd.commentId, taskId: row.task_id } },
  ]);
}
