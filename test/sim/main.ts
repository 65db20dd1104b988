/**
 * `npm run sim -- --seeds N [--start S] [--nodes K] [--jobs J]` runs N seeded
 * schedules of the Raft cluster simulation; `--seed S --trace` replays one.
 * Ends with `sim: N seeds, V violations`; exit 1 when V > 0.
 */
import { fork } from "node:child_process";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { runSeed, type SeedResult } from "./schedule.js";

interface Job {
  seeds: number[];
  nodes?: number;
  chaosTicks?: number;
}

function parse() {
  try {
    const { values } = parseArgs({
      options: {
        seeds: { type: "string" },
        start: { type: "string", default: "1" },
        seed: { type: "string" },
        nodes: { type: "string" },
        jobs: { type: "string" },
        ticks: { type: "string" },
        trace: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      strict: true,
    });
    return values;
  } catch (e) {
    console.error(
      `sim: ${(e as Error).message}\nusage: npm run sim -- --seeds N [--start S] [--nodes K] [--jobs J] | --seed S [--trace]`,
    );
    process.exit(2);
  }
}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`sim: --${name} must be an integer >= ${min}, got '${v}'`);
    process.exit(2);
  }
  return n;
}

function runJob(job: Job): SeedResult[] {
  return job.seeds.map((seed) => runSeed({ seed, nodes: job.nodes, chaosTicks: job.chaosTicks }));
}

async function main(): Promise<void> {
  if (process.env.TASKRAFT_SIM_WORKER) {
    process.once("message", (job: Job) => {
      process.send!(runJob(job), () => process.exit(0));
    });
    return;
  }
  const a = parse();
  if (a.help) {
    console.log(
      "usage: npm run sim -- --seeds N [--start S] [--nodes 3|5|7] [--jobs J] [--ticks T] | --seed S [--trace]",
    );
    return;
  }
  const nodes = int("nodes", a.nodes, 1);
  const chaosTicks = int("ticks", a.ticks, 1);
  if (a.seed !== undefined) {
    const seed = int("seed", a.seed, 0)!;
    const r = runSeed({ seed, nodes, chaosTicks, trace: a.trace });
    report([r]);
    return;
  }
  const count = int("seeds", a.seeds ?? "100", 1)!;
  const start = int("start", a.start, 0)!;
  const jobs = Math.min(int("jobs", a.jobs, 1) ?? availableParallelism(), count);
  const seeds = Array.from({ length: count }, (_, i) => start + i);
  const t0 = performance.now();
  const results: SeedResult[] = [];
  const shards: number[][] = Array.from({ length: jobs }, () => []);
  for (const [i, s] of seeds.entries()) shards[i % jobs]!.push(s);
  await Promise.all(
    shards.map(
      (shard) =>
        new Promise<void>((resolve, reject) => {
          const child = fork(process.argv[1]!, [], {
            env: { ...process.env, TASKRAFT_SIM_WORKER: "1" },
            execArgv: process.execArgv,
          });
          child.once("message", (r: SeedResult[]) => {
            results.push(...r);
            resolve();
          });
          child.once("error", reject);
          child.once("exit", (code) => {
            if (code !== 0) reject(new Error(`sim worker exited with ${code}`));
          });
          child.send({ seeds: shard, nodes, chaosTicks } satisfies Job);
        }),
    ),
  );
  results.sort((x, y) => x.seed - y.seed);
  report(results, performance.now() - t0);
}

function report(results: SeedResult[], ms?: number): void {
  const bad = results.filter((r) => !r.ok);
  for (const r of bad.slice(0, 3)) {
    console.log(`\nVIOLATION seed=${r.seed} nodes=${r.nodes}: ${r.violation}`);
    console.log(`replay: npm run sim -- --seed ${r.seed}${r.nodes ? ` --nodes ${r.nodes}` : ""} --trace`);
  }
  if (bad.length > 3)
    console.log(`… and ${bad.length - 3} more failing seeds: ${bad.map((r) => r.seed).join(" ")}`);
  const faults: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.faults)) faults[k] = (faults[k] ?? 0) + v;
  const sum = (f: (r: SeedResult) => number) => results.reduce((s, r) => s + f(r), 0);
  console.log(
    `writes acked ${sum((r) => r.writesAcked)}, reads served ${sum((r) => r.readsServed)}, ` +
      `elections ${sum((r) => r.elections)}, messages ${sum((r) => r.messages)}`,
  );
  console.log(
    `faults: ${Object.entries(faults)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
  );
  if (ms !== undefined) console.log(`time: ${(ms / 1000).toFixed(1)} s`);
  console.log(`sim: ${results.length} seeds, ${bad.length} violations`);
  if (bad.length > 0) process.exitCode = 1;
}

await main();
