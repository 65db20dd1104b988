/**
 * Issue #4: a crash between or during applies neither loses nor repeats a change. Three real
 * `taskraft node` processes under heavy concurrent writes; at least 20 times, at a seeded-random
 * moment, one node (the leader about half the time, a follower otherwise) is killed with SIGKILL
 * and started again on the same data dir and database. Afterwards every node's database must hold
 * every acknowledged create at its last acknowledged title and version, nothing twice, and all
 * databases must be identical (check-consistency).
 *
 * TASKRAFT_DURABILITY_SEED=<n> replays a run's schedule (targets, moments, down times, client
 * choices); the timing of the processes themselves is the machine's.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Connection } from "mysql2/promise";
import { connectServer, testMysqlUrl } from "../../src/db/index.js";
import { Rng } from "../../src/raft/rng.js";
import { Cluster, signup, sleep } from "../api/harness.js";
import { readTasks, verifyTasks, WriteLoad } from "./load.js";

const KILLS = 20;
const CLIENTS = 6;

function seedFromEnv(): number {
  const raw = process.env["TASKRAFT_DURABILITY_SEED"];
  if (raw !== undefined && raw !== "") {
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) throw new Error(`TASKRAFT_DURABILITY_SEED must be an integer, got ${raw}`);
    return n >>> 0;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** Half the kills hit the leader, half a follower, in a seeded order. */
function targetSchedule(rng: Rng): ("leader" | "follower")[] {
  const kinds: ("leader" | "follower")[] = Array.from({ length: KILLS }, (_, i) =>
    i < KILLS / 2 ? "leader" : "follower",
  );
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  return kinds;
}

/** The node that claims leadership in the highest term, among the running nodes. */
async function currentLeader(cluster: Cluster): Promise<string | undefined> {
  const live = cluster.ids.filter((id) => cluster.running(id));
  const views = await Promise.all(live.map((id) => cluster.readyz(id)));
  let best: { id: string; term: number } | undefined;
  views.forEach((v, i) => {
    if (v?.role === "leader" && (!best || v.term > best.term)) best = { id: live[i]!, term: v.term };
  });
  return best?.id;
}

async function waitLeader(cluster: Cluster, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const l = await currentLeader(cluster);
    if (l) return l;
    await sleep(100);
  }
  throw new Error(`no leader within ${timeoutMs} ms`);
}

/** Waits until the process answers HTTP again (it has opened its database and log). */
async function waitAnswering(cluster: Cluster, id: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!cluster.running(id)) throw new Error(`node ${id} exited:\n${cluster.log(id).slice(-2000)}`);
    if ((await cluster.readyz(id)) !== undefined) return;
    await sleep(100);
  }
  throw new Error(`node ${id} did not answer within ${timeoutMs} ms:\n${cluster.log(id).slice(-2000)}`);
}

/**
 * Write transactions open on a node's database (the applier's: it locks raft_applied first).
 * Sent just before the kill and read after it, so it tells whether an apply was in flight.
 */
function openWriteTransactions(root: Connection, database: string): Promise<number> {
  return root
    .query(
      `SELECT COUNT(*) AS n FROM information_schema.innodb_trx t
         JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id
        WHERE p.db = ? AND (t.trx_rows_locked > 0 OR t.trx_rows_modified > 0)`,
      [database],
    )
    .then(([rows]) => Number((rows as { n: number }[])[0]?.n ?? 0))
    .catch(() => -1);
}

test(`${KILLS} kill -9s of random nodes under heavy writes lose and repeat nothing`, {
  timeout: 10 * 60_000,
}, async () => {
  const seed = seedFromEnv();
  console.log(`kill-under-load: seed ${seed} (replay with TASKRAFT_DURABILITY_SEED=${seed})`);
  const rng = new Rng(seed);
  const schedule = targetSchedule(rng);
  const t0 = Date.now();
  const cluster = new Cluster({ name: "durkill" });
  let root: Connection | undefined;
  let load: WriteLoad | undefined;
  try {
    await cluster.start();
    root = await connectServer(await testMysqlUrl());
    const { token } = await signup(cluster.url(cluster.ids[0]!), "durability");
    load = new WriteLoad({
      target: { nodes: () => cluster.ids, url: (id) => cluster.url(id) },
      token,
      clients: CLIENTS,
      rng: rng.fork(),
      tag: `s${seed}`,
    });
    load.start();
    await sleep(1500);

    const kills: { target: string; kind: string; applyInFlight: number; downMs: number; startMs: number }[] =
      [];
    for (const kind of schedule) {
      await sleep(200 + rng.int(1000));
      const leader = await waitLeader(cluster, 30_000);
      const target =
        kind === "leader"
          ? leader
          : rng.pick(cluster.ids.filter((id) => id !== leader && cluster.running(id)));
      const inFlight = openWriteTransactions(root, cluster.nodes.get(target)!.db.name);
      await cluster.kill(target);
      const downMs = rng.int(700);
      await sleep(downMs);
      const spawnedAt = Date.now();
      cluster.spawn(target);
      await waitAnswering(cluster, target, 60_000);
      kills.push({ target, kind, applyInFlight: await inFlight, downMs, startMs: Date.now() - spawnedAt });
    }
    const killsDoneMs = Date.now() - t0;

    await load.stop();
    const leader = await cluster.waitForLeader(60_000);
    const report = await cluster.checkConsistency();
    const counts = load.counts();
    const leaderKills = kills.filter((k) => k.kind === "leader").length;
    const inFlightKills = kills.filter((k) => k.applyInFlight > 0).length;
    console.log(
      `kill-under-load: seed ${seed}: ${kills.length} kills (leader ${leaderKills}, follower ${kills.length - leaderKills}; ` +
        `${inFlightKills} with a write transaction open on the killed node's database), ` +
        `${counts.creates} creates and ${counts.updates} updates acknowledged, ${counts.unknown} unknown, ` +
        `${counts.attempts} attempts; applied index ${report.appliedIndex} on all nodes (leader ${leader}); ` +
        `kills done after ${killsDoneMs} ms, total ${Date.now() - t0} ms`,
    );
    // Per kill: target, L(eader)/F(ollower), * when a write transaction was open, down time + start time.
    console.log(
      `kill-under-load: kills ${kills
        .map(
          (k) =>
            `${k.target}${k.kind === "leader" ? "L" : "F"}${k.applyInFlight > 0 ? "*" : ""}:${k.downMs}+${k.startMs}`,
        )
        .join(" ")}`,
    );

    assert.equal(kills.length, KILLS);
    assert.ok(leaderKills > 0 && leaderKills < kills.length, "both leaders and followers were killed");
    assert.deepEqual(load.unexpected, [], "no 500 and no refusal of a client's own write");
    assert.ok(counts.creates > 0 && counts.updates > 0, "the load made progress");
    assert.ok(
      report.consistent,
      `databases differ at ${report.appliedIndex}: ${JSON.stringify(report.differences)}`,
    );
    for (const id of cluster.ids) {
      const rows = await readTasks(cluster.nodes.get(id)!.db.url);
      assert.deepEqual(verifyTasks(load, rows, id), [], `the tasks in ${id}'s database`);
    }
    for (const id of cluster.ids) assert.ok(cluster.running(id), `${id} is still running`);
  } finally {
    await load?.stop().catch(() => {});
    await root?.end().catch(() => {});
    await cluster.close();
  }
});
