import assert from "node:assert/strict";
import { test } from "node:test";
import { type NodeId, Rng } from "../../src/raft/index.js";
import type { SimCluster, WriteOp } from "../sim/cluster.js";
import {
  agreedLeader,
  assertSameValues,
  commitWrite,
  connectOnly,
  newCluster,
  others,
  retryPending,
  statusOf,
  valuesOf,
  waitAllWritesCommitted,
  waitFor,
  waitForLeader,
  waitSettled,
} from "./sim-helpers.js";

// ----------------------------------------------------------------- Figure 8

interface Figure8 {
  c: SimCluster;
  /** S1..S5 of the paper's figure. */
  s1: NodeId;
  s2: NodeId;
  s3: NodeId;
  s4: NodeId;
  s5: NodeId;
  /** Last index committed before the figure starts; the contested slot is k + 1. */
  k: number;
  /** The entry the figure is about: S1's term-T1 entry at k + 1. */
  x: WriteOp;
  t1: number;
  t2: number;
  t3: number;
}

function termAt(c: SimCluster, id: NodeId, index: number): number {
  return c.node(id).raft!.raft.log.termOrZero(index);
}

/**
 * Plays Figure 8 (a)–(c). One entry per append (maxSizePerMsg 1) so that S3 can be
 * given the old entry without the new leader's own entry, as in the figure.
 */
function figure8UpToC(seed: number): Figure8 {
  const c = newCluster(5, seed, { maxSizePerMsg: 1 });
  const s1 = waitForLeader(c).id;
  for (let i = 0; i < 3; i++) commitWrite(c, s1);
  waitSettled(c);
  const [s2, s3, s4, s5] = others(c.ids(), s1) as [NodeId, NodeId, NodeId, NodeId];
  const k = statusOf(c, s1).lastIndex;
  const t1 = statusOf(c, s1).term;

  // (a) S1 leads term T1 and replicates X at k+1 to S2 only.
  connectOnly(c, [[s1, s2]]);
  const x = c.write(s1);
  waitFor(c, "S2 holds X", () => statusOf(c, s2).lastIndex === k + 1, 10);
  assert.equal(statusOf(c, s1).commitIndex, k, "2 of 5 is no majority");

  // (b) S1 crashes; S5 is elected by S3, S4 and itself and appends an entry (its no-op) at k+1 that nobody receives.
  c.crash(s1);
  connectOnly(c, [
    [s5, s3],
    [s5, s4],
  ]);
  waitFor(c, "S5 leads", () => statusOf(c, s5).role === "leader", 300);
  c.isolate(s5);
  const t2 = statusOf(c, s5).term;
  assert.equal(termAt(c, s5, k + 1), t2);
  c.ticks(2);
  assert.equal(statusOf(c, s3).lastIndex, k, "S5's entry never left it");

  // (c) S5 crashes; S1 restarts, is elected by S2, S3, S4 and replicates X to S3: X is on a majority.
  c.crash(s5);
  c.restart(s1);
  connectOnly(c, [
    [s1, s2],
    [s1, s3],
    [s1, s4],
  ]);
  waitFor(c, "S1 leads again", () => statusOf(c, s1).role === "leader", 300);
  const t3 = statusOf(c, s1).term;
  assert.ok(t3 > t2);
  // S4 gets nothing of term T3, so it can still vote for S5 in (d).
  c.net.cutLink(s1, s4);
  waitFor(c, "S3 holds X", () => statusOf(c, s3).lastIndex === k + 1, 20);
  // S1's own entry (its no-op at k+2) must not reach S3.
  c.net.cutLink(s1, s3);
  const progress = () => statusOf(c, s1).progress;
  waitFor(
    c,
    "S1 learns where S2 and S3 are",
    () => progress()[s3]!.match >= k + 1 && progress()[s2]!.match >= k + 1,
    10,
  );
  return { c, s1, s2, s3, s4, s5, k, x, t1, t2, t3 };
}

test("§5.4.2 Figure 8 (c)-(d): an old-term entry on a majority is not committed by counting, and may be overwritten", () => {
  const f = figure8UpToC(301);
  const { c, s1, s2, s3, s4, s5, k } = f;
  for (const id of [s1, s2, s3]) assert.equal(termAt(c, id, k + 1), f.t1, `${id} holds X from term T1`);
  assert.equal(termAt(c, s1, k + 2), f.t3, "S1's entry of its own term is at k+2");
  assert.ok(termAt(c, s3, k + 2) === 0 && termAt(c, s4, k + 1) === 0);
  c.ticks(3);
  assert.equal(
    statusOf(c, s1).commitIndex,
    k,
    "X is on S1, S2, S3 but of term T1: not committed by counting",
  );
  assert.equal(f.x.status, "pending");

  // (d) S1 crashes; S5 (last term T2 > T1) is elected by S3, S4 and overwrites X on them.
  c.crash(s1);
  c.restart(s5);
  connectOnly(c, [
    [s5, s3],
    [s5, s4],
  ]);
  waitFor(c, "S5 leads", () => statusOf(c, s5).role === "leader", 300);
  waitFor(
    c,
    "S5 commits",
    () => statusOf(c, s5).commitIndex >= k + 2 && statusOf(c, s3).commitIndex >= k + 1,
    50,
  );
  assert.equal(termAt(c, s3, k + 1), f.t2, "X was overwritten on S3");
  assert.deepEqual(c.appliedAt.get(k + 1), { key: "noop", term: f.t2 });

  // Everybody back: S1 and S2 lose X too, and the cluster agrees without it.
  c.healNetwork();
  c.restart(s1);
  waitSettled(c, 500);
  commitWrite(c);
  waitSettled(c);
  const values = assertSameValues(c);
  assert.ok(!values.includes(f.x.value));
  for (const id of c.ids()) assert.equal(termAt(c, id, k + 1), f.t2);
  c.checkConverged();
});

test("§5.4.2 Figure 8 (e): once an entry of the leader's own term is on a majority, the old entry commits with it", () => {
  const f = figure8UpToC(302);
  const { c, s1, s2, s3, s4, s5, k } = f;
  assert.equal(statusOf(c, s1).commitIndex, k);
  c.net.healLink(s1, s3);
  waitFor(c, "S1 commits its own entry", () => statusOf(c, s1).commitIndex >= k + 2, 20);
  assert.equal(f.x.status, "ok");
  assert.deepEqual(c.appliedAt.get(k + 1), { key: f.x.value, term: f.t1 });
  // Now S5 can never win: a majority holds a later last term than S5's.
  c.crash(s1);
  c.restart(s5);
  connectOnly(c, [
    [s5, s3],
    [s5, s4],
    [s5, s2],
  ]);
  c.ticks(200);
  assert.notEqual(statusOf(c, s5).role, "leader");
  c.healNetwork();
  c.restart(s1);
  waitSettled(c, 500);
  assert.ok(assertSameValues(c).includes(f.x.value));
  c.checkConverged();
});

test("§5.4.2 Figure 8 on an unreliable network: leaders crash at random for many rounds, then the cluster heals and agrees", () => {
  const c = newCluster(5, 303);
  const rng = new Rng(303);
  c.net.faults = { lossRate: 0.1, duplicateRate: 0.05, minDelay: 0, maxDelay: 4 };
  waitForLeader(c, 500);
  for (let round = 0; round < 60; round++) {
    c.runUntil(() => c.leader() !== undefined, 100);
    const l = c.leader();
    if (l) for (let i = rng.int(4); i > 0; i--) c.write(l.id);
    // Sometimes the leader crashes at once (its entries reach few nodes), sometimes after replicating.
    c.ticks(rng.chance(0.2) ? rng.int(30) : rng.int(3));
    if (l && rng.chance(0.5)) c.crash(l.id);
    const down = c.ids().filter((id) => !c.node(id).alive);
    if (down.length > 0 && (c.aliveIds().length < 3 || rng.chance(0.3))) c.restart(rng.pick(down));
  }
  c.net.faults = { lossRate: 0, duplicateRate: 0, minDelay: 0, maxDelay: 1 };
  for (const id of c.ids()) c.restart(id);
  waitAllWritesCommitted(c, 3000);
  c.checkConverged();
  assertSameValues(c);
  assert.ok(c.elections >= 20, `${c.elections} elections`);
});

// -------------------------------------------------------------------- churn

function churn(c: SimCluster, rng: Rng, rounds: number): void {
  for (let round = 0; round < rounds; round++) {
    const alive = c.aliveIds();
    if (alive.length > 0) {
      for (let i = rng.int(4); i > 0; i--) c.write(rng.pick(alive));
      if (rng.chance(0.3)) c.read(rng.pick(alive));
    }
    const roll = rng.float();
    if (roll < 0.2) c.crash(rng.pick(c.ids()));
    else if (roll < 0.45) c.restart(rng.pick(c.ids()));
    else if (roll < 0.55) {
      const shuffled = [...c.ids()].sort(() => rng.float() - 0.5);
      const cut = 1 + rng.int(c.ids().length - 1);
      c.partition(shuffled.slice(0, cut), shuffled.slice(cut));
    } else if (roll < 0.7) c.healNetwork();
    c.ticks(1 + rng.int(10));
    retryPending(c, 30);
  }
}

function healAndConverge(c: SimCluster): void {
  c.healNetwork();
  c.net.faults = { lossRate: 0, duplicateRate: 0, minDelay: 0, maxDelay: 1 };
  for (const id of c.ids()) c.restart(id);
  waitAllWritesCommitted(c, 3000);
  c.checkConverged();
  const values = assertSameValues(c);
  assert.equal(values.length, c.writes.length);
}

test("§5 reliable churn: random crashes, restarts and partitions while writes flow, then convergence", () => {
  const c = newCluster(5, 304);
  waitForLeader(c);
  churn(c, new Rng(304), 150);
  healAndConverge(c);
  assert.ok(c.writes.length > 100);
});

test("§5 unreliable churn: the same on a lossy, duplicating, reordering network", () => {
  const c = newCluster(5, 305);
  waitForLeader(c);
  c.net.faults = { lossRate: 0.15, duplicateRate: 0.1, minDelay: 0, maxDelay: 3 };
  churn(c, new Rng(305), 150);
  healAndConverge(c);
});

// -------------------------------------------------------------------- reads

test("§6.4 a deposed leader cannot answer a linearizable read; the new leader and its followers see the write", () => {
  const c = newCluster(5, 306);
  const old = waitForLeader(c).id;
  commitWrite(c, old);
  waitSettled(c);
  // The old leader stalls (a long pause) and is cut off: it still believes it leads.
  c.stoppedClocks.add(old);
  c.isolate(old);
  const rest = others(c.ids(), old);
  const next = waitForLeader(c, 300, rest);
  const w = commitWrite(c, next.id);
  assert.equal(statusOf(c, old).role, "leader", "the old leader has not noticed yet");
  const stale = c.read(old);
  c.ticks(50);
  assert.notEqual(stale.status, "ok", "the isolated old leader cannot confirm its leadership");
  // It comes back: it learns the new term and steps down, and the read is never served.
  c.stoppedClocks.delete(old);
  c.healNetwork();
  c.ticks(100);
  assert.notEqual(statusOf(c, old).role, "leader");
  assert.notEqual(stale.status, "ok");
  // Reads on the new leader and on its followers (including the old leader) see the write.
  const writeIndex = c.node(next.id).sm.firstIndexOf.get(w.value)!;
  for (const id of [next.id, rest.find((id) => id !== next.id)!, old]) {
    const r = c.read(id);
    waitFor(c, `read on ${id}`, () => r.status === "ok", 50);
    assert.ok(r.readIndex >= writeIndex && r.servedIndex >= writeIndex, `read on ${id} at ${r.readIndex}`);
    assert.ok(valuesOf(c, id).includes(w.value));
  }
});

test("§6.4 without check-quorum an isolated leader stays leader but still cannot serve reads", () => {
  const c = newCluster(3, 307, { checkQuorum: false });
  const old = waitForLeader(c).id;
  commitWrite(c, old);
  c.isolate(old);
  const next = waitForLeader(c, 300, others(c.ids(), old));
  commitWrite(c, next.id);
  const stale = c.read(old);
  c.ticks(200);
  assert.equal(statusOf(c, old).role, "leader");
  assert.equal(stale.status, "pending");
});

test("§6.4 a follower cut off with the old leader cannot serve a read either", () => {
  const c = newCluster(5, 308);
  const old = waitForLeader(c).id;
  commitWrite(c, old);
  waitSettled(c);
  const [buddy, ...majority] = others(c.ids(), old);
  c.stoppedClocks.add(old);
  c.stoppedClocks.add(buddy!);
  c.partition([old, buddy!], majority);
  const next = waitForLeader(c, 300, majority);
  commitWrite(c, next.id);
  const stale = c.read(buddy!);
  c.ticks(50);
  assert.notEqual(stale.status, "ok");
});

test("§6.4 reads during leader changes and lossy links are never stale (checked by the simulator)", () => {
  const c = newCluster(3, 309);
  waitForLeader(c);
  const rng = new Rng(309);
  c.net.faults = { lossRate: 0.1, duplicateRate: 0.1, minDelay: 0, maxDelay: 3 };
  for (let i = 0; i < 150; i++) {
    const alive = c.aliveIds();
    c.write(rng.pick(alive));
    c.read(rng.pick(alive));
    if (rng.chance(0.05)) {
      const l = agreedLeader(c);
      if (l) c.isolate(l.id);
    }
    if (rng.chance(0.1)) c.healNetwork();
    c.ticks(rng.int(4));
    retryPending(c, 30);
  }
  c.healNetwork();
  c.net.faults = { lossRate: 0, duplicateRate: 0, minDelay: 0, maxDelay: 0 };
  waitAllWritesCommitted(c, 2000);
  assert.ok(c.reads.filter((r) => r.status === "ok").length > 50);
});
