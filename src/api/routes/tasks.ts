import { Type } from "typebox";
import { LIST_LIMIT_MAX } from "../../state/limits.js";
import { getComment, getTask, listComments, listTasks } from "../../state/queries.js";
import type { ApiContext } from "../context.js";
import { notFound } from "../errors.js";
import { BEARER, reader, writer } from "../guards.js";
import {
  CasHeaders,
  Consistency,
  errors,
  IdParams,
  NoContent,
  ReadQuery,
  WriteHeaders,
} from "../schemas/common.js";
import {
  CommentAnswer,
  CommentCreateBody,
  CommentList,
  TaskAnswer,
  TaskCreateBody,
  TaskListQuery,
  TaskPage,
  TaskPatchBody,
} from "../schemas/tasks.js";
import type { App } from "../server.js";
import { commandBase, etag, expectedVersion, newId, propose, sendResult } from "../writes.js";

const READ_ERRORS = errors(400, 401, 404, 503);
const WRITE_ERRORS = errors(400, 401, 403, 404, 409, 412, 413, 415, 503, 504);

const CommentListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIST_LIMIT_MAX })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    consistency: Consistency,
  },
  { additionalProperties: false },
);

type TaskBody = { task: { id: string; version: number } };

export function registerTaskRoutes(app: App, ctx: ApiContext): void {
  app.post(
    "/api/v1/tasks",
    {
      schema: {
        tags: ["tasks"],
        summary: "Create a task (default project: the caller's Inbox)",
        security: BEARER,
        headers: WriteHeaders,
        body: TaskCreateBody,
        response: { 201: TaskAnswer, ...WRITE_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await writer(ctx, req);
      const result = await propose(ctx, {
        type: "task.create",
        ...commandBase(req, user.id),
        id: newId(),
        ...req.body,
      });
      return sendResult(reply, result, (body) => {
        const t = (body as TaskBody).task;
        reply.header("location", `/api/v1/tasks/${t.id}`).header("etag", etag(t.version));
      });
    },
  );

  app.get(
    "/api/v1/tasks",
    {
      schema: {
        tags: ["tasks"],
        summary: "Tasks of the caller's projects, filtered, sorted and paginated (stable keyset cursor)",
        security: BEARER,
        querystring: TaskListQuery,
        response: { 200: TaskPage, ...READ_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await reader(ctx, req, reply);
      const { consistency: _c, ...filters } = req.query;
      return listTasks(ctx.db.pool, user.id, filters);
    },
  );

  app.get(
    "/api/v1/tasks/:id",
    {
      schema: {
        tags: ["tasks"],
        summary: "One task, with its version as ETag",
        security: BEARER,
        params: IdParams,
        querystring: ReadQuery,
        response: { 200: TaskAnswer, ...READ_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await reader(ctx, req, reply);
      const task = await getTask(ctx.db.pool, user.id, req.params.id);
      if (!task) throw notFound("task");
      reply.header("etag", etag(task.version));
      return { task };
    },
  );

  app.patch(
    "/api/v1/tasks/:id",
    {
      schema: {
        tags: ["tasks"],
        summary: "Change or move a task; with If-Match only if its version matches (else 412)",
        security: BEARER,
        params: IdParams,
        headers: CasHeaders,
        body: TaskPatchBody,
        response: { 200: TaskAnswer, ...WRITE_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await writer(ctx, req);
      const version = expectedVersion(req);
      const result = await propose(ctx, {
        type: "task.update",
        ...commandBase(req, user.id),
        taskId: req.params.id,
        ...req.body,
        ...(version !== undefined ? { expectedVersion: version } : {}),
      });
      return sendResult(reply, result, (body) => {
        reply.header("etag", etag((body as TaskBody).task.version));
      });
    },
  );

  app.delete(
    "/api/v1/tasks/:id",
    {
      schema: {
        tags: ["tasks"],
        summary: "Delete a task; with If-Match only if its version matches",
        security: BEARER,
        params: IdParams,
        headers: CasHeaders,
        response: { 204: NoContent, ...WRITE_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await writer(ctx, req);
      const version = expectedVersion(req);
      const result = await propose(ctx, {
        type: "task.delete",
        ...commandBase(req, user.id),
        taskId: req.params.id,
        ...(version !== undefined ? { expectedVersion: version } : {}),
      });
      return sendResult(reply, result);
    },
  );

  app.get(
    "/api/v1/tasks/:id/comments",
    {
      schema: {
        tags: ["comments"],
        summary: "A task's comments, oldest first",
        security: BEARER,
        params: IdParams,
        querystring: CommentListQuery,
        response: { 200: CommentList, ...READ_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await reader(ctx, req, reply);
      const page = await listComments(ctx.db.pool, user.id, req.params.id, {
        limit: req.query.limit,
        cursor: req.query.cursor,
      });
      if (!page) throw notFound("task");
      return page;
    },
  );

  app.post(
    "/api/v1/tasks/:id/comments",
    {
      schema: {
        tags: ["comments"],
        summary: "Comment on a task",
        security: BEARER,
        params: IdParams,
        headers: WriteHeaders,
        body: CommentCreateBody,
        response: { 201: CommentAnswer, ...WRITE_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await writer(ctx, req);
      const result = await propose(ctx, {
        type: "comment.create",
        ...commandBase(req, user.id),
        id: newId(),
        taskId: req.params.id,
        body: req.body.body,
      });
      return sendResult(reply, result, (body) => {
        reply.header("location", `/api/v1/comments/${(body as { comment: { id: string } }).comment.id}`);
      });
    },
  );

  app.get(
    "/api/v1/comments/:id",
    {
      schema: {
        tags: ["comments"],
        summary: "One comment (extension of API.md: the Location of a new comment)",
        security: BEARER,
        params: IdParams,
        querystring: ReadQuery,
        response: { 200: CommentAnswer, ...READ_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await reader(ctx, req, reply);
      const comment = await getComment(ctx.db.pool, user.id, req.params.id);
      if (!comment) throw notFound("comment");
      return { comment };
    },
  );

  app.delete(
    "/api/v1/comments/:id",
    {
      schema: {
        tags: ["comments"],
        summary: "Delete a comment (its author or an admin)",
        security: BEARER,
        params: IdParams,
        headers: WriteHeaders,
        response: { 204: NoContent, ...WRITE_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await writer(ctx, req);
      const result = await propose(ctx, {
        type: "comment.delete",
        ...commandBase(req, user.id),
        commentId: req.params.id,
      });
      return sendResult(reply, result);
    },
  );
}
