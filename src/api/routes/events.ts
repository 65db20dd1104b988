import { Type } from "typebox";
import { getProject } from "../../state/queries.js";
import { authenticate } from "../auth.js";
import type { ApiContext } from "../context.js";
import { ApiError, notFound } from "../errors.js";
import { BEARER } from "../guards.js";
import { errors, Id } from "../schemas/common.js";
import type { App } from "../server.js";

const EventsQuery = Type.Object(
  {
    projectId: Type.Optional(Id),
    access_token: Type.Optional(
      Type.String({
        maxLength: 64,
        description: "the bearer token, for EventSource clients that cannot set headers (extension)",
      }),
    ),
    lastEventId: Type.Optional(Type.String({ maxLength: 20, description: "as the Last-Event-ID header" })),
  },
  { additionalProperties: false },
);

const EventsHeaders = Type.Object({
  "last-event-id": Type.Optional(Type.String({ maxLength: 20, description: "resume after this log index" })),
});

function parseLastEventId(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  if (!/^\d{1,16}$/.test(raw.trim())) {
    throw new ApiError(400, "validation_failed", "The request has invalid fields.", [
      { path: "headers.last-event-id", problem: "must be the id of an event (a log index)" },
    ]);
  }
  return Number(raw.trim());
}

export function registerEventRoutes(app: App, ctx: ApiContext): void {
  app.get(
    "/api/v1/events",
    {
      schema: {
        tags: ["events"],
        summary:
          "Server-sent events: id = raft log index, event = task.created|task.updated|…|cluster|reset; resume with Last-Event-ID",
        security: BEARER,
        querystring: EventsQuery,
        headers: EventsHeaders,
        response: {
          200: Type.String({ description: "text/event-stream" }),
          ...errors(400, 401, 404, 503),
        },
      },
    },
    async (req, reply) => {
      const q = req.query;
      if (q.access_token !== undefined && req.headers.authorization === undefined) {
        req.headers.authorization = `Bearer ${q.access_token}`;
      }
      const { user, tokenHash: hash } = await authenticate(ctx, req, true);
      if (q.projectId !== undefined && !(await getProject(ctx.db.pool, user.id, q.projectId))) {
        throw notFound("project");
      }
      const header = req.headers["last-event-id"];
      const after = parseLastEventId(typeof header === "string" ? header : q.lastEventId);
      if (ctx.hub.full) {
        throw new ApiError(
          503,
          "unavailable",
          "This node serves too many event streams; try another node.",
          undefined,
          5,
        );
      }
      reply.hijack();
      reply.raw.writeHead(200, {
        ...reply.getHeaders(),
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
        "x-taskraft-applied-index": String(ctx.replica.appliedIndex),
      } as Record<string, string>);
      reply.raw.flushHeaders();
      ctx.hub.subscribe(reply.raw, {
        userId: user.id,
        tokenHash: hash,
        ...(q.projectId !== undefined ? { projectId: q.projectId } : {}),
        ...(after !== undefined ? { after } : {}),
      });
    },
  );
}
