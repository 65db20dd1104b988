import { Type } from "typebox";
import type { ApiContext } from "../context.js";
import type { App } from "../server.js";
import { apiRole } from "../sse.js";

const Health = Type.Object({ status: Type.Literal("ok"), nodeId: Type.String() });
const Ready = Type.Object({
  ready: Type.Boolean(),
  nodeId: Type.String(),
  role: Type.String(),
  leaderId: Type.Union([Type.String(), Type.Null()]),
  term: Type.Integer(),
  commitIndex: Type.Integer(),
  appliedIndex: Type.Integer(),
  database: Type.Object({ connected: Type.Boolean() }),
  reasons: Type.Array(Type.String()),
});

/** How long /readyz waits for the apply to reach the commit index before calling the node behind. */
const READY_APPLY_WAIT_MS = 500;

async function appliedUpTo(ctx: ApiContext, index: number, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  while (ctx.replica.appliedIndex < index) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

export function registerProbeRoutes(app: App, ctx: ApiContext): void {
  app.get(
    "/healthz",
    { schema: { tags: ["probes"], summary: "200 while the process runs", response: { 200: Health } } },
    async () => ({ status: "ok" as const, nodeId: ctx.nodeId }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        tags: ["probes"],
        summary:
          "200 when a leader is known, MySQL is reachable and the commit index heard is applied; else 503",
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_req, reply) => {
      const st = ctx.replica.status();
      const reasons: string[] = [];
      if (!st.leaderId) reasons.push("no leader known");
      const connected = ctx.db.connected() && st.stateMachineHealthy;
      if (!connected) reasons.push("database not reachable");
      if (!(await appliedUpTo(ctx, st.commitIndex, READY_APPLY_WAIT_MS))) {
        reasons.push(`applied ${ctx.replica.appliedIndex} of commit index ${st.commitIndex}`);
      }
      const body = {
        ready: reasons.length === 0,
        nodeId: ctx.nodeId,
        role: apiRole(st.role),
        leaderId: st.leaderId || null,
        term: st.term,
        commitIndex: st.commitIndex,
        appliedIndex: ctx.replica.appliedIndex,
        database: { connected },
        reasons,
      };
      return reply.code(body.ready ? 200 : 503).send(body);
    },
  );

  app.get(
    "/metrics",
    {
      schema: {
        tags: ["probes"],
        summary: "Prometheus metrics",
        response: { 200: Type.String({ description: "Prometheus text format" }) },
      },
    },
    async (_req, reply) => {
      const text = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(text);
    },
  );
}
