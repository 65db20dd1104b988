/**
 * A real cluster for the chaos run: N `taskraft node` processes on 127.0.0.1, each with its own
 * private MariaDB server (its own data dir and port under the run dir), so that stopping one node's
 * MySQL is a real server stop. Knows how to kill, pause, restart, wipe and re-join its nodes, and
 * notices nodes that exit by themselves.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  createDatabase,
  dropDatabase,
  silentLog,
  startServer,
  stopServer,
  withDatabase,
} from "../../db/index.js";
import { freePorts } from "../../dev/ports.js";
import { type HttpAnswer, httpRequest, sleep } from "./http.js";

export { freePorts };

const DB_NAME = "taskraft";
/** Small servers: the run's data is a few MB, and five of them share 24 GiB with everything else. */
const MYSQL_ARGS = ["--innodb-buffer-pool-size=32M", "--max-connections=200"];
/** A node process must be gone this long after SIGKILL, or the machine is in trouble. */
const EXIT_WAIT_MS = 10_000;

export interface NodeExit {
  readonly id: string;
  readonly code: number | null;
  readonly signal: string | null;
  readonly time: number;
  readonly logTail: string;
}

export interface ChaosNode {
  readonly id: string;
  readonly apiPort: number;
  readonly raftPort: number;
  readonly dbPort: number;
  readonly dataDir: string;
  readonly dbDir: string;
  readonly logFile: string;
  dbRootUrl: string;
  dbUrl: string;
  /** --peers for this node's process (a re-joined node lists the members it joins). */
  peers: string;
  /** Extra flags (a re-joined node names its own --api and --raft). */
  extra: string[];
  proc: ChildProcess | undefined;
  paused: boolean;
  mysqlDown: boolean;
  /** Taken out of the configuration by the membership fault and not yet back. */
  removed: boolean;
  /** Set while we kill the process ourselves, so its exit is not reported as a crash. */
  expectExit: boolean;
}

export interface ReadyView {
  ready: boolean;
  nodeId: string;
  role: string;
  leaderId: string | null;
  term: number;
  commitIndex: number;
  appliedIndex: number;
}

export interface ClusterSpec {
  size: number;
  dir: string;
  /** Directory whose src/cli.ts the nodes run (the checkout, or a mutated copy of it). */
  codeRoot: string;
  secret: string;
  logLevel: string;
  now: () => number;
  log: (line: string) => void;
  /** MariaDB server flags (default: the small servers above). */
  mysqlArgs?: readonly string[];
  /** Flags added to every node's command line (e.g. the benchmark's tick settings). */
  nodeArgs?: readonly string[];
  /** Whether nodes run with --chaos (default true). */
  chaos?: boolean;
}

/** Runs `tasks` with at most `limit` at a time (two cores: initialising five servers at once thrashes). */
async function limited<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}

export class ChaosCluster {
  readonly nodes = new Map<string, ChaosNode>();
  readonly exits: NodeExit[] = [];
  /** Called when a node exits without being asked to. */
  onUnexpectedExit: (exit: NodeExit) => void = () => {};

  private constructor(private readonly spec: ClusterSpec) {}

  static async create(spec: ClusterSpec): Promise<ChaosCluster> {
    const c = new ChaosCluster(spec);
    const ids = Array.from({ length: spec.size }, (_, i) => `n${i + 1}`);
    // All ports in one go: ports freed by one call could be handed out again by the next.
    const ports = await freePorts(3 * ids.length);
    for (const [i, id] of ids.entries()) {
      const dir = join(spec.dir, id);
      mkdirSync(dir, { recursive: true });
      c.nodes.set(id, {
        id,
        apiPort: ports[3 * i]!,
        raftPort: ports[3 * i + 1]!,
        dbPort: ports[3 * i + 2]!,
        dataDir: join(dir, "raft"),
        dbDir: join(dir, "mysql"),
        logFile: join(dir, "node.log"),
        dbRootUrl: "",
        dbUrl: "",
        peers: "",
        extra: [],
        proc: undefined,
        paused: false,
        mysqlDown: false,
        removed: false,
        expectExit: false,
      });
    }
    const peers = c.peersOf(ids);
    for (const n of c.nodes.values()) n.peers = peers;
    const started = await limited(
      2,
      [...c.nodes.values()].map((n) => async (): Promise<string | undefined> => {
        const t0 = Date.now();
        let why = "";
        // mariadb-install-db fails now and then on a busy machine; a fresh data dir usually works.
        for (let attempt = 0; attempt < 3; attempt++) {
          try {
            n.dbRootUrl = await startServer({
              dataDir: n.dbDir,
              port: n.dbPort,
              log: silentLog,
              extraArgs: [...(spec.mysqlArgs ?? MYSQL_ARGS)],
            });
            n.dbUrl = await createDatabase(n.dbRootUrl, DB_NAME);
            spec.log(`chaos: MariaDB of ${n.id} on port ${n.dbPort} ready in ${Date.now() - t0} ms`);
            return undefined;
          } catch (e) {
            why = (e as Error).message.split("\n")[0] ?? "";
            await stopServer({ dataDir: n.dbDir, log: silentLog }).catch(() => false);
            rmSync(n.dbDir, { recursive: true, force: true });
          }
        }
        return `${n.id}: ${why}`;
      }),
    );
    const failed = started.filter((x) => x !== undefined);
    if (failed.length > 0) {
      await c.teardown(false);
      throw new Error(`could not start the MariaDB servers: ${failed.join("; ")}`);
    }
    return c;
  }

  get ids(): string[] {
    return [...this.nodes.keys()];
  }

  node(id: string): ChaosNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  url(id: string): string {
    return `http://127.0.0.1:${this.node(id).apiPort}`;
  }

  peersOf(ids: readonly string[]): string {
    return ids
      .map((id) => {
        const n = this.node(id);
        return `${id}=127.0.0.1:${n.raftPort}@http://127.0.0.1:${n.apiPort}`;
      })
      .join(",");
  }

  running(id: string): boolean {
    const p = this.nodes.get(id)?.proc;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  /** Nodes that can answer requests now: running, not paused, in the configuration. */
  serving(): string[] {
    return this.ids.filter((id) => this.running(id) && !this.node(id).paused && !this.node(id).removed);
  }

  spawn(id: string): void {
    const n = this.node(id);
    if (this.running(id)) return;
    const args = [
      "--import",
      "tsx",
      join(this.spec.codeRoot, "src", "cli.ts"),
      "node",
      "--id",
      n.id,
      "--peers",
      n.peers,
      "--data-dir",
      n.dataDir,
      "--mysql-url",
      n.dbUrl,
      "--cluster-id",
      "chaos",
      "--cluster-secret",
      this.spec.secret,
      ...(this.spec.chaos === false ? [] : ["--chaos"]),
      "--log-level",
      this.spec.logLevel,
      ...(this.spec.nodeArgs ?? []),
      ...n.extra,
    ];
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: "", FORCE_COLOR: "0" };
    delete env["NODE_TEST_CONTEXT"];
    delete env["TASKRAFT_CLUSTER_SECRET"];
    const out = createWriteStream(n.logFile, { flags: "a" });
    out.write(`--- chaos: start ${id} at ${Math.round(this.spec.now())} ms ---\n`);
    const proc = spawn(process.execPath, args, {
      cwd: this.spec.codeRoot,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc.stdout!.pipe(out, { end: false });
    proc.stderr!.pipe(out, { end: false });
    n.proc = proc;
    n.paused = false;
    n.expectExit = false;
    proc.once("exit", (code, signal) => {
      setTimeout(() => out.end(), 100);
      if (n.proc !== proc || n.expectExit) return;
      const exit: NodeExit = {
        id,
        code,
        signal,
        time: this.spec.now(),
        logTail: "",
      };
      this.exits.push(exit);
      this.onUnexpectedExit(exit);
    });
  }

  /** kill -9, waiting until the process is gone. */
  async kill(id: string): Promise<void> {
    const n = this.node(id);
    const p = n.proc;
    if (!p || !this.running(id)) return;
    n.expectExit = true;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGKILL");
    await Promise.race([exited, sleep(EXIT_WAIT_MS)]);
    n.paused = false;
  }

  /** SIGTERM (a clean stop), then SIGKILL if it takes longer than API.md's 5 s allow. */
  async stop(id: string): Promise<void> {
    const n = this.node(id);
    const p = n.proc;
    if (!p || !this.running(id)) return;
    n.expectExit = true;
    if (n.paused) p.kill("SIGCONT");
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGTERM");
    await Promise.race([exited, sleep(6000)]);
    if (this.running(id)) await this.kill(id);
  }

  pause(id: string): boolean {
    const n = this.node(id);
    if (!n.proc || !this.running(id)) return false;
    n.proc.kill("SIGSTOP");
    n.paused = true;
    return true;
  }

  resume(id: string): void {
    const n = this.node(id);
    if (n.proc && this.running(id)) n.proc.kill("SIGCONT");
    n.paused = false;
  }

  async mysqlStop(id: string): Promise<void> {
    const n = this.node(id);
    n.mysqlDown = true;
    await stopServer({ dataDir: n.dbDir, log: silentLog, timeoutMs: 20_000 });
  }

  async mysqlStart(id: string): Promise<void> {
    const n = this.node(id);
    await startServer({
      dataDir: n.dbDir,
      port: n.dbPort,
      log: silentLog,
      extraArgs: [...(this.spec.mysqlArgs ?? MYSQL_ARGS)],
    });
    n.mysqlDown = false;
  }

  /** Removes the node's Raft data and recreates its database empty (the process must be stopped). */
  async wipe(id: string): Promise<void> {
    const n = this.node(id);
    if (this.running(id)) throw new Error(`cannot wipe ${id} while it runs`);
    rmSync(n.dataDir, { recursive: true, force: true });
    await dropDatabase(n.dbRootUrl, DB_NAME);
    n.dbUrl = await createDatabase(n.dbRootUrl, DB_NAME);
  }

  async readyz(id: string, timeoutMs = 2000): Promise<ReadyView | undefined> {
    const r = await httpRequest(this.url(id), "GET", "/readyz", { timeoutMs });
    if (r.kind !== "answer" || (r.status !== 200 && r.status !== 503)) return undefined;
    return r.body as ReadyView;
  }

  async healthy(id: string): Promise<boolean> {
    const r = await httpRequest(this.url(id), "GET", "/healthz", { timeoutMs: 2000 });
    return r.kind === "answer" && r.status === 200;
  }

  /** Waits until the process answers /healthz; false if it exited or the time ran out. */
  async waitHealthy(id: string, timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running(id)) return false;
      if (await this.healthy(id)) return true;
      await sleep(100);
    }
    return false;
  }

  /** The leader as the serving nodes see it: a node claiming leadership, the highest term winning. */
  async leader(): Promise<string | undefined> {
    const views = await Promise.all(this.serving().map((id) => this.readyz(id, 1500)));
    let best: ReadyView | undefined;
    for (const v of views) {
      if (v?.role === "leader" && (!best || v.term > best.term)) best = v;
    }
    return best?.nodeId;
  }

  /** Waits until every serving node is ready and names the same leader. */
  async waitConverged(timeoutMs: number): Promise<{ leader: string; views: ReadyView[] } | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ids = this.serving();
      const views = await Promise.all(ids.map((id) => this.readyz(id, 2000)));
      const leader = views.find((v) => v?.role === "leader");
      if (
        leader &&
        views.every((v) => v?.ready && v.leaderId === leader.nodeId && v.appliedIndex >= leader.commitIndex)
      ) {
        return { leader: leader.nodeId, views: views as ReadyView[] };
      }
      await sleep(200);
    }
    return undefined;
  }

  /** A request to the first serving node that answers with a status other than 503. */
  async anyNode(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; timeoutMs?: number; prefer?: string },
  ): Promise<HttpAnswer | undefined> {
    const order = this.serving();
    if (opts.prefer && order.includes(opts.prefer)) {
      order.splice(order.indexOf(opts.prefer), 1);
      order.unshift(opts.prefer);
    }
    let last: HttpAnswer | undefined;
    for (const id of order) {
      const r = await httpRequest(this.url(id), method, path, {
        ...(opts.token ? { token: opts.token } : {}),
        ...(opts.body !== undefined ? { body: opts.body } : {}),
        timeoutMs: opts.timeoutMs ?? 8000,
      });
      if (r.kind !== "answer") continue;
      last = r;
      if (r.status !== 503) return r;
    }
    return last;
  }

  /** Stops everything the run started: node processes, then the MariaDB servers. */
  async teardown(keepData: boolean): Promise<void> {
    await Promise.all(this.ids.map((id) => this.stop(id).catch(() => {})));
    await Promise.all(
      [...this.nodes.values()].map((n) =>
        stopServer({ dataDir: n.dbDir, log: silentLog, timeoutMs: 20_000 }).catch(() => false),
      ),
    );
    if (keepData) return;
    for (const n of this.nodes.values()) {
      for (const d of [n.dataDir, n.dbDir]) if (existsSync(d)) rmSync(d, { recursive: true, force: true });
    }
  }

  /** The root URL of a node's MariaDB with the node's database, for check-consistency. */
  databaseUrl(id: string): string {
    return withDatabase(this.node(id).dbRootUrl, DB_NAME);
  }
}
