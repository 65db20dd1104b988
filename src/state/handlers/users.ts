import type { SessionCreate, SessionRevoke, UserSignup } from "../commands.js";
import {
  PROJECT_COLUMNS,
  type ProjectRow,
  toProject,
  toUser,
  USER_COLUMNS,
  type UserRow,
} from "../mapping.js";
import { type ApplyResult, refusal, success } from "../results.js";
import { runStatement, selectOne } from "../sql.js";
import { isoToDb } from "../time.js";
import type { ApplyContext } from "./context.js";

const INBOX_NAME = "Inbox";

async function userBody(ctx: ApplyContext, id: string): Promise<{ user: ReturnType<typeof toUser> }> {
  const row = await selectOne<UserRow>(ctx.tx, `SELECT ${USER_COLUMNS} FROM users u WHERE u.id = ?`, [id]);
  if (!row) throw new Error(`user ${id} vanished inside its own transaction`);
  return { user: toUser(row) };
}

/** Signup creates the user, their Inbox project (owned by them) and optionally their first session. */
export async function signup(ctx: ApplyContext, cmd: UserSignup): Promise<ApplyResult> {
  const { tx } = ctx;
  if (cmd.actorId !== cmd.id) {
    return refusal("validation_failed", "the request has invalid fields", [
      { path: "actorId", message: "must be the new user's id" },
    ]);
  }
  const taken = await selectOne(tx, "SELECT 1 AS one FROM users WHERE username = ?", [cmd.username]);
  if (taken) return refusal("conflict", `the username ${cmd.username} is already taken`);
  if (await selectOne(tx, "SELECT 1 AS one FROM users WHERE id = ?", [cmd.id])) {
    return refusal("conflict", "a user with this id already exists");
  }
  if (await selectOne(tx, "SELECT 1 AS one FROM projects WHERE id = ?", [cmd.inboxProjectId])) {
    return refusal("conflict", "a project with the Inbox's id already exists");
  }
  if (
    cmd.session &&
    (await selectOne(tx, "SELECT 1 AS one FROM sessions WHERE token_hash = ?", [cmd.session.tokenHash]))
  ) {
    return refusal("conflict", "the session token is already in use");
  }
  // Decided here rather than by the proposer: only the log order knows who really came first.
  const anyUser = await selectOne(tx, "SELECT 1 AS one FROM users LIMIT 1");
  const isAdmin = anyUser === undefined ? 1 : 0;
  await runStatement(
    tx,
    "INSERT INTO projects (id, name, description, created_at, updated_at, version) VALUES (?, ?, '', ?, ?, 1)",
    [cmd.inboxProjectId, INBOX_NAME, ctx.at, ctx.at],
  );
  await runStatement(
    tx,
    `INSERT INTO users (id, username, display_name, password_hash, is_admin, inbox_project_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [cmd.id, cmd.username, cmd.displayName, cmd.passwordHash, isAdmin, cmd.inboxProjectId, ctx.at],
  );
  await runStatement(
    tx,
    "INSERT INTO project_members (project_id, user_id, role, created_at) VALUES (?, ?, 'owner', ?)",
    [cmd.inboxProjectId, cmd.id, ctx.at],
  );
  if (cmd.session) {
    await runStatement(
      tx,
      "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
      [cmd.session.tokenHash, cmd.id, ctx.at, isoToDb(cmd.session.expiresAt)],
    );
  }
  const project = await selectOne<ProjectRow>(
    tx,
    `SELECT ${PROJECT_COLUMNS} FROM projects p WHERE p.id = ?`,
    [cmd.inboxProjectId],
  );
  const events = project
    ? [{ type: "project.created" as const, projectId: cmd.inboxProjectId, data: toProject(project) }]
    : [];
  return success(201, await userBody(ctx, cmd.id), events);
}

/** Login: the password was checked by the proposer; this records the session's token hash. */
export async function createSession(ctx: ApplyContext, cmd: SessionCreate): Promise<ApplyResult> {
  if (cmd.userId !== cmd.actorId) return refusal("forbidden", "a session can only be created for oneself");
  if (await selectOne(ctx.tx, "SELECT 1 AS one FROM sessions WHERE token_hash = ?", [cmd.tokenHash])) {
    return refusal("conflict", "the session token is already in use");
  }
  await runStatement(
    ctx.tx,
    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
    [cmd.tokenHash, cmd.userId, ctx.at, isoToDb(cmd.expiresAt)],
  );
  return success(200, await userBody(ctx, cmd.userId));
}

/** Logout. Revoking an unknown or already revoked token succeeds too: the outcome is the same. */
export async function revokeSession(ctx: ApplyContext, cmd: SessionRevoke): Promise<ApplyResult> {
  await runStatement(ctx.tx, "DELETE FROM sessions WHERE token_hash = ? AND user_id = ?", [
    cmd.tokenHash,
    cmd.actorId,
  ]);
  return success(204, null);
}
