/**
 * "Hosts" for the operations tests: each one a directory of its own with, optionally, its own
 * private MariaDB server (src/db) on a free port, and `taskraft node` processes started the way an
 * operator starts them — `taskraft node --config FILE` — from a JSON config file on that host.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createDatabase,
  dropDatabase,
  removeDataDir,
  silentLog,
  startServer,
  stopServer,
} from "../../src/db/index.js";
import { freePorts } from "../../src/dev/ports.js";
import { CLI, request, sleep } from "../api/harness.js";

export const SECRET = "ops-test-secret";
/** A small server: several run side by side on a 2-core machine. */
const MYSQL_ARGS = ["--innodb-buffer-pool-size=32M", "--max-connections=100"];

export class Host {
  rootUrl = "";
  private dbPort = 0;

  constructor(
    readonly name: string,
    readonly dir: string,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  get dbDir(): string {
    return join(this.dir, "mysql");
  }

  /** Starts this host's own MariaDB (retrying with a fresh data dir: install-db can fail on a busy machine). */
  async startDb(): Promise<void> {
    if (this.dbPort === 0) this.dbPort = (await freePorts(1))[0]!;
    let why = "";
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        this.rootUrl = await startServer({
          dataDir: this.dbDir,
          port: this.dbPort,
          log: silentLog,
          extraArgs: MYSQL_ARGS,
          timeoutMs: 120_000,
        });
        return;
      } catch (e) {
        why = (e as Error).message.split("\n")[0] ?? "";
        await stopServer({ dataDir: this.dbDir, log: silentLog }).catch(() => false);
        rmSync(this.dbDir, { recursive: true, force: true });
      }
    }
    throw new Error(`MariaDB of ${this.name}: ${why}`);
  }

  /** Uses an existing server (the shared test database) instead of a private one. */
  useServer(rootUrl: string): void {
    this.rootUrl = rootUrl;
  }

  async stopDb(): Promise<void> {
    if (existsSync(this.dbDir)) await stopServer({ dataDir: this.dbDir, log: silentLog }).catch(() => false);
  }

  /** The disk is gone: the MariaDB server's files too. */
  async loseDisk(): Promise<void> {
    await this.stopDb();
    await removeDataDir(this.dbDir).catch(() => rmSync(this.dbDir, { recursive: true, force: true }));
  }

  database(name: string): Promise<string> {
    return createDatabase(this.rootUrl, name);
  }

  dropDatabase(name: string): Promise<void> {
    return dropDatabase(this.rootUrl, name);
  }
}

export interface NodeSettings {
  id: string;
  peers: string;
  clusterId: string;
  database: string;
  /** Set for a node that joins (not in peers): --api and --raft. */
  joining?: boolean;
  extra?: Record<string, string | number | boolean>;
}

/** The environment of a node process: no TASKRAFT_* of the test run, which would override the file. */
export function nodeEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TASKRAFT_")));
}

/** One `taskraft node` process on a host, configured by its own file. */
export class OpsNode {
  proc: ChildProcess | undefined;
  readonly configFile: string;
  readonly dataDir: string;
  readonly logFile: string;
  mysqlUrl = "";

  constructor(
    readonly host: Host,
    readonly id: string,
    readonly apiPort: number,
    readonly raftPort: number,
  ) {
    this.configFile = join(host.dir, `${id}.json`);
    this.dataDir = join(host.dir, `${id}-data`);
    this.logFile = join(host.dir, `${id}.log`);
  }

  static async define(host: Host, id: string): Promise<OpsNode> {
    const [api, raft] = (await freePorts(2)) as [number, number];
    return new OpsNode(host, id, api, raft);
  }

  get url(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  get peerEntry(): string {
    return `${this.id}=127.0.0.1:${this.raftPort}@${this.url}`;
  }

  /** Writes the node's config file (creating its database on the host's server). */
  async configure(s: Omit<NodeSettings, "id">): Promise<Record<string, unknown>> {
    this.mysqlUrl = await this.host.database(s.database);
    const config: Record<string, unknown> = {
      id: this.id,
      peers: s.peers,
      "data-dir": this.dataDir,
      "mysql-url": this.mysqlUrl,
      "cluster-id": s.clusterId,
      "cluster-secret": SECRET,
      "log-level": "warn",
      ...(s.joining ? { api: `127.0.0.1:${this.apiPort}`, raft: `127.0.0.1:${this.raftPort}` } : {}),
      ...(s.extra ?? {}),
    };
    writeFileSync(this.configFile, `${JSON.stringify(config, null, 2)}\n`);
    return config;
  }

  /** Changes keys of the config file (an operator editing /etc/taskraft/node.json). */
  editConfig(patch: Record<string, unknown>): void {
    const config = JSON.parse(readFileSync(this.configFile, "utf8")) as Record<string, unknown>;
    writeFileSync(this.configFile, `${JSON.stringify({ ...config, ...patch }, null, 2)}\n`);
  }

  start(): ChildProcess {
    const out = createWriteStream(this.logFile, { flags: "a" });
    const proc = spawn(process.execPath, ["--import", "tsx", CLI, "node", "--config", this.configFile], {
      stdio: ["ignore", "pipe", "pipe"],
      env: nodeEnv(),
    });
    proc.stdout!.pipe(out);
    proc.stderr!.pipe(out);
    this.proc = proc;
    return proc;
  }

  running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, "utf8") : "";
  }

  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || !this.running()) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGKILL");
    await exited;
  }

  /** systemctl stop: SIGTERM, and the exit code. */
  async stop(): Promise<number | null> {
    const p = this.proc;
    if (!p || !this.running()) return p?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => p.once("exit", (code) => r(code)));
    p.kill("SIGTERM");
    return exited;
  }

  async readyz(): Promise<
    { ready: boolean; role: string; leaderId: string | null; term: number } | undefined
  > {
    try {
      return (await request(this.url, "GET", "/readyz", { timeoutMs: 2000 })).body;
    } catch {
      return undefined;
    }
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running()) throw new Error(`node ${this.id} exited:\n${this.log().slice(-2000)}`);
      if ((await this.readyz())?.ready) return;
      await sleep(100);
    }
    throw new Error(`node ${this.id} not ready within ${timeoutMs} ms:\n${this.log().slice(-2000)}`);
  }

  wipeDataDir(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Waits until every given node is ready and names the same leader; returns its id. */
export async function waitForLeader(nodes: OpsNode[], timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const n of nodes) {
      if (!n.running()) throw new Error(`node ${n.id} is not running:\n${n.log().slice(-2000)}`);
    }
    const views = await Promise.all(nodes.map((n) => n.readyz()));
    const leader = views.find((v) => v?.role === "leader");
    if (leader && views.every((v) => v?.ready && v.leaderId === leader.leaderId)) return leader.leaderId!;
    await sleep(100);
  }
  throw new Error(`no common leader among ${nodes.map((n) => n.id).join(",")} within ${timeoutMs} ms`);
}
