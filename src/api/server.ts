import { randomBytes } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import { ReplicaError } from "../replica/index.js";
import { QueryError } from "../state/queries.js";
import { LoginLimiter } from "./auth.js";
import { ClusterMonitor } from "./cluster-monitor.js";
import type { ApiContext, ApiOptions } from "./context.js";
import { ApiError, fromReplicaError } from "./errors.js";
import { registerAuthRoutes } from "./routes/auth.js";
import { registerChaosRoutes } from "./routes/chaos.js";
import { registerClusterRoutes } from "./routes/cluster.js";
import { registerEventRoutes } from "./routes/events.js";
import { registerProbeRoutes } from "./routes/probes.js";
import { registerProjectRoutes } from "./routes/projects.js";
import { registerTaskRoutes } from "./routes/tasks.js";
import { EventHub } from "./sse.js";
import { isUiPath, serveWeb, webRoot } from "./static.js";
import { PART_PREFIX, type SchemaError, schemaErrorsToDetails, validatorCompiler } from "./validation.js";

/** API.md §2: a body over 1 MiB answers 413. */
export const BODY_LIMIT = 1024 * 1024;

export type App = FastifyInstance<
  import("node:http").Server,
  import("node:http").IncomingMessage,
  import("node:http").ServerResponse,
  import("fastify").FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface ApiServer {
  app: App;
  ctx: ApiContext;
  listen(host: string, port: number): Promise<void>;
  /** Stops accepting, ends event streams, waits for in-flight requests; see src/node/main.ts for the order. */
  close(): Promise<void>;
}

/** Fastify's own 4xx errors (body parsing, routing) in the documented shape. */
function fastifyClientError(err: FastifyError): ApiError | undefined {
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError(413, "payload_too_large", "The request body is larger than 1 MiB.");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ApiError(
        415,
        "unsupported_media_type",
        "The request body must be JSON (Content-Type: application/json).",
      );
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new ApiError(400, "bad_request", "The Content-Length does not match the body.");
    case "FST_ERR_BAD_URL":
    case "FST_ERR_ASYNC_CONSTRAINT":
      return new ApiError(400, "bad_request", "The request URL is malformed.");
  }
  const status = err.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    if (status === 413)
      return new ApiError(413, "payload_too_large", "The request body is larger than 1 MiB.");
    if (status === 415) return new ApiError(415, "unsupported_media_type", "The request body must be JSON.");
    if (status === 404) return new ApiError(404, "not_found", "There is no such resource.");
    return new ApiError(400, "bad_request", "The request is malformed.");
  }
  return undefined;
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
]);

/** MySQL refused or lost us: the server's errors, the driver's protocol errors, a full or closed pool. */
function isDatabaseError(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const { sqlState, code, message } = e as { sqlState?: unknown; code?: unknown; message?: unknown };
  if (typeof sqlState === "string") return true;
  if (
    typeof code === "string" &&
    (code.startsWith("ER_") || code.startsWith("PROTOCOL_") || CONNECTION_CODES.has(code))
  )
    return true;
  return message === "Queue limit reached." || message === "Pool is closed.";
}

/** Every error, whatever its source, as one documented answer: the single mapping to HTTP. */
export function toHttpError(err: unknown): { error: ApiError; unexpected: boolean } {
  if (err instanceof ApiError) return { error: err, unexpected: false };
  if (err instanceof ReplicaError) return { error: fromReplicaError(err), unexpected: false };
  if (err instanceof QueryError) {
    const details = err.details.map((d) => ({ path: d.path, problem: d.message }));
    return {
      error: new ApiError(400, "validation_failed", "The request has invalid fields.", details),
      unexpected: false,
    };
  }
  const fe = err as FastifyError & { validation?: SchemaError[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const details = schemaErrorsToDetails(fe.validation, PART_PREFIX[fe.validationContext ?? "body"] ?? "");
    return {
      error: new ApiError(400, "validation_failed", "The request has invalid fields.", details),
      unexpected: false,
    };
  }
  if (typeof fe.code === "string" && fe.code.startsWith("FST_")) {
    const e = fastifyClientError(fe);
    if (e) return { error: e, unexpected: false };
  }
  if (isDatabaseError(err)) {
    return {
      error: new ApiError(
        503,
        "unavailable",
        "This node's database is not reachable; retry shortly.",
        undefined,
        2,
      ),
      unexpected: false,
    };
  }
  return {
    error: new ApiError(500, "internal", "Something went wrong on this node; it was logged."),
    unexpected: true,
  };
}

function sendError(reply: FastifyReply, e: ApiError): FastifyReply {
  if (e.retryAfter !== undefined) reply.header("retry-after", String(e.retryAfter));
  return reply.code(e.status).type("application/json; charset=utf-8").send(e.body());
}

/** Deeper JSON than this is refused: no request of this API nests more than a few levels. */
const MAX_JSON_DEPTH = 32;

/** Why a parsed body is refused before validation, if it is: too deep, or a `__proto__` key. */
function hostileShape(value: unknown): string | undefined {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (depth >= MAX_JSON_DEPTH) return `it nests deeper than ${MAX_JSON_DEPTH} levels`;
    if (!Array.isArray(v) && Object.hasOwn(v, "__proto__")) return "it has a __proto__ key";
    for (const x of Object.values(v)) stack.push({ v: x, depth: depth + 1 });
  }
  return undefined;
}

/**
 * JSON bodies: an empty body is no body (a bare POST /auth/logout with a Content-Type). Bodies
 * are spread into commands, so shapes no request has (a `__proto__` key, deep nesting) are
 * refused outright rather than trusted to validation.
 */
function parseJson(
  _req: FastifyRequest,
  body: string,
  done: (err: Error | null, value?: unknown) => void,
): void {
  if (body.trim() === "") {
    done(null, undefined);
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(body) as unknown;
  } catch (e) {
    done(new ApiError(400, "bad_request", `The body is not valid JSON: ${(e as Error).message}.`));
    return;
  }
  const why = hostileShape(value);
  if (why) done(new ApiError(400, "bad_request", `The body is refused: ${why}.`));
  else done(null, value);
}

/**
 * Requests Node's HTTP parser rejects before Fastify sees them (oversized or malformed headers,
 * a request not sent in time) still get the documented error shape and the node header.
 */
function clientErrorHandler(nodeId: string) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === "ECONNRESET" || socket.destroyed) return;
    const e =
      err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? new ApiError(408, "bad_request", "The request was not received in time.")
        : err.code === "HPE_HEADER_OVERFLOW"
          ? new ApiError(431, "bad_request", "The request headers are too large.")
          : new ApiError(400, "bad_request", "The request is not valid HTTP.");
    const body = JSON.stringify(e.body());
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `X-Taskraft-Node: ${nodeId}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

export async function buildApiServer(options: ApiOptions): Promise<ApiServer> {
  const hub = new EventHub({
    replica: options.replica,
    pool: options.db.pool,
    logger: options.logger,
    ...(options.sseHeartbeatMs ? { heartbeatMs: options.sseHeartbeatMs } : {}),
  });
  const monitor = new ClusterMonitor({
    replica: options.replica,
    transport: options.transport,
    logger: options.logger,
    electionTimeoutMs: options.electionTimeoutMs,
  });
  const ctx: ApiContext = {
    ...options,
    hub,
    limiters: { user: new LoginLimiter(5), ip: new LoginLimiter(20) },
    sessions: new Map(),
    monitor,
  };
  const web = webRoot(options.webDir);

  const app = Fastify({
    loggerInstance: options.logger.child({ component: "http" }, { redact: ["req.headers.authorization"] }),
    // One line per request from the onResponse hook below instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    clientErrorHandler: clientErrorHandler(options.nodeId),
    // A client has this long to send its request (not to read the answer: event streams last).
    requestTimeout: 30_000,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    requestIdHeader: false,
    genReqId: () => randomBytes(6).toString("base64url"),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // Errors the router raises before any hook runs (a URL that is not valid percent-encoding).
    frameworkErrors: (err, _req, reply) => {
      reply.header("x-taskraft-node", options.nodeId);
      return sendError(reply, toHttpError(err).error);
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setValidatorCompiler(validatorCompiler);
  // Response schemas document the answers; bodies are plain JSON.stringify, so a field the schema
  // forgot can never turn a good answer into a 500.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string", bodyLimit: BODY_LIMIT }, parseJson);

  app.addHook("onRequest", async (req, reply) => {
    reply.header("x-taskraft-node", options.nodeId);
    if (!req.url.startsWith("/api/")) return;
    // The UI served by one node watches and drives every node (the cluster view), so the API is
    // readable cross-origin. Tokens travel in the Authorization header, never in cookies, so
    // allowing any origin grants nothing a page could not already do with the token.
    reply.header("access-control-allow-origin", "*");
    reply.header(
      "access-control-expose-headers",
      "X-Taskraft-Node, ETag, Location, Retry-After, X-Taskraft-Applied-Index",
    );
    if (req.method === "OPTIONS") {
      reply.header("access-control-allow-methods", "GET, POST, PATCH, DELETE");
      reply.header(
        "access-control-allow-headers",
        "Authorization, Content-Type, Idempotency-Key, If-Match, Last-Event-ID",
      );
      reply.header("access-control-max-age", "600");
      return reply.code(204).send();
    }
  });
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    options.metrics.http.observe(
      { method: req.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    req.log.info(
      {
        method: req.method,
        route,
        url: route === "unmatched" ? undefined : req.url.split("?")[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      "request",
    );
  });

  app.setErrorHandler((err, req, reply) => {
    const { error, unexpected } = toHttpError(err);
    if (unexpected)
      req.log.error({ err: (err as Error).message, stack: (err as Error).stack }, "request failed");
    reply.header("x-taskraft-node", options.nodeId);
    return sendError(reply, error);
  });

  app.setNotFoundHandler((req, reply) => {
    reply.header("x-taskraft-node", options.nodeId);
    const path = req.url.split("?")[0] ?? "/";
    if (
      web &&
      (req.method === "GET" || req.method === "HEAD") &&
      isUiPath(path) &&
      serveWeb(web, path, reply)
    ) {
      return reply;
    }
    return sendError(reply, new ApiError(404, "not_found", `There is no ${req.method} ${path}.`));
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "taskraft",
        version: "1",
        description:
          "A task manager replicated by Raft. Every node serves the whole API; see docs/API.md for errors, idempotency and consistency.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
  });

  registerProbeRoutes(app, ctx);
  registerAuthRoutes(app, ctx);
  registerProjectRoutes(app, ctx);
  registerTaskRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerClusterRoutes(app, ctx);
  registerChaosRoutes(app, ctx);
  app.get("/api/v1/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.ready();
  monitor.start();

  return {
    app,
    ctx,
    async listen(host, port) {
      await app.listen({ host, port });
    },
    async close() {
      monitor.stop();
      hub.close();
      await app.close();
    },
  };
}
