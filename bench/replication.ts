/**
 * `npm run bench:replication [-- --seconds S] [--warmup S] [--levels 1,16,64] [--value-bytes N]
 *                                [--keys N] [--profile] [--node-args "..."]`
 *
 * End-to-end replication throughput and commit latency: three real node
 * processes on 127.0.0.1 (the production runtime: storage with fsync, the peer
 * transport, the replica loop) around the test key-value state machine
 * (test/replica/harness.ts). A forked load generator (bench/replication-load.ts)
 * runs C concurrent proposers, each a loop of POST /put to the leader over
 * keep-alive connections, for a warm-up and then a measured window per level.
 *
 * Per level: acknowledged (= committed and applied) puts/s, client-observed
 * p50/p99/max latency, fsyncs per committed entry on the leader and on a
 * follower (deltas of /status storage stats), entries per WAL fsync on the
 * leader, CPU use of each process (and of the rest of the machine: "other" well
 * above ~15% means something else was running and skewed the run), and node
 * CPU time per entry. Puts cycle over --keys keys (default 1000): the test state
 * machine rewrites its whole state per apply batch, so the key count matters.
 * The machine's own fsync latency
 * (4 KiB write + fsync, 200 times, on the data dirs' filesystem) is measured in
 * the same run. With --profile each node and the load generator write a
 * .cpuprofile to bench/results/profiles/ (nodes are stopped with SIGTERM so
 * the profile is flushed). Writes bench/results/replication.json.
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cpuOf, machineBusySeconds, probeFsync } from "../src/bench/machine.js";
import { KvCluster, sleep } from "../test/replica/harness.js";
import type { LoadCmd, LoadReply, LoadResult, StartCmd } from "./replication-load.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../test/replica/fixtures/kv-node.ts", import.meta.url));
const LOADGEN = fileURLToPath(new URL("./replication-load.ts", import.meta.url));
const RESULTS = join(ROOT, "bench", "results");
const PROFILES = join(RESULTS, "profiles");

const TARGET_C64_EPS = 10_000;
const FSYNC_SAMPLES = 200;

// ------------------------------------------------------------------ options

interface Options {
  seconds: number;
  warmup: number;
  levels: number[];
  valueBytes: number;
  keys: number;
  profile: boolean;
  nodeArgs: string[];
}

function parse(): Options {
  const usage =
    "usage: npm run bench:replication -- [--seconds S] [--warmup S] [--levels 1,16,64] [--value-bytes N] [--keys N] [--profile] [--node-args '--tick-ms 50 ...']";
  try {
    const { values } = parseArgs({
      options: {
        seconds: { type: "string", default: "10" },
        warmup: { type: "string", default: "2" },
        levels: { type: "string", default: "1,16,64" },
        "value-bytes": { type: "string", default: "256" },
        keys: { type: "string", default: "1000" },
        profile: { type: "boolean", default: false },
        "node-args": { type: "string", default: "" },
        help: { type: "boolean", default: false },
      },
      strict: true,
    });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    const seconds = Number(values.seconds);
    const warmup = Number(values.warmup);
    const valueBytes = Number(values["value-bytes"]);
    const keys = Number(values.keys);
    const levels = values.levels.split(",").map((s) => Number(s.trim()));
    if (!(seconds > 0) || !(warmup >= 0)) throw new Error("--seconds must be > 0 and --warmup >= 0");
    if (!Number.isInteger(valueBytes) || valueBytes < 1)
      throw new Error("--value-bytes must be an integer >= 1");
    if (!Number.isInteger(keys) || keys < 1) throw new Error("--keys must be an integer >= 1");
    if (levels.length === 0 || levels.some((c) => !Number.isInteger(c) || c < 1))
      throw new Error("--levels must be a comma-separated list of integers >= 1");
    const nodeArgs = values["node-args"].split(/\s+/).filter((s) => s.length > 0);
    return { seconds, warmup, levels, valueBytes, keys, profile: values.profile, nodeArgs };
  } catch (e) {
    console.error(`bench:replication: ${(e as Error).message}\n${usage}`);
    process.exit(2);
  }
}

// ----------------------------------------------------------------- helpers

interface NodeStats {
  role: string;
  term: number;
  commitIndex: number;
  fsyncs: number;
  walFsyncs: number;
  hardstateFsyncs: number;
  fsyncMsTotal: number;
}

/** A KvCluster whose nodes can get node flags (e.g. --cpu-prof), which the harness's start() cannot pass. */
class BenchCluster extends KvCluster {
  nodeFlags: string[] = [];

  override start(id: string, extra: string[] = []): ChildProcess {
    if (this.nodeFlags.length === 0) return super.start(id, extra);
    const args = [
      ...this.nodeFlags.map((f) => f.replaceAll("{id}", id)),
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
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const log = createWriteStream(join(this.dir, `${id}.log`), { flags: "a" });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.procs.set(id, child);
    return child;
  }

  async nodeStats(id: string): Promise<NodeStats> {
    const r = await this.request(id, "GET", "/status", undefined, 5000);
    const b = r.body as {
      role: string;
      term: number;
      commitIndex: number;
      storage: { fsyncs: number; fsyncsByKind: Record<string, number>; fsyncMsTotal: number };
    };
    return {
      role: b.role,
      term: b.term,
      commitIndex: b.commitIndex,
      fsyncs: b.storage.fsyncs,
      walFsyncs: b.storage.fsyncsByKind.wal ?? 0,
      hardstateFsyncs: b.storage.fsyncsByKind.hardstate ?? 0,
      fsyncMsTotal: b.storage.fsyncMsTotal,
    };
  }
}

/** The forked load generator and a typed request/answer channel to it. */
class LoadGen {
  private readonly waiting: { type: LoadReply["type"]; resolve: (m: LoadReply) => void }[] = [];
  onProgress: (m: Extract<LoadReply, { type: "progress" }>) => void = () => {};
  private failed: Error | undefined;

  constructor(readonly child: ChildProcess) {
    child.on("message", (raw: unknown) => {
      const m = raw as LoadReply;
      if (m.type === "progress") return this.onProgress(m);
      if (m.type === "fatal") return this.fail(new Error(`load generator: ${m.message}`));
      const i = this.waiting.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(m);
    });
    child.on("exit", (code, signal) => this.fail(new Error(`load generator exited (${code ?? signal})`)));
  }

  static fork(profile: boolean): LoadGen {
    const execArgv = [
      ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${join(PROFILES, "loadgen")}`] : []),
      "--import",
      "tsx",
    ];
    return new LoadGen(
      fork(LOADGEN, [], { cwd: ROOT, execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] }),
    );
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const w of this.waiting.splice(0)) w.resolve({ type: "fatal", message: e.message });
  }

  async call<T extends LoadReply["type"]>(cmd: LoadCmd, answer: T): Promise<Extract<LoadReply, { type: T }>> {
    if (this.failed) throw this.failed;
    const p = new Promise<LoadReply>((resolve) => this.waiting.push({ type: answer, resolve }));
    this.child.send(cmd);
    const m = await p;
    if (m.type === "fatal") throw new Error(m.message);
    return m as Extract<LoadReply, { type: T }>;
  }

  /** Closes the IPC channel (the child exits on disconnect) and waits for the exit, so a profile gets written. */
  async close(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    if (c.connected) c.disconnect();
    else c.kill("SIGTERM");
    await Promise.race([exited, sleep(3000)]);
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }
}

interface LevelResult {
  concurrency: number;
  leader: string;
  follower: string;
  seconds: number;
  acked: number;
  errors: number;
  errorKinds: Record<string, number>;
  entriesPerSec: number;
  committedEntries: number;
  latencyMs: LoadResult["latencyMs"];
  fsyncsPerEntry: { leader: number; follower: number };
  leaderFsyncs: { wal: number; hardstate: number; other: number; avgMs: number };
  entriesPerLeaderWalFsync: number;
  cpuPercent: Record<string, number>;
  /** CPU time of the three node processes per committed entry (robust against a busy machine, unlike entries/s). */
  nodeCpuUsPerEntry: number;
  termChanged: boolean;
}

const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");
const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a");

// --------------------------------------------------------------------- main

let cluster: BenchCluster | undefined;
let load: LoadGen | undefined;
let cleaning: Promise<void> | undefined;

/** Stops the load generator and the nodes (gracefully first, so profiles are flushed) and removes the temp dir. */
function cleanup(graceful: boolean): Promise<void> {
  cleaning ??= (async () => {
    await load?.close().catch(() => {});
    const c = cluster;
    if (!c) return;
    if (graceful) {
      await Promise.race([Promise.all(c.specs.map((s) => c.stop(s.id).catch(() => null))), sleep(5000)]);
    }
    await c.close();
  })();
  return cleaning;
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    console.error(`\nbench:replication: ${sig}, cleaning up`);
    void cleanup(false).finally(() => process.exit(130));
  });
}

async function runLevel(
  c: BenchCluster,
  lg: LoadGen,
  opts: Options,
  concurrency: number,
): Promise<LevelResult> {
  const leader = await c.waitForLeader();
  const follower = c.specs.map((s) => s.id).find((id) => id !== leader)!;
  const spec = c.specs.find((s) => s.id === leader)!;
  const pids: Record<string, number> = {};
  for (const [id, p] of c.procs) if (p.pid !== undefined) pids[id] = p.pid;
  if (lg.child.pid !== undefined) pids["loadgen"] = lg.child.pid;

  let phase = "warm-up";
  let phaseStart = performance.now();
  lg.onProgress = (m) => {
    const t = (performance.now() - phaseStart) / 1000;
    console.log(
      `  c=${String(concurrency).padEnd(3)} ${phase.padEnd(8)} t=${t.toFixed(0).padStart(3)}s  ${fmtInt((m.ok * 1000) / m.ms).padStart(7)} puts/s${m.errors > 0 ? `  errors ${m.errors}` : ""}`,
    );
  };

  const start: StartCmd = {
    type: "start",
    host: "127.0.0.1",
    port: spec.apiPort,
    concurrency,
    valueBytes: opts.valueBytes,
    keys: opts.keys,
  };
  await lg.call(start, "started");
  await sleep(opts.warmup * 1000);

  const [l0, f0] = await Promise.all([c.nodeStats(leader), c.nodeStats(follower)]);
  const cpu0 = cpuOf(pids);
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  await lg.call({ type: "mark" }, "marked");
  phase = "measure";
  phaseStart = performance.now();
  await sleep(opts.seconds * 1000);
  const { result } = await lg.call({ type: "end" }, "result");
  const [l1, f1] = await Promise.all([c.nodeStats(leader), c.nodeStats(follower)]);
  const wallS = (performance.now() - t0) / 1000;
  const cpu1 = cpuOf(pids);
  const busy1 = machineBusySeconds();
  phase = "drain";
  await lg.call({ type: "stop" }, "stopped");

  const committed = l1.commitIndex - l0.commitIndex;
  const leaderWal = l1.walFsyncs - l0.walFsyncs;
  const leaderHs = l1.hardstateFsyncs - l0.hardstateFsyncs;
  const leaderAll = l1.fsyncs - l0.fsyncs;
  const cpuPercent: Record<string, number> = {};
  let ours = 0;
  let nodesCpu = 0;
  for (const id of Object.keys(pids)) {
    if (id !== "loadgen") nodesCpu += cpu1[id]! - cpu0[id]!;
    const label = id === leader ? `${id} (leader)` : id;
    ours += cpu1[id]! - cpu0[id]!;
    cpuPercent[label] = Math.round(((cpu1[id]! - cpu0[id]!) / wallS) * 100);
  }
  // Everything else on the machine (incl. this process and the kernel): other load skews the results.
  cpuPercent.other = Math.round(((busy1 - busy0 - ours) / wallS) * 100);
  return {
    concurrency,
    leader,
    follower,
    seconds: result.windowMs / 1000,
    acked: result.ok,
    errors: result.errors,
    errorKinds: result.errorKinds,
    entriesPerSec: result.ok / (result.windowMs / 1000),
    committedEntries: committed,
    latencyMs: result.latencyMs,
    fsyncsPerEntry: {
      leader: leaderAll / committed,
      follower: (f1.fsyncs - f0.fsyncs) / committed,
    },
    leaderFsyncs: {
      wal: leaderWal,
      hardstate: leaderHs,
      other: leaderAll - leaderWal - leaderHs,
      avgMs: (l1.fsyncMsTotal - l0.fsyncMsTotal) / leaderAll,
    },
    entriesPerLeaderWalFsync: committed / leaderWal,
    cpuPercent,
    nodeCpuUsPerEntry: (nodesCpu / committed) * 1e6,
    termChanged: l1.term !== l0.term || l1.role !== "leader",
  };
}

async function main(): Promise<void> {
  const opts = parse();
  const c = new BenchCluster(3, opts.nodeArgs);
  cluster = c;
  await c.init();
  if (opts.profile) {
    rmSync(PROFILES, { recursive: true, force: true });
    mkdirSync(PROFILES, { recursive: true });
    // One dir per process: tsx's loader runs in a worker thread that writes a profile of its own.
    c.nodeFlags = ["--cpu-prof", `--cpu-prof-dir=${join(PROFILES, "{id}")}`];
  }

  console.log(
    `bench:replication: 3 nodes on 127.0.0.1, fsync on, ${opts.valueBytes}-byte values over ${opts.keys} keys, levels ${opts.levels.join(",")}, warm-up ${opts.warmup}s + ${opts.seconds}s each`,
  );
  console.log(
    `  host: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "?"}), node ${process.version}; data dirs in ${c.dir}`,
  );

  const fsync = probeFsync(c.dir, FSYNC_SAMPLES);
  console.log(
    `  fsync (4 KiB write + fsync, ${fsync.samples}x, same filesystem): p50 ${fmt(fsync.p50Ms, 3)} ms, p99 ${fmt(fsync.p99Ms, 3)} ms, max ${fmt(fsync.maxMs, 3)} ms`,
  );

  c.startAll();
  const first = await c.waitForLeader();
  console.log(`  cluster up, leader ${first}`);
  const lg = LoadGen.fork(opts.profile);
  load = lg;

  const levels: LevelResult[] = [];
  for (const concurrency of opts.levels) {
    const r = await runLevel(c, lg, opts, concurrency);
    levels.push(r);
    console.log(
      `  c=${concurrency}: ${fmtInt(r.entriesPerSec)} entries/s, p50 ${fmt(r.latencyMs.p50)} ms, p99 ${fmt(r.latencyMs.p99)} ms, max ${fmt(r.latencyMs.max)} ms, fsyncs/entry leader ${fmt(r.fsyncsPerEntry.leader)} follower ${fmt(r.fsyncsPerEntry.follower)}${r.errors > 0 ? `, ${r.errors} errors ${JSON.stringify(r.errorKinds)}` : ""}${r.termChanged ? " (LEADER CHANGED during the window)" : ""}`,
    );
    await sleep(500);
  }

  // ---------------------------------------------------------------- report
  console.log("\nresults (committed = acknowledged by the leader after apply; latency client-observed):");
  const header = [
    "conc",
    "entries/s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "fsync/entry L",
    "fsync/entry F",
    "entries/WAL fsync L",
    "errors",
    "node CPU µs/entry",
    "CPU % (nodes, loadgen, other)",
  ];
  const rows = levels.map((r) => [
    String(r.concurrency),
    fmtInt(r.entriesPerSec),
    fmt(r.latencyMs.p50),
    fmt(r.latencyMs.p99),
    fmt(r.latencyMs.max),
    fmt(r.fsyncsPerEntry.leader),
    fmt(r.fsyncsPerEntry.follower),
    fmt(r.entriesPerLeaderWalFsync, 1),
    String(r.errors),
    fmtInt(r.nodeCpuUsPerEntry),
    Object.entries(r.cpuPercent)
      .map(([k, v]) => `${k.replace(" (leader)", "*")}:${v}`)
      .join(" "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `  ${cells.map((x, i) => (i === cells.length - 1 ? x : x.padStart(widths[i]!))).join("  ")}`;
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log(
    `  (* = leader; CPU % of one core over the window, ${availableParallelism()} cores in all; "other" = the rest of the machine, incl. this process and the kernel)`,
  );
  const noisy = levels.filter((r) => (r.cpuPercent.other ?? 0) > 25);
  if (noisy.length > 0)
    console.log(
      `  WARNING: other load on the machine during c=${noisy.map((r) => r.concurrency).join(",")}; results may be skewed`,
    );
  console.log(
    `\n  machine fsync (4 KiB + fsync, ${fsync.samples}x): p50 ${fmt(fsync.p50Ms, 3)} ms, p99 ${fmt(fsync.p99Ms, 3)} ms` +
      ` -> target "at concurrency 1, p50 commit latency within 2 ms of two fsyncs" = ${fmt(2 * fsync.p50Ms + 2, 3)} ms`,
  );

  const targets: { name: string; target: string; measured: string; met: boolean | null }[] = [];
  const c64 = levels.find((r) => r.concurrency === 64);
  targets.push({
    name: `at concurrency 64 at least ${TARGET_C64_EPS.toLocaleString("en-US")} entries/s`,
    target: `>= ${TARGET_C64_EPS}`,
    measured: c64 ? fmtInt(c64.entriesPerSec) : "not run",
    met: c64 ? c64.entriesPerSec >= TARGET_C64_EPS : null,
  });
  const c1 = levels.find((r) => r.concurrency === 1);
  const c1Target = 2 * fsync.p50Ms + 2;
  targets.push({
    name: "at concurrency 1, p50 commit latency within 2 ms of two fsyncs",
    target: `<= ${fmt(c1Target, 3)} ms`,
    measured: c1 ? `${fmt(c1.latencyMs.p50, 3)} ms` : "not run",
    met: c1 ? c1.latencyMs.p50 <= c1Target : null,
  });
  console.log("\ntargets:");
  for (const t of targets) {
    const verdict = t.met === null ? "NOT RUN" : t.met ? "MET" : "NOT MET";
    console.log(`  ${verdict.padEnd(7)}  ${t.name}: target ${t.target}, measured ${t.measured}`);
  }

  mkdirSync(RESULTS, { recursive: true });
  const out = join(RESULTS, "replication.json");
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        benchmark: "replication",
        date: new Date().toISOString(),
        host: {
          cpus: availableParallelism(),
          model: cpus()[0]?.model ?? null,
          node: process.version,
          platform: process.platform,
        },
        params: {
          nodes: 3,
          seconds: opts.seconds,
          warmup: opts.warmup,
          levels: opts.levels,
          valueBytes: opts.valueBytes,
          keys: opts.keys,
          nodeArgs: opts.nodeArgs,
          profile: opts.profile,
        },
        fsync,
        levels,
        targets,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${out}${opts.profile ? ` and CPU profiles in ${PROFILES}` : ""}`);
}

try {
  await main();
  await cleanup(true);
} catch (e) {
  console.error(`bench:replication failed: ${(e as Error).stack ?? e}`);
  await cleanup(false);
  process.exit(1);
}
