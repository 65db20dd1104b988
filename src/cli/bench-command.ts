import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { terminalSummary, writeReport } from "../bench/report.js";
import { type Baselines, type BenchOptions, interruptBench, runBench } from "../bench/run.js";
import { CliError, type Command, parseFlags } from "./command.js";

const USAGE = `usage: taskraft bench [--quick] [--baselines none|mysql|all] [options]

Starts a real 3-node taskraft cluster (each node with its own MariaDB, fsync on) and a load
generator in its own process, measures task create, update with If-Match, linearizable and stale
reads by id, a filtered list of 50 and a 70/30 mix at each client count, then kill -9 failover
trials; then the baselines one at a time on the same machine: one MariaDB through mysql2,
a single taskraft node, a 3-node MariaDB Galera cluster and a 3-member etcd cluster.

  --quick                 2 s per measurement, one failover trial, MariaDB baseline only (< 2 min)
  --baselines WHICH       none, mysql or all (default all; --quick: mysql)
  --clients LIST          client counts (default 1,16,64)
  --warmup S              warm-up seconds before each measurement (default 2; --quick 0.5)
  --duration S            measured seconds (default 8; --quick 2)
  --failover-trials N     kill -9 trials per replicated system (default 5; --quick 1)
  --seed-tasks N          tasks/rows/keys created for the read workloads (default 2000; --quick 300)
  --out DIR               run directory: data, logs, results.json (default .taskraft/bench/<time>)
  --report FILE           markdown report to update (default docs/BENCHMARKS.md for full runs
                          from a checkout; --quick writes none unless given)
  --no-report             write no markdown report
  -h, --help              this help

Galera (galera-4) and etcd (etcd-server) are installed with apt-get when missing and running as
root; otherwise the run says which command to run and goes on without them. Benchmarks measure;
the exit status is 0 even when a target is missed, and 1 only when taskraft itself could not run.`;

function positive(name: string, v: string, integer: boolean): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new CliError(`--${name} must be a positive ${integer ? "integer" : "number"}, got '${v}'`, 2);
  }
  return n;
}

export const benchCommand: Command = {
  name: "bench",
  summary: "measure taskraft end to end beside one MariaDB, Galera and etcd (docs/BENCHMARKS.md)",
  async run(argv) {
    const { values } = parseFlags(
      argv,
      {
        quick: { type: "boolean", default: false },
        baselines: { type: "string" },
        clients: { type: "string" },
        warmup: { type: "string" },
        duration: { type: "string" },
        "failover-trials": { type: "string" },
        "seed-tasks": { type: "string" },
        out: { type: "string" },
        report: { type: "string" },
        "no-report": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      USAGE,
    );
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const quick = values.quick;
    const baselines = (values.baselines ?? (quick ? "mysql" : "all")) as Baselines;
    if (!["none", "mysql", "all"].includes(baselines)) {
      throw new CliError(`--baselines must be none, mysql or all, got '${values.baselines}'`, 2);
    }
    const levels = (values.clients ?? "1,16,64").split(",").map((x) => positive("clients", x.trim(), true));
    const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
    const outDir = resolve(values.out ?? join(".taskraft", "bench", stamp));
    let reportFile: string | undefined;
    if (values.report && values["no-report"])
      throw new CliError("--report and --no-report exclude each other", 2);
    if (values.report) reportFile = resolve(values.report);
    else if (!values["no-report"] && !quick && existsSync("docs") && existsSync("package.json")) {
      reportFile = resolve("docs", "BENCHMARKS.md");
    }
    const tty = process.stderr.isTTY;
    const o: BenchOptions = {
      quick,
      baselines,
      levels,
      warmupMs: 1000 * positive("warmup", values.warmup ?? (quick ? "0.5" : "2"), false),
      durationMs: 1000 * positive("duration", values.duration ?? (quick ? "2" : "8"), false),
      failoverTrials: values["failover-trials"]
        ? positive("failover-trials", values["failover-trials"], true)
        : quick
          ? 1
          : 5,
      seedTasks: positive("seed-tasks", values["seed-tasks"] ?? (quick ? "300" : "2000"), true),
      outDir,
      reportFile,
      command: `taskraft bench ${argv.join(" ")}`.trim(),
      log: (line) => {
        if (tty) process.stderr.write("\r\x1b[2K");
        console.log(line);
      },
      status: (line) => {
        if (tty) process.stderr.write(`\r\x1b[2K${line.slice(0, process.stderr.columns - 1)}`);
      },
    };
    // Ctrl-C must not leave servers behind: stop the system under test and the load generator.
    let interrupted = false;
    const onSignal = (signal: string) => {
      interrupted = true;
      console.error(`\nbench: ${signal}: stopping the processes this run started …`);
      void interruptBench().finally(() => process.exit(130));
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    let r: Awaited<ReturnType<typeof runBench>>;
    try {
      r = await runBench(o);
    } catch (e) {
      // The run fails because its processes were stopped under it; the signal handler exits.
      if (interrupted) await new Promise(() => {});
      throw e;
    }
    console.log(terminalSummary(r));
    console.log(`\nresults: ${join(outDir, "results.json")}`);
    if (existsSync(join("bench", "results")) || existsSync("bench")) {
      mkdirSync(join("bench", "results"), { recursive: true });
      copyFileSync(join(outDir, "results.json"), join("bench", "results", "bench.json"));
    }
    if (reportFile) {
      writeReport(r, reportFile);
      console.log(`report: ${reportFile}`);
    }
    return r.unavailable.some((u) => u.system === "taskraft-3") ? 1 : 0;
  },
};
