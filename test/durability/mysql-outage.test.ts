/**
 * Issue #4: if MySQL goes away, the node keeps its Raft role and log, stops applying, reports not
 * ready, and resumes when MySQL is back, losing nothing. Three real `taskraft node` processes,
 * each with its own private MariaDB server (the chaos runner's cluster), under steady writes to
 * random nodes:
 *
 * (a) a follower's server is stopped: the cluster keeps acknowledging writes; the follower answers
 *     /readyz 503, `taskraft_mysql_healthy 0`, stays a follower, its log and commit index grow
 *     while its applied index stands still; once the server is back it catches up.
 * (b) the leader's server is stopped: it stays leader and keeps committing the writes the
 *     followers propose (they apply them and answer); a write sent to it is answered 503 (not
 *     applied) — it cannot apply, so it cannot answer anything else — and nothing it answers is 2xx;
 *     once the server is back it applies its backlog.
 * (c) all databases converge: same applied index, check-consistency equal, every acknowledged
 *     write present at its last acknowledged title, nothing applied twice.
 *
 * TASKRAFT_DURABILITY_SEED=<n> replays the client choices and the outage lengths.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ChaosCluster } from "../../src/chaos/run/cluster.js";
import { httpRequest, sleep } from "../../src/chaos/run/http.js";
import { repoRoot } from "../../src/db/index.js";
import { Rng } from "../../src/raft/rng.js";
import { checkConsistency } from "../../src/state/consistency.js";
import { readTasks, verifyTasks, WriteLoad } from "./load.js";

const CLIENTS = 4;
/** How long each outage lasts at least, after the node has noticed it (seeded within this range). */
const OUTAGE_MS = [4000, 7000] as const;

function seedFromEnv(): number {
  const raw = process.env["TASKRAFT_DURABILITY_SEED"];
  if (raw !== undefined && raw !== "") {
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) throw new Error(`TASKRAFT_DURABILITY_SEED must be an integer, got ${raw}`);
    return n >>> 0;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

interface NodeView {
  ready: boolean;
  role: string;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  mysqlHealthy: number;
  databaseConnected: boolean;
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** /readyz and /metrics of one node, or undefined when it does not answer. */
async function view(cluster: ChaosCluster, id: string): Promise<NodeView | undefined> {
  const [ready, metrics] = await Promise.all([
    httpRequest(cluster.url(id), "GET", "/readyz", { timeoutMs: 5000 }),
    fetch(`${cluster.url(id)}/metrics`, { signal: AbortSignal.timeout(5000) })
      .then((r) => r.text())
      .catch(() => undefined),
  ]);
  if (ready.kind !== "answer" || metrics === undefined) return undefined;
  const b = ready.body as {
    ready: boolean;
    role: string;
    term: number;
    commitIndex: number;
    appliedIndex: number;
    database: { connected: boolean };
  };
  return {
    ready: ready.status === 200 && b.ready,
    role: b.role,
    term: b.term,
    commitIndex: b.commitIndex,
    appliedIndex: b.appliedIndex,
    lastIndex: metric(metrics, "taskraft_raft_last_index"),
    mysqlHealthy: metric(metrics, "taskraft_mysql_healthy"),
    databaseConnected: b.database.connected,
  };
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(200);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

interface OutageReport {
  node: string;
  role: string;
  downMs: number;
  /** From the server's stop until the node reported not ready and mysql unhealthy. */
  noticedMs: number;
  /** From the server's start until the node was ready again. */
  recoveredMs: number;
  acksDuring: number;
  commitGrowth: number;
  logGrowth: number;
  probeStatus: number | string;
  probeMs: number;
}

/**
 * Stops `id`'s MariaDB for a while under load and checks what the issue asks of the node while it
 * is down and after it is back.
 */
async function outage(
  cluster: ChaosCluster,
  load: WriteLoad,
  token: string,
  id: string,
  holdMs: number,
): Promise<OutageReport> {
  const role = (await view(cluster, id))?.role;
  assert.ok(role === "leader" || role === "follower", `${id} has a role before the outage (${role})`);
  await cluster.mysqlStop(id);
  const stoppedAt = Date.now();

  // Not ready, and the metric says why, once it has tried the database (an apply or a ping).
  const first = await waitFor(`${id} reports its database down`, 30_000, async () => {
    const v = await view(cluster, id);
    return v && !v.ready && !v.databaseConnected && v.mysqlHealthy === 0 ? v : undefined;
  });
  const noticedMs = Date.now() - stoppedAt;

  // A write sent to this node while it cannot apply: never a 2xx, never a 500; "not applied".
  const probeAt = Date.now();
  const probe = await httpRequest(cluster.url(id), "POST", "/api/v1/tasks", {
    token,
    body: { title: `probe-${id}-${stoppedAt}` },
    headers: { "idempotency-key": `probe-${id}-${stoppedAt}` },
    timeoutMs: 15_000,
  });
  const probeStatus = probe.kind === "answer" ? probe.status : probe.reason;
  const probeMs = Date.now() - probeAt;

  const samples: NodeView[] = [first];
  const until = Date.now() + holdMs;
  while (Date.now() < until) {
    await sleep(250);
    const v = await view(cluster, id);
    if (v) samples.push(v);
  }
  const last = samples[samples.length - 1]!;
  const startAt = Date.now();
  await cluster.mysqlStart(id);
  const startedAt = Date.now();

  for (const v of samples) {
    assert.equal(v.role, role, `${id} keeps its role (${role}) while its database is down`);
    assert.equal(v.ready, false, `${id} is not ready while its database is down`);
    assert.equal(v.mysqlHealthy, 0, `${id}: taskraft_mysql_healthy is 0 while its database is down`);
    assert.equal(v.appliedIndex, first.appliedIndex, `${id} applies nothing while its database is down`);
  }
  assert.ok(
    last.commitIndex > first.commitIndex,
    `${id}'s commit index advances (${first.commitIndex} → ${last.commitIndex})`,
  );
  assert.ok(last.lastIndex > first.lastIndex, `${id}'s log grows (${first.lastIndex} → ${last.lastIndex})`);
  const acksDuring = load.acksBetween(stoppedAt, startAt);
  assert.ok(acksDuring > 0, `the cluster acknowledges writes while ${id}'s database is down`);
  assert.equal(probe.kind, "answer", `a write sent to ${id} is answered (${probeStatus})`);
  assert.equal(probeStatus, 503, `a write sent to ${id} while it cannot apply is refused as not applied`);
  const from = load.attempts.filter((a) => a.node === id && a.sentAt >= stoppedAt && a.doneAt <= startAt);
  assert.deepEqual(
    from.filter((a) => typeof a.status === "number" && a.status < 300),
    [],
    `${id} acknowledges nothing while it cannot apply`,
  );

  // Back: ready again, and caught up with what was committed while it was down.
  const after = await waitFor(`${id} ready again after its database is back`, 60_000, async () => {
    const v = await view(cluster, id);
    return v?.ready && v.mysqlHealthy === 1 && v.appliedIndex >= last.commitIndex ? v : undefined;
  });
  assert.equal(after.role === "leader" || after.role === "follower", true);
  return {
    node: id,
    role,
    downMs: startedAt - stoppedAt,
    noticedMs,
    recoveredMs: Date.now() - startedAt,
    acksDuring,
    commitGrowth: last.commitIndex - first.commitIndex,
    logGrowth: last.lastIndex - first.lastIndex,
    probeStatus,
    probeMs,
  };
}

test("a node whose MySQL server stops keeps its role and log, is not ready, and catches up losing nothing", {
  timeout: 10 * 60_000,
}, async () => {
  const seed = seedFromEnv();
  console.log(`mysql-outage: seed ${seed} (replay with TASKRAFT_DURABILITY_SEED=${seed})`);
  const rng = new Rng(seed);
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "taskraft-outage-"));
  let cluster: ChaosCluster | undefined;
  let load: WriteLoad | undefined;
  try {
    cluster = await ChaosCluster.create({
      size: 3,
      dir,
      codeRoot: repoRoot(),
      secret: "durability-test-secret",
      logLevel: "warn",
      now: () => Date.now() - t0,
      log: () => {},
    });
    const c = cluster;
    for (const id of c.ids) c.spawn(id);
    assert.ok(await c.waitConverged(90_000), "the cluster starts");
    const signed = await c.anyNode("POST", "/api/v1/auth/signup", {
      body: { username: "outage", password: "correct horse battery" },
      timeoutMs: 15_000,
    });
    assert.equal(signed?.status, 201, `signup: ${JSON.stringify(signed?.body)}`);
    const token = (signed!.body as { token: string }).token;
    load = new WriteLoad({
      target: { nodes: () => c.serving(), url: (id) => c.url(id) },
      token,
      clients: CLIENTS,
      rng: rng.fork(),
      tag: `o${seed}`,
      thinkMs: 10,
    });
    load.start();
    await sleep(1500);
    const startedMs = Date.now() - t0;

    const hold = () => OUTAGE_MS[0] + rng.int(OUTAGE_MS[1] - OUTAGE_MS[0]);
    const leader1 = await waitFor("a leader", 30_000, () => c.leader());
    const follower = rng.pick(c.ids.filter((id) => id !== leader1));
    const a = await outage(c, load, token, follower, hold());
    const leader2 = await waitFor("a leader", 30_000, () => c.leader());
    const b = await outage(c, load, token, leader2, hold());
    await sleep(1000);

    await load.stop();
    const converged = await c.waitConverged(90_000);
    assert.ok(converged, "all nodes ready, with one leader, applied up to its commit index");
    const report = await checkConsistency({ urls: c.ids.map((id) => c.databaseUrl(id)), timeoutMs: 30_000 });
    const counts = load.counts();
    for (const o of [a, b]) {
      console.log(
        `mysql-outage: ${o.role} ${o.node}: server down ${o.downMs} ms (noticed after ${o.noticedMs} ms, ` +
          `ready ${o.recoveredMs} ms after the start); ${o.acksDuring} writes acknowledged meanwhile, ` +
          `commit index +${o.commitGrowth}, log +${o.logGrowth}; a write sent to it: ${o.probeStatus} in ${o.probeMs} ms`,
      );
    }
    console.log(
      `mysql-outage: seed ${seed}: ${counts.creates} creates and ${counts.updates} updates acknowledged, ` +
        `${counts.unknown} unknown, ${counts.attempts} attempts; applied index ${report.appliedIndex} on all nodes; ` +
        `cluster up after ${startedMs} ms, total ${Date.now() - t0} ms`,
    );
    assert.deepEqual(load.unexpected, [], "no 500 and no refusal of a client's own write");
    assert.ok(
      report.consistent,
      `databases differ at ${report.appliedIndex}: ${JSON.stringify(report.differences)}`,
    );
    for (const id of c.ids) {
      const rows = (await readTasks(c.databaseUrl(id))).filter((r) => !r.title.startsWith("probe-"));
      assert.deepEqual(verifyTasks(load, rows, id), [], `the tasks in ${id}'s database`);
    }
    assert.deepEqual(c.exits, [], "no node exited by itself");
  } finally {
    await load?.stop().catch(() => {});
    const keep = !!process.env["TASKRAFT_TEST_KEEP"];
    await cluster?.teardown(keep).catch(() => {});
    if (keep) console.error(`outage test files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
});
