import type { ErrorBody } from "./types";

/**
 * The one way the UI talks to a node: JSON over fetch, the bearer token, an Idempotency-Key on
 * every write, and retries of the answers API.md calls retriable — 503 (nothing applied) and 504
 * (outcome unknown) — plus network failures, always with the SAME key, so a write retried across
 * a leader change is applied at most once.
 */

/** How long one user action may keep retrying before the UI gives up and says so. */
const RETRY_BUDGET_MS = 30_000;
/** Bound on attempts within the budget, whatever the delays. */
const MAX_ATTEMPTS = 40;
/** The server answers 504 itself after its proposal timeout (5 s); this only guards a hung socket. */
const ATTEMPT_TIMEOUT_MS = 20_000;
const MAX_DELAY_MS = 2_000;
/**
 * A linearizable read needs the leader (ReadIndex). When it cannot answer in this time, a read
 * that allows it is served from the node's own copy instead, and the UI says it may lag.
 */
const LINEARIZABLE_READ_WAIT_MS = 6_000;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; problem: string }[] = [],
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** 503/504 and network failures: retrying with the same key is safe and may succeed. */
  get retriable(): boolean {
    return this.status === 0 || this.status === 503 || this.status === 504;
  }
}

export interface RetryNotice {
  /** Identifies one logical request across its attempts. */
  id: number;
  method: string;
  path: string;
  attempt: number;
  status: number;
  code: string;
  message: string;
}

export interface ClientHooks {
  token(): string | null;
  /** A 401 on an authenticated request: the session is gone. */
  onUnauthorized(error: ApiError): void;
  /** A request failed in a retriable way and will be tried again. */
  onRetry(notice: RetryNotice): void;
  /** A request that had been retried finished (successfully or not). */
  onSettled(id: number, ok: boolean): void;
  /** The X-Taskraft-Node of an answer from the node that served the page. */
  onServedBy?(nodeId: string): void;
}

export interface RequestOptions {
  body?: unknown;
  /** Idempotency-Key of a write; one is made when absent. Pass the same key to retry an action. */
  key?: string;
  /** The version the user edited; the server applies the write only if it still matches (412). */
  ifMatch?: number;
  /** false for /auth/* (no token, and a 401 is a wrong password, not an expired session). */
  auth?: boolean;
  /** false: one attempt only (cluster polling has its own rhythm). */
  retry?: boolean;
  /** Another node's base URL (cross-origin); default: the node that served the page. */
  base?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Reads only: when the cluster has no leader, fall back to this node's own (possibly stale) copy. */
  staleFallback?: boolean;
}

export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
  /** Served with ?consistency=stale because a linearizable read was not possible. */
  stale: boolean;
}

/** 128 random bits; crypto.randomUUID is missing outside secure contexts (plain http on a LAN IP). */
export function newIdempotencyKey(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return `ui-${hex}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError";
}

async function errorFrom(res: Response): Promise<ApiError> {
  let body: Partial<ErrorBody> | undefined;
  try {
    body = (await res.json()) as Partial<ErrorBody>;
  } catch {
    body = undefined;
  }
  const retryAfter = Number(res.headers.get("retry-after"));
  const err = body?.error;
  return new ApiError(
    res.status,
    err?.code ?? `http_${res.status}`,
    err?.message ?? `The node answered ${res.status} ${res.statusText}.`,
    err?.details ?? [],
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
  );
}

let requestSeq = 0;

export class ApiClient {
  constructor(private readonly hooks: ClientHooks) {}

  get<T>(path: string, opts: RequestOptions = {}): Promise<Answer<T>> {
    return this.request<T>("GET", path, opts);
  }

  post<T>(path: string, body?: unknown, opts: RequestOptions = {}): Promise<Answer<T>> {
    return this.request<T>("POST", path, { ...opts, body });
  }

  patch<T>(path: string, body: unknown, opts: RequestOptions = {}): Promise<Answer<T>> {
    return this.request<T>("PATCH", path, { ...opts, body });
  }

  delete<T = null>(path: string, opts: RequestOptions = {}): Promise<Answer<T>> {
    return this.request<T>("DELETE", path, opts);
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<Answer<T>> {
    const id = ++requestSeq;
    const write = method !== "GET";
    // One key for every attempt of this call: that is what makes the retries safe.
    const key = write ? (opts.key ?? newIdempotencyKey()) : undefined;
    const deadline = Date.now() + RETRY_BUDGET_MS;
    let stale = false;
    let retried = false;
    for (let attempt = 1; ; attempt++) {
      const url = (opts.base ?? "") + (stale ? withStale(path) : path);
      // A read that may fall back waits for the linearizable answer only so long.
      const patient =
        !write && opts.staleFallback && !stale ? { ...opts, timeoutMs: LINEARIZABLE_READ_WAIT_MS } : opts;
      let error: ApiError;
      try {
        const res = await this.attempt(method, url, patient, key);
        const node = res.headers.get("x-taskraft-node");
        if (node && !opts.base) this.hooks.onServedBy?.(node);
        if (res.ok) {
          const text = await res.text();
          const body = (text === "" ? null : JSON.parse(text)) as T;
          if (retried) this.hooks.onSettled(id, true);
          return { status: res.status, body, headers: res.headers, stale };
        }
        error = await errorFrom(res);
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        error = isAbort(e)
          ? new ApiError(504, "timeout", "The node did not answer in time; the outcome is unknown.")
          : new ApiError(0, "network", "The node could not be reached (it may be down or restarting).");
      }
      if (error.status === 401 && opts.auth !== false) this.hooks.onUnauthorized(error);
      const budgetLeft = deadline - Date.now();
      if (!error.retriable || opts.retry === false || attempt >= MAX_ATTEMPTS || budgetLeft <= 0) {
        if (retried) this.hooks.onSettled(id, false);
        throw error;
      }
      if (!write && opts.staleFallback && (error.status === 503 || error.status === 504) && !stale) {
        stale = true;
      }
      retried = true;
      this.hooks.onRetry({
        id,
        method,
        path,
        attempt,
        status: error.status,
        code: error.code,
        message: error.message,
      });
      const backoff = Math.min(MAX_DELAY_MS, 250 * 1.6 ** (attempt - 1));
      const wait = Math.min(error.retryAfterMs ?? backoff, MAX_DELAY_MS, Math.max(0, budgetLeft));
      await sleep(wait, opts.signal);
    }
  }

  private async attempt(
    method: string,
    url: string,
    opts: RequestOptions,
    key: string | undefined,
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json" };
    const token = opts.auth === false ? null : this.hooks.token();
    if (token) headers["authorization"] = `Bearer ${token}`;
    if (key) headers["idempotency-key"] = key;
    if (opts.ifMatch !== undefined) headers["if-match"] = `"${opts.ifMatch}"`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] = "application/json; charset=utf-8";
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), opts.timeoutMs ?? ATTEMPT_TIMEOUT_MS);
    const onAbort = () => timeout.abort(opts.signal?.reason);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: timeout.signal,
        cache: "no-store",
      });
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }
}

function withStale(path: string): string {
  return path + (path.includes("?") ? "&" : "?") + "consistency=stale";
}

/** A readable sentence for an error, with the fields the server named. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    const fields = e.details.map((d) => `${d.path}: ${d.problem}`).join("; ");
    return fields ? `${e.message} (${fields})` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
