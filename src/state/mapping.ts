/**
 * Rows of the replicated tables and the API's JSON for them (API.md §2), in one place: ids as
 * strings, instants as ISO-8601 UTC with milliseconds, dates as YYYY-MM-DD, enums as their names.
 * Apply (for result bodies and events) and queries (for reads) both use these, so a write's answer
 * and a later read of the same entity are the same JSON.
 */
import {
  type MemberRole,
  priorityFromCode,
  statusFromCode,
  type TaskPriority,
  type TaskStatus,
} from "./limits.js";
import { dbToIso } from "./time.js";

export interface UserRow {
  id: string;
  username: string;
  display_name: string;
  is_admin: number;
  inbox_project_id: string | null;
  created_at: string;
}

export interface ProjectRow {
  id: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  version: number;
}

export interface MemberRow {
  project_id: string;
  user_id: string;
  role: string;
  created_at: string;
  username: string;
  display_name: string;
}

export interface LabelRow {
  id: string;
  project_id: string;
  name: string;
  color: string;
  created_at: string;
}

export interface TaskRow {
  id: string;
  project_id: string;
  title: string;
  description: string;
  status: number;
  priority: number;
  due_date: string | null;
  assignee_id: string | null;
  position: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  version: number;
  /** Comma-separated, ordered by id (GROUP_CONCAT); null when the task has none. */
  label_ids: string | Buffer | null;
}

export interface CommentRow {
  id: string;
  task_id: string;
  author_id: string;
  body: string;
  created_at: string;
}

export interface User {
  id: string;
  username: string;
  displayName: string;
  isAdmin: boolean;
  createdAt: string;
}

export interface Project {
  id: string;
  name: string;
  description: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface Member {
  projectId: string;
  userId: string;
  username: string;
  displayName: string;
  role: MemberRole;
  createdAt: string;
}

export interface Label {
  id: string;
  projectId: string;
  name: string;
  color: string;
  createdAt: string;
}

export interface Task {
  id: string;
  projectId: string;
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  dueDate: string | null;
  assigneeId: string | null;
  labelIds: string[];
  position: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  version: number;
}

export interface Comment {
  id: string;
  taskId: string;
  authorId: string;
  body: string;
  createdAt: string;
}

export const USER_COLUMNS = "u.id, u.username, u.display_name, u.is_admin, u.inbox_project_id, u.created_at";
export const PROJECT_COLUMNS = "p.id, p.name, p.description, p.created_at, p.updated_at, p.version";
export const MEMBER_COLUMNS = "m.project_id, m.user_id, m.role, m.created_at, u.username, u.display_name";
export const LABEL_COLUMNS = "l.id, l.project_id, l.name, l.color, l.created_at";
export const TASK_COLUMNS = `t.id, t.project_id, t.title, t.description, t.status, t.priority, t.due_date,
  t.assignee_id, t.position, t.created_by, t.created_at, t.updated_at, t.completed_at, t.version,
  (SELECT GROUP_CONCAT(tl.label_id ORDER BY tl.label_id SEPARATOR ',')
     FROM task_labels tl WHERE tl.task_id = t.id) AS label_ids`;
export const COMMENT_COLUMNS = "c.id, c.task_id, c.author_id, c.body, c.created_at";

export function toUser(r: UserRow): User {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    isAdmin: Number(r.is_admin) === 1,
    createdAt: dbToIso(r.created_at),
  };
}

export function toProject(r: ProjectRow): Project {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    createdAt: dbToIso(r.created_at),
    updatedAt: dbToIso(r.updated_at),
    version: Number(r.version),
  };
}

export function toMember(r: MemberRow): Member {
  return {
    projectId: r.project_id,
    userId: r.user_id,
    username: r.username,
    displayName: r.display_name,
    role: r.role === "owner" ? "owner" : "member",
    createdAt: dbToIso(r.created_at),
  };
}

export function toLabel(r: LabelRow): Label {
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    color: r.color,
    createdAt: dbToIso(r.created_at),
  };
}

function labelIds(v: string | Buffer | null): string[] {
  if (v === null) return [];
  const s = typeof v === "string" ? v : v.toString("utf8");
  return s === "" ? [] : s.split(",");
}

export function toTask(r: TaskRow): Task {
  return {
    id: r.id,
    projectId: r.project_id,
    title: r.title,
    description: r.description,
    status: statusFromCode(Number(r.status)),
    priority: priorityFromCode(Number(r.priority)),
    dueDate: r.due_date,
    assigneeId: r.assignee_id,
    labelIds: labelIds(r.label_ids),
    position: r.position,
    createdBy: r.created_by,
    createdAt: dbToIso(r.created_at),
    updatedAt: dbToIso(r.updated_at),
    completedAt: r.completed_at === null ? null : dbToIso(r.completed_at),
    version: Number(r.version),
  };
}

export function toComment(r: CommentRow): Comment {
  return {
    id: r.id,
    taskId: r.task_id,
    authorId: r.author_id,
    body: r.body,
    createdAt: dbToIso(r.created_at),
  };
}

/** due_sort keeps tasks without a due date last in date order, with a plain index range. */
export const NO_DUE_DATE_SORT = "9999-12-31";
