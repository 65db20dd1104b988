import { getProject, listLabels, listMembers, listProjects } from "../../state/queries.js";
import type { ApiContext } from "../context.js";
import { notFound } from "../errors.js";
import { BEARER, reader, writer } from "../guards.js";
import { CasHeaders, errors, IdParams, NoContent, ReadQuery, WriteHeaders } from "../schemas/common.js";
import {
  LabelAnswer,
  LabelCreateBody,
  LabelList,
  MemberAddBody,
  MemberAnswer,
  MemberList,
  MemberParams,
  ProjectAnswer,
  ProjectCreateBody,
  ProjectList,
  ProjectPatchBody,
} from "../schemas/projects.js";
import type { App } from "../server.js";
import { commandBase, etag, expectedVersion, newId, propose, sendResult } from "../writes.js";

const READ_ERRORS = errors(400, 401, 404, 503);
const WRITE_ERRORS = errors(400, 401, 403, 404, 409, 412, 413, 415, 503, 504);

export function registerProjectRoutes(app: App, ctx: ApiContext): void {
  app.get(
    "/api/v1/projects",
    {
      schema: {
        tags: ["projects"],
        summary: "The caller's projects",
        security: BEARER,
        querystring: ReadQuery,
        response: { 200: ProjectList, ...READ_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await reader(ctx, req, reply);
      return listProjects(ctx.db.pool, user.id);
    },
  );

  app.post(
    "/api/v1/projects",
    {
      schema: {
        tags: ["projects"],
        summary: "Create a project owned by the caller",
        security: BEARER,
        headers: WriteHeaders,
        body: ProjectCreateBody,
        response: { 201: ProjectAnswer, ...WRITE_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await writer(ctx, req);
      const result = await propose(ctx, {
        type: "project.create",
        ...commandBase(req, user.id),
        id: newId(),
        ...req.body,
      });
      return sendResult(reply, result, (body) => {
        const p = (body as { project: { id: string; version: number } }).project;
        reply.header("location", `/api/v1/projects/${p.id}`).header("etag", etag(p.version));
      });
    },
  );

  app.get(
    "/api/v1/projects/:id",
    {
      schema: {
        tags: ["projects"],
        summary: "One project the caller is a member of",
        security: BEARER,
        params: IdParams,
        querystring: ReadQuery,
        response: { 200: ProjectAnswer, ...READ_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await reader(ctx, req, reply);
      const project = await getProject(ctx.db.pool, user.id, req.params.id);
      if (!project) throw notFound("project");
      reply.header("etag", etag(project.version));
      return { project };
    },
  );

  app.patch(
    "/api/v1/projects/:id",
    {
      schema: {
        tags: ["projects"],
        summary: "Rename or describe a project (owners); If-Match for compare-and-set",
        security: BEARER,
        params: IdParams,
        headers: CasHeaders,
        body: ProjectPatchBody,
        response: { 200: ProjectAnswer, ...WRITE_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await writer(ctx, req);
      const version = expectedVersion(req);
      const result = await propose(ctx, {
        type: "project.update",
        ...commandBase(req, user.id),
        projectId: req.params.id,
        ...req.body,
        ...(version !== undefined ? { expectedVersion: version } : {}),
      });
      return sendResult(reply, result, (body) => {
        reply.header("etag", etag((body as { project: { version: number } }).project.version));
      });
    },
  );

  app.delete(
    "/api/v1/projects/:id",
    {
      schema: {
        tags: ["projects"],
        summary: "Delete a project and its tasks (owners; not the Inbox)",
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
        type: "project.delete",
        ...commandBase(req, user.id),
        projectId: req.params.id,
        ...(version !== undefined ? { expectedVersion: version } : {}),
      });
      return sendResult(reply, result);
    },
  );

  app.get(
    "/api/v1/projects/:id/members",
    {
      schema: {
        tags: ["projects"],
        summary: "Members of a project",
        security: BEARER,
        params: IdParams,
        querystring: ReadQuery,
        response: { 200: MemberList, ...READ_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await reader(ctx, req, reply);
      const list = await listMembers(ctx.db.pool, user.id, req.params.id);
      if (!list) throw notFound("project");
      return list;
    },
  );

  app.post(
    "/api/v1/projects/:id/members",
    {
      schema: {
        tags: ["projects"],
        summary: "Add a user by username, or change a member's role (owners); 201 added, 200 changed",
        security: BEARER,
        params: IdParams,
        headers: WriteHeaders,
        body: MemberAddBody,
        response: { 200: MemberAnswer, 201: MemberAnswer, ...WRITE_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await writer(ctx, req);
      const result = await propose(ctx, {
        type: "member.add",
        ...commandBase(req, user.id),
        projectId: req.params.id,
        username: req.body.username,
        role: req.body.role ?? "member",
      });
      return sendResult(reply, result);
    },
  );

  app.delete(
    "/api/v1/projects/:id/members/:userId",
    {
      schema: {
        tags: ["projects"],
        summary: "Remove a member (owners), or leave (oneself)",
        security: BEARER,
        params: MemberParams,
        headers: WriteHeaders,
        response: { 204: NoContent, ...WRITE_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await writer(ctx, req);
      const result = await propose(ctx, {
        type: "member.remove",
        ...commandBase(req, user.id),
        projectId: req.params.id,
        userId: req.params.userId,
      });
      return sendResult(reply, result);
    },
  );

  app.get(
    "/api/v1/projects/:id/labels",
    {
      schema: {
        tags: ["labels"],
        summary: "Labels of a project",
        security: BEARER,
        params: IdParams,
        querystring: ReadQuery,
        response: { 200: LabelList, ...READ_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await reader(ctx, req, reply);
      const list = await listLabels(ctx.db.pool, user.id, req.params.id);
      if (!list) throw notFound("project");
      return list;
    },
  );

  app.post(
    "/api/v1/projects/:id/labels",
    {
      schema: {
        tags: ["labels"],
        summary: "Create a label in a project (members)",
        security: BEARER,
        params: IdParams,
        headers: WriteHeaders,
        body: LabelCreateBody,
        response: { 201: LabelAnswer, ...WRITE_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await writer(ctx, req);
      const result = await propose(ctx, {
        type: "label.create",
        ...commandBase(req, user.id),
        id: newId(),
        projectId: req.params.id,
        ...req.body,
      });
      return sendResult(reply, result);
    },
  );

  app.delete(
    "/api/v1/labels/:id",
    {
      schema: {
        tags: ["labels"],
        summary: "Delete a label; it is taken off its tasks",
        security: BEARER,
        params: IdParams,
        headers: WriteHeaders,
        response: { 204: NoContent, ...WRITE_ERRORS },
      },
    },
    async (req, reply) => {
      const { user } = await writer(ctx, req);
      const result = await propose(ctx, {
        type: "label.delete",
        ...commandBase(req, user.id),
        labelId: req.params.id,
      });
      return sendResult(reply, result);
    },
  );
}
