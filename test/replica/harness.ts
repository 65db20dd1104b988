import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "../../src/dev/ports.js";

export { freePorts };

const FIXTURE = fileURLToPath(new URL("./fixtures/kv-node.ts", import.meta.url));

export interface KvNodeSpec {
  id: string;
  apiPort: number;
  raftPort: number;
}

export interface StatusView {
  role: string;
  term: number;
  leaderId: string;
  commitIndex: number;
  lastIndex: number;
  smAppliedIndex: number;
  snapshotIndex: number;
  firstIndex: number;
  conf: { voters: string[]; learners: string[] };
  storage: { fsyncs: number };
}

/** Real node processes on 127.0.0.1 around the test key-value state machine. */
export class KvCluster {
  readonly dir = mkdtempSync(join(tmpdir(), "taskraft-kv-"));
  readonly specs: KvNodeSpec[] = [];
  readonly procs = new Map<string, ChildProcess>();
  extraArgs: Record<string, string[]> = {};

  constructor(
    readonly size: number,
    readonly flags: string[] = [],
  ) {}

  async init(): Promise<this> {
    const ports = await freePorts(this.size * 2);
    for (let i = 0; i < this.size; i++) {
      this.specs.push({ id: `n${i + 1}`, apiPort: ports[2 * i]!, raftPort: ports[2 * i + 1]! });
    }
    return this;
  }

  peers(): string {
    return this.specs.map((s) => `${s.id}=127.0.0.1:${s.raftPort}@http://127.0.0.1:${s.apiPort}`).join(",");
  }

  dataDir(id: string): string {
    return join(this.dir, id, "raft");
  }

  start(id: string, extra: string[] = []): ChildProcess {
    const args = [
      "--import",
      "tsx",
      FIXTURE,
      "--id",
      id,
      "--peers",
      this.peers(),
      "--data-dir",
      this.dataDir(id),
      "--mysql-url",
      "mysql://unused@127.0.0.1/none",
      "--cluster-secret",
      "test-secret",
      "--log-level",
      "info",
      ...this.flags,
      ...(this.extraArgs[id] ?? []),
      ...extra,
    ];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    const log = createWriteStream(join(this.dir, `${id}.log`), { flags: "a" });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    this.procs.set(id, child);
    return child;
  }

  startAll(): void {
    for (const s of this.specs) this.start(s.id);
  }

  url(id: string): string {
    return `http://127.0.0.1:${this.specs.find((s) => s.id === id)!.apiPort}`;
  }

  async request(id: string, method: string, path: string, body?: unknown, timeoutMs = 8000) {
    const res = await fetch(this.url(id) + path, {
      method,
      headers: { "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async status(id: string): Promise<StatusView | undefined> {
    try {
      const r = await this.request(id, "GET", "/status", undefined, 2000);
      return r.body as unknown as StatusView;
    } catch {
      return undefined;
    }
  }

  async put(id: string, key: string, value: string) {
    return this.request(id, "POST", "/put", { key, value });
  }

  async get(id: string, key: string): Promise<string | null> {
    const r = await this.request(id, "GET", `/get?key=${encodeURIComponent(key)}`);
    if (r.status !== 200) throw new Error(`get ${key} on ${id}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.value as string | null;
  }

  /** Waits until the given nodes agree on one leader among them; returns its id. */
  async waitForLeader(ids = this.specs.map((s) => s.id), timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const sts = await Promise.all(ids.map((id) => this.status(id)));
      const leaders = sts.filter((s) => s?.role === "leader");
      if (leaders.length === 1) {
        const l = leaders[0]!;
        const agree = sts.every(
          (s) => s && s.leaderId === (l as unknown as { id: string }).id && s.term === l.term,
        );
        if (agree) return (l as unknown as { id: string }).id;
      }
      await sleep(100);
    }
    throw new Error(`no agreed leader among ${ids.join(",")} within ${timeoutMs} ms`);
  }

  async waitFor(what: string, pred: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await pred().catch(() => false)) return;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  kill(id: string, signal: NodeJS.Signals = "SIGKILL"): void {
    this.procs.get(id)?.kill(signal);
  }

  async stop(id: string): Promise<number | null> {
    const p = this.procs.get(id);
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => p.once("exit", (code) => r(code)));
    p.kill("SIGTERM");
    return exited;
  }

  async killAndWait(id: string): Promise<void> {
    const p = this.procs.get(id);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  }

  wipe(id: string): void {
    rmSync(join(this.dir, id), { recursive: true, force: true });
    rmSync(join(this.dir, `${id}.kv.json`), { force: true });
  }

  async close(): Promise<void> {
    for (const p of this.procs.values()) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill("SIGCONT");
        p.kill("SIGKILL");
      }
    }
    await sleep(50);
    if (!process.env.KEEP_TEST_DIRS) rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
