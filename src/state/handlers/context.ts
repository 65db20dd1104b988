import type { MemberRole } from "../limits.js";
import { type Queryable, selectOne } from "../sql.js";

/** What a command handler may use: the batch's transaction and the entry's log position and time. */
export interface ApplyContext {
  tx: Queryable;
  index: number;
  /** The command's `at` as DATETIME(3): the time of every change it makes. */
  at: string;
  /** The same instant, in milliseconds since the epoch. */
  atMs: number;
}

export interface Actor {
  id: string;
  isAdmin: boolean;
  inboxProjectId: string | null;
}

export async function loadActor(tx: Queryable, id: string): Promise<Actor | undefined> {
  const row = await selectOne<{ id: string; is_admin: number; inbox_project_id: string | null }>(
    tx,
    "SELECT id, is_admin, inbox_project_id FROM users WHERE id = ?",
    [id],
  );
  if (!row) return undefined;
  return { id: row.id, isAdmin: Number(row.is_admin) === 1, inboxProjectId: row.inbox_project_id };
}

/** The user's role in the project, or undefined when they are not a member (or it does not exist). */
export async function roleIn(
  tx: Queryable,
  projectId: string,
  userId: string,
): Promise<MemberRole | undefined> {
  const row = await selectOne<{ role: string }>(
    tx,
    "SELECT role FROM project_members WHERE project_id = ? AND user_id = ?",
    [projectId, userId],
  );
  if (!row) return undefined;
  return row.role === "owner" ? "owner" : "member";
}

export async function exists(
  tx: Queryable,
  table: "projects" | "tasks" | "labels" | "comments" | "users",
  id: string,
): Promise<boolean> {
  const row = await selectOne<{ one: number }>(tx, `SELECT 1 AS one FROM ${table} WHERE id = ?`, [id]);
  return row !== undefined;
}
