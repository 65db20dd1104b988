import { Type } from "typebox";
import { MEMBER_ROLES, TASK_PRIORITIES, TASK_STATUSES } from "../../state/limits.js";
import { DateOnly, Id, Instant } from "./common.js";

/** The JSON of the entities, exactly as src/state/mapping.ts produces them. */

export const User = Type.Object(
  {
    id: Id,
    username: Type.String(),
    displayName: Type.String(),
    isAdmin: Type.Boolean(),
    createdAt: Instant,
  },
  { title: "User" },
);

export const Project = Type.Object(
  {
    id: Id,
    name: Type.String(),
    description: Type.String(),
    createdAt: Instant,
    updatedAt: Instant,
    version: Type.Integer({ minimum: 1 }),
  },
  { title: "Project" },
);

export const Member = Type.Object(
  {
    projectId: Id,
    userId: Id,
    username: Type.String(),
    displayName: Type.String(),
    role: Type.Enum([...MEMBER_ROLES]),
    createdAt: Instant,
  },
  { title: "Member" },
);

export const Label = Type.Object(
  { id: Id, projectId: Id, name: Type.String(), color: Type.String(), createdAt: Instant },
  { title: "Label" },
);

export const TaskStatus = Type.Enum([...TASK_STATUSES]);
export const TaskPriority = Type.Enum([...TASK_PRIORITIES]);

export const Task = Type.Object(
  {
    id: Id,
    projectId: Id,
    title: Type.String(),
    description: Type.String(),
    status: TaskStatus,
    priority: TaskPriority,
    dueDate: Type.Union([DateOnly, Type.Null()]),
    assigneeId: Type.Union([Id, Type.Null()]),
    labelIds: Type.Array(Id),
    position: Type.String({ description: "orders tasks within a status column (byte-wise)" }),
    createdBy: Id,
    createdAt: Instant,
    updatedAt: Instant,
    completedAt: Type.Union([Instant, Type.Null()]),
    version: Type.Integer({ minimum: 1 }),
  },
  { title: "Task" },
);

export const Comment = Type.Object(
  { id: Id, taskId: Id, authorId: Id, body: Type.String(), createdAt: Instant },
  { title: "Comment" },
);
