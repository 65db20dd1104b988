/**
 * One chaos run, start to verdict: cluster up, clients and nemesis for the duration, heal, final
 * reads, checks, report. Everything it starts it stops, on success, failure or a signal.
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../db/index.js";
import { Rng } from "../../raft/rng.js";
import { checkHistory } from "../check-history.js";
import { type Operation, pairEvents } from "../history.js";
import {
  appendFinalReads,
  checkNoLostWrites,
  findDuplicateCreates,
  formatSummary,
  summarizeHistory,
} from "../invariants.js";
import {
  type FaultWindow,
  faultGaps,
  formatKindTable,
  formatLastLine,
  gapsByKind,
  longestWriteSilence,
} from "./analysis.js";
import { ChaosCluster } from "./cluster.js";
import { finalPhase } from "./final.js";
import { httpRequest, sleep } from "./http.js";
import { findMutation, makeMutatedCopy } from "./mutants.js";
import { Nemesis, planFaults } from "./nemesis.js";
import type { ChaosOptions } from "./options.js";
import { FaultLog, HistoryRecorder, RunClock } from "./recorder.js";
import { Workload } from "./workload.js";

const PROGRESS_MS = 5000;
const SECRET = "chaos-cluster-secret";
/** A node that keeps dying by itself is restarted at most this often. */
const MAX_RESTARTS_PER_NODE = 5;
/** Whatever happens, the run ends this long after its workload should have. */
const WATCHDOG_EXTRA_MS = 15 * 60_000;

export interface RunResult {
  pass: boolean;
  lastLine: string;
}

export async function runChaos(opts: ChaosOptions): Promise<RunResult> {
  mkdirSync(opts.out, { recursive: true });
  const runLog = join(opts.out, "run.log");
  const say = (line: string) => {
    console.log(line);
    appendFileSync(runLog, `${line}\n`);
  };
  const clock = new RunClock();
  const tag = `c${opts.seed}`;
  let codeRoot = repoRoot();
  let removeCopy: (() => void) | undefined;
  if (opts.mutant) {
    const m = findMutation(opts.mutant);
    say(`chaos: MUTANT ${m.name}: ${m.description}`);
    const copy = makeMutatedCopy(codeRoot, [m]);
    codeRoot = copy.dir;
    removeCopy = copy.remove;
    say(`chaos: nodes run from a patched copy ${copy.dir}`);
  }
  say(
    `chaos: seed ${opts.seed}, ${opts.nodes} nodes, ${opts.clients} clients, ${opts.durationS} s, ` +
      `faults ${opts.faults.join(",") || "none"}; run dir ${opts.out}`,
  );

  let cluster: ChaosCluster | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await cluster?.teardown(opts.keepData).catch(() => {});
    removeCopy?.();
  };
  const onSignal = (sig: string) => {
    say(`chaos: ${sig}: stopping the cluster`);
    void cleanup().then(() => process.exit(130));
  };
  const sigint = () => onSignal("SIGINT");
  const sigterm = () => onSignal("SIGTERM");
  process.once("SIGINT", sigint);
  process.once("SIGTERM", sigterm);
  const watchdog = setTimeout(
    () => {
      say(
        formatLastLine({ pass: false, ops: 0, ok: 0, info: 0, maxGapMs: 0 }).replace(
          "ops=",
          "(watchdog) ops=",
        ),
      );
      void cleanup().then(() => process.exit(1));
    },
    opts.durationS * 1000 + WATCHDOG_EXTRA_MS,
  );
  watchdog.unref();

  try {
    cluster = await ChaosCluster.create({
      size: opts.nodes,
      dir: opts.out,
      codeRoot,
      secret: SECRET,
      logLevel: opts.logLevel,
      now: () => clock.now(),
      log: say,
    });
    return await runOnCluster(opts, cluster, clock, tag, say);
  } finally {
    clearTimeout(watchdog);
    process.off("SIGINT", sigint);
    process.off("SIGTERM", sigterm);
    await cleanup();
  }
}

/** Why the drop/delay faults cannot run, or undefined when the nodes offer their endpoints. */
async function missingFaultEndpoints(cluster: ChaosCluster, token: string): Promise<string | undefined> {
  for (const id of cluster.serving()) {
    const r = await httpRequest(cluster.url(id), "POST", "/api/v1/chaos/delay", {
      token,
      body: { ms: 0 },
      timeoutMs: 5000,
    });
    if (r.kind !== "answer") continue;
    return r.status === 200 ? undefined : `POST /api/v1/chaos/delay answers ${r.status}`;
  }
  return "no node answered";
}

async function signupAdmin(cluster: ChaosCluster): Promise<string> {
  for (let attempt = 0; attempt < 30; attempt++) {
    if (attempt > 0) await sleep(500);
    for (const id of cluster.serving()) {
      const r = await httpRequest(cluster.url(id), "POST", "/api/v1/auth/signup", {
        body: { username: "chaos", password: "chaos-password-1" },
        timeoutMs: 8000,
      });
      if (r.kind === "answer" && r.status === 201) return (r.body as { token: string }).token;
      if (r.kind === "answer" && r.status === 409) {
        const l = await httpRequest(cluster.url(id), "POST", "/api/v1/auth/login", {
          body: { username: "chaos", password: "chaos-password-1" },
          timeoutMs: 8000,
        });
        if (l.kind === "answer" && l.status === 200) return (l.body as { token: string }).token;
      }
    }
  }
  throw new Error("could not sign up the chaos user");
}

function counts(ops: readonly Operation[]): { ok: number; fail: number; info: number } {
  const c = { ok: 0, fail: 0, info: 0 };
  for (const op of ops) c[op.status]++;
  return c;
}

async function runOnCluster(
  opts: ChaosOptions,
  cluster: ChaosCluster,
  clock: RunClock,
  tag: string,
  say: (line: string) => void,
): Promise<RunResult> {
  for (const id of cluster.ids) cluster.spawn(id);
  const up = await cluster.waitConverged(60_000);
  if (!up) throw new Error(`the cluster did not elect a leader within 60 s; see ${opts.out}/n*/node.log`);
  say(`chaos: cluster up, leader ${up.leader}`);
  const token = await signupAdmin(cluster);

  const recorder = new HistoryRecorder(join(opts.out, "history.jsonl"), clock);
  const faultLog = new FaultLog(join(opts.out, "faults.jsonl"), clock);
  let stopping = false;
  const restarts = new Map<string, number>();
  cluster.onUnexpectedExit = (exit) => {
    faultLog.event("node-exit", { node: exit.id, code: exit.code, signal: exit.signal });
    say(`chaos: node ${exit.id} EXITED BY ITSELF (code ${exit.code}, signal ${exit.signal})`);
    const n = restarts.get(exit.id) ?? 0;
    if (stopping || n >= MAX_RESTARTS_PER_NODE || cluster.node(exit.id).removed) return;
    restarts.set(exit.id, n + 1);
    setTimeout(() => {
      if (!cluster.running(exit.id) && !cluster.node(exit.id).removed) cluster.spawn(exit.id);
    }, 1000);
  };

  const faults = opts.faults;
  const missing = await missingFaultEndpoints(cluster, token);
  if (missing) throw new Error(`the nodes lack the chaos fault endpoints: ${missing}`);
  const rng = new Rng(opts.seed >>> 0);
  const workload = new Workload({
    cluster,
    recorder,
    clock,
    rng: rng.fork(),
    token,
    clients: opts.clients,
    thinkMs: opts.thinkMs,
    tag,
  });
  const workloadStart = clock.now();
  const endAt = workloadStart + opts.durationS * 1000;
  const plan = planFaults(opts.seed, faults, Math.ceil(opts.durationS / 3) + 5);
  const nemesis = new Nemesis({ cluster, log: faultLog, clock, token, plan, endAt, say });
  workload.onWriteAck = (node) => nemesis.writeAcked(node);

  const progress = setInterval(() => {
    void (async () => {
      const c = { invoke: 0, ok: 0, fail: 0, info: 0 };
      for (const e of recorder.events) c[e.type]++;
      const leader = await cluster.leader();
      const f = nemesis.current;
      say(
        `chaos: t=${Math.round((clock.now() - workloadStart) / 1000)}s ops=${c.invoke} ok=${c.ok} ` +
          `fail=${c.fail} info=${c.info} pending=${c.invoke - c.ok - c.fail - c.info} ` +
          `leader=${leader ?? "none"} fault=${f ? `${f.kind}(${f.target})` : "none"}`,
      );
    })().catch(() => {});
  }, PROGRESS_MS);

  const running = [workload.run(), nemesis.run()];
  await sleep(Math.max(0, endAt - clock.now()));
  workload.stop();
  nemesis.stop();
  await Promise.all(running);
  clearInterval(progress);
  const workloadEnd = clock.now();
  stopping = true;
  say(
    `chaos: workload stopped after ${Math.round((workloadEnd - workloadStart) / 1000)} s; healing everything`,
  );
  const healProblems = await nemesis.healAll();
  faultLog.event("healed", { problems: healProblems });

  const final = await finalPhase(cluster, workload, token, tag, opts.out, say);
  recorder.flush();
  faultLog.flush();

  // ------------------------------------------------------------------ checks
  const ops = pairEvents(recorder.events);
  const withFinals = appendFinalReads(ops, final.finals);
  writeFileSync(
    join(opts.out, "final-reads.json"),
    `${JSON.stringify(Object.fromEntries(final.finals), null, 1)}\n`,
  );
  const lin = checkHistory(withFinals, { maxStates: 2_000_000 });
  const lost = checkNoLostWrites(ops, final.finals);
  const dups = findDuplicateCreates(final.rowCounts);
  const violations: string[] = [];
  if (lin.outcome !== "ok") violations.push(...lin.failures.slice(0, 5).map((f) => f.message));
  violations.push(...lost.slice(0, 10).map((l) => `lost write: ${l.message}`));
  violations.push(...dups.slice(0, 10).map((d) => `duplicate: ${d.message}`));
  violations.push(...final.dbDuplicates.map((d) => `duplicate in a database: ${d}`));
  violations.push(...final.violations);
  if (!final.consistency.ok)
    violations.push("check-consistency: the nodes' databases differ (see consistency.txt)");
  for (const e of cluster.exits) {
    violations.push(
      `node ${e.id} exited by itself at ${Math.round(e.time)} ms (code ${e.code}, signal ${e.signal})`,
    );
  }
  violations.push(...healProblems.map((p) => `could not heal: ${p}`));
  const pass = violations.length === 0;

  // ------------------------------------------------------------------ report
  const c = counts(ops);
  const windows: FaultWindow[] = faultLog.faults.map((f) => ({
    seq: f.seq,
    kind: f.kind,
    target: f.target,
    start: f.start,
    end: f.end,
    ...(f.error !== undefined ? { error: f.error } : {}),
  }));
  const gaps = faultGaps(ops, windows, workloadEnd);
  const rows = gapsByKind(gaps, faults);
  const maxGapMs = gaps.reduce((m, g) => Math.max(m, g.gapMs), 0);
  const silence = longestWriteSilence(ops, workloadStart, workloadEnd);
  const availability = ops.length > 0 ? c.ok / ops.length : 0;
  const writes = ops.filter((o) => o.input.kind !== "read");
  const writesOk = writes.filter((o) => o.status === "ok").length;

  say("");
  say(formatSummary(summarizeHistory(ops)));
  say("");
  say(formatKindTable(rows));
  if (missing)
    say(`one-way message loss and slow-leader crash: skipped (${missing}; see docs/RELIABILITY.md)`);
  say("");
  say(
    `availability: ${(availability * 100).toFixed(1)}% of operations ok (${c.ok}/${ops.length}); ` +
      `writes ${(writes.length > 0 ? (writesOk / writes.length) * 100 : 0).toFixed(1)}% ok; ` +
      `longest stretch without a successful write ${Math.round(silence)} ms; 500 answers: ${workload.internalErrors}`,
  );
  say(
    `creates without an answer: ${final.resolved.length} (found by title afterwards: ` +
      `${final.resolved.filter((r) => r.found).length})`,
  );
  say(`checks:`);
  say(`  linearizability (per key, with final reads): ${lin.report.split("\n")[0]}`);
  say(`  no acknowledged write lost: ${lost.length === 0 ? "ok" : `${lost.length} VIOLATIONS`}`);
  say(
    `  no duplicate create / double apply: ${dups.length + final.dbDuplicates.length === 0 ? "ok" : "VIOLATIONS"}`,
  );
  say(`  all nodes' MySQL data identical (check-consistency): ${final.consistency.ok ? "ok" : "DIFFERENT"}`);
  say(`  nodes that exited by themselves: ${cluster.exits.length}`);
  if (violations.length > 0) {
    say("");
    say(`violations (${violations.length}):`);
    for (const v of violations.slice(0, 30)) say(`  - ${v}`);
  }
  const warnings = windows.filter((w) => w.error !== undefined);
  if (warnings.length > 0) {
    say("faults that did not go as planned (not violations by themselves):");
    for (const w of warnings.slice(0, 10)) say(`  - #${w.seq} ${w.kind} ${w.target}: ${w.error}`);
  }
  writeFileSync(
    join(opts.out, "summary.json"),
    `${JSON.stringify(
      {
        seed: opts.seed,
        nodes: opts.nodes,
        clients: opts.clients,
        durationS: opts.durationS,
        mutant: opts.mutant ?? null,
        pass,
        ops: ops.length,
        ...c,
        availability,
        longestWriteSilenceMs: silence,
        maxGapMs,
        byKind: rows,
        gaps: gaps.map((g) => ({ ...g.fault, gapMs: g.gapMs, censored: g.censored })),
        violations,
        internalErrors: workload.internalErrors,
      },
      null,
      1,
    )}\n`,
  );
  say(
    `artefacts: ${opts.out}/{history.jsonl,faults.jsonl,final-reads.json,consistency.txt,summary.json,n*/node.log}`,
  );
  say(`verdict: ${pass ? "PASS" : "FAIL"}`);
  const lastLine = formatLastLine({ pass, ops: ops.length, ok: c.ok, info: c.info, maxGapMs });
  return { pass, lastLine };
}
