/**
 * Validation limits and enumerations of the task data (API.md §2). The API layer validates
 * requests with the same numbers before proposing; apply validates again, because a command in
 * the log may come from an older or buggy proposer and every node must refuse it the same way.
 */

export const USERNAME_PATTERN = /^[a-z0-9_.-]{3,32}$/;
export const DISPLAY_NAME_MAX = 100;
export const PASSWORD_HASH_MAX = 255;
export const TOKEN_HASH_PATTERN = /^[0-9a-f]{64}$/;

/** Ids are chosen by the proposing node (e.g. UUIDs or ULIDs); anything else is refused. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const PROJECT_NAME_MAX = 100;
export const PROJECT_DESCRIPTION_MAX = 10_000;
export const LABEL_NAME_MAX = 50;
export const LABEL_COLOR_PATTERN = /^#[0-9a-fA-F]{6}$/;
export const TASK_TITLE_MAX = 200;
export const TASK_DESCRIPTION_MAX = 10_000;
/** Bounds the task_labels rows one command may write. */
export const TASK_LABELS_MAX = 50;
export const COMMENT_BODY_MAX = 5_000;
/** API.md §2: Idempotency-Key is 1–128 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,128}$/;
/** Stored results are kept at least this long (API.md §2 promises 24 hours). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export const TASK_STATUSES = ["todo", "in_progress", "done"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TASK_PRIORITIES = ["low", "medium", "high", "urgent"] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];
export const MEMBER_ROLES = ["owner", "member"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

/**
 * Stored as small integers so that ORDER BY status gives board order (todo, in progress, done)
 * and ORDER BY priority gives urgency order, both straight from an index.
 */
export const STATUS_CODE: Record<TaskStatus, number> = { todo: 1, in_progress: 2, done: 3 };
export const PRIORITY_CODE: Record<TaskPriority, number> = { low: 1, medium: 2, high: 3, urgent: 4 };

export function statusFromCode(code: number): TaskStatus {
  const s = TASK_STATUSES[code - 1];
  if (s === undefined) throw new Error(`unknown status code ${code}`);
  return s;
}

export function priorityFromCode(code: number): TaskPriority {
  const p = TASK_PRIORITIES[code - 1];
  if (p === undefined) throw new Error(`unknown priority code ${code}`);
  return p;
}

export const LIST_LIMIT_DEFAULT = 100;
export const LIST_LIMIT_MAX = 500;
export const SEARCH_QUERY_MAX = 200;
/** Projects, members and labels are listed whole (API.md has no cursor for them); this caps the answer. */
export const SMALL_LIST_MAX = 1000;

/** Characters as MySQL counts them for VARCHAR(n): code points, not UTF-16 units. */
export function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
