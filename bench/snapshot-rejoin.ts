/**
 * `npm run soak:snapshot [-- --tasks 100000] [--clients 64] [--projects 8]
 *                           [--node-args="--snapshot-entries 10000 ..."] [--dir DIR] [--keep-data]`
 *
 * Snapshots at scale (issue #4): a real 3-node cluster (`taskraft node` processes, each with its
 * own private MariaDB server; src/chaos/run/cluster.ts) gets N tasks through the HTTP API from C
 * concurrent keep-alive clients spread over the nodes. Then the leader takes a snapshot (timed; the
 * other survivor takes one too, in case the leader changes during the rejoin), node n3 is killed,
 * its Raft data dir wiped and its database dropped and recreated, and it is started again: it can
 * only catch up by snapshot, since the leader's log is compacted. The run measures the snapshot
 * (bytes on disk, creation time), the rejoin (transfer, install into MySQL, total until n3 is ready
 * at the leader's commit index), checks the three databases with checkConsistency, reads a sample
 * of tasks from n3, and reports the apply batch sizes (entries per MySQL transaction) and entries
 * per WAL fsync seen during the create phase (from /metrics).
 *
 * Writes bench/results/snapshot-rejoin.json and prints a summary; exit 1 if the rejoin fails or the
 * databases differ. test/durability/snapshot-rejoin.test.ts runs runSnapshotRejoin() with fewer
 * tasks.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { ChaosCluster, type ReadyView } from "../src/chaos/run/cluster.js";
import { type HttpOutcome, httpRequest, sleep } from "../src/chaos/run/http.js";
import { repoRoot } from "../src/db/index.js";
import { Rng } from "../src/raft/rng.js";
import { checkConsistency } from "../src/state/consistency.js";

const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));
const SECRET = "snapshot-rejoin-secret";
const USER = { username: "soak", password: "soak-password-1" };
const PRIORITIES = ["low", "medium", "high", "urgent"] as const;
/** One create may be retried this often (503 while electing, a timeout) before the run gives up. */
const MAX_ATTEMPTS = 20;
const REQUEST_TIMEOUT_MS = 30_000;
const VICTIM = "n3";

/** Clusters of runs in progress, so a signal can still tear them down (their MariaDBs are detached). */
const running = new Set<ChaosCluster>();

export interface SnapshotRejoinOptions {
  tasks: number;
  clients: number;
  projects: number;
  /** Extra `taskraft node` flags for every node. */
  nodeArgs: string[];
  /** Run directory (node data, MariaDB data, logs); a fresh temp dir when absent. */
  dir?: string;
  keepData: boolean;
  /** Tasks read back from the rejoined node. */
  sampleReads: number;
  progressMs: number;
  /** Bound on the rejoin (kill → n3 ready at the leader's commit index). */
  rejoinTimeoutMs: number;
  log: (line: string) => void;
}

export const DEFAULT_OPTIONS: SnapshotRejoinOptions = {
  tasks: 100_000,
  clients: 64,
  projects: 8,
  nodeArgs: [],
  keepData: false,
  sampleReads: 200,
  progressMs: 5000,
  rejoinTimeoutMs: 15 * 60_000,
  log: (line) => console.log(line),
};

/** A Prometheus histogram as scraped: cumulative bucket counts by upper bound, sum and count. */
export interface Histogram {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

export interface BatchFigures {
  node: string;
  /** MySQL transactions (apply batches) during the create phase. */
  transactions: number;
  entries: number;
  meanEntriesPerTransaction: number;
  /** Transactions per bucket "≤ le" (not cumulative), in bucket order. */
  distribution: { le: string; transactions: number }[];
  /** WAL syncs that made entries durable, and the entries they carried. */
  walSyncsWithEntries: number;
  meanEntriesPerWalSync: number;
  /** Time in apply transactions per entry (ms). */
  applyMsPerEntry: number;
}

export interface SnapshotRejoinResult {
  ok: boolean;
  failures: string[];
  machine: { cpus: number; model: string; loadavgStart: number[]; loadavgEnd: number[] };
  options: { tasks: number; clients: number; projects: number; nodeArgs: string[] };
  create: {
    tasksCreated: number;
    seconds: number;
    tasksPerSecond: number;
    retries: number;
    ambiguous: number;
    /** Client-observed latency of a create, retries included (ms). */
    p50Ms: number;
    p99Ms: number;
  };
  applyBatches: BatchFigures[];
  autoSnapshots: { node: string; count: number; meanSeconds: number; lastBytes: number }[];
  /** Snapshots taken on the other survivors too, so a leader change mid-rejoin still sends a current one. */
  otherSnapshots: { node: string; index: number; createSeconds: number }[];
  snapshot: {
    leader: string;
    index: number;
    term: number;
    dataBytes: number;
    fileBytes: number;
    createSeconds: number;
  };
  rejoin: {
    node: string;
    /** Kill → process answers /healthz (migrations on an empty database done). */
    startSeconds: number;
    /** Kill → first snapshot chunk received. */
    firstChunkSeconds: number | null;
    /** First chunk → whole snapshot staged, checksummed and fsynced on the node. */
    transferSeconds: number | null;
    /** Restore of the snapshot into MySQL (one transaction), as the node measured it. */
    installSeconds: number | null;
    /** End of the install → ready (entries after the snapshot's index, replayed from the log). */
    afterInstallSeconds: number | null;
    /** Kill → ready with applied index = the leader's commit index. */
    totalSeconds: number;
    snapshotIndex: number;
    /** Index of the snapshot the node received (the last one, if a leader change sent two). */
    receivedSnapshotIndex: number | null;
    /** Leader (and its term) when n3 was killed, and when it had caught up: they differ after an election. */
    leaderBefore: string;
    leaderAfter: string;
    termBefore: number;
    termAfter: number;
    /** Snapshot index of the leader n3 caught up with. */
    leaderSnapshotIndex: number;
    appliedIndex: number;
    leaderCommitIndex: number;
    installs: number;
  };
  consistency: { consistent: boolean; appliedIndex: number; rows: Record<string, number> };
  sampleReads: { read: number; ok: number };
  runDir: string;
}

// ----------------------------------------------------------------- metrics

/** The histogram `name` from Prometheus text (no labels other than `le`). */
export function parseHistogram(text: string, name: string): Histogram {
  const h: Histogram = { buckets: [], sum: 0, count: 0 };
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    const rest = line.slice(name.length);
    const le = /^_bucket\{le="([^"]+)"\}/.exec(rest);
    if (le) h.buckets.push({ le: le[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(le[1]), count: value });
    else if (rest.startsWith("_sum ")) h.sum = value;
    else if (rest.startsWith("_count ")) h.count = value;
  }
  return h;
}

/** A gauge or counter without labels; undefined when absent. */
export function parseValue(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

function minus(after: Histogram, before: Histogram): Histogram {
  return {
    buckets: after.buckets.map((b, i) => ({ le: b.le, count: b.count - (before.buckets[i]?.count ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** Non-cumulative counts per bucket. */
function perBucket(h: Histogram): { le: string; transactions: number }[] {
  return h.buckets.map((b, i) => ({
    le: Number.isFinite(b.le) ? String(b.le) : "+Inf",
    transactions: b.count - (i > 0 ? h.buckets[i - 1]!.count : 0),
  }));
}

export function batchFigures(node: string, before: string, after: string): BatchFigures {
  const apply = minus(
    parseHistogram(after, "taskraft_apply_batch_entries"),
    parseHistogram(before, "taskraft_apply_batch_entries"),
  );
  const sync = minus(
    parseHistogram(after, "taskraft_raft_entries_per_sync"),
    parseHistogram(before, "taskraft_raft_entries_per_sync"),
  );
  const applySeconds =
    parseHistogram(after, "taskraft_apply_seconds").sum -
    parseHistogram(before, "taskraft_apply_seconds").sum;
  // Syncs of the hard state alone land in the le="0" bucket; group commit is about the others.
  const emptySyncs = sync.buckets.find((b) => b.le === 0)?.count ?? 0;
  const walSyncs = sync.count - emptySyncs;
  return {
    node,
    transactions: apply.count,
    entries: apply.sum,
    meanEntriesPerTransaction: apply.count > 0 ? round(apply.sum / apply.count, 2) : 0,
    distribution: perBucket(apply),
    walSyncsWithEntries: walSyncs,
    meanEntriesPerWalSync: walSyncs > 0 ? round(sync.sum / walSyncs, 2) : 0,
    applyMsPerEntry: apply.sum > 0 ? round((applySeconds * 1000) / apply.sum, 3) : 0,
  };
}

function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!, 1);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A node's /metrics (Prometheus text, which httpRequest would try to parse as JSON). */
async function scrape(cluster: ChaosCluster, id: string): Promise<string> {
  const res = await fetch(`${cluster.url(id)}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics of ${id}: ${res.status}`);
  return text;
}

// -------------------------------------------------------------- the cluster

async function api(
  cluster: ChaosCluster,
  id: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<HttpOutcome> {
  return httpRequest(cluster.url(id), method, path, { timeoutMs: REQUEST_TIMEOUT_MS, ...opts });
}

async function signupUser(cluster: ChaosCluster): Promise<string> {
  for (let attempt = 0; attempt < 30; attempt++) {
    if (attempt > 0) await sleep(500);
    const r = await api(cluster, cluster.ids[attempt % cluster.ids.length]!, "POST", "/api/v1/auth/signup", {
      body: USER,
    });
    if (r.kind === "answer" && r.status === 201) return (r.body as { token: string }).token;
    if (r.kind === "answer" && r.status === 409) {
      const l = await api(cluster, cluster.ids[0]!, "POST", "/api/v1/auth/login", { body: USER });
      if (l.kind === "answer" && l.status === 200) return (l.body as { token: string }).token;
    }
  }
  throw new Error("could not sign up the soak user");
}

async function createProjects(cluster: ChaosCluster, token: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await withRetries(() =>
      api(cluster, cluster.ids[i % cluster.ids.length]!, "POST", "/api/v1/projects", {
        token,
        body: { name: `soak project ${i + 1}`, description: "tasks of the snapshot soak" },
      }),
    );
    ids.push((r.body as { project: { id: string } }).project.id);
  }
  return ids;
}

/** Retries answers that say "not applied" (503, 429) and transport failures; other statuses are final. */
async function withRetries(
  send: () => Promise<HttpOutcome>,
  onRetry: (ambiguous: boolean) => void = () => {},
): Promise<HttpOutcome & { kind: "answer" }> {
  let last = "";
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const r = await send();
    if (r.kind === "answer" && r.status !== 503 && r.status !== 429 && r.status !== 504) {
      if (r.status >= 300) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.body)}`);
      return r;
    }
    last = r.kind === "answer" ? `HTTP ${r.status}` : r.reason;
    onRetry(r.kind === "answer" ? r.status === 504 : r.maybeSent);
    await sleep(Math.min(2000, 50 * 2 ** Math.min(attempt, 6)));
  }
  throw new Error(`gave up after ${MAX_ATTEMPTS} attempts: ${last}`);
}

interface CreatePhase {
  created: { id: string; title: string }[];
  latenciesMs: number[];
  seconds: number;
  retries: number;
  ambiguous: number;
}

function taskBody(i: number, projectIds: readonly string[]): Record<string, unknown> {
  return {
    title: `soak task ${i} — snapshot at scale`,
    description: `Task ${i} of the snapshot soak. It exists so that a rejoining node has rows to copy.`,
    projectId: projectIds[i % projectIds.length],
    priority: PRIORITIES[i % PRIORITIES.length],
    ...(i % 3 === 0 ? { status: "in_progress" } : {}),
  };
}

/**
 * N creates from C workers; worker w sends to node w mod 3 over keep-alive connections (followers
 * forward to the leader). Without Idempotency-Key: a retried timeout may create a task twice, which
 * the run counts as ambiguous (the databases are compared with each other, not with the count).
 */
async function createTasks(
  cluster: ChaosCluster,
  token: string,
  projectIds: readonly string[],
  opts: SnapshotRejoinOptions,
): Promise<CreatePhase> {
  const created: { id: string; title: string }[] = [];
  const latenciesMs: number[] = [];
  let next = 0;
  let retries = 0;
  let ambiguous = 0;
  const t0 = performance.now();
  let lastCount = 0;
  let lastT = t0;
  const progress = setInterval(() => {
    const now = performance.now();
    const rate = ((created.length - lastCount) * 1000) / (now - lastT);
    const mean = (created.length * 1000) / (now - t0);
    opts.log(
      `  created ${created.length}/${opts.tasks}: ${Math.round(rate)} tasks/s now, ` +
        `${Math.round(mean)} tasks/s mean, ${retries} retries`,
    );
    lastCount = created.length;
    lastT = now;
  }, opts.progressMs);
  const worker = async (w: number) => {
    const node = cluster.ids[w % cluster.ids.length]!;
    while (next < opts.tasks) {
      const i = next++;
      const sent = performance.now();
      const r = await withRetries(
        () => api(cluster, node, "POST", "/api/v1/tasks", { token, body: taskBody(i, projectIds) }),
        (maybeApplied) => {
          retries++;
          if (maybeApplied) ambiguous++;
        },
      );
      const task = (r.body as { task: { id: string; title: string } }).task;
      created.push({ id: task.id, title: task.title });
      latenciesMs.push(performance.now() - sent);
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.clients }, (_, w) => worker(w)));
  } finally {
    clearInterval(progress);
  }
  return { created, latenciesMs, seconds: (performance.now() - t0) / 1000, retries, ambiguous };
}

interface ClusterView {
  term: number;
  role: string;
  leaderId: string | null;
  commitIndex: number;
  appliedIndex: number;
  snapshotIndex: number;
}

async function clusterView(cluster: ChaosCluster, id: string, token: string): Promise<ClusterView> {
  const r = await api(cluster, id, "GET", "/api/v1/cluster", { token, timeoutMs: 10_000 });
  if (r.kind !== "answer" || r.status !== 200) throw new Error(`GET /api/v1/cluster of ${id} failed`);
  return r.body as ClusterView;
}

/** Makes sure the victim is a follower: a killed leader would measure an election, not a rejoin. */
async function leaderOtherThan(cluster: ChaosCluster, token: string, victim: string): Promise<string> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const up = await cluster.waitConverged(120_000);
    if (!up) throw new Error("the cluster did not converge");
    if (up.leader !== victim) return up.leader;
    const to = cluster.ids.find((id) => id !== victim)!;
    await api(cluster, victim, "POST", "/api/v1/cluster/transfer-leadership", { token, body: { to } });
    await sleep(500);
  }
  throw new Error(`leadership did not move away from ${victim}`);
}

async function takeSnapshot(
  cluster: ChaosCluster,
  token: string,
  leader: string,
): Promise<SnapshotRejoinResult["snapshot"]> {
  const t0 = performance.now();
  const r = await api(cluster, leader, "POST", "/api/v1/cluster/snapshot", { token, timeoutMs: 600_000 });
  const createSeconds = (performance.now() - t0) / 1000;
  if (r.kind !== "answer" || r.status !== 200) {
    throw new Error(`POST /cluster/snapshot on ${leader}: ${r.kind === "answer" ? r.status : r.reason}`);
  }
  const meta = r.body as { index: number; term: number; size: number };
  const name = `${String(meta.index).padStart(20, "0")}-${String(meta.term).padStart(20, "0")}.snap`;
  const fileBytes = statSync(join(cluster.node(leader).dataDir, "snapshots", name)).size;
  return {
    leader,
    index: meta.index,
    term: meta.term,
    dataBytes: meta.size,
    fileBytes,
    createSeconds: round(createSeconds, 3),
  };
}

// ------------------------------------------------------------------ rejoin

interface LogLine {
  time: number;
  msg: string;
  index?: number;
  ms?: number;
}

/** The node's JSON log lines written after byte `from`. */
function logLinesSince(file: string, from: number): LogLine[] {
  const text = readFileSync(file).subarray(from).toString("utf8");
  const out: LogLine[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by the kill
    }
  }
  return out;
}

/** The node that claims leadership in the highest term, with its readiness view. */
async function currentLeader(cluster: ChaosCluster): Promise<ReadyView | undefined> {
  const views = await Promise.all(cluster.serving().map((id) => cluster.readyz(id)));
  let best: ReadyView | undefined;
  for (const v of views) if (v?.role === "leader" && (!best || v.term > best.term)) best = v;
  return best;
}

/** Kill → wipe → restart of the victim, polled until it is ready at the current leader's commit index. */
async function rejoin(
  cluster: ChaosCluster,
  token: string,
  leader: string,
  opts: SnapshotRejoinOptions,
): Promise<SnapshotRejoinResult["rejoin"]> {
  const node = cluster.node(VICTIM);
  const termBefore = (await clusterView(cluster, leader, token)).term;
  await cluster.kill(VICTIM);
  const killedAt = Date.now();
  await cluster.wipe(VICTIM);
  node.extra = ["--log-level", "info"];
  const logFrom = statSync(node.logFile).size;
  cluster.spawn(VICTIM);
  opts.log(`  ${VICTIM} killed, data dir wiped, database recreated, restarted`);
  let startSeconds = Number.NaN;
  const deadline = killedAt + opts.rejoinTimeoutMs;
  let lastReport = Date.now();
  let leaderNow: ReadyView | undefined;
  for (;;) {
    if (Date.now() > deadline)
      throw new Error(`${VICTIM} did not catch up within ${opts.rejoinTimeoutMs} ms`);
    if (!cluster.running(VICTIM)) throw new Error(`${VICTIM} exited during the rejoin; see ${node.logFile}`);
    if (Number.isNaN(startSeconds) && (await cluster.healthy(VICTIM))) {
      startSeconds = (Date.now() - killedAt) / 1000;
    }
    // The leader of the moment: an election during the rejoin (a stalled leader on a busy machine)
    // moves the commit index to another node.
    const [mine, theirs] = await Promise.all([cluster.readyz(VICTIM), currentLeader(cluster)]);
    leaderNow = theirs;
    if (mine?.ready && theirs && theirs.nodeId !== VICTIM && mine.appliedIndex >= theirs.commitIndex) break;
    if (Date.now() - lastReport >= opts.progressMs) {
      lastReport = Date.now();
      opts.log(`  ${VICTIM}: applied ${mine?.appliedIndex ?? "-"} of ${theirs?.commitIndex ?? "-"}`);
    }
    await sleep(100);
  }
  const caughtUpAt = Date.now();
  const leaderAfter = leaderNow!.nodeId;
  const [mine, theirs] = await Promise.all([
    clusterView(cluster, VICTIM, token),
    clusterView(cluster, leaderAfter, token),
  ]);
  const metrics = await scrape(cluster, VICTIM);
  const lines = logLinesSince(node.logFile, logFrom);
  const staged = lines.filter((l) => l.msg === "snapshot received and installed").at(-1);
  const first = lines.find((l) => l.msg === "receiving a snapshot" && l.index === staged?.index);
  const restored = lines.filter((l) => l.msg === "snapshot restored into the state machine").at(-1);
  return {
    node: VICTIM,
    startSeconds: round(startSeconds, 3),
    firstChunkSeconds: first ? round((first.time - killedAt) / 1000, 3) : null,
    transferSeconds: first && staged ? round((staged.time - first.time) / 1000, 3) : null,
    installSeconds: restored?.ms !== undefined ? round(restored.ms / 1000, 3) : null,
    afterInstallSeconds: restored ? round((caughtUpAt - restored.time) / 1000, 3) : null,
    totalSeconds: round((caughtUpAt - killedAt) / 1000, 3),
    snapshotIndex: mine.snapshotIndex,
    receivedSnapshotIndex: staged?.index ?? null,
    leaderBefore: leader,
    leaderAfter,
    termBefore,
    termAfter: theirs.term,
    leaderSnapshotIndex: theirs.snapshotIndex,
    appliedIndex: mine.appliedIndex,
    leaderCommitIndex: theirs.commitIndex,
    installs: parseHistogram(metrics, "taskraft_snapshot_restore_seconds").count,
  };
}

async function sampleReads(
  cluster: ChaosCluster,
  token: string,
  created: readonly { id: string; title: string }[],
  count: number,
): Promise<{ read: number; ok: number; bad: string[] }> {
  const rng = new Rng(created.length);
  let ok = 0;
  const bad: string[] = [];
  const n = Math.min(count, created.length);
  for (let k = 0; k < n; k++) {
    const t = created[rng.int(created.length)]!;
    const r = await api(cluster, VICTIM, "GET", `/api/v1/tasks/${t.id}`, { token });
    if (r.kind === "answer" && r.status === 200 && r.body?.task?.title === t.title) ok++;
    else if (bad.length < 5) bad.push(`${t.id}: ${r.kind === "answer" ? r.status : r.reason}`);
  }
  return { read: n, ok, bad };
}

// --------------------------------------------------------------------- run

/** The whole soak: cluster up, create, snapshot, wipe and rejoin n3, checks. Tears everything down. */
export async function runSnapshotRejoin(
  partial: Partial<SnapshotRejoinOptions> = {},
): Promise<SnapshotRejoinResult> {
  const opts: SnapshotRejoinOptions = { ...DEFAULT_OPTIONS, ...partial };
  const say = opts.log;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "taskraft-soak-"));
  mkdirSync(dir, { recursive: true });
  const loadavgStart = loadavg().map((x) => round(x, 2));
  const start = performance.now();
  const elapsed = () => `${((performance.now() - start) / 1000).toFixed(1)} s`;
  let cluster: ChaosCluster | undefined;
  let passed = false;
  try {
    cluster = await ChaosCluster.create({
      size: 3,
      dir,
      codeRoot: repoRoot(),
      secret: SECRET,
      logLevel: "warn",
      now: () => performance.now() - start,
      log: say,
      // The server's defaults (256 MB buffer pool): 100,000 tasks and their indexes fit in memory.
      mysqlArgs: ["--max-connections=200"],
      nodeArgs: opts.nodeArgs,
    });
    running.add(cluster);
    cluster.onUnexpectedExit = (exit) =>
      say(`  node ${exit.id} EXITED (code ${exit.code}, signal ${exit.signal})`);
    for (const id of cluster.ids) cluster.spawn(id);
    if (!(await cluster.waitConverged(120_000))) throw new Error(`no leader within 120 s; logs in ${dir}`);
    const token = await signupUser(cluster);
    const projectIds = await createProjects(cluster, token, opts.projects);
    say(`soak: cluster up (${elapsed()}); creating ${opts.tasks} tasks with ${opts.clients} clients`);

    const before = await Promise.all(cluster.ids.map((id) => scrape(cluster!, id)));
    const create = await createTasks(cluster, token, projectIds, opts);
    if (!(await cluster.waitConverged(300_000))) throw new Error("the nodes did not apply the creates");
    const after = await Promise.all(cluster.ids.map((id) => scrape(cluster!, id)));
    const applyBatches = cluster.ids.map((id, i) => batchFigures(id, before[i]!, after[i]!));
    const autoSnapshots = cluster.ids.map((id, i) => {
      const h = parseHistogram(after[i]!, "taskraft_snapshot_create_seconds");
      return {
        node: id,
        count: h.count,
        meanSeconds: h.count > 0 ? round(h.sum / h.count, 3) : 0,
        lastBytes: parseValue(after[i]!, "taskraft_snapshot_bytes") ?? 0,
      };
    });
    say(`soak: ${create.created.length} tasks in ${create.seconds.toFixed(1)} s (${elapsed()})`);

    const leader = await leaderOtherThan(cluster, token, VICTIM);
    const snapshot = await takeSnapshot(cluster, token, leader);
    const otherSnapshots: SnapshotRejoinResult["otherSnapshots"] = [];
    for (const id of cluster.ids.filter((x) => x !== leader && x !== VICTIM)) {
      const other = await takeSnapshot(cluster, token, id);
      otherSnapshots.push({ node: id, index: other.index, createSeconds: other.createSeconds });
    }
    say(
      `soak: snapshot on ${leader} at index ${snapshot.index}: ${snapshot.fileBytes} bytes in ` +
        `${snapshot.createSeconds} s (${elapsed()})`,
    );
    const rejoined = await rejoin(cluster, token, leader, opts);
    say(`soak: ${VICTIM} caught up in ${rejoined.totalSeconds} s (${elapsed()})`);

    const report = await checkConsistency({
      urls: cluster.ids.map((id) => cluster!.databaseUrl(id)),
      timeoutMs: 120_000,
    });
    const reads = await sampleReads(cluster, token, create.created, opts.sampleReads);
    const failures: string[] = [];
    if (!report.consistent) {
      failures.push(`the databases differ: ${JSON.stringify(report.differences.slice(0, 3))}`);
    }
    if (rejoined.installs < 1) failures.push(`${VICTIM} installed no snapshot`);
    if (rejoined.snapshotIndex < rejoined.leaderSnapshotIndex) {
      failures.push(
        `${VICTIM}'s snapshot index ${rejoined.snapshotIndex} is below its leader's ${rejoined.leaderSnapshotIndex}`,
      );
    }
    if (reads.ok !== reads.read) failures.push(`reads from ${VICTIM} failed: ${reads.bad.join(", ")}`);
    const rows = Object.fromEntries(report.tables.map((t) => [t.table, t.rowCounts[0] ?? 0]));
    say(
      `soak: consistency ${report.consistent ? "OK" : "FAILED"}, ${reads.ok}/${reads.read} reads (${elapsed()})`,
    );
    passed = failures.length === 0;
    return {
      ok: passed,
      failures,
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model ?? "",
        loadavgStart,
        loadavgEnd: loadavg().map((x) => round(x, 2)),
      },
      options: { tasks: opts.tasks, clients: opts.clients, projects: opts.projects, nodeArgs: opts.nodeArgs },
      create: {
        tasksCreated: create.created.length,
        seconds: round(create.seconds, 2),
        tasksPerSecond: Math.round(create.created.length / create.seconds),
        retries: create.retries,
        ambiguous: create.ambiguous,
        p50Ms: percentile(create.latenciesMs, 0.5),
        p99Ms: percentile(create.latenciesMs, 0.99),
      },
      applyBatches,
      autoSnapshots,
      otherSnapshots,
      snapshot,
      rejoin: rejoined,
      consistency: { consistent: report.consistent, appliedIndex: report.appliedIndex, rows },
      sampleReads: { read: reads.read, ok: reads.ok },
      runDir: dir,
    };
  } finally {
    if (cluster) running.delete(cluster);
    // Data dirs go with the teardown; the node logs stay when something failed.
    await cluster?.teardown(opts.keepData).catch(() => {});
    if (passed && !opts.keepData && opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
    else say(`soak: node logs${opts.keepData ? " and data" : ""} kept in ${dir}`);
  }
}

// ------------------------------------------------------------------ report

export function formatSummary(r: SnapshotRejoinResult): string {
  const s = (x: number | null) => (x === null ? "n/a" : `${x.toFixed(2)} s`);
  const rows: [string, string][] = [
    ["machine", `${r.machine.cpus} vCPU ${r.machine.model}, load ${r.machine.loadavgStart.join("/")}`],
    ["tasks created", `${r.create.tasksCreated} in ${r.create.seconds} s (${r.create.tasksPerSecond}/s)`],
    ["create latency p50 / p99", `${r.create.p50Ms} / ${r.create.p99Ms} ms`],
    ["retries (ambiguous)", `${r.create.retries} (${r.create.ambiguous})`],
    ["tasks rows in each database", String(r.consistency.rows["tasks"] ?? 0)],
    ["snapshot", `index ${r.snapshot.index} on ${r.snapshot.leader}`],
    [
      "snapshot size on disk",
      `${r.snapshot.fileBytes} bytes (${(r.snapshot.fileBytes / 1048576).toFixed(1)} MiB)`,
    ],
    ["snapshot creation", s(r.snapshot.createSeconds)],
    [`${r.rejoin.node} start (kill → /healthz)`, s(r.rejoin.startSeconds)],
    ["kill → first snapshot chunk", s(r.rejoin.firstChunkSeconds)],
    ["snapshot transfer", s(r.rejoin.transferSeconds)],
    ["snapshot install (MySQL)", s(r.rejoin.installSeconds)],
    ["install → ready (log after the snapshot)", s(r.rejoin.afterInstallSeconds)],
    ["total rejoin (kill → ready at commit)", s(r.rejoin.totalSeconds)],
    ["rejoined snapshot index / installs", `${r.rejoin.snapshotIndex} / ${r.rejoin.installs}`],
    [
      "leader during the rejoin",
      r.rejoin.leaderBefore === r.rejoin.leaderAfter && r.rejoin.termBefore === r.rejoin.termAfter
        ? `${r.rejoin.leaderAfter} throughout (term ${r.rejoin.termAfter})`
        : `${r.rejoin.leaderBefore} (term ${r.rejoin.termBefore}) → ${r.rejoin.leaderAfter} (term ${r.rejoin.termAfter})`,
    ],
    [
      "consistency",
      r.consistency.consistent ? `identical at index ${r.consistency.appliedIndex}` : "DIFFERENT",
    ],
    ["sample reads from rejoined node", `${r.sampleReads.ok}/${r.sampleReads.read}`],
  ];
  for (const b of r.applyBatches) {
    const dist = b.distribution
      .filter((d) => d.transactions > 0)
      .map((d) => `≤${d.le}: ${((100 * d.transactions) / Math.max(1, b.transactions)).toFixed(1)}%`)
      .join(", ");
    rows.push([
      `apply batches ${b.node}`,
      `${b.meanEntriesPerTransaction} entries/txn over ${b.transactions} txns (${dist}); ` +
        `${b.meanEntriesPerWalSync} entries/WAL fsync; apply ${b.applyMsPerEntry} ms/entry`,
    ]);
  }
  for (const a of r.autoSnapshots) {
    rows.push([`auto snapshots ${a.node}`, `${a.count}, mean ${a.meanSeconds} s, last ${a.lastBytes} bytes`]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  const body = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n");
  const verdict = r.ok ? "soak:snapshot PASS" : `soak:snapshot FAIL: ${r.failures.join("; ")}`;
  return `${body}\n${verdict}`;
}

function parseCli(): Partial<SnapshotRejoinOptions> {
  const usage =
    'usage: npm run soak:snapshot -- [--tasks N] [--clients C] [--projects P] [--node-args="--flag value ..."] [--dir DIR] [--keep-data]';
  try {
    const { values } = parseArgs({
      options: {
        tasks: { type: "string", default: String(DEFAULT_OPTIONS.tasks) },
        clients: { type: "string", default: String(DEFAULT_OPTIONS.clients) },
        projects: { type: "string", default: String(DEFAULT_OPTIONS.projects) },
        "node-args": { type: "string", default: "" },
        dir: { type: "string" },
        "keep-data": { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      strict: true,
    });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    const int = (key: string, v: string, min: number): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new Error(`--${key} must be an integer >= ${min}`);
      return n;
    };
    return {
      tasks: int("tasks", values.tasks, 1),
      clients: int("clients", values.clients, 1),
      projects: int("projects", values.projects, 1),
      nodeArgs: values["node-args"].split(/\s+/).filter((x) => x !== ""),
      ...(values.dir ? { dir: values.dir } : {}),
      keepData: values["keep-data"],
    };
  } catch (e) {
    console.error(`soak:snapshot: ${(e as Error).message}\n${usage}`);
    process.exit(2);
  }
}

function onSignal(sig: string): void {
  console.error(`\nsoak:snapshot: ${sig}: stopping the cluster`);
  void Promise.all([...running].map((c) => c.teardown(false).catch(() => {}))).then(() => process.exit(130));
}

async function main(): Promise<void> {
  const opts = parseCli();
  process.once("SIGINT", () => onSignal("SIGINT"));
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  const result = await runSnapshotRejoin(opts);
  mkdirSync(RESULTS, { recursive: true });
  const out = join(RESULTS, "snapshot-rejoin.json");
  writeFileSync(out, `${JSON.stringify({ at: new Date().toISOString(), ...result }, null, 2)}\n`);
  console.log(`\n${formatSummary(result)}\nwrote ${out}`);
  process.exit(result.ok ? 0 : 1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(`soak:snapshot failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  });
}
