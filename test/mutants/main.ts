/**
 * `npm run test:mutants [-- --seeds N] [--only name[,name]] [--jobs 1|2]`
 *
 * Proves the tests catch real bugs. For each mutation in ./mutations.ts: copy
 * src/, test/, package.json and tsconfig.json into a fresh temp dir (with
 * node_modules symlinked), apply the mutation, then run the simulation (seeds
 * 1..N, stopping at the first violation) and, if that passes, the scenario
 * tests in test/raft/. A mutant is caught when either fails. Everything is
 * judged against one pristine copy taken at the start (the tree may be edited
 * while this runs), which also runs unmutated as the baseline: if its sim fails
 * every verdict is void; scenario tests already failing there are reported and
 * do not count as catching a mutant.
 * Ends with `mutants: C caught, S survived`; exit 1 when S > 0, a mutation is
 * BROKEN (no longer applies exactly once) or the baseline sim fails.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { applyEdits, type Mutation, mutations } from "./mutations.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const COPIED = ["src", "test", "package.json", "tsconfig.json"];

type Verdict = "caught by sim" | "caught by scenario tests" | "survived" | "BROKEN" | "passed" | "FAILED";

interface Outcome {
  name: string;
  verdict: Verdict;
  detail: string;
  ms: number;
}

interface Check {
  code: number | null;
  timedOut: boolean;
  output: string;
}

function usage(msg: string): never {
  console.error(
    `test:mutants: ${msg}\nusage: npm run test:mutants -- [--seeds N] [--only name[,name]] [--jobs 1|2]`,
  );
  process.exit(2);
}

function parse() {
  let values: { seeds?: string; only?: string; jobs?: string };
  try {
    ({ values } = parseArgs({
      options: { seeds: { type: "string" }, only: { type: "string" }, jobs: { type: "string" } },
      strict: true,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  const seeds = Number(values.seeds ?? "300");
  if (!Number.isInteger(seeds) || seeds < 1) usage(`--seeds must be an integer >= 1, got '${values.seeds}'`);
  const jobs = Number(values.jobs ?? "2");
  if (jobs !== 1 && jobs !== 2) usage(`--jobs must be 1 or 2, got '${values.jobs}'`);
  let selected = mutations;
  if (values.only !== undefined) {
    const names = values.only.split(",").map((s) => s.trim());
    const unknown = names.filter((n) => !mutations.some((m) => m.name === n));
    if (unknown.length > 0)
      usage(`unknown mutation ${unknown.join(", ")}; known: ${mutations.map((m) => m.name).join(", ")}`);
    selected = mutations.filter((m) => names.includes(m.name));
  }
  return { seeds, jobs, selected };
}

// ------------------------------------------------------------- temp copies

const liveDirs = new Set<string>();
const liveChildren = new Set<ChildProcess>();

function cleanupAll(): void {
  for (const child of liveChildren) killGroup(child);
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    cleanupAll();
    process.exit(130);
  });
}

function removeCopy(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

/** Applies every edit of `m` inside the copy; returns why not when an edit does not match exactly once. */
function mutate(dir: string, m: Mutation): string | undefined {
  for (const file of new Set(m.edits.map((e) => e.file))) {
    const path = join(dir, file);
    if (!existsSync(path)) return `${file} does not exist`;
    const r = applyEdits(file, readFileSync(path, "utf8"), m.edits);
    if (!r.ok) return r.reason;
    writeFileSync(path, r.text);
  }
  return undefined;
}

// ------------------------------------------------------------------ checks

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Runs node with tsx in `cwd`, in its own process group so a hung check can be killed with its children. */
function runNode(cwd: string, args: string[], timeoutMs: number): Promise<Check> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], {
      cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_OPTIONS: "", FORCE_COLOR: "0" },
    });
    liveChildren.add(child);
    let output = "";
    const collect = (b: Buffer) => {
      output += b.toString();
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeoutMs);
    child.once("close", (code) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      resolve({ code, timedOut, output });
    });
  });
}

function scenarioFiles(dir: string): string[] {
  const folder = join(dir, "test", "raft");
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => f.endsWith(".test.ts"))
    .sort()
    .map((f) => `test/raft/${f}`);
}

function oneLine(s: string, max = 70): string {
  const line = s.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

interface Checks {
  seeds: number;
  sim: Check;
  simFailed: boolean;
  /** Absent when the sim failed or there are no scenario tests. */
  tests?: Check;
  testsFailed: boolean;
  testFiles: number;
  /** Names of failing tests and suites, innermost first (TAP order). */
  failedTests: string[];
}

function failedTestNames(tap: string): string[] {
  return [...tap.matchAll(/^\s*not ok \d+ - (.*)$/gm)]
    .map((x) => x[1]!.replace(/\s+#\s+(SKIP|TODO)\b.*$/i, "").trim())
    .filter((t) => t !== "");
}

async function runChecks(dir: string, seeds: number): Promise<Checks> {
  const simTimeout = Math.max(120_000, seeds * 1_000);
  const sim = await runNode(dir, ["test/mutants/sim-runner.ts", "--seeds", String(seeds)], simTimeout);
  const files = scenarioFiles(dir);
  const base = { seeds, sim, testFiles: files.length, testsFailed: false, failedTests: [] };
  if (sim.code !== 0 || sim.timedOut) return { ...base, simFailed: true };
  if (files.length === 0) return { ...base, simFailed: false };
  const tests = await runNode(dir, ["--test", "--test-reporter=tap", ...files], 900_000);
  const testsFailed = tests.code !== 0 || tests.timedOut;
  return { ...base, simFailed: false, tests, testsFailed, failedTests: failedTestNames(tests.output) };
}

function simDetail(c: Checks): string {
  if (c.sim.timedOut) return "sim timeout (hung)";
  const v = /VIOLATION seed=(\d+) nodes=(\d+) after (\d+) seeds: ([^\n]*)/.exec(c.sim.output);
  if (v) return `seed ${v[1]} (${v[2]} nodes): ${oneLine(v[4]!, 60)}`;
  return `exit ${c.sim.code}: ${oneLine(c.sim.output.split("\n").find((l) => l.trim() !== "") ?? "")}`;
}

function testCounts(c: Checks): string {
  if (!c.tests) return c.testFiles === 0 ? "no test/raft/*.test.ts" : "tests not run";
  if (c.tests.timedOut) return "tests timeout (hung)";
  const fail = /^# fail (\d+)/m.exec(c.tests.output)?.[1] ?? "?";
  const pass = /^# pass (\d+)/m.exec(c.tests.output)?.[1] ?? "?";
  return `tests ${pass} pass, ${fail} fail (${c.testFiles} files)`;
}

interface Job {
  name: string;
  mutation?: Mutation;
  checks?: Checks;
  broken?: string;
  ms: number;
}

/** The pristine copy everything is judged against, so a tree edited during the run cannot skew verdicts. */
let pristine = "";

function makeCopy(name: string, from: string): string {
  const dir = mkdtempSync(join(tmpdir(), `taskraft-mutant-${name}-`));
  liveDirs.add(dir);
  for (const entry of COPIED) cpSync(join(from, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

async function runBaseline(seeds: number): Promise<Job> {
  const t0 = performance.now();
  const checks = await runChecks(pristine, seeds);
  return { name: "(baseline, unmutated)", checks, ms: performance.now() - t0 };
}

async function runMutant(m: Mutation, seeds: number): Promise<Job> {
  const t0 = performance.now();
  const dir = makeCopy(m.name, pristine);
  try {
    const broken = mutate(dir, m);
    if (broken) return { name: m.name, mutation: m, broken, ms: performance.now() - t0 };
    const checks = await runChecks(dir, seeds);
    return { name: m.name, mutation: m, checks, ms: performance.now() - t0 };
  } finally {
    removeCopy(dir);
  }
}

function judgeBaseline(j: Job): Outcome {
  const c = j.checks!;
  if (c.simFailed) return { name: j.name, verdict: "FAILED", detail: `sim: ${simDetail(c)}`, ms: j.ms };
  const detail = `sim ${c.seeds} seeds ok; ${testCounts(c)}`;
  if (!c.testsFailed) return { name: j.name, verdict: "passed", detail, ms: j.ms };
  const first = c.failedTests[0];
  return {
    name: j.name,
    verdict: "FAILED",
    detail: first ? `${detail}; e.g. ${oneLine(first, 40)}` : detail,
    ms: j.ms,
  };
}

/**
 * Scenario tests catch a mutant when a test fails that passes without the mutation
 * (tests already red on the unmutated code are not evidence), or the run hangs.
 */
function judgeMutant(j: Job, baseline: Checks): Outcome {
  if (j.broken) return { name: j.name, verdict: "BROKEN", detail: j.broken, ms: j.ms };
  const c = j.checks!;
  if (c.simFailed) return { name: j.name, verdict: "caught by sim", detail: simDetail(c), ms: j.ms };
  const known = new Set(baseline.failedTests);
  const fresh = c.failedTests.filter((t) => !known.has(t));
  const caught =
    c.testsFailed &&
    (!baseline.testsFailed || fresh.length > 0 || (c.tests?.timedOut === true && !baseline.tests?.timedOut));
  if (!caught)
    return {
      name: j.name,
      verdict: "survived",
      detail: `sim ${c.seeds} seeds ok; ${testCounts(c)}`,
      ms: j.ms,
    };
  const example = fresh[0] ?? c.failedTests[0];
  const detail = `${testCounts(c)}${example ? `; e.g. ${oneLine(example, 45)}` : ""}`;
  return { name: j.name, verdict: "caught by scenario tests", detail, ms: j.ms };
}

/** Runs tasks with at most `jobs` at a time, keeping the order of results. */
async function pool<T>(tasks: (() => Promise<T>)[], jobs: number, onDone: (r: T) => void): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      const r = await tasks[i]!();
      results[i] = r;
      onDone(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));
  return results;
}

function printTable(rows: Outcome[]): void {
  const head = ["mutant", "result", "time", "detail"];
  const cells = rows.map((r) => [r.name, r.verdict, `${(r.ms / 1000).toFixed(1)} s`, r.detail]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: string[]) =>
    c
      .map((x, i) => (i === 2 ? x.padStart(widths[i]!) : i === 3 ? x : x.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  console.log(fmt(head));
  console.log(widths.map((w, i) => "-".repeat(i === 3 ? Math.min(w, 40) : w)).join("  "));
  for (const c of cells) console.log(fmt(c));
}

async function main(): Promise<void> {
  const { seeds, jobs, selected } = parse();
  const t0 = performance.now();
  pristine = makeCopy("pristine", root);
  const scenario = scenarioFiles(pristine).length;
  console.log(
    `test:mutants: ${selected.length} mutants; sim seeds 1..${seeds} (stop at first violation)` +
      (scenario > 0
        ? `, then ${scenario} scenario test files in test/raft/`
        : ", no test/raft/*.test.ts yet") +
      `; ${jobs} at a time`,
  );
  const tasks = [() => runBaseline(seeds), ...selected.map((m) => () => runMutant(m, seeds))];
  const jobsDone = await pool(tasks, jobs, (j) =>
    console.log(`  done ${j.name} (${(j.ms / 1000).toFixed(1)} s)`),
  );
  const [baselineJob, ...mutantJobs] = jobsDone;
  const baseline = judgeBaseline(baselineJob!);
  const mutants = mutantJobs.map((j) => judgeMutant(j, baselineJob!.checks!));
  console.log("");
  printTable([baseline, ...mutants]);
  const caught = mutants.filter((r) => r.verdict.startsWith("caught")).length;
  const survived = mutants.filter((r) => r.verdict === "survived").length;
  const broken = mutants.filter((r) => r.verdict === "BROKEN").length;
  const base = baselineJob!.checks!;
  console.log(`\ntime: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (base.simFailed)
    console.log("baseline FAILED: the simulation fails without any mutation; verdicts are void");
  else if (base.testsFailed)
    console.log(
      `warning: ${base.failedTests.length || "some"} scenario tests/suites fail without any mutation ` +
        `(not counted against mutants): ${base.failedTests.slice(0, 3).join(" | ")}`,
    );
  if (broken > 0) console.log(`${broken} mutation(s) BROKEN: update test/mutants/mutations.ts`);
  console.log(`mutants: ${caught} caught, ${survived} survived`);
  if (survived > 0 || broken > 0 || base.simFailed) process.exitCode = 1;
}

try {
  await main();
} finally {
  cleanupAll();
}
