import { createHash } from "node:crypto";
import type { User } from "../../state/mapping.js";
import { getLoginByUsername } from "../../state/queries.js";
import {
  derivedToken,
  dummyPasswordHash,
  hashPassword,
  newToken,
  SESSION_TTL_MS,
  tokenHash,
  verifyPassword,
} from "../auth.js";
import type { ApiContext } from "../context.js";
import { ApiError } from "../errors.js";
import { BEARER, reader, writer } from "../guards.js";
import { AuthAnswer, LoginBody, MeAnswer, SignupBody } from "../schemas/auth.js";
import { errors, NoContent, ReadQuery, WriteHeaders } from "../schemas/common.js";
import type { App } from "../server.js";
import { idemOf, idempotencyKey, newId, now, propose, sendResult } from "../writes.js";

/** Password hashes computed at once, at most: each holds 16 MiB and a thread-pool slot for ~50 ms. */
const MAX_HASHING = 16;
let hashing = 0;

async function gated<T>(fn: () => Promise<T>): Promise<T> {
  if (hashing >= MAX_HASHING) {
    throw new ApiError(
      503,
      "unavailable",
      "Too many logins at once on this node; retry shortly.",
      undefined,
      1,
    );
  }
  hashing++;
  try {
    return await fn();
  } finally {
    hashing--;
  }
}

function expiry(at: string): string {
  return new Date(Date.parse(at) + SESSION_TTL_MS).toISOString();
}

/**
 * The idempotency scope of a signup: there is no user yet, so retries of one signup are tied
 * together by the username they ask for.
 */
function signupScope(username: string): string {
  return `s-${createHash("sha256").update(username).digest("hex").slice(0, 40)}`;
}

export function registerAuthRoutes(app: App, ctx: ApiContext): void {
  app.post(
    "/api/v1/auth/signup",
    {
      schema: {
        tags: ["auth"],
        summary: "Create an account (the first one is an admin) and its Inbox; answers a token",
        headers: WriteHeaders,
        body: SignupBody,
        response: { 201: AuthAnswer, ...errors(400, 409, 413, 415, 503, 504) },
      },
    },
    async (req, reply) => {
      const { username, password, displayName } = req.body;
      const key = idempotencyKey(req);
      const passwordHash = await gated(() => hashPassword(password));
      const token = key ? derivedToken(ctx.clusterSecret, "signup", username, key, password) : newToken();
      const id = newId();
      const at = now();
      const result = await propose(ctx, {
        type: "user.signup",
        actorId: id,
        at,
        ...(key ? { idem: { userId: signupScope(username), key } } : {}),
        id,
        username,
        displayName: displayName ?? username,
        passwordHash,
        inboxProjectId: newId(),
        session: { tokenHash: tokenHash(token), expiresAt: expiry(at) },
      });
      if (result.status !== 201) return sendResult(reply, result);
      return reply.code(201).send({ user: (result.body as { user: User }).user, token });
    },
  );

  app.post(
    "/api/v1/auth/login",
    {
      schema: {
        tags: ["auth"],
        summary: "Exchange a username and password for a token",
        headers: WriteHeaders,
        body: LoginBody,
        response: { 200: AuthAnswer, ...errors(400, 401, 413, 415, 429, 503, 504) },
      },
    },
    async (req, reply) => {
      const { username, password } = req.body;
      const { user: byUser, ip: byIp } = ctx.limiters;
      const wait = Math.max(byUser.retryAfter(username), byIp.retryAfter(req.ip));
      if (wait > 0) {
        throw new ApiError(
          429,
          "rate_limited",
          "Too many failed logins; wait before trying again.",
          undefined,
          wait,
        );
      }
      await ctx.replica.readBarrier();
      const found = await getLoginByUsername(ctx.db.pool, username);
      const stored = found?.passwordHash ?? (await dummyPasswordHash());
      const ok = (await gated(() => verifyPassword(password, stored))) && found !== undefined;
      if (!ok || !found) {
        byUser.fail(username);
        byIp.fail(req.ip);
        throw new ApiError(401, "unauthorized", "The username or the password is wrong.");
      }
      byUser.clear(username);
      const user = found.user;
      const idem = idemOf(req, user.id);
      const token = idem ? derivedToken(ctx.clusterSecret, "login", user.id, idem.key, password) : newToken();
      const at = now();
      const result = await propose(ctx, {
        type: "session.create",
        actorId: user.id,
        at,
        ...(idem ? { idem } : {}),
        userId: user.id,
        tokenHash: tokenHash(token),
        expiresAt: expiry(at),
      });
      if (result.status !== 200) return sendResult(reply, result);
      return reply.code(200).send({ user: (result.body as { user: User }).user, token });
    },
  );

  app.post(
    "/api/v1/auth/logout",
    {
      schema: {
        tags: ["auth"],
        summary: "Revoke this token on every node",
        security: BEARER,
        headers: WriteHeaders,
        response: { 204: NoContent, ...errors(401, 503, 504) },
      },
    },
    async (req, reply) => {
      const { user, tokenHash: hash } = await writer(ctx, req);
      const idem = idemOf(req, user.id);
      const result = await propose(ctx, {
        type: "session.revoke",
        actorId: user.id,
        at: now(),
        ...(idem ? { idem } : {}),
        tokenHash: hash,
      });
      return sendResult(reply, result);
    },
  );

  app.get(
    "/api/v1/me",
    {
      schema: {
        tags: ["auth"],
        summary: "The caller",
        security: BEARER,
        querystring: ReadQuery,
        response: { 200: MeAnswer, ...errors(401, 503) },
      },
    },
    async (req, reply) => {
      const { user } = await reader(ctx, req, reply);
      return { user };
    },
  );
}
