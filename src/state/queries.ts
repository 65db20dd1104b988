/**
 * The API's reads, against this node's own database. Visibility is part of every query: a user
 * sees projects they are a member of, and tasks, labels, members and comments of those projects
 * only; anything else reads as absent (undefined), never as forbidden.
 */
import { type Cursor, decodeCursor, encodeCursor } from "./cursor.js";
import {
  ID_PATTERN,
  LIST_LIMIT_DEFAULT,
  LIST_LIMIT_MAX,
  PRIORITY_CODE,
  SEARCH_QUERY_MAX,
  SMALL_LIST_MAX,
  STATUS_CODE,
  TASK_PRIORITIES,
  TASK_STATUSES,
  type TaskPriority,
  type TaskStatus,
} from "./limits.js";
import {
  COMMENT_COLUMNS,
  type Comment,
  type CommentRow,
  LABEL_COLUMNS,
  type Label,
  type LabelRow,
  MEMBER_COLUMNS,
  type Member,
  type MemberRow,
  PROJECT_COLUMNS,
  type Project,
  type ProjectRow,
  TASK_COLUMNS,
  type Task,
  type TaskRow,
  toComment,
  toLabel,
  toMember,
  toProject,
  toTask,
  toUser,
  USER_COLUMNS,
  type User,
  type UserRow,
} from "./mapping.js";
import type { FieldProblem } from "./results.js";
import {
  keysetAfter,
  limitClause,
  type Param,
  type Queryable,
  type SortColumn,
  selectOne,
  selectRows,
  selectText,
} from "./sql.js";
import { dbToIso, isDateOnly, isoToDb } from "./time.js";

/** A read whose parameters are invalid: the API answers 400 validation_failed with these details. */
export class QueryError extends Error {
  readonly status = 400;
  readonly code = "validation_failed";
  constructor(readonly details: FieldProblem[]) {
    super(`invalid query: ${details.map((d) => `${d.path} ${d.message}`).join("; ")}`);
    this.name = "QueryError";
  }
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

// ------------------------------------------------------------------ users

/** The user a bearer token's hash belongs to, while its session has not expired at `now`. */
export async function getUserByTokenHash(
  db: Queryable,
  tokenHash: string,
  now: Date,
): Promise<User | undefined> {
  const row = await selectOne<UserRow>(
    db,
    `SELECT ${USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = ? AND s.expires_at > ?`,
    [tokenHash, isoToDb(now.toISOString())],
  );
  return row ? toUser(row) : undefined;
}

/** The user a live session names, with the session's expiry (for callers that cache the answer). */
export async function getSessionUser(
  db: Queryable,
  tokenHash: string,
  now: Date,
): Promise<{ user: User; expiresAtMs: number } | undefined> {
  const row = await selectOne<UserRow & { session_expires_at: string }>(
    db,
    `SELECT ${USER_COLUMNS}, s.expires_at AS session_expires_at FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = ? AND s.expires_at > ?`,
    [tokenHash, isoToDb(now.toISOString())],
  );
  return row ? { user: toUser(row), expiresAtMs: Date.parse(dbToIso(row.session_expires_at)) } : undefined;
}

export async function getUser(db: Queryable, id: string): Promise<User | undefined> {
  const row = await selectOne<UserRow>(db, `SELECT ${USER_COLUMNS} FROM users u WHERE u.id = ?`, [id]);
  return row ? toUser(row) : undefined;
}

/** For login: the user and their stored password hash (to verify before proposing a session). */
export async function getLoginByUsername(
  db: Queryable,
  username: string,
): Promise<{ user: User; passwordHash: string } | undefined> {
  const row = await selectOne<UserRow & { password_hash: string }>(
    db,
    `SELECT ${USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = ?`,
    [username],
  );
  return row ? { user: toUser(row), passwordHash: row.password_hash } : undefined;
}

export async function getAppliedIndex(db: Queryable): Promise<number> {
  const row = await selectOne<{ applied_index: number }>(
    db,
    "SELECT applied_index FROM raft_applied WHERE id = 1",
  );
  return Number(row?.applied_index ?? 0);
}

// --------------------------------------------------------------- projects

async function isMember(db: Queryable, userId: string, projectId: string): Promise<boolean> {
  const row = await selectOne(
    db,
    "SELECT 1 AS one FROM project_members WHERE project_id = ? AND user_id = ?",
    [projectId, userId],
  );
  return row !== undefined;
}

export async function listProjects(db: Queryable, userId: string): Promise<{ items: Project[] }> {
  const rows = await selectRows<ProjectRow>(
    db,
    `SELECT ${PROJECT_COLUMNS} FROM project_members m JOIN projects p ON p.id = m.project_id
     WHERE m.user_id = ? ORDER BY p.created_at, p.id ${limitClause(SMALL_LIST_MAX)}`,
    [userId],
  );
  return { items: rows.map(toProject) };
}

export async function getProject(db: Queryable, userId: string, id: string): Promise<Project | undefined> {
  const row = await selectOne<ProjectRow>(
    db,
    `SELECT ${PROJECT_COLUMNS} FROM project_members m JOIN projects p ON p.id = m.project_id
     WHERE m.user_id = ? AND m.project_id = ?`,
    [userId, id],
  );
  return row ? toProject(row) : undefined;
}

export async function listMembers(
  db: Queryable,
  userId: string,
  projectId: string,
): Promise<{ items: Member[] } | undefined> {
  if (!(await isMember(db, userId, projectId))) return undefined;
  const rows = await selectRows<MemberRow>(
    db,
    `SELECT ${MEMBER_COLUMNS} FROM project_members m JOIN users u ON u.id = m.user_id
     WHERE m.project_id = ? ORDER BY u.username ${limitClause(SMALL_LIST_MAX)}`,
    [projectId],
  );
  return { items: rows.map(toMember) };
}

export async function listLabels(
  db: Queryable,
  userId: string,
  projectId: string,
): Promise<{ items: Label[] } | undefined> {
  if (!(await isMember(db, userId, projectId))) return undefined;
  const rows = await selectRows<LabelRow>(
    db,
    `SELECT ${LABEL_COLUMNS} FROM labels l WHERE l.project_id = ? ORDER BY l.name, l.id ${limitClause(SMALL_LIST_MAX)}`,
    [projectId],
  );
  return { items: rows.map(toLabel) };
}

// ------------------------------------------------------------------ tasks

export async function getTask(db: Queryable, userId: string, id: string): Promise<Task | undefined> {
  const row = await selectOne<TaskRow>(
    db,
    `SELECT ${TASK_COLUMNS} FROM tasks t
     JOIN project_members m ON m.project_id = t.project_id AND m.user_id = ?
     WHERE t.id = ?`,
    [userId, id],
  );
  return row ? toTask(row) : undefined;
}

export const TASK_SORTS = ["position", "-updatedAt", "dueDate", "-priority", "createdAt"] as const;
export type TaskSort = (typeof TASK_SORTS)[number];

type SortedTaskRow = TaskRow & { due_sort: string };

interface SortSpec {
  columns: SortColumn[];
  key(row: SortedTaskRow): Param[];
}

/**
 * Every order ends in the task id, so it is total and a keyset cursor is exact. `position` is the
 * board order: by project, then status column (todo, in progress, done), then position.
 */
const SORTS: Record<TaskSort, SortSpec> = {
  position: {
    columns: [
      { expr: "t.project_id", desc: false },
      { expr: "t.status", desc: false },
      { expr: "t.position", desc: false },
      { expr: "t.id", desc: false },
    ],
    key: (r) => [r.project_id, Number(r.status), r.position, r.id],
  },
  "-updatedAt": {
    columns: [
      { expr: "t.updated_at", desc: true },
      { expr: "t.id", desc: true },
    ],
    key: (r) => [r.updated_at, r.id],
  },
  dueDate: {
    columns: [
      { expr: "t.due_sort", desc: false },
      { expr: "t.id", desc: false },
    ],
    key: (r) => [r.due_sort, r.id],
  },
  "-priority": {
    columns: [
      { expr: "t.priority", desc: true },
      { expr: "t.id", desc: true },
    ],
    key: (r) => [Number(r.priority), r.id],
  },
  createdAt: {
    columns: [
      { expr: "t.created_at", desc: false },
      { expr: "t.id", desc: false },
    ],
    key: (r) => [r.created_at, r.id],
  },
};

export interface TaskFilters {
  projectId?: string | undefined;
  status?: TaskStatus | undefined;
  priority?: TaskPriority | undefined;
  assigneeId?: string | undefined;
  labelId?: string | undefined;
  /** Case-insensitive substring of the title or the description. */
  q?: string | undefined;
  /** Tasks due strictly before this date (YYYY-MM-DD); tasks without a due date never match. */
  dueBefore?: string | undefined;
  /** Tasks due strictly after this date. */
  dueAfter?: string | undefined;
  sort?: TaskSort | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

interface CheckedFilters extends TaskFilters {
  sort: TaskSort;
  limit: number;
  after: Cursor | undefined;
}

function checkFilters(f: TaskFilters): CheckedFilters {
  const problems: FieldProblem[] = [];
  for (const name of ["projectId", "assigneeId", "labelId"] as const) {
    const v = f[name];
    if (v !== undefined && !ID_PATTERN.test(v)) problems.push({ path: name, message: "must be an id" });
  }
  if (f.status !== undefined && !TASK_STATUSES.includes(f.status)) {
    problems.push({ path: "status", message: `must be one of ${TASK_STATUSES.join(", ")}` });
  }
  if (f.priority !== undefined && !TASK_PRIORITIES.includes(f.priority)) {
    problems.push({ path: "priority", message: `must be one of ${TASK_PRIORITIES.join(", ")}` });
  }
  for (const name of ["dueBefore", "dueAfter"] as const) {
    const v = f[name];
    if (v !== undefined && !isDateOnly(v))
      problems.push({ path: name, message: "must be a date YYYY-MM-DD" });
  }
  if (f.q !== undefined && (f.q.length === 0 || f.q.length > SEARCH_QUERY_MAX)) {
    problems.push({ path: "q", message: `must be 1–${SEARCH_QUERY_MAX} characters` });
  }
  const sort = f.sort ?? "position";
  if (!TASK_SORTS.includes(sort))
    problems.push({ path: "sort", message: `must be one of ${TASK_SORTS.join(", ")}` });
  const limit = f.limit ?? LIST_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX) {
    problems.push({ path: "limit", message: `must be an integer from 1 to ${LIST_LIMIT_MAX}` });
  }
  let after: Cursor | undefined;
  if (f.cursor !== undefined && problems.length === 0) {
    after = decodeCursor(f.cursor, sort, SORTS[sort].columns.length);
    if (!after)
      problems.push({ path: "cursor", message: "is not a cursor of this listing (or of this sort)" });
  }
  if (problems.length > 0) throw new QueryError(problems);
  return { ...f, sort, limit, after };
}

/** LIKE pattern for a substring, with the wildcards of the text itself escaped (escape char `!`). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/** The SELECT of one page of listTasks (exported so tests can EXPLAIN exactly what runs). */
export function taskListQuery(
  userId: string,
  filters: TaskFilters = {},
): { sql: string; params: Param[]; sort: TaskSort; limit: number } {
  const f = checkFilters(filters);
  const spec = SORTS[f.sort];
  const params: Param[] = [userId];
  let joins = "JOIN project_members m ON m.project_id = t.project_id AND m.user_id = ?";
  if (f.labelId !== undefined) {
    joins += " JOIN task_labels fl ON fl.task_id = t.id AND fl.label_id = ?";
    params.push(f.labelId);
  }
  const where: string[] = [];
  const add = (sql: string, ...values: Param[]): void => {
    where.push(sql);
    params.push(...values);
  };
  if (f.projectId !== undefined) add("t.project_id = ?", f.projectId);
  if (f.status !== undefined) add("t.status = ?", STATUS_CODE[f.status]);
  if (f.priority !== undefined) add("t.priority = ?", PRIORITY_CODE[f.priority]);
  if (f.assigneeId !== undefined) add("t.assignee_id = ?", f.assigneeId);
  if (f.dueBefore !== undefined) add("t.due_date < ?", f.dueBefore);
  if (f.dueAfter !== undefined) add("t.due_date > ?", f.dueAfter);
  if (f.q !== undefined) {
    const pattern = containsPattern(f.q);
    add("(t.title LIKE ? ESCAPE '!' OR t.description LIKE ? ESCAPE '!')", pattern, pattern);
  }
  if (f.after) {
    const cond = keysetAfter(spec.columns, f.after.key);
    add(cond.sql, ...cond.params);
  }
  const order = spec.columns.map((c) => `${c.expr}${c.desc ? " DESC" : ""}`).join(", ");
  const sql = `SELECT ${TASK_COLUMNS}, t.due_sort FROM tasks t ${joins}
     ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
     ORDER BY ${order} ${limitClause(f.limit + 1)}`;
  return { sql, params, sort: f.sort, limit: f.limit };
}

/**
 * Tasks visible to the user, filtered and sorted, one page at a time (keyset pagination on the
 * sort key and the id). Throws QueryError for invalid filters or a cursor of another sort.
 */
export async function listTasks(
  db: Queryable,
  userId: string,
  filters: TaskFilters = {},
): Promise<Page<Task>> {
  const q = taskListQuery(userId, filters);
  const rows = await selectText<SortedTaskRow>(db, q.sql, q.params);
  const more = rows.length > q.limit;
  const page = more ? rows.slice(0, q.limit) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map(toTask),
    nextCursor: more && last ? encodeCursor({ sort: q.sort, key: SORTS[q.sort].key(last) }) : null,
  };
}

// --------------------------------------------------------------- comments

export async function getComment(db: Queryable, userId: string, id: string): Promise<Comment | undefined> {
  const row = await selectOne<CommentRow>(
    db,
    `SELECT ${COMMENT_COLUMNS} FROM comments c JOIN tasks t ON t.id = c.task_id
     JOIN project_members m ON m.project_id = t.project_id AND m.user_id = ?
     WHERE c.id = ?`,
    [userId, id],
  );
  return row ? toComment(row) : undefined;
}

/** The SELECT of one page of a task's comments (visibility is checked separately). */
export function commentListQuery(
  taskId: string,
  opts: { limit?: number | undefined; cursor?: string | undefined } = {},
): { sql: string; params: Param[]; limit: number } {
  const limit = opts.limit ?? LIST_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX) {
    throw new QueryError([{ path: "limit", message: `must be an integer from 1 to ${LIST_LIMIT_MAX}` }]);
  }
  const params: Param[] = [taskId];
  let cond = "";
  if (opts.cursor !== undefined) {
    const after = decodeCursor(opts.cursor, "comments", 2);
    if (!after) throw new QueryError([{ path: "cursor", message: "is not a cursor of this listing" }]);
    const k = keysetAfter(COMMENT_ORDER, after.key);
    cond = `AND ${k.sql}`;
    params.push(...k.params);
  }
  const sql = `SELECT ${COMMENT_COLUMNS} FROM comments c WHERE c.task_id = ? ${cond}
     ORDER BY c.created_at, c.id ${limitClause(limit + 1)}`;
  return { sql, params, limit };
}

const COMMENT_ORDER: SortColumn[] = [
  { expr: "c.created_at", desc: false },
  { expr: "c.id", desc: false },
];

/** A task's comments, oldest first; undefined when the task is not visible to the user. */
export async function listComments(
  db: Queryable,
  userId: string,
  taskId: string,
  opts: { limit?: number | undefined; cursor?: string | undefined } = {},
): Promise<Page<Comment> | undefined> {
  const q = commentListQuery(taskId, opts);
  const visible = await selectOne(
    db,
    `SELECT 1 AS one FROM tasks t JOIN project_members m ON m.project_id = t.project_id AND m.user_id = ?
     WHERE t.id = ?`,
    [userId, taskId],
  );
  if (!visible) return undefined;
  const rows = await selectText<CommentRow>(db, q.sql, q.params);
  const more = rows.length > q.limit;
  const page = more ? rows.slice(0, q.limit) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map(toComment),
    nextCursor: more && last ? encodeCursor({ sort: "comments", key: [last.created_at, last.id] }) : null,
  };
}
