import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../../src/raft/index.js";
import {
  agreedLeader,
  commitWrite,
  newCluster,
  others,
  statusOf,
  waitAllWritesCommitted,
  waitForLeader,
} from "./sim-helpers.js";

test("§5.2 initial election: exactly one leader, every node agrees on it and on the term", () => {
  const c = newCluster(3, 101);
  const l = waitForLeader(c);
  const term = statusOf(c, l.id).term;
  assert.ok(term >= 1);
  assert.equal(c.leaders().length, 1);
  for (const id of c.ids()) {
    assert.equal(statusOf(c, id).term, term);
    assert.equal(statusOf(c, id).leaderId, l.id);
  }
  // With no faults the leader keeps its term: heartbeats suppress new elections.
  c.ticks(300);
  assert.equal(agreedLeader(c)?.id, l.id);
  assert.equal(statusOf(c, l.id).term, term);
  assert.equal(c.elections, 1);
});

test("§5.2 re-election after leader loss: the survivors elect a new leader in a higher term", () => {
  const c = newCluster(3, 102);
  const old = waitForLeader(c);
  const oldTerm = statusOf(c, old.id).term;
  c.crash(old.id);
  const next = waitForLeader(c, 300);
  assert.notEqual(next.id, old.id);
  assert.ok(statusOf(c, next.id).term > oldTerm);
  commitWrite(c, next.id);
  // The old leader comes back as a follower of the new one.
  c.restart(old.id);
  const after = waitForLeader(c, 300);
  assert.equal(after.id, next.id);
  assert.equal(statusOf(c, old.id).role, "follower");
});

test("§5.2 re-election after the leader is disconnected, and again after it returns", () => {
  const c = newCluster(3, 103);
  const l1 = waitForLeader(c);
  c.isolate(l1.id);
  const l2 = waitForLeader(c, 300, others(c.ids(), l1.id));
  assert.notEqual(l2.id, l1.id);
  c.healNetwork();
  const l3 = waitForLeader(c, 300);
  assert.equal(c.leaders().length, 1);
  // Disconnect the new leader too: the remaining two still elect one.
  c.isolate(l3.id);
  const l4 = waitForLeader(c, 300, others(c.ids(), l3.id));
  assert.notEqual(l4.id, l3.id);
});

test("§5.2 no leader without a majority: with 2 of 3 crashed nobody leads for many ticks", () => {
  const c = newCluster(3, 104);
  const l = waitForLeader(c);
  const [x, y] = others(c.ids(), l.id);
  const term = statusOf(c, y!).term;
  c.crash(l.id);
  c.crash(x!);
  let leaderSeen = false;
  for (let i = 0; i < 600; i++) {
    c.tick();
    if (c.leader()) leaderSeen = true;
  }
  assert.equal(leaderSeen, false);
  // The survivor keeps its term: pre-vote never gets a majority, so it never becomes a candidate.
  assert.equal(statusOf(c, y!).term, term);
  c.restart(x!);
  waitForLeader(c, 300);
});

test("§5.2 a leader that loses its majority does not stay leader (2 of 3 crashed under it)", () => {
  const c = newCluster(3, 105);
  const l = waitForLeader(c);
  for (const id of others(c.ids(), l.id)) c.crash(id);
  c.ticks(40);
  assert.equal(c.leader(), undefined);
  c.ticks(400);
  assert.equal(c.leader(), undefined);
});

test("§5.2 many elections under churn: at most one leader per term, a leader after healing", () => {
  const c = newCluster(7, 106);
  const rng = new Rng(1106);
  // Our own record of who led each term, after every tick (the simulator checks it too).
  const leaderOfTerm = new Map<number, string>();
  const tick = c.tick.bind(c);
  c.tick = () => {
    tick();
    for (const n of c.leaders()) {
      const term = n.raft!.status().term;
      assert.equal(leaderOfTerm.get(term) ?? n.id, n.id, `two leaders in term ${term}`);
      leaderOfTerm.set(term, n.id);
    }
  };
  waitForLeader(c);
  for (let round = 0; round < 30; round++) {
    // Crash up to three nodes: a majority of 7 stays up, so a leader must emerge.
    const down = [...c.ids()].sort(() => rng.float() - 0.5).slice(0, rng.int(4));
    for (const id of down) c.crash(id);
    waitForLeader(c, 400, c.aliveIds());
    if (rng.chance(0.5)) c.write(agreedLeader(c)!.id);
    c.ticks(rng.int(20));
    for (const id of down) c.restart(id);
  }
  waitForLeader(c, 400);
  waitAllWritesCommitted(c);
  c.checkConverged();
  assert.ok(leaderOfTerm.size > 5, `only ${leaderOfTerm.size} terms had a leader`);
});

test("§9.6 pre-vote: a follower isolated for many election timeouts does not raise the term when it rejoins", () => {
  const c = newCluster(3, 107);
  const l = waitForLeader(c);
  const term = statusOf(c, l.id).term;
  const [f] = others(c.ids(), l.id);
  c.isolate(f!);
  c.ticks(200);
  assert.equal(statusOf(c, f!).term, term, "the pre-candidate never raised its own term");
  commitWrite(c, l.id);
  c.healNetwork();
  c.ticks(100);
  assert.equal(agreedLeader(c)?.id, l.id, "the leader stays");
  assert.equal(statusOf(c, l.id).term, term, "the term stays");
  commitWrite(c, f!);
});

test("without pre-vote or check-quorum a rejoining node does disrupt the term (what pre-vote prevents)", () => {
  const c = newCluster(3, 107, { preVote: false, checkQuorum: false });
  const l = waitForLeader(c);
  const term = statusOf(c, l.id).term;
  const [f] = others(c.ids(), l.id);
  c.isolate(f!);
  c.ticks(200);
  assert.ok(statusOf(c, f!).term > term + 3);
  c.healNetwork();
  waitForLeader(c, 300);
  assert.ok(statusOf(c, c.leader()!.id).term > term);
});

test("§6.2 check-quorum: an isolated leader steps down within about two election timeouts", () => {
  const electionTick = 10;
  const c = newCluster(5, 108, { electionTick });
  const l = waitForLeader(c);
  c.ticks(7);
  c.isolate(l.id);
  const start = c.now;
  c.runUntil(() => statusOf(c, l.id).role !== "leader", 100);
  const took = c.now - start;
  assert.equal(statusOf(c, l.id).role, "follower");
  assert.ok(took <= 2 * electionTick, `stepped down after ${took} ticks`);
  const next = waitForLeader(c, 300, others(c.ids(), l.id));
  assert.notEqual(next.id, l.id);
});

test("§6.2 check-quorum: a leader partitioned into a minority steps down; the majority side elects", () => {
  const c = newCluster(5, 109);
  const l = waitForLeader(c);
  const [f1, ...rest] = others(c.ids(), l.id);
  c.partition([l.id, f1!], rest);
  c.ticks(25);
  assert.notEqual(statusOf(c, l.id).role, "leader");
  const next = waitForLeader(c, 300, rest);
  assert.ok(rest.includes(next.id));
});

test("§5.2 elections still finish with 7 voters and a lossy network", () => {
  const c = newCluster(7, 110);
  c.net.faults = { lossRate: 0.1, duplicateRate: 0.05, minDelay: 0, maxDelay: 2 };
  waitForLeader(c, 600);
  assert.equal(c.leaders().length, 1);
});
