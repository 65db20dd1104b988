/**
 * The CLI's HTTP client: JSON over fetch, with failover across the cluster's nodes and bounded
 * retries. Any node answers any request (API.md §2), so a node that is down or has no leader is
 * simply skipped. Writes carry an Idempotency-Key that stays the same across every retry of one
 * call, so a retry after an unknown outcome (504, a dropped connection) is applied at most once.
 */
import { randomUUID } from "node:crypto";
import { CliError } from "../command.js";
import { EXIT, exitCodeForStatus } from "./exit-codes.js";

/**
 * How a write may be retried. `idempotent`: the API honours Idempotency-Key for it, so any
 * transient failure is retried with the same key. `once`: it does not (cluster administration),
 * so only failures that prove the request was not applied (503, connection refused) are retried.
 */
export type WriteMode = "idempotent" | "once";

export interface ErrorDetail {
  path: string;
  problem: string;
}

/** An error answer of the API (after any retries); its status decides the exit code. */
export class ApiCallError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly node: string | undefined,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message, exitCodeForStatus(status));
    this.name = "ApiCallError";
  }
}

export interface ClientConfig {
  /** Base URLs (http://host:port) in the order to try them. */
  urls: readonly string[];
  token?: string | undefined;
  /** Bound on one call, retries included. */
  deadlineMs?: number;
  /** Bound on one attempt (one node, one request). */
  attemptTimeoutMs?: number;
  /** Bound on the attempts of one call, over all nodes. */
  maxAttempts?: number;
  /** Backoff before the first retry round; doubles each round up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Told about every failed attempt that is retried (`--verbose`). */
  onRetry?: ((line: string) => void) | undefined;
}

export interface CallOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** For POST/PATCH/DELETE; default `idempotent`. */
  write?: WriteMode;
  /** Default: a fresh UUID per call, reused by all of its retries. */
  idempotencyKey?: string | undefined;
  /** Sent as `If-Match: "<n>"` (compare-and-set). */
  ifVersion?: number | undefined;
  /** Send to this base URL only: no failover (a command about one node). */
  at?: string;
  /** Default true: send the bearer token. */
  auth?: boolean;
  /** Overrides ClientConfig.maxAttempts for this call (1: a probe that must not linger). */
  attempts?: number;
  /** Overrides ClientConfig.attemptTimeoutMs for this call. */
  timeoutMs?: number;
}

export interface Reply<T> {
  status: number;
  body: T;
  /** X-Taskraft-Node of the answer. */
  node: string | undefined;
  /** The base URL that answered. */
  baseUrl: string;
  headers: Headers;
  attempts: number;
}

const DEFAULTS = {
  deadlineMs: 30_000,
  attemptTimeoutMs: 10_000,
  maxAttempts: 10,
  baseBackoffMs: 200,
  maxBackoffMs: 2_000,
};

/** A server's Retry-After is honoured up to this; beyond it the call gives up (exit 3) instead. */
const MAX_RETRY_AFTER_MS = 5_000;

/** Connection errors that prove the request never reached a server: retrying cannot duplicate it. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/** `http://h:p/anything` → `http://h:p`; a usage error when it is not an http(s) URL. */
export function normalizeUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new CliError(`'${raw}' is not a URL (expected http://host:port)`, EXIT.usage);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new CliError(`'${raw}' is not an http(s) URL`, EXIT.usage);
  }
  return u.origin;
}

/** `a,b , c` → normalized, de-duplicated URLs in their order. */
export function parseUrlList(raw: string): string[] {
  const out: string[] = [];
  for (const part of raw.split(",")) {
    if (part.trim() === "") continue;
    const u = normalizeUrl(part);
    if (!out.includes(u)) out.push(u);
  }
  if (out.length === 0) throw new CliError("--url needs at least one URL", EXIT.usage);
  return out;
}

interface Failure {
  /** The outcome is known not to be applied (503, refused connection). */
  notApplied: boolean;
  /** Worth another attempt at all. */
  transient: boolean;
  description: string;
  retryAfterMs: number;
  answer?: ApiCallError;
}

function connectionFailure(base: string, e: unknown): Failure {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === "TimeoutError" || err.name === "AbortError") {
    return { notApplied: false, transient: true, description: `${base}: no answer in time`, retryAfterMs: 0 };
  }
  const code = err.cause?.code;
  const what = code ?? err.cause?.message ?? err.message ?? String(e);
  return {
    notApplied: code !== undefined && NOT_SENT_CODES.has(code),
    transient: true,
    description: `${base}: ${code === "ECONNREFUSED" ? "connection refused" : what}`,
    retryAfterMs: 0,
  };
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The API's one-sentence message, with the field problems of a 400 on the same line. */
export function errorMessage(
  status: number,
  body: unknown,
): { code: string; message: string; details: ErrorDetail[] } {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  const code = typeof e?.code === "string" ? e.code : `http_${status}`;
  const base = typeof e?.message === "string" && e.message !== "" ? e.message : `HTTP ${status}`;
  const details = Array.isArray(e?.details)
    ? (e.details as { path?: unknown; problem?: unknown }[]).map((d) => ({
        path: String(d.path ?? ""),
        problem: String(d.problem ?? ""),
      }))
    : [];
  const extra = details.map((d) => (d.path ? `${d.path}: ${d.problem}` : d.problem)).join("; ");
  return { code, message: extra ? `${base} (${extra})` : base, details };
}

export class ApiClient {
  private readonly nodes: string[];
  private readonly cfg: Required<Omit<ClientConfig, "urls" | "token" | "onRetry">>;
  private token: string | undefined;
  private readonly onRetry: ((line: string) => void) | undefined;
  /** The node that answered last: later calls of this process start there. */
  private preferred = 0;

  constructor(config: ClientConfig) {
    if (config.urls.length === 0) throw new CliError("no node URL to talk to", EXIT.usage);
    this.nodes = [...config.urls];
    this.token = config.token;
    this.onRetry = config.onRetry;
    this.cfg = {
      deadlineMs: config.deadlineMs ?? DEFAULTS.deadlineMs,
      attemptTimeoutMs: config.attemptTimeoutMs ?? DEFAULTS.attemptTimeoutMs,
      maxAttempts: config.maxAttempts ?? DEFAULTS.maxAttempts,
      baseBackoffMs: config.baseBackoffMs ?? DEFAULTS.baseBackoffMs,
      maxBackoffMs: config.maxBackoffMs ?? DEFAULTS.maxBackoffMs,
    };
  }

  get urls(): readonly string[] {
    return this.nodes;
  }

  setToken(token: string | undefined): void {
    this.token = token;
  }

  /** More nodes to fail over to (members learned from GET /cluster), after the given ones. */
  addNodes(urls: Iterable<string>): void {
    for (const raw of urls) {
      let u: string;
      try {
        u = normalizeUrl(raw);
      } catch {
        continue;
      }
      if (!this.nodes.includes(u)) this.nodes.push(u);
    }
  }

  get<T>(path: string, opts: CallOptions = {}): Promise<Reply<T>> {
    return this.call<T>("GET", path, opts);
  }
  post<T>(path: string, opts: CallOptions = {}): Promise<Reply<T>> {
    return this.call<T>("POST", path, opts);
  }
  patch<T>(path: string, opts: CallOptions = {}): Promise<Reply<T>> {
    return this.call<T>("PATCH", path, opts);
  }
  delete<T>(path: string, opts: CallOptions = {}): Promise<Reply<T>> {
    return this.call<T>("DELETE", path, opts);
  }

  /**
   * One API call with failover: nodes are tried in turn (the last one that answered first);
   * after every node of a round failed, the next round waits (exponential backoff, at least the
   * server's Retry-After). Bounded by maxAttempts and deadlineMs. Only 2xx answers return; an
   * error answer throws ApiCallError, no node answering throws CliError with exit 3.
   */
  async call<T>(method: string, path: string, opts: CallOptions = {}): Promise<Reply<T>> {
    const read = method === "GET" || method === "HEAD";
    const mode: WriteMode | "read" = read ? "read" : (opts.write ?? "idempotent");
    const headers: Record<string, string> = { accept: "application/json" };
    if (opts.auth !== false && this.token) headers["authorization"] = `Bearer ${this.token}`;
    if (mode === "idempotent") headers["idempotency-key"] = opts.idempotencyKey ?? randomUUID();
    if (opts.ifVersion !== undefined) headers["if-match"] = `"${opts.ifVersion}"`;
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers["content-type"] = "application/json; charset=utf-8";
    }
    const bases = opts.at !== undefined ? [normalizeUrl(opts.at)] : this.nodes;
    const start = opts.at !== undefined ? 0 : this.preferred % bases.length;
    const deadline = Date.now() + this.cfg.deadlineMs;
    const failures: Failure[] = [];
    let round = 0;
    const maxAttempts = opts.attempts ?? this.cfg.maxAttempts;
    const attemptTimeoutMs = opts.timeoutMs ?? this.cfg.attemptTimeoutMs;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0 && attempt % bases.length === 0) {
        // A whole round failed: wait before asking the same nodes again.
        const last = failures[failures.length - 1];
        const backoff = Math.min(this.cfg.maxBackoffMs, this.cfg.baseBackoffMs * 2 ** round);
        const wait = Math.max(backoff, last?.retryAfterMs ?? 0);
        round++;
        if (Date.now() + wait >= deadline) break;
        await new Promise((r) => setTimeout(r, wait));
      }
      const index = (start + attempt) % bases.length;
      const base = bases[index]!;
      const left = deadline - Date.now();
      if (left <= 0) break;
      let res: Response;
      let text: string;
      try {
        res = await fetch(base + withQuery(path, opts.query), {
          method,
          headers,
          ...(payload !== undefined ? { body: payload } : {}),
          signal: AbortSignal.timeout(Math.min(attemptTimeoutMs, left)),
        });
        text = await res.text();
      } catch (e) {
        const f = connectionFailure(base, e);
        failures.push(f);
        if (mode === "once" && !f.notApplied) throw outcomeUnknown(f);
        this.onRetry?.(`attempt ${attempt + 1} failed (${f.description}); trying again`);
        continue;
      }
      const node = res.headers.get("x-taskraft-node") ?? undefined;
      const body = parseBody(text);
      if (res.status >= 200 && res.status < 300) {
        if (opts.at === undefined) this.preferred = index;
        return {
          status: res.status,
          body: body as T,
          node,
          baseUrl: base,
          headers: res.headers,
          attempts: attempt + 1,
        };
      }
      const { code, message, details } = errorMessage(res.status, body);
      const answer = new ApiCallError(res.status, code, message, node, details);
      const retryAfter = Number(res.headers.get("retry-after"));
      const f: Failure = {
        notApplied: res.status === 503,
        transient: res.status === 503 || res.status === 504,
        description: `${base}${node ? ` (${node})` : ""}: ${res.status} ${message}`,
        retryAfterMs: Number.isFinite(retryAfter) ? Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS) : 0,
        answer,
      };
      failures.push(f);
      if (!f.transient) throw answer;
      if (mode === "once" && !f.notApplied) throw outcomeUnknown(f);
      this.onRetry?.(`attempt ${attempt + 1} failed (${f.description}); trying again`);
    }
    throw giveUp(failures);
  }
}

function withQuery(path: string, query: CallOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

/** A write that may not be repeated failed in a way that leaves its outcome open. */
function outcomeUnknown(f: Failure): CliError {
  const message = `${f.description}; the outcome is unknown, check before running the command again`;
  return f.answer
    ? new ApiCallError(f.answer.status, f.answer.code, message, f.answer.node, f.answer.details)
    : new CliError(message, EXIT.unavailable);
}

/** The error for a call that ran out of attempts: the last API answer if any, else unreachable. */
function giveUp(failures: Failure[]): CliError {
  const n = failures.length;
  const tried = `${n} attempt${n === 1 ? "" : "s"}`;
  const lastAnswer = [...failures].reverse().find((f) => f.answer)?.answer;
  if (lastAnswer) {
    const unknown = lastAnswer.status === 504 ? " The outcome is unknown; run the command again." : "";
    return new ApiCallError(
      lastAnswer.status,
      lastAnswer.code,
      `${lastAnswer.message} (gave up after ${tried})${unknown}`,
      lastAnswer.node,
      lastAnswer.details,
    );
  }
  const seen = [...new Set(failures.map((f) => f.description))].slice(-4).join("; ");
  return new CliError(`no node answered (${tried}: ${seen})`, EXIT.unavailable);
}
