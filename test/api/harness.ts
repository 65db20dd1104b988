/**
 * Real `taskraft node` processes for the API tests: a cluster on free localhost ports, one
 * scratch database per node on the private test MariaDB, helpers to kill and restart nodes, and a
 * small HTTP client. Every cluster is torn down (processes, databases, data dirs) by close().
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createScratchDatabase, type ScratchDatabase, testMysqlUrl } from "../../src/db/index.js";
import { freePorts } from "../../src/dev/ports.js";
import { type ConsistencyReport, checkConsistency } from "../../src/state/consistency.js";

export { freePorts };

export const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
export const SECRET = "api-test-secret";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Parsed JSON of an answer. Loosely typed on purpose: tests assert on fields one by one, and the
 * entity schemas (src/api/schemas) check whole shapes where it matters.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type Json = any;

export interface Answer<T = Json> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string | undefined;
  body?: unknown;
  /** Sent as is (no JSON encoding, no content type unless given in headers). */
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** One HTTP request; never throws for an HTTP status, only for a transport failure. */
export async function request(
  base: string,
  method: string,
  path: string,
  opts: RequestOptions = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers["authorization"] = `Bearer ${opts.token}`;
  let body: string | Uint8Array | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(base + path, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export interface NodeSpec {
  id: string;
  apiPort: number;
  raftPort: number;
  dataDir: string;
  db: ScratchDatabase;
  logFile: string;
  proc: ChildProcess | undefined;
  /** --peers of this node (for added nodes: the cluster as it was, plus itself). */
  peers: string;
  extra: string[];
}

export interface ClusterOptions {
  size?: number;
  /** Extra flags for every node, e.g. ["--snapshot-entries", "50"]. */
  flags?: string[];
  chaos?: boolean;
  name?: string;
  /** Extra environment for the node processes. */
  env?: Record<string, string>;
}

export class Cluster {
  readonly dir = mkdtempSync(join(tmpdir(), "taskraft-api-"));
  readonly nodes = new Map<string, NodeSpec>();
  private readonly size: number;
  private readonly flags: string[];
  private readonly name: string;
  private readonly env: Record<string, string>;

  constructor(opts: ClusterOptions = {}) {
    this.env = opts.env ?? {};
    this.size = opts.size ?? 3;
    this.flags = [...(opts.flags ?? []), ...(opts.chaos ? ["--chaos"] : [])];
    this.name = opts.name ?? "api";
  }

  url(id: string): string {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return `http://127.0.0.1:${n.apiPort}`;
  }

  get ids(): string[] {
    return [...this.nodes.keys()];
  }

  peersOf(ids: string[]): string {
    return ids
      .map((id) => {
        const n = this.nodes.get(id)!;
        return `${id}=127.0.0.1:${n.raftPort}@http://127.0.0.1:${n.apiPort}`;
      })
      .join(",");
  }

  private async define(id: string, ports?: [number, number]): Promise<NodeSpec> {
    const [apiPort, raftPort] = ports ?? ((await freePorts(2)) as [number, number]);
    const root = await testMysqlUrl();
    const db = await createScratchDatabase(root, `${this.name}_${id}`);
    const spec: NodeSpec = {
      id,
      apiPort,
      raftPort,
      dataDir: join(this.dir, id),
      db,
      logFile: join(this.dir, `${id}.log`),
      proc: undefined,
      peers: "",
      extra: [],
    };
    this.nodes.set(id, spec);
    return spec;
  }

  async start(): Promise<this> {
    const ids = Array.from({ length: this.size }, (_, i) => `n${i + 1}`);
    // All ports in one go: ports freed by one call could be handed out again by the next.
    const ports = await freePorts(2 * ids.length);
    for (const [i, id] of ids.entries()) await this.define(id, [ports[2 * i]!, ports[2 * i + 1]!]);
    const peers = this.peersOf(ids);
    for (const id of ids) this.nodes.get(id)!.peers = peers;
    for (const id of ids) this.spawn(id);
    await this.waitForLeader();
    return this;
  }

  args(n: NodeSpec): string[] {
    return [
      "--import",
      "tsx",
      CLI,
      "node",
      "--id",
      n.id,
      "--peers",
      n.peers,
      "--data-dir",
      n.dataDir,
      "--mysql-url",
      n.db.url,
      "--cluster-id",
      "api-test",
      "--log-level",
      "warn",
      ...this.flags,
      ...n.extra,
    ];
  }

  spawn(id: string): ChildProcess {
    const n = this.nodes.get(id)!;
    const out = createWriteStream(n.logFile, { flags: "a" });
    const proc = spawn(process.execPath, this.args(n), {
      env: { ...process.env, ...this.env, TASKRAFT_CLUSTER_SECRET: SECRET },
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc.stdout!.pipe(out);
    proc.stderr!.pipe(out);
    n.proc = proc;
    return proc;
  }

  running(id: string): boolean {
    const p = this.nodes.get(id)?.proc;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  log(id: string): string {
    const f = this.nodes.get(id)?.logFile;
    return f && existsSync(f) ? readFileSync(f, "utf8") : "";
  }

  /** kill -9: no shutdown at all. */
  async kill(id: string): Promise<void> {
    const p = this.nodes.get(id)?.proc;
    if (!p || !this.running(id)) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGKILL");
    await exited;
  }

  /** SIGTERM; resolves with the exit code and how long the shutdown took. */
  async stop(id: string): Promise<{ code: number | null; ms: number }> {
    const p = this.nodes.get(id)?.proc;
    if (!p || !this.running(id)) return { code: p?.exitCode ?? null, ms: 0 };
    const t0 = Date.now();
    const exited = new Promise<number | null>((r) => p.once("exit", (code) => r(code)));
    p.kill("SIGTERM");
    const code = await exited;
    return { code, ms: Date.now() - t0 };
  }

  async restart(id: string): Promise<void> {
    await this.kill(id);
    this.spawn(id);
    await this.waitReady(id);
  }

  /** A node not in the initial configuration; join it with POST /cluster/members. */
  async defineJoiner(id: string): Promise<NodeSpec> {
    const peers = this.peersOf(this.ids);
    const n = await this.define(id);
    n.peers = peers;
    n.extra = ["--api", `127.0.0.1:${n.apiPort}`, "--raft", `127.0.0.1:${n.raftPort}`];
    return n;
  }

  async readyz(
    id: string,
  ): Promise<{ ready: boolean; role: string; leaderId: string | null; term: number } | undefined> {
    try {
      const r = await request(this.url(id), "GET", "/readyz", { timeoutMs: 2000 });
      return r.body as { ready: boolean; role: string; leaderId: string | null; term: number };
    } catch {
      return undefined;
    }
  }

  async waitReady(id: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running(id)) throw new Error(`node ${id} exited:\n${this.log(id).slice(-2000)}`);
      const r = await this.readyz(id);
      if (r?.ready) return;
      await sleep(100);
    }
    throw new Error(`node ${id} not ready within ${timeoutMs} ms:\n${this.log(id).slice(-2000)}`);
  }

  /** Waits until every running node is ready and they agree on one leader; returns its id. */
  async waitForLeader(timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const live = this.ids.filter((id) => this.running(id));
      for (const id of this.ids) {
        const p = this.nodes.get(id)!.proc;
        if (p && p.exitCode !== null && p.exitCode !== 0 && p.signalCode === null) {
          throw new Error(`node ${id} exited with ${p.exitCode}:\n${this.log(id).slice(-2000)}`);
        }
      }
      const views = await Promise.all(live.map((id) => this.readyz(id)));
      const leader = views.find((v) => v?.role === "leader");
      if (leader && views.every((v) => v?.ready && v.leaderId === leader.leaderId)) return leader.leaderId!;
      await sleep(100);
    }
    throw new Error(`no leader within ${timeoutMs} ms`);
  }

  async leader(): Promise<string> {
    return this.waitForLeader();
  }

  /** `taskraft check-consistency` (its module) over the running nodes' databases. */
  async checkConsistency(ids = this.ids.filter((id) => this.running(id))): Promise<ConsistencyReport> {
    return checkConsistency({ urls: ids.map((id) => this.nodes.get(id)!.db.url), timeoutMs: 20_000 });
  }

  async close(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.kill(id)));
    for (const n of this.nodes.values()) await n.db.drop().catch(() => {});
    // TASKRAFT_TEST_KEEP=1 keeps the nodes' logs and data dirs for a post-mortem.
    if (process.env["TASKRAFT_TEST_KEEP"]) console.error(`cluster files kept in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Signs up a user on `base`; returns its token and user. */
export async function signup(
  base: string,
  username: string,
  password = "correct horse battery",
): Promise<{ token: string; user: { id: string; username: string; isAdmin: boolean } }> {
  const r = await request(base, "POST", "/api/v1/auth/signup", { body: { username, password } });
  if (r.status !== 201) throw new Error(`signup ${username}: ${r.status} ${r.text}`);
  return r.body as { token: string; user: { id: string; username: string; isAdmin: boolean } };
}

export function uniqueName(prefix: string): string {
  return `${prefix}${Math.random().toString(36).slice(2, 10)}`.slice(0, 32);
}

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: Json;
}

/** A reader of one server-sent event stream. */
export class EventStream {
  readonly events: SseEvent[] = [];
  private readonly controller = new AbortController();
  private buffer = "";
  private waiters: (() => void)[] = [];
  status = 0;
  closed = false;

  static async open(
    base: string,
    path: string,
    token: string,
    headers: Record<string, string> = {},
  ): Promise<EventStream> {
    const s = new EventStream();
    const res = await fetch(base + path, {
      headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", ...headers },
      signal: s.controller.signal,
    });
    s.status = res.status;
    if (res.status !== 200 || !res.body) {
      s.closed = true;
      await res.text().catch(() => "");
      return s;
    }
    void s.read(res.body);
    return s;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        this.buffer += decoder.decode(chunk, { stream: true });
        let i = this.buffer.indexOf("\n\n");
        while (i >= 0) {
          this.parse(this.buffer.slice(0, i));
          this.buffer = this.buffer.slice(i + 2);
          i = this.buffer.indexOf("\n\n");
        }
      }
    } catch {
      // aborted
    }
    this.closed = true;
    for (const w of this.waiters.splice(0)) w();
  }

  private parse(block: string): void {
    let id: string | undefined;
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const [k, ...rest] = line.split(":");
      const v = rest.join(":").replace(/^ /, "");
      if (k === "id") id = v;
      else if (k === "event") event = v;
      else if (k === "data") data.push(v);
    }
    if (data.length === 0) return;
    this.events.push({ id, event, data: JSON.parse(data.join("\n")) });
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits for an event matching `pred`; rejects after `timeoutMs`. */
  async waitFor(pred: (e: SseEvent) => boolean, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(pred);
      if (found) return found;
      if (this.closed) throw new Error("event stream closed");
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.events.map((e) => e.event))}`,
        );
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): void {
    this.controller.abort();
  }
}
