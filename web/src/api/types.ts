/** The entities of the HTTP API (/work/shared/API.md §2), as the UI receives them. */

export type TaskStatus = "todo" | "in_progress" | "done";
export type TaskPriority = "low" | "medium" | "high" | "urgent";
export type MemberRole = "owner" | "member";
export type NodeRole = "leader" | "follower" | "candidate" | "learner";

export const STATUSES: readonly TaskStatus[] = ["todo", "in_progress", "done"];
export const PRIORITIES: readonly TaskPriority[] = ["low", "medium", "high", "urgent"];

export const STATUS_LABEL: Record<TaskStatus, string> = {
  todo: "To do",
  in_progress: "In progress",
  done: "Done",
};

export const PRIORITY_LABEL: Record<TaskPriority, string> = {
  low: "Low",
  medium: "Medium",
  high: "High",
  urgent: "Urgent",
};

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

/** The fields of a task a user edits (PATCH /tasks/{id}). */
export type TaskEdit = Partial<
  Pick<
    Task,
    "title" | "description" | "status" | "priority" | "dueDate" | "assigneeId" | "labelIds" | "projectId"
  >
>;

/** A move within or across status columns (PATCH with beforeId/afterId). */
export interface Placement {
  beforeId?: string;
  afterId?: string;
}

export interface Comment {
  id: string;
  taskId: string;
  authorId: string;
  body: string;
  createdAt: string;
}

export interface ClusterMember {
  id: string;
  raftAddress: string;
  apiUrl: string;
  voter: boolean;
  matchIndex?: number;
  lastContactMs?: number;
  reachable: boolean;
}

export interface ClusterView {
  nodeId: string;
  role: NodeRole;
  term: number;
  leaderId: string | null;
  commitIndex: number;
  appliedIndex: number;
  lastLogIndex: number;
  snapshotIndex: number;
  members: ClusterMember[];
  database: { connected: boolean; name: string };
}

/** `event: cluster` of GET /events: the serving node's role, leader and term. */
export interface ClusterEvent {
  role: NodeRole;
  leaderId: string | null;
  term: number;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; problem: string }[] };
}

export type TaskSort = "position" | "-updatedAt" | "dueDate" | "-priority" | "createdAt";

export const SORT_LABEL: Record<TaskSort, string> = {
  position: "Board order",
  "-updatedAt": "Recently updated",
  dueDate: "Due date",
  "-priority": "Priority (urgent first)",
  createdAt: "Oldest first",
};
