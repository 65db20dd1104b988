import { Type } from "typebox";
import {
  COMMENT_BODY_MAX,
  LIST_LIMIT_MAX,
  SEARCH_QUERY_MAX,
  TASK_DESCRIPTION_MAX,
  TASK_LABELS_MAX,
  TASK_TITLE_MAX,
} from "../../state/limits.js";
import { Consistency, DateOnly, Id, MULTI_LINE, SINGLE_LINE } from "./common.js";
import { Comment, Task, TaskPriority, TaskStatus } from "./entities.js";

const Title = Type.String({
  minLength: 1,
  maxLength: TASK_TITLE_MAX,
  pattern: SINGLE_LINE,
  description: "1–200 characters after trimming",
});
const Description = Type.String({ maxLength: TASK_DESCRIPTION_MAX, pattern: MULTI_LINE });
const LabelIds = Type.Array(Id, { maxItems: TASK_LABELS_MAX, uniqueItems: true });
const Placement = {
  beforeId: Type.Optional(
    Type.String({ ...Id, description: "put the task just before this task of the column" }),
  ),
  afterId: Type.Optional(
    Type.String({ ...Id, description: "put the task just after this task of the column" }),
  ),
};

export const TaskCreateBody = Type.Object(
  {
    title: Title,
    description: Type.Optional(Description),
    status: Type.Optional(TaskStatus),
    priority: Type.Optional(TaskPriority),
    dueDate: Type.Optional(Type.Union([DateOnly, Type.Null()])),
    assigneeId: Type.Optional(Type.Union([Id, Type.Null()])),
    labelIds: Type.Optional(LabelIds),
    projectId: Type.Optional(Type.String({ ...Id, description: "default: the caller's Inbox" })),
    ...Placement,
  },
  { additionalProperties: false },
);

export const TaskPatchBody = Type.Object(
  {
    title: Type.Optional(Title),
    description: Type.Optional(Description),
    status: Type.Optional(TaskStatus),
    priority: Type.Optional(TaskPriority),
    dueDate: Type.Optional(Type.Union([DateOnly, Type.Null()])),
    assigneeId: Type.Optional(Type.Union([Id, Type.Null()])),
    labelIds: Type.Optional(LabelIds),
    projectId: Type.Optional(Id),
    ...Placement,
  },
  { additionalProperties: false, minProperties: 1 },
);

export const TASK_SORTS = ["position", "-updatedAt", "dueDate", "-priority", "createdAt"] as const;
export type TaskSort = (typeof TASK_SORTS)[number];

export const TaskListQuery = Type.Object(
  {
    projectId: Type.Optional(Id),
    status: Type.Optional(TaskStatus),
    priority: Type.Optional(TaskPriority),
    assigneeId: Type.Optional(Id),
    labelId: Type.Optional(Id),
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: SEARCH_QUERY_MAX,
        pattern: SINGLE_LINE,
        description: "matches title and description",
      }),
    ),
    dueBefore: Type.Optional(DateOnly),
    dueAfter: Type.Optional(DateOnly),
    sort: Type.Optional(Type.Enum([...TASK_SORTS], { description: "default position" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIST_LIMIT_MAX, description: "default 100" })),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1024, description: "nextCursor of the previous page" }),
    ),
    consistency: Consistency,
  },
  { additionalProperties: false },
);

export const TaskAnswer = Type.Object({ task: Task });
export const TaskPage = Type.Object({
  items: Type.Array(Task),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const CommentCreateBody = Type.Object(
  { body: Type.String({ minLength: 1, maxLength: COMMENT_BODY_MAX, pattern: MULTI_LINE }) },
  { additionalProperties: false },
);
export const CommentAnswer = Type.Object({ comment: Comment });
export const CommentList = Type.Object({ items: Type.Array(Comment) });
