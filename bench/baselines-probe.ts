/**
 * A quick look at the baselines' numbers on this machine, outside the real orchestrator
 * (src/bench/run.ts): `npx tsx bench/baselines-probe.ts [mariadb] [galera] [etcd]` (default all).
 * Each figure is one closed-loop window through the forked load generator; the failover line is
 * a paced trial (kill -9 of the write node / leader 3 s into a 12 s run at 200 writes/s from 16
 * clients): one for Galera, three for etcd.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type {
  ClosedLoopResult,
  DriverParams,
  LoadResult,
  LoadSpec,
  PacedResult,
  WorkerReply,
} from "../src/bench/load/types.js";
import { type BenchSystem, SystemUnavailable } from "../src/bench/load/types.js";
import { seedEtcd, startEtcd } from "../src/bench/systems/etcd.js";
import { startGalera } from "../src/bench/systems/galera.js";
import { prepareBenchTable, startMariadbBaseline } from "../src/bench/systems/mariadb.js";

const WARMUP_MS = 1000;
const DURATION_MS = 5000;
const SEED = 20_000;
const FAILOVER = { concurrency: 16, ratePerSec: 200, durationMs: 12_000, killAfterMs: 3000 };

const worker: ChildProcess = fork(
  fileURLToPath(new URL("../src/bench/load/worker.ts", import.meta.url)),
  [],
  {
    execArgv: ["--import", "tsx"],
  },
);

function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const onMessage = (raw: unknown) => {
      const msg = raw as WorkerReply;
      if (msg.type === "progress") return;
      worker.off("message", onMessage);
      if (msg.type === "result") resolve(msg.result);
      else reject(new Error(msg.message));
    };
    worker.on("message", onMessage);
    worker.send({ type: "run", spec });
  });
}

async function measure(
  system: string,
  label: string,
  params: DriverParams,
  concurrency: number,
  rowsPerOp = 1,
) {
  const r = (await runLoad({
    type: "closed",
    params,
    concurrency,
    warmupMs: WARMUP_MS,
    durationMs: DURATION_MS,
  })) as ClosedLoopResult;
  const rows = rowsPerOp > 1 ? ` (${Math.round(r.opsPerSec * rowsPerOp)} rows/s)` : "";
  const errs = r.errors ? `, ${r.errors} errors ${JSON.stringify(r.errorKinds)}` : "";
  console.log(
    `${system.padEnd(10)} ${label.padEnd(22)} c=${String(concurrency).padStart(2)}  ${Math.round(r.opsPerSec).toString().padStart(6)} ops/s${rows}  p50 ${r.latencyMs.p50.toFixed(1)} ms  p99 ${r.latencyMs.p99.toFixed(1)} ms${errs}`,
  );
}

/** The longest client-observed pause between acknowledged writes that ends after the kill. */
function writeGapMs(okAtMs: number[], killRelMs: number): number {
  let gap = 0;
  let prev = okAtMs.filter((t) => t <= killRelMs).at(-1) ?? 0;
  for (const t of okAtMs) {
    if (t <= killRelMs) continue;
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return gap;
}

async function failoverTrial(sys: BenchSystem, params: DriverParams, note = "") {
  const run = runLoad({ type: "paced", params, ...FAILOVER });
  await new Promise((r) => setTimeout(r, FAILOVER.killAfterMs));
  const k = await sys.killLeader();
  const leaderAt = await sys.waitNewLeader(30_000);
  const r = (await run) as PacedResult;
  const gap = writeGapMs(r.okAtMs, k.atEpochMs - r.startedAtEpochMs);
  console.log(
    `${sys.name.padEnd(10)} failover${note ? ` (${note})` : ""}: killed ${k.killed}, new leader after ${leaderAt - k.atEpochMs} ms, write gap ${Math.round(gap)} ms, ${r.errors} failed writes ${JSON.stringify(r.errorKinds)}`,
  );
  const t0 = Date.now();
  await sys.restartKilled();
  console.log(`${sys.name.padEnd(10)} restart of ${k.killed}: back in ${Date.now() - t0} ms`);
}

async function withSystem<T extends BenchSystem>(start: () => Promise<T>, body: (s: T) => Promise<void>) {
  let sys: T;
  try {
    sys = await start();
  } catch (e) {
    if (e instanceof SystemUnavailable) {
      console.log(`unavailable: ${e.message.split("\n")[0]}`);
      return;
    }
    throw e;
  }
  try {
    await body(sys);
  } finally {
    await sys.stop();
  }
}

const wanted = process.argv.slice(2);
const want = (s: string) => wanted.length === 0 || wanted.includes(s);
const runDir = mkdtempSync(join(tmpdir(), "taskraft-baselines-probe-"));
const log = (line: string) => console.error(line);
console.log(
  `baselines probe ${new Date().toISOString()}: ${WARMUP_MS} ms warm-up + ${DURATION_MS} ms per figure`,
);

try {
  if (want("mariadb")) {
    await withSystem(
      () => startMariadbBaseline(runDir, { log }),
      async (sys) => {
        await prepareBenchTable(sys.url, { seedRows: SEED });
        const base = { driver: "mysql", urls: [sys.url] };
        for (const c of [1, 16, 64])
          await measure(sys.name, "insert (autocommit)", { ...base, workload: "insert" }, c);
        for (const c of [16, 64])
          await measure(
            sys.name,
            "insert-batched (16)",
            { ...base, workload: "insert-batched", batch: 16 },
            c,
            16,
          );
        await measure(sys.name, "read by id", { ...base, workload: "read" }, 64);
      },
    );
  }
  if (want("galera")) {
    await withSystem(
      () => startGalera(runDir, { log }),
      async (sys) => {
        await prepareBenchTable(sys.urls[0]!, { seedRows: SEED });
        const base = { driver: "mysql", urls: sys.urls, spread: true };
        await measure(sys.name, "insert (spread)", { ...base, workload: "insert" }, 64);
        await measure(sys.name, "insert (one node)", { ...base, spread: false, workload: "insert" }, 64);
        await measure(sys.name, "read by id (spread)", { ...base, workload: "read" }, 64);
        await failoverTrial(sys, { driver: "mysql", urls: sys.urls, workload: "insert" });
      },
    );
  }
  if (want("etcd")) {
    await withSystem(
      () => startEtcd(runDir, { log }),
      async (sys) => {
        await seedEtcd(sys.endpoints, SEED, 200);
        const base = { driver: "etcd", endpoints: sys.endpoints, valueBytes: 200, keys: SEED };
        await measure(sys.name, "put 200 B", { ...base, workload: "put" }, 64);
        await measure(sys.name, "put 200 B (spread)", { ...base, workload: "put", spread: true }, 64);
        await measure(sys.name, "get linearizable", { ...base, workload: "get" }, 64);
        await measure(sys.name, "get serializable", { ...base, workload: "get-serializable" }, 64);
        // The leader is the clients' endpoint in some trials and not in others; a client that gives
        // up after 2 s instead of waiting for etcd's own ~7 s answer sees a different gap.
        for (let i = 0; i < 2; i++) await failoverTrial(sys, { ...base, workload: "put" });
        await failoverTrial(sys, { ...base, workload: "put", timeoutMs: 2000 }, "client timeout 2 s");
      },
    );
  }
} finally {
  worker.send({ type: "exit" });
  rmSync(runDir, { recursive: true, force: true });
}
