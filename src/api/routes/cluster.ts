import { ReplicaError } from "../../replica/index.js";
import { authenticate } from "../auth.js";
import type { ApiContext } from "../context.js";
import { ApiError } from "../errors.js";
import { admin, BEARER } from "../guards.js";
import {
  ClusterAnswer,
  MemberJoinAnswer,
  MemberJoinBody,
  NodeParams,
  SnapshotAnswer,
  TransferAnswer,
  TransferBody,
} from "../schemas/cluster.js";
import { errors, NoContent } from "../schemas/common.js";
import type { App } from "../server.js";

/** How long a transfer request waits to see the new leader before answering 503. */
const TRANSFER_WAIT_MS = 3000;

const ADMIN_ERRORS = errors(400, 401, 403, 404, 409, 503, 504);

export function registerClusterRoutes(app: App, ctx: ApiContext): void {
  const database = () => ({ connected: ctx.db.connected(), name: ctx.db.name });

  app.get(
    "/api/v1/cluster",
    {
      schema: {
        tags: ["cluster"],
        summary: "This node's view of the cluster",
        security: BEARER,
        response: { 200: ClusterAnswer, ...errors(401, 503) },
      },
    },
    async (req) => {
      // No barrier: the cluster view must answer while there is no leader, which is when it matters.
      await authenticate(ctx, req, false);
      return ctx.monitor.view(database());
    },
  );

  app.post(
    "/api/v1/cluster/members",
    {
      schema: {
        tags: ["cluster"],
        summary:
          "Add a node: it joins as a learner and the leader promotes it to voter once caught up (admin)",
        security: BEARER,
        body: MemberJoinBody,
        response: { 202: MemberJoinAnswer, ...ADMIN_ERRORS },
      },
    },
    async (req, reply) => {
      await admin(ctx, req);
      const { id, raftAddress, apiUrl } = req.body;
      const conf = ctx.replica.status().conf;
      if (conf.voters.includes(id) || conf.learners.includes(id)) {
        throw new ApiError(409, "conflict", `Node ${id} is already a member of the cluster.`);
      }
      await ctx.replica.proposeConfChange({ type: "addLearner", nodeId: id }, { id, raftAddress, apiUrl });
      const view = ctx.monitor.view(database()).members.find((m) => m.id === id);
      return reply.code(202).send({
        member: view ?? { id, raftAddress, apiUrl, voter: false, reachable: false },
      });
    },
  );

  app.delete(
    "/api/v1/cluster/members/:id",
    {
      schema: {
        tags: ["cluster"],
        summary: "Remove a node from the cluster (admin)",
        security: BEARER,
        params: NodeParams,
        response: { 204: NoContent, ...ADMIN_ERRORS },
      },
    },
    async (req, reply) => {
      await admin(ctx, req);
      const id = req.params.id;
      const conf = ctx.replica.status().conf;
      if (!conf.voters.includes(id) && !conf.learners.includes(id)) {
        throw new ApiError(404, "not_found", `Node ${id} is not a member of the cluster.`);
      }
      if (conf.voters.length === 1 && conf.voters[0] === id) {
        throw new ApiError(409, "conflict", "The last voter cannot be removed.");
      }
      await ctx.replica.proposeConfChange({ type: "removeNode", nodeId: id });
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/api/v1/cluster/transfer-leadership",
    {
      schema: {
        tags: ["cluster"],
        summary: "Hand leadership to a voter (default: the most caught-up one) and wait for it (admin)",
        security: BEARER,
        body: TransferBody,
        response: { 200: TransferAnswer, ...ADMIN_ERRORS },
      },
    },
    async (req) => {
      await admin(ctx, req);
      const st = ctx.replica.status();
      const to = req.body?.to ?? ctx.monitor.bestTransferTarget();
      if (to === undefined)
        throw new ApiError(409, "conflict", "No other voter can take over leadership now.");
      if (!st.conf.voters.includes(to)) {
        throw new ApiError(400, "validation_failed", "The request has invalid fields.", [
          { path: "to", problem: "must be a voter of the cluster" },
        ]);
      }
      if (st.leaderId === to) return { leaderId: to, term: st.term };
      if (!st.leaderId)
        throw new ReplicaError("unavailable", "no leader is known; the cluster may be electing one");
      ctx.replica.transferLeadership(to);
      const deadline = Date.now() + TRANSFER_WAIT_MS;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
        if (ctx.replica.leaderId === to) return { leaderId: to, term: ctx.replica.status().term };
      }
      throw new ApiError(
        503,
        "unavailable",
        `Leadership did not move to ${to} in time; retry.`,
        undefined,
        1,
      );
    },
  );

  app.post(
    "/api/v1/cluster/snapshot",
    {
      schema: {
        tags: ["cluster"],
        summary: "Take a snapshot on this node now and compact its log (admin)",
        security: BEARER,
        response: { 200: SnapshotAnswer, ...ADMIN_ERRORS },
      },
    },
    async (req) => {
      await admin(ctx, req);
      const meta = await ctx.replica.snapshotNow();
      return { index: meta.index, term: meta.term, size: meta.size };
    },
  );
}
