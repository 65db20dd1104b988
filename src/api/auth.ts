import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { User } from "../state/mapping.js";
import { getSessionUser } from "../state/queries.js";
import type { ApiContext } from "./context.js";
import { ApiError } from "./errors.js";
import { requireApplying } from "./writes.js";

/**
 * scrypt cost: N=2^14, r=8 takes ~50 ms and 16 MiB per hash on a small machine — slow enough to
 * make offline guessing expensive, fast enough that a login is not the bottleneck.
 */
const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32, saltBytes: 16 } as const;
const SCRYPT_MAXMEM = 64 * 1024 * 1024;

/** Sessions last this long; expiry is checked at read time against the session row. */
export const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;

function scryptAsync(
  password: string,
  salt: Buffer,
  N: number,
  r: number,
  p: number,
  len: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, len, { N, r, p, maxmem: SCRYPT_MAXMEM }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$salt$hash` (base64url): self-describing, so the cost can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltBytes);
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyLength);
  return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64url"), key.toString("base64url")].join(
    "$",
  );
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  // A stored hash is replicated data; bound its cost so a bad row cannot stall the node.
  if (![N, r, p].every(Number.isSafeInteger) || N > 1 << 17 || r > 16 || p > 4 || N < 2) return false;
  const salt = Buffer.from(parts[4]!, "base64url");
  const expected = Buffer.from(parts[5]!, "base64url");
  if (expected.length < 16 || expected.length > 64) return false;
  const key = await scryptAsync(password, salt, N, r, p, expected.length);
  return timingSafeEqual(key, expected);
}

/** A hash to verify against when the user does not exist, so timing does not reveal usernames. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(12).toString("hex"));
  return dummyHash;
}

export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * The token of a signup or login that carries an Idempotency-Key. A retry on another node gets
 * the first attempt's stored answer, so it must also get the first attempt's token; no node may
 * store raw tokens, so both attempts derive it: HMAC with the cluster secret over the request,
 * including the password, so that knowing the key alone is not enough.
 */
export function derivedToken(secret: string, ...parts: string[]): string {
  const h = createHmac("sha256", secret);
  for (const p of parts) h.update(`${p.length}:${p}\n`);
  return h.digest().toString("base64url");
}

export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The bearer token of a request, if its Authorization header has one of our shape. */
export function bearerToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== "string") return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m || !TOKEN_SHAPE.test(m[1]!)) return undefined;
  return m[1]!;
}

export interface Authenticated {
  user: User;
  tokenHash: string;
}

const UNAUTHORIZED = () =>
  new ApiError(401, "unauthorized", "A valid bearer token is required (Authorization: Bearer <token>).");

/**
 * The caller, from the session its token names. With `barrier`, the lookup runs after a
 * linearizable read barrier, so a logout answered by any node is seen here. Without it (stale
 * reads), the local state is tried first and a miss falls back to the barrier, so a token
 * minted on another node a moment ago still works here.
 */
export async function authenticate(
  ctx: ApiContext,
  req: FastifyRequest,
  barrier: boolean,
): Promise<Authenticated> {
  const token = bearerToken(req);
  if (!token) throw UNAUTHORIZED();
  const hash = tokenHash(token);
  if (barrier) {
    requireApplying(ctx);
    await ctx.replica.readBarrier();
  }
  let user = await sessionUser(ctx, hash);
  if (!user && !barrier) {
    await ctx.replica.readBarrier();
    user = await sessionUser(ctx, hash);
  }
  if (!user) throw UNAUTHORIZED();
  return { user, tokenHash: hash };
}

interface CachedSession {
  user: User;
  expiresAtMs: number;
  generation: number;
}

export type SessionCache = Map<string, CachedSession>;

/** Bound on cached tokens; past it the cache starts over (a flood of tokens cannot grow memory). */
const SESSION_CACHE_MAX = 10_000;

/**
 * Who a token names, from this node's database, remembered while the state machine's auth
 * generation stands still (no revoke or restore applied since the read) and the session is
 * unexpired. After a read barrier this is exactly what the database would answer, one query less.
 */
async function sessionUser(ctx: ApiContext, hash: string): Promise<User | undefined> {
  const generationOf = ctx.db.authGeneration;
  const now = new Date();
  if (!generationOf) return (await getSessionUser(ctx.db.pool, hash, now))?.user;
  const cache = ctx.sessions;
  const generation = generationOf();
  const hit = cache.get(hash);
  if (hit && hit.generation === generation && hit.expiresAtMs > now.getTime()) return hit.user;
  const found = await getSessionUser(ctx.db.pool, hash, now);
  if (!found) {
    cache.delete(hash);
    return undefined;
  }
  if (cache.size >= SESSION_CACHE_MAX) cache.clear();
  // The generation read before the query: a revoke applied meanwhile makes this entry stale at once.
  cache.set(hash, { user: found.user, expiresAtMs: found.expiresAtMs, generation });
  return found.user;
}

interface Failures {
  /** Times of recent failures, oldest first; at most `max` kept. */
  times: number[];
}

/**
 * Failed logins per username and per client address, kept in this node's memory only: a guesser
 * spreading attempts over nodes gets at most `max` per node per window, which is still slow.
 */
export class LoginLimiter {
  private readonly keys = new Map<string, Failures>();

  constructor(
    private readonly max = 5,
    private readonly windowMs = 60_000,
    /** Bound on tracked keys, so a flood of distinct names cannot grow memory. */
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `key` may try again, or 0 when it may now. */
  retryAfter(key: string): number {
    const f = this.keys.get(key);
    if (!f) return 0;
    const t = this.now();
    f.times = f.times.filter((x) => t - x < this.windowMs);
    if (f.times.length === 0) {
      this.keys.delete(key);
      return 0;
    }
    if (f.times.length < this.max) return 0;
    return Math.max(1, Math.ceil((f.times[0]! + this.windowMs - t) / 1000));
  }

  fail(key: string): void {
    const t = this.now();
    const f = this.keys.get(key) ?? { times: [] };
    this.keys.delete(key);
    f.times = [...f.times.filter((x) => t - x < this.windowMs), t].slice(-this.max);
    this.keys.set(key, f);
    while (this.keys.size > this.maxKeys) {
      const oldest = this.keys.keys().next().value;
      if (oldest === undefined) break;
      this.keys.delete(oldest);
    }
  }

  clear(key: string): void {
    this.keys.delete(key);
  }
}
