/**
 * `taskraft bench`: starts each system in turn on this machine, drives it from a separate load
 * generator process, and writes results.json, a terminal table and the markdown report.
 * One system runs at a time, so none competes with another for the two cores.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LoadGenerator } from "./load/generator.js";
import type { BenchSystem, DriverParams, LoadResult, PacedResult } from "./load/types.js";
import { SystemUnavailable } from "./load/types.js";
import { cpuOf, describeMachine, machineBusySeconds } from "./machine.js";
import {
  type BenchResults,
  type FailoverSummary,
  type FailoverTrial,
  median,
  type RunRow,
} from "./results.js";
import { type BatchingCounters, startTaskraft, type TaskraftSubject } from "./systems/taskraft.js";
import { computeRatios, computeTargets } from "./targets.js";

export type Baselines = "none" | "mysql" | "all";

export interface BenchOptions {
  quick: boolean;
  baselines: Baselines;
  levels: number[];
  warmupMs: number;
  durationMs: number;
  failoverTrials: number;
  seedTasks: number;
  outDir: string;
  /** Where the markdown report goes (undefined: only into outDir). */
  reportFile: string | undefined;
  command: string;
  log: (line: string) => void;
  /** Progress that overwrites itself on a terminal; dropped otherwise. */
  status: (line: string) => void;
}

const TASKRAFT_WORKLOADS = ["create", "update", "read", "read-stale", "list", "mixed"] as const;
const FAILOVER_RATE = 100;
const FAILOVER_CLIENTS = 8;
const FAILOVER_RUN_MS = 9000;
const FAILOVER_KILL_AFTER_MS = 3000;
/**
 * Every system's clients give up on an attempt after this long and retry (on the next node where
 * the client knows several), so no system's gap is set by a longer client timeout than another's.
 */
const FAILOVER_ATTEMPT_MS = 1000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "—";
}

/** The longest silence between acknowledged writes that covers the kill or follows it. */
export function writeGapMs(okAtMs: readonly number[], killAtMs: number, runMs: number): number {
  let before = Number.NEGATIVE_INFINITY;
  let gap = 0;
  let prev: number | undefined;
  for (const t of okAtMs) {
    if (t <= killAtMs) {
      before = t;
      continue;
    }
    const from = prev ?? before;
    if (Number.isFinite(from)) gap = Math.max(gap, t - from);
    prev = t;
  }
  // No acknowledgement after the kill at all: the outage lasted at least until the run ended.
  if (prev === undefined) gap = runMs - (Number.isFinite(before) ? before : 0);
  return gap;
}

class Runner {
  readonly results: BenchResults;
  private gen: LoadGenerator | undefined;

  constructor(private readonly o: BenchOptions) {
    mkdirSync(o.outDir, { recursive: true });
    this.results = {
      startedAt: new Date().toISOString(),
      finishedAt: "",
      command: o.command,
      options: {
        quick: o.quick,
        baselines: o.baselines,
        levels: o.levels,
        warmupMs: o.warmupMs,
        durationMs: o.durationMs,
        failoverTrials: o.failoverTrials,
      },
      machine: describeMachine(o.outDir),
      runs: [],
      failover: [],
      unavailable: [],
      ratios: [],
      targets: [],
    };
  }

  private generator(): LoadGenerator {
    this.gen ??= LoadGenerator.start();
    return this.gen;
  }

  /** One closed-loop measurement at one concurrency, with CPU and (for taskraft) batching. */
  async measure(
    sys: BenchSystem,
    workload: string,
    concurrency: number,
    params: DriverParams,
    opts: { rowsPerOp?: number; subject?: TaskraftSubject } = {},
  ): Promise<RunRow> {
    const gen = this.generator();
    const label = `${sys.name} ${workload} c=${concurrency}`;
    const pids = sys.pids();
    let cpu0: Record<string, number> = {};
    let busy0 = 0;
    let batch0: BatchingCounters | undefined;
    // The window starts after the warm-up; take the "before" readings then.
    const marks = sleep(this.o.warmupMs).then(async () => {
      cpu0 = cpuOf(pids);
      busy0 = machineBusySeconds();
      if (opts.subject) batch0 = await opts.subject.batching();
    });
    const result = (await gen.run(
      { type: "closed", params, concurrency, warmupMs: this.o.warmupMs, durationMs: this.o.durationMs },
      (perSec, errors) => this.o.status(`  ${label}: ${fmt(perSec)}/s${errors ? `, ${errors} errors` : ""}`),
    )) as Extract<LoadResult, { type: "closed" }>;
    await marks;
    const cpu1 = cpuOf(pids);
    const busy1 = machineBusySeconds();
    const windowSec = result.windowMs / 1000;
    const cpuPct: Record<string, number> = {};
    for (const k of Object.keys(pids))
      cpuPct[k] = (100 * ((cpu1[k] ?? Number.NaN) - (cpu0[k] ?? Number.NaN))) / windowSec;
    const row: RunRow = {
      system: sys.name,
      workload,
      concurrency,
      opsPerSec: result.opsPerSec,
      latencyMs: result.latencyMs,
      ok: result.ok,
      errors: result.errors,
      errorKinds: result.errorKinds,
      cpuPct,
      loadGeneratorCpuPct: (100 * result.loadCpuSec) / windowSec,
      machineBusyPct: (100 * (busy1 - busy0)) / windowSec / this.results.machine.cpus,
    };
    if (opts.rowsPerOp) row.rowsPerSec = result.opsPerSec * opts.rowsPerOp;
    if (opts.subject && batch0 && ["create", "update", "mixed"].includes(workload)) {
      // Read after the run: counters still move a little after the window; the ratio is what matters.
      const b1 = await opts.subject.batching();
      row.batching = {
        entriesPerFsync:
          (b1.leaderEntriesSynced - batch0.leaderEntriesSynced) /
          Math.max(1, b1.leaderSyncs - batch0.leaderSyncs),
        entriesPerApplyTx:
          (b1.appliedEntries - batch0.appliedEntries) /
          Math.max(1, b1.applyTransactions - batch0.applyTransactions),
      };
    }
    this.results.runs.push(row);
    this.o.status("");
    const cpuText = Object.entries(cpuPct)
      .map(([k, v]) => `${k} ${fmt(v)}%`)
      .join(" ");
    this.o.log(
      `  ${label.padEnd(34)} ${fmt(row.rowsPerSec ?? row.opsPerSec).padStart(8)}/s  p50 ${fmt(row.latencyMs.p50, 1)} p99 ${fmt(row.latencyMs.p99, 1)} max ${fmt(row.latencyMs.max, 0)} ms` +
        `${row.errors ? `  errors ${row.errors}` : ""}${row.batching ? `  ${fmt(row.batching.entriesPerFsync, 1)}/fsync ${fmt(row.batching.entriesPerApplyTx, 1)}/tx` : ""}  cpu ${cpuText}`,
    );
    return row;
  }

  /** `trials` times: steady writes, kill -9 the leader, measure the gap and the new leader's arrival. */
  async failover(sys: BenchSystem, params: DriverParams): Promise<FailoverSummary | undefined> {
    if (this.o.failoverTrials <= 0) return undefined;
    const gen = this.generator();
    const trials: FailoverTrial[] = [];
    for (let i = 0; i < this.o.failoverTrials; i++) {
      const run = gen.run(
        {
          type: "paced",
          params,
          concurrency: FAILOVER_CLIENTS,
          ratePerSec: FAILOVER_RATE,
          durationMs: FAILOVER_RUN_MS,
        },
        (perSec) =>
          this.o.status(`  ${sys.name} failover ${i + 1}/${this.o.failoverTrials}: ${fmt(perSec)} writes/s`),
      );
      await sleep(FAILOVER_KILL_AFTER_MS);
      let killed: { killed: string; atEpochMs: number };
      let newLeaderAt: number;
      try {
        killed = await sys.killLeader();
        newLeaderAt = await sys.waitNewLeader(20_000);
      } catch (e) {
        await run.catch(() => undefined);
        this.o.log(`  ${sys.name} failover trial ${i + 1}: ${(e as Error).message}`);
        break;
      }
      const r = (await run) as PacedResult;
      const killRel = killed.atEpochMs - r.startedAtEpochMs;
      const trial: FailoverTrial = {
        killed: killed.killed,
        newLeaderMs: newLeaderAt - killed.atEpochMs,
        gapMs: writeGapMs(r.okAtMs, killRel, FAILOVER_RUN_MS),
        errors: r.errors,
      };
      trials.push(trial);
      this.o.status("");
      this.o.log(
        `  ${sys.name} failover ${i + 1}: killed ${trial.killed}, new leader after ${fmt(trial.newLeaderMs)} ms, write gap ${fmt(trial.gapMs)} ms${trial.errors ? `, ${trial.errors} failed writes` : ""}`,
      );
      await sys.restartKilled();
    }
    if (trials.length === 0) return undefined;
    const summary: FailoverSummary = {
      system: sys.name,
      ratePerSec: FAILOVER_RATE,
      clients: FAILOVER_CLIENTS,
      trials,
      medianGapMs: median(trials.map((t) => t.gapMs)),
      maxGapMs: Math.max(...trials.map((t) => t.gapMs)),
      medianNewLeaderMs: median(trials.map((t) => t.newLeaderMs)),
    };
    this.results.failover.push(summary);
    return summary;
  }

  unavailable(system: string, e: unknown): void {
    const reason = (e as Error).message.split("\n")[0] ?? String(e);
    this.results.unavailable.push({ system, reason });
    this.o.log(`  ${system}: not measured — ${reason}`);
  }

  async close(): Promise<void> {
    await this.gen?.close();
    this.gen = undefined;
  }
}

/** What an interrupted run must stop: the system being measured and the load generator. */
const active: { system: BenchSystem | undefined; runner: Runner | undefined } = {
  system: undefined,
  runner: undefined,
};

/** Stops whatever the run has started (Ctrl-C): the current system's processes, the load generator. */
export async function interruptBench(): Promise<void> {
  const { system, runner } = active;
  active.system = undefined;
  await Promise.all([system?.stop().catch(() => {}), runner?.close().catch(() => {})]);
}

async function withSystem<T extends BenchSystem>(
  runner: Runner,
  name: string,
  start: () => Promise<T>,
  body: (sys: T) => Promise<void>,
): Promise<void> {
  let sys: T;
  try {
    sys = await start();
  } catch (e) {
    if (e instanceof SystemUnavailable) {
      runner.unavailable(name, e);
      return;
    }
    throw e;
  }
  active.system = sys;
  try {
    await body(sys);
  } finally {
    if (active.system === sys) {
      active.system = undefined;
      await sys.stop().catch((e: unknown) => runner.unavailable(`${name} (stop)`, e));
    }
  }
}

async function benchTaskraft(
  runner: Runner,
  o: BenchOptions,
  nodes: number,
  workloads: readonly string[],
): Promise<void> {
  const name = `taskraft-${nodes}`;
  o.log(`${name}: starting ${nodes} node${nodes > 1 ? "s" : ""}, each with its own MariaDB …`);
  const t0 = Date.now();
  await withSystem(
    runner,
    name,
    () => startTaskraft({ nodes, runDir: join(o.outDir, name), log: () => {} }),
    async (sys) => {
      o.log(`${name}: up in ${fmt((Date.now() - t0) / 1000, 1)} s; seeding ${o.seedTasks} tasks …`);
      const taskIds = await sys.seedTasks(o.seedTasks);
      const base = {
        driver: "taskraft",
        urls: sys.urls,
        token: sys.token,
        projectId: sys.projectId,
        taskIds,
      };
      for (const workload of workloads) {
        for (const c of o.levels) {
          // Creates are counted in the databases too: an answer is only worth counting if a task exists.
          const before = workload === "create" ? await sys.taskCount() : undefined;
          const row = await runner.measure(sys, workload, c, { ...base, workload }, { subject: sys });
          if (before !== undefined) row.tasksCreated = (await sys.taskCount()) - before;
        }
      }
      if (nodes > 1)
        await runner.failover(sys, {
          ...base,
          workload: "create",
          failover: true,
          attemptTimeoutMs: FAILOVER_ATTEMPT_MS,
        });
    },
  );
}

async function benchMysql(runner: Runner, o: BenchOptions): Promise<void> {
  const { startMariadbBaseline, prepareBenchTable } = await import("./systems/mariadb.js");
  o.log("mariadb-1: starting one MariaDB server (fsync on) …");
  await withSystem(
    runner,
    "mariadb-1",
    () => startMariadbBaseline(join(o.outDir, "mariadb-1"), {}),
    async (sys) => {
      await prepareBenchTable(sys.url, { table: "bench_tasks", seedRows: o.seedTasks });
      const base = { driver: "mysql", urls: [sys.url], table: "bench_tasks" };
      for (const c of o.levels) await runner.measure(sys, "insert", c, { ...base, workload: "insert" });
      for (const c of o.levels) {
        await runner.measure(
          sys,
          "insert-batched",
          c,
          { ...base, workload: "insert-batched", batch: 16 },
          { rowsPerOp: 16 },
        );
      }
      for (const c of o.levels) await runner.measure(sys, "read", c, { ...base, workload: "read" });
    },
  );
}

async function benchGalera(runner: Runner, o: BenchOptions): Promise<void> {
  const { startGalera } = await import("./systems/galera.js");
  const { prepareBenchTable } = await import("./systems/mariadb.js");
  o.log("galera-3: starting a 3-node MariaDB Galera cluster …");
  await withSystem(
    runner,
    "galera-3",
    () => startGalera(join(o.outDir, "galera-3"), {}),
    async (sys) => {
      await prepareBenchTable(sys.urls[0]!, { table: "bench_tasks", seedRows: o.seedTasks });
      // Clients spread over the three nodes, as they would behind a load balancer.
      for (const c of o.levels) {
        await runner.measure(sys, "insert", c, {
          driver: "mysql",
          urls: sys.urls,
          table: "bench_tasks",
          workload: "insert",
          spread: true,
        });
      }
      for (const c of o.levels) {
        await runner.measure(sys, "read", c, {
          driver: "mysql",
          urls: sys.urls,
          table: "bench_tasks",
          workload: "read",
          spread: true,
        });
      }
      await runner.failover(sys, {
        driver: "mysql",
        urls: sys.urls,
        table: "bench_tasks",
        workload: "insert",
        timeoutMs: FAILOVER_ATTEMPT_MS,
      });
    },
  );
}

async function benchEtcd(runner: Runner, o: BenchOptions): Promise<void> {
  const { startEtcd, seedEtcd } = await import("./systems/etcd.js");
  o.log("etcd-3: starting a 3-member etcd cluster …");
  await withSystem(
    runner,
    "etcd-3",
    () => startEtcd(join(o.outDir, "etcd-3"), {}),
    async (sys) => {
      await seedEtcd(sys.endpoints, o.seedTasks, 200);
      const base = { driver: "etcd", endpoints: sys.endpoints, valueBytes: 200, keys: o.seedTasks };
      for (const w of ["put", "get", "get-serializable"]) {
        for (const c of o.levels) await runner.measure(sys, w, c, { ...base, workload: w });
      }
      await runner.failover(sys, { ...base, workload: "put", spread: true, timeoutMs: FAILOVER_ATTEMPT_MS });
    },
  );
}

export async function runBench(o: BenchOptions): Promise<BenchResults> {
  const runner = new Runner(o);
  active.runner = runner;
  const m = runner.results.machine;
  o.log(
    `bench: ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, ${m.os}, Node ${m.node}; 4 KiB fsync p50 ${fmt(m.fsync.p50Ms, 2)} ms`,
  );
  o.log(
    `bench: ${fmt(o.warmupMs / 1000, 1)} s warm-up + ${fmt(o.durationMs / 1000, 1)} s per measurement at ${o.levels.join(", ")} clients; baselines: ${o.baselines}; results in ${o.outDir}`,
  );
  try {
    await benchTaskraft(runner, o, 3, TASKRAFT_WORKLOADS);
    if (o.baselines !== "none") await benchMysql(runner, o);
    if (o.baselines === "all") {
      await benchTaskraft(runner, o, 1, ["create", "read"]);
      await benchGalera(runner, o);
      await benchEtcd(runner, o);
    }
  } finally {
    await runner.close();
  }
  const r = runner.results;
  r.finishedAt = new Date().toISOString();
  r.ratios = computeRatios(r);
  r.targets = computeTargets(r, o.levels);
  writeFileSync(join(o.outDir, "results.json"), `${JSON.stringify(r, null, 2)}\n`);
  return r;
}
