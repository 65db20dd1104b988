import { randomUUID } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { CommandError, type CommandInput, encodeCommand, type Idem } from "../state/commands.js";
import { IDEMPOTENCY_KEY_PATTERN } from "../state/limits.js";
import type { ApplyResult } from "../state/results.js";
import type { ApiContext } from "./context.js";
import { ApiError, type ErrorDetail } from "./errors.js";

/** Ids of new entities: decided here, before proposing, so every node stores the same one. */
export function newId(): string {
  return randomUUID();
}

/** The time of a change, decided by the node that accepts it: ISO-8601 UTC with milliseconds. */
export function now(): string {
  return new Date().toISOString();
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/** The Idempotency-Key of a write, scoped to the user it is for. */
export function idemOf(req: FastifyRequest, userId: string): Idem | undefined {
  const key = header(req, "idempotency-key");
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new ApiError(400, "validation_failed", "The request has invalid fields.", [
      { path: "headers.idempotency-key", problem: "must be 1–128 printable ASCII characters" },
    ]);
  }
  return { userId, key };
}

export function idempotencyKey(req: FastifyRequest): string | undefined {
  return idemOf(req, "-")?.key;
}

/**
 * The version an If-Match header asks for: `"3"`, `W/"3"` or a bare `3`. `*` (any current
 * version) asks for none. A list of versions is refused: a change applies to one version.
 */
export function expectedVersion(req: FastifyRequest): number | undefined {
  const raw = header(req, "if-match");
  if (raw === undefined) return undefined;
  const v = raw.trim();
  if (v === "*") return undefined;
  const m = /^(?:W\/)?"?([1-9][0-9]{0,15})"?$/.exec(v);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new ApiError(400, "validation_failed", "The request has invalid fields.", [
      { path: "headers.if-match", problem: 'must be one version as an ETag, e.g. "3"' },
    ]);
  }
  return n;
}

export function etag(version: number): string {
  return `"${version}"`;
}

function isApplyResult(v: unknown): v is ApplyResult {
  return typeof v === "object" && v !== null && typeof (v as ApplyResult).status === "number";
}

function problemsToDetails(problems: readonly { path: string; message: string }[]): ErrorDetail[] {
  return problems.map((p) => ({ path: p.path, problem: p.message }));
}

/**
 * Refuses (503, not applied) a request this node could only answer after applying: a write, whose
 * answer waits for the local apply, or a linearizable read, which waits for the apply to reach the
 * read index. While the state machine cannot apply (its database is down) such a request would
 * only wait out its timeout — a write as a 504 whose entry may still commit through the leader —
 * so it is refused at once and the client retries on another node. The node keeps its Raft role
 * and log meanwhile (issue #4), and serves again once an apply has succeeded.
 */
export function requireApplying(ctx: ApiContext): void {
  if (ctx.replica.status().stateMachineHealthy) return;
  throw new ApiError(
    503,
    "unavailable",
    "This node's database is not reachable, so it cannot apply changes now; retry on another node.",
    undefined,
    2,
  );
}

/**
 * Proposes a command through this node's Raft core (a follower's core forwards it to the leader)
 * and waits until the entry is applied here; the state machine's verdict is the answer.
 */
export async function propose(ctx: ApiContext, input: CommandInput): Promise<ApplyResult> {
  let bytes: Uint8Array;
  try {
    bytes = encodeCommand(input);
  } catch (e) {
    if (e instanceof CommandError) {
      throw new ApiError(
        400,
        "validation_failed",
        "The request has invalid fields.",
        problemsToDetails(e.problems),
      );
    }
    throw e;
  }
  requireApplying(ctx);
  const result = await ctx.replica.propose(bytes);
  if (!isApplyResult(result)) {
    throw new Error(`the state machine answered entry of ${input.type} with ${JSON.stringify(result)}`);
  }
  return result;
}

/**
 * The state machine's error body in the API's shape: its field problems are `{path, message}`,
 * the API's `{path, problem}` (API.md §2). Stored answers of idempotent retries pass here too.
 */
export function apiBody(result: ApplyResult): unknown {
  if (result.status < 400) return result.body;
  const b = result.body as { error?: { code?: string; message?: string; details?: unknown } } | null;
  const err = b?.error;
  if (!err || typeof err.code !== "string") {
    return { error: { code: "internal", message: "The change could not be applied." } };
  }
  const out: { code: string; message: string; details?: ErrorDetail[] } = {
    code: err.code,
    message: sentence(err.message ?? err.code),
  };
  if (Array.isArray(err.details)) {
    out.details = (err.details as { path?: unknown; message?: unknown; problem?: unknown }[]).map((d) => ({
      path: String(d.path ?? ""),
      problem: String(d.problem ?? d.message ?? ""),
    }));
  }
  return { error: out };
}

/** "task not found" → "Task not found." — one clear sentence, as everywhere else. */
function sentence(s: string): string {
  const t = s.trim();
  if (t === "") return t;
  const first = t[0]!.toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** Sends an applied command's answer; `onSuccess` adds headers that need the created entity. */
export function sendResult(
  reply: FastifyReply,
  result: ApplyResult,
  onSuccess?: (body: unknown) => void,
): FastifyReply {
  if (result.status < 300 && onSuccess) onSuccess(result.body);
  reply.code(result.status);
  if (result.status === 204) return reply.send();
  return reply.send(apiBody(result));
}

/** The fields every command carries: who, when, and the client's idempotency key. */
export function commandBase(
  req: FastifyRequest,
  actorId: string,
): { actorId: string; at: string; idem?: Idem } {
  const idem = idemOf(req, actorId);
  return { actorId, at: now(), ...(idem ? { idem } : {}) };
}
