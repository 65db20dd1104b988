import { Type } from "typebox";
import { authenticate } from "../auth.js";
import type { ApiContext } from "../context.js";
import { ApiError } from "../errors.js";
import { BEARER } from "../guards.js";
import { RestartBody } from "../schemas/cluster.js";
import { errors } from "../schemas/common.js";
import type { App } from "../server.js";

const FaultAnswer = Type.Object({ nodeId: Type.String(), isolated: Type.Boolean() });

/**
 * Demonstration faults (`--chaos` only; otherwise these paths do not exist and answer 404). Any
 * signed-in user may use them: they exist for the dev cluster's UI. The session is checked
 * without a barrier, because an isolated node cannot reach the leader — and must still heal.
 */
export function registerChaosRoutes(app: App, ctx: ApiContext): void {
  if (!ctx.chaos) return;
  let isolated = false;
  const schema = (summary: string) => ({
    tags: ["chaos"],
    summary,
    security: BEARER,
    response: { 200: FaultAnswer, ...errors(401) },
  });

  app.post(
    "/api/v1/chaos/isolate",
    { schema: schema("Drop all Raft traffic to and from this node") },
    async (req) => {
      await authenticate(ctx, req, false);
      ctx.transport.isolate();
      isolated = true;
      ctx.monitor.isolated = true;
      return { nodeId: ctx.nodeId, isolated };
    },
  );

  app.post(
    "/api/v1/chaos/drop",
    {
      schema: {
        tags: ["chaos"],
        summary: "Drop this fraction of the Raft messages this node sends to one peer (one-way loss)",
        security: BEARER,
        body: Type.Object(
          {
            peer: Type.String({ minLength: 1, maxLength: 64 }),
            probability: Type.Number({ minimum: 0, maximum: 1 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ nodeId: Type.String(), peer: Type.String(), probability: Type.Number() }),
          ...errors(400, 401),
        },
      },
    },
    async (req) => {
      await authenticate(ctx, req, false);
      const { peer, probability } = req.body;
      ctx.transport.dropTo(peer, probability);
      return { nodeId: ctx.nodeId, peer, probability };
    },
  );

  app.post(
    "/api/v1/chaos/delay",
    {
      schema: {
        tags: ["chaos"],
        summary: "Delay every Raft message this node sends by this many milliseconds",
        security: BEARER,
        body: Type.Object(
          { ms: Type.Integer({ minimum: 0, maximum: 60_000 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ nodeId: Type.String(), delayMs: Type.Integer() }),
          ...errors(400, 401),
        },
      },
    },
    async (req) => {
      await authenticate(ctx, req, false);
      ctx.transport.delay(req.body.ms);
      return { nodeId: ctx.nodeId, delayMs: req.body.ms };
    },
  );

  app.post("/api/v1/chaos/heal", { schema: schema("Undo isolate, and any loss or delay") }, async (req) => {
    await authenticate(ctx, req, false);
    ctx.transport.heal();
    ctx.transport.resetFaults();
    isolated = false;
    ctx.monitor.isolated = false;
    return { nodeId: ctx.nodeId, isolated };
  });

  app.post(
    "/api/v1/chaos/crash",
    {
      schema: {
        tags: ["chaos"],
        summary: "Kill this process at once, as kill -9 would",
        security: BEARER,
        response: { 202: Type.Object({ nodeId: Type.String(), crashing: Type.Boolean() }), ...errors(401) },
      },
    },
    async (req, reply) => {
      await authenticate(ctx, req, false);
      ctx.logger.warn({}, "chaos: crashing on request");
      // Answer first, so the caller knows the request arrived; then die without any cleanup.
      reply.raw.once("finish", () => process.kill(process.pid, "SIGKILL"));
      return reply.code(202).send({ nodeId: ctx.nodeId, crashing: true });
    },
  );

  app.post(
    "/api/v1/chaos/restart",
    {
      schema: {
        tags: ["chaos"],
        summary: "Ask `taskraft dev`'s supervisor to restart a stopped node (404 outside taskraft dev)",
        security: BEARER,
        body: RestartBody,
        response: { 202: Type.Object({ restarting: Type.String() }), ...errors(400, 401, 404, 503) },
      },
    },
    async (req, reply) => {
      await authenticate(ctx, req, false);
      const base = ctx.supervisorUrl;
      if (!base)
        throw new ApiError(
          404,
          "not_found",
          "This node does not run under taskraft dev; nothing can restart it.",
        );
      const id = req.body.nodeId;
      let res: Response;
      try {
        res = await fetch(`${base}/nodes/${encodeURIComponent(id)}/restart`, {
          method: "POST",
          signal: AbortSignal.timeout(3000),
        });
      } catch {
        throw new ApiError(503, "unavailable", "The dev supervisor did not answer.", undefined, 1);
      }
      if (res.status === 404) throw new ApiError(404, "not_found", `The dev cluster has no node ${id}.`);
      if (!res.ok)
        throw new ApiError(503, "unavailable", `The dev supervisor answered ${res.status}.`, undefined, 1);
      return reply.code(202).send({ restarting: id });
    },
  );
}
