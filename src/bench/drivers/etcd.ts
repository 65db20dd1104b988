/**
 * The reference Raft system's driver: etcd v3 through its JSON gRPC gateway (POST /v3/kv/put and
 * /v3/kv/range, keys and values base64), over undici keep-alive pools.
 *
 * Params: `{ driver: "etcd", endpoints, workload, valueBytes?, keys?, spread?, seed?, timeoutMs? }`
 *   - `put`: a `valueBytes`-byte value (default 200, about a task) to a key drawn from `keys`
 *     (default 10000) — the same key space systems/etcd.ts seedEtcd fills;
 *   - `get`: a linearizable range read of one such key (etcd's default: a ReadIndex round trip
 *     through the leader);
 *   - `get-serializable`: the same read with `serializable: true`, answered from the member's
 *     local state without consensus.
 * All clients use endpoints[0] (or, with `spread`, client c starts on endpoints[c % n], as the
 * etcd client balances). On a connection error or an error answer (no leader, leader changed,
 * timeout) that client slot moves to the next endpoint. A failed op throws an error whose `kind`
 * is short ("ECONNREFUSED", "no-leader", "leader-changed", "leader-lost", "timeout", "503", ...).
 */
import { Pool } from "undici";
import type { Driver, DriverFactory, DriverParams } from "../load/types.js";

export type EtcdWorkload = "put" | "get" | "get-serializable";

export interface EtcdDriverParams extends DriverParams {
  driver: "etcd";
  /** Client URLs, e.g. `http://127.0.0.1:2379`. */
  endpoints: string[];
  workload: EtcdWorkload;
  valueBytes?: number;
  keys?: number;
  spread?: boolean;
  seed?: number;
  /** Client-side bound on one request (default 10000 ms); on expiry the slot moves on. */
  timeoutMs?: number;
}

export const DEFAULT_VALUE_BYTES = 200;
export const DEFAULT_KEYS = 10_000;
// Default bound on one request, above etcd's own: it answers "request timed out, possibly due to
// previous leader failure" ~7 s (5 s + 2 election timeouts) after a proposal lost with its leader.
// A shorter `timeoutMs` models a client that gives up and retries elsewhere sooner.
export const DEFAULT_OP_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 2_000;
const MAX_VALUE_BYTES = 1 << 20;

/** The key of index i, base64 as the gateway wants it. */
export function etcdKey(i: number): string {
  return Buffer.from(`bench/task/${i.toString().padStart(9, "0")}`).toString("base64");
}

/** A `bytes`-long printable value, base64. */
export function etcdValue(bytes: number): string {
  const text = "taskraft bench value: title, description, status, position and timestamps of a task. ";
  return Buffer.from(text.repeat(Math.ceil(bytes / text.length)).slice(0, bytes)).toString("base64");
}

/** A short kind for an etcd error answer, from its gRPC message. */
export function etcdErrorKind(status: number, body: string): string {
  if (/no leader/i.test(body)) return "no-leader";
  if (/leader changed/i.test(body)) return "leader-changed";
  // "request timed out, possibly due to previous leader failure": a proposal lost with the leader.
  if (/previous leader failure/i.test(body)) return "leader-lost";
  if (/timed out|deadline/i.test(body)) return "timeout";
  if (/too many requests/i.test(body)) return "too-many-requests";
  if (/not capable|unavailable|stopped/i.test(body)) return "unavailable";
  return String(status);
}

function transportKind(e: unknown): string {
  const o = (e ?? {}) as { code?: unknown; cause?: { code?: unknown } };
  const code = typeof o.cause?.code === "string" ? o.cause.code : o.code;
  if (
    code === "UND_ERR_HEADERS_TIMEOUT" ||
    code === "UND_ERR_BODY_TIMEOUT" ||
    code === "UND_ERR_CONNECT_TIMEOUT"
  )
    return "timeout";
  if (code === "UND_ERR_SOCKET" || code === "UND_ERR_CLOSED") return "ECONNRESET";
  return typeof code === "string" && code !== "" ? code : "error";
}

export class EtcdOpError extends Error {
  override name = "EtcdOpError";
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

export function newEtcdPool(endpoint: string, connections: number, timeoutMs = DEFAULT_OP_TIMEOUT_MS): Pool {
  return new Pool(endpoint, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connectTimeout: Math.min(CONNECT_TIMEOUT_MS, timeoutMs),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

class EtcdDriver implements Driver {
  private readonly pools: Pool[];
  /** Endpoint index per slot; client c uses slot c % slots.length. */
  private readonly slots: number[];
  private readonly random: () => number;
  private readonly path: string;

  constructor(
    private readonly endpoints: string[],
    concurrency: number,
    spread: boolean,
    private readonly workload: EtcdWorkload,
    private readonly value: string,
    private readonly keys: number,
    seed: number,
    timeoutMs: number,
  ) {
    const slots = spread ? Math.min(endpoints.length, concurrency) : 1;
    // Every pool may end up serving every client after failovers, so each gets them all.
    this.pools = endpoints.map((e) => newEtcdPool(e, concurrency, timeoutMs));
    this.slots = Array.from({ length: slots }, (_, i) => i);
    this.random = xorshift(seed);
    this.path = workload === "put" ? "/v3/kv/put" : "/v3/kv/range";
  }

  private body(): string {
    const key = etcdKey(Math.floor(this.random() * this.keys));
    if (this.workload === "put") return `{"key":"${key}","value":"${this.value}"}`;
    if (this.workload === "get-serializable") return `{"key":"${key}","serializable":true}`;
    return `{"key":"${key}"}`;
  }

  /** Moves a slot to the next endpoint, once per failed endpoint (not once per failed op). */
  private failOver(slot: number, from: number): void {
    if (this.slots[slot] === from) this.slots[slot] = (from + 1) % this.endpoints.length;
  }

  async op(client: number): Promise<void> {
    const slot = client % this.slots.length;
    const at = this.slots[slot]!;
    let status: number;
    let text: string;
    try {
      const res = await this.pools[at]!.request({
        path: this.path,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: this.body(),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (e) {
      this.failOver(slot, at);
      const kind = transportKind(e);
      throw new EtcdOpError(kind, `${this.endpoints[at]}: ${(e as Error).message}`);
    }
    if (status !== 200) {
      this.failOver(slot, at);
      throw new EtcdOpError(
        etcdErrorKind(status, text),
        `${this.endpoints[at]}: ${status} ${text.slice(0, 200)}`,
      );
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.close().catch(() => {})));
  }
}

function positiveInt(v: unknown, fallback: number, max: number, what: string): number {
  const n = v ?? fallback;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > max) {
    throw new Error(`etcd driver: ${what} must be an integer from 1 to ${max} (got ${String(n)})`);
  }
  return n;
}

export const etcdDriver: DriverFactory = async (raw, concurrency) => {
  const params = raw as EtcdDriverParams;
  const endpoints = params.endpoints;
  if (!Array.isArray(endpoints) || endpoints.length === 0 || endpoints.some((e) => typeof e !== "string")) {
    throw new Error("etcd driver: params.endpoints must be a non-empty array of http:// URLs");
  }
  if (!["put", "get", "get-serializable"].includes(params.workload)) {
    throw new Error(
      `etcd driver: unknown workload '${String(params.workload)}' (put, get, get-serializable)`,
    );
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`etcd driver: concurrency must be a positive integer (got ${concurrency})`);
  }
  const valueBytes = positiveInt(params.valueBytes, DEFAULT_VALUE_BYTES, MAX_VALUE_BYTES, "valueBytes");
  const keys = positiveInt(params.keys, DEFAULT_KEYS, 100_000_000, "keys");
  const seed = typeof params.seed === "number" ? params.seed : 1;
  const timeoutMs = positiveInt(params.timeoutMs, DEFAULT_OP_TIMEOUT_MS, 600_000, "timeoutMs");
  return new EtcdDriver(
    endpoints,
    concurrency,
    params.spread === true,
    params.workload,
    etcdValue(valueBytes),
    keys,
    seed,
    timeoutMs,
  );
};
