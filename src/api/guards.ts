import type { FastifyReply, FastifyRequest } from "fastify";
import { type Authenticated, authenticate } from "./auth.js";
import type { ApiContext } from "./context.js";
import { ApiError } from "./errors.js";

/** OpenAPI: routes that need `Authorization: Bearer <token>`. */
export const BEARER = [{ bearer: [] }];

function consistencyOf(req: FastifyRequest): "linearizable" | "stale" {
  const q = req.query as { consistency?: unknown } | undefined;
  return q?.consistency === "stale" ? "stale" : "linearizable";
}

/**
 * The caller of a read. Default reads are linearizable: a ReadIndex barrier (through the leader,
 * from any node) first, so the local database has applied every write answered before this read
 * began. `?consistency=stale` skips it and says how far this node has applied.
 */
export async function reader(
  ctx: ApiContext,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<Authenticated> {
  const stale = consistencyOf(req) === "stale";
  const who = await authenticate(ctx, req, !stale);
  reply.header("x-taskraft-applied-index", String(ctx.replica.appliedIndex));
  return who;
}

/**
 * The caller of a write. The session is checked after a barrier too: a token revoked by a logout
 * answered on another node must not still write here.
 */
export function writer(ctx: ApiContext, req: FastifyRequest): Promise<Authenticated> {
  return authenticate(ctx, req, true);
}

export async function admin(ctx: ApiContext, req: FastifyRequest): Promise<Authenticated> {
  const who = await authenticate(ctx, req, true);
  if (!who.user.isAdmin)
    throw new ApiError(403, "forbidden", "Only an administrator may change the cluster.");
  return who;
}
