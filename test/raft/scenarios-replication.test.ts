import assert from "node:assert/strict";
import { test } from "node:test";
import { type Message, MessageType, type NodeId, Rng } from "../../src/raft/index.js";
import type { SimCluster } from "../sim/cluster.js";
import {
  agreedLeader,
  assertSameValues,
  commitWrite,
  newCluster,
  others,
  statusOf,
  tapSent,
  valuesOf,
  waitAllWritesCommitted,
  waitFor,
  waitForLeader,
  waitSettled,
} from "./sim-helpers.js";

/** How many times each value occurs in the entries applied cluster-wide (index → entry). */
function occurrences(c: SimCluster): Map<string, number> {
  const n = new Map<string, number>();
  for (const { key } of c.appliedAt.values()) n.set(key, (n.get(key) ?? 0) + 1);
  return n;
}

test("§5.3 basic agreement: writes commit on every node, in the same order", () => {
  const c = newCluster(3, 201);
  const l = waitForLeader(c);
  const expected: string[] = [];
  for (let i = 0; i < 10; i++) expected.push(commitWrite(c, l.id).value);
  // Through followers too: they forward to the leader.
  for (const id of others(c.ids(), l.id)) expected.push(commitWrite(c, id).value);
  waitSettled(c);
  assert.deepEqual(assertSameValues(c), expected);
  for (const id of c.ids()) assert.equal(statusOf(c, id).commitIndex, statusOf(c, l.id).lastIndex);
  c.checkConverged();
});

test("§5.3 agreement with one follower disconnected; it catches up after reconnecting", () => {
  const c = newCluster(3, 202);
  const l = waitForLeader(c);
  const [f] = others(c.ids(), l.id);
  commitWrite(c, l.id);
  waitSettled(c);
  c.isolate(f!);
  for (let i = 0; i < 20; i++) commitWrite(c, l.id);
  assert.equal(valuesOf(c, f!).length, 1, "the disconnected follower got none of them");
  c.healNetwork();
  waitSettled(c);
  assert.equal(assertSameValues(c).length, 21);
  assert.equal(agreedLeader(c)?.id, l.id, "a follower coming back does not disturb the leader");
});

test("§5.3 no commit without a majority: the minority side never commits, the majority side does", () => {
  const c = newCluster(5, 203);
  const l = waitForLeader(c);
  commitWrite(c, l.id);
  const [f1, ...majority] = others(c.ids(), l.id);
  const commitBefore = statusOf(c, l.id).commitIndex;
  c.partition([l.id, f1!], majority);
  const lost = [c.write(l.id), c.write(l.id), c.write(f1!)];
  c.ticks(100);
  assert.ok(lost.every((w) => w.status === "pending"));
  assert.equal(statusOf(c, l.id).commitIndex, commitBefore);
  assert.equal(statusOf(c, f1!).commitIndex, commitBefore);
  assert.ok(statusOf(c, l.id).lastIndex > commitBefore, "the old leader did append them");
  const l2 = waitForLeader(c, 300, majority);
  const ok = [
    commitWrite(c, l2.id),
    commitWrite(
      c,
      majority.find((id) => id !== l2.id),
    ),
  ];
  c.healNetwork();
  waitSettled(c);
  const values = assertSameValues(c);
  for (const w of lost) assert.ok(!values.includes(w.value), `${w.value} from the minority must not commit`);
  for (const w of ok) assert.ok(values.includes(w.value));
});

test("§5.3 concurrent proposals through every node in one tick: all committed exactly once, same order everywhere", () => {
  const c = newCluster(5, 204);
  waitForLeader(c);
  for (let i = 0; i < 10; i++) for (const id of c.ids()) c.write(id);
  waitFor(c, "all writes applied", () => c.writes.every((w) => w.status === "ok") && c.isSettled(), 300);
  const values = assertSameValues(c);
  assert.equal(values.length, 50);
  assert.deepEqual([...values].sort(), c.writes.map((w) => w.value).sort());
  for (const w of c.writes) assert.equal(occurrences(c).get(w.value), 1, `${w.value} in the log once`);
});

test("§5.4 a partitioned old leader rejoins: its uncommitted entries are discarded and replaced", () => {
  const c = newCluster(3, 205);
  const l1 = waitForLeader(c);
  commitWrite(c, l1.id);
  c.isolate(l1.id);
  const stale = [c.write(l1.id), c.write(l1.id), c.write(l1.id)];
  const oldTerm = statusOf(c, l1.id).term;
  const firstStale = statusOf(c, l1.id).commitIndex + 1;
  assert.equal(statusOf(c, l1.id).lastIndex, firstStale + 2);
  const rest = others(c.ids(), l1.id);
  const l2 = waitForLeader(c, 300, rest);
  const fresh = [commitWrite(c, l2.id), commitWrite(c, l2.id), commitWrite(c, l2.id), commitWrite(c, l2.id)];
  c.healNetwork();
  waitSettled(c);
  assert.equal(agreedLeader(c)?.id, l2.id);
  const values = assertSameValues(c);
  for (const w of stale) assert.ok(!values.includes(w.value));
  for (const w of fresh) assert.ok(values.includes(w.value));
  for (let i = firstStale; i < firstStale + 3; i++) {
    assert.notEqual(
      c.node(l1.id).raft!.raft.log.term(i),
      oldTerm,
      `entry ${i} on the old leader was replaced`,
    );
  }
});

test("§5.3 fast backup: a follower with 50+ conflicting entries catches up with a few rejected appends", () => {
  const c = newCluster(5, 206);
  const l1 = waitForLeader(c);
  commitWrite(c, l1.id);
  const [f1, ...majority] = others(c.ids(), l1.id);
  // The minority side accumulates 60 entries of its term that will never commit.
  c.partition([l1.id, f1!], majority);
  for (let i = 0; i < 60; i++) c.write(l1.id);
  c.ticks(5);
  assert.ok(statusOf(c, f1!).lastIndex >= 60);
  // The majority commits 60 entries in a new term, then another 20 under yet another leader.
  const l2 = waitForLeader(c, 300, majority);
  for (let i = 0; i < 60; i++) c.write(l2.id);
  waitFor(c, "majority commits", () => c.writes.slice(-60).every((w) => w.status === "ok"), 300);
  const target = others(majority, l2.id)[0]!;
  c.transferLeadership(l2.id, target);
  waitFor(c, "leadership moves", () => agreedLeader(c, majority)?.id === target, 100);
  for (let i = 0; i < 20; i++) c.write(target);
  waitFor(c, "third term commits", () => c.writes.slice(-20).every((w) => w.status === "ok"), 300);
  // Count the rejections each stale node sends once it can talk to the leader again.
  const rejections = new Map<NodeId, number>();
  tapSent(c, (m: Message) => {
    if (m.type === MessageType.AppResp && m.reject) rejections.set(m.from, (rejections.get(m.from) ?? 0) + 1);
  });
  c.healNetwork();
  waitSettled(c, 300);
  assertSameValues(c);
  for (const id of [l1.id, f1!]) {
    const n = rejections.get(id) ?? 0;
    assert.ok(n >= 1, `${id} had a conflicting log`);
    assert.ok(n <= 5, `${id} sent ${n} rejections for a 60-entry conflict`);
  }
});

test("§10.2.1 batching: 200 writes proposed in a burst commit with far fewer than 200 appends per follower", () => {
  const c = newCluster(3, 207);
  const l = waitForLeader(c);
  waitSettled(c);
  const apps = new Map<NodeId, number>();
  let maxBatch = 0;
  tapSent(c, (m) => {
    if (m.type !== MessageType.App) return;
    apps.set(m.to, (apps.get(m.to) ?? 0) + 1);
    maxBatch = Math.max(maxBatch, m.entries.length);
  });
  for (let i = 0; i < 200; i++) c.write(l.id);
  const ticks = waitFor(
    c,
    "burst committed",
    () => c.writes.every((w) => w.status === "ok") && c.isSettled(),
    200,
  );
  assert.equal(assertSameValues(c).length, 200);
  for (const id of others(c.ids(), l.id)) {
    const n = apps.get(id) ?? 0;
    assert.ok(n <= 40, `${n} appends to ${id} for 200 entries`);
  }
  assert.ok(maxBatch >= 10, `largest append carried ${maxBatch} entries`);
  assert.ok(ticks < 40, `burst took ${ticks} ticks`);
});

test("§10.2.2 pipelining: the leader never has more appends in flight to one follower than its window", () => {
  const window = 4;
  const c = newCluster(3, 208, { maxInflightMsgs: window, maxSizePerMsg: 64 });
  const l = waitForLeader(c);
  waitSettled(c);
  c.net.faults = { lossRate: 0, duplicateRate: 0, minDelay: 3, maxDelay: 3 };
  let maxInflight = 0;
  for (let i = 0; i < 100; i++) {
    c.write(l.id);
    for (const [id, pr] of c.node(l.id).raft!.raft.prs) {
      if (id !== l.id) maxInflight = Math.max(maxInflight, pr.inflights.count);
    }
  }
  assert.ok(maxInflight <= window);
  assert.equal(maxInflight, window, "the window fills under a burst");
  waitFor(c, "pipelined writes commit", () => c.writes.every((w) => w.status === "ok") && c.isSettled(), 300);
});

test("§5.1 persistence: after every node crashes and restarts, committed data is still there and new writes commit", () => {
  const c = newCluster(5, 209);
  const l = waitForLeader(c);
  for (let i = 0; i < 15; i++) commitWrite(c, l.id);
  waitSettled(c);
  const before = Object.fromEntries(c.ids().map((id) => [id, statusOf(c, id)]));
  const committed = assertSameValues(c);
  for (const id of c.ids()) c.crash(id);
  c.net.clear();
  c.ticks(20);
  for (const id of c.ids()) c.restart(id);
  for (const id of c.ids()) {
    const st = statusOf(c, id);
    assert.equal(st.term, before[id]!.term, `${id} remembers its term`);
    assert.equal(st.lastIndex, before[id]!.lastIndex, `${id} keeps its log`);
    assert.ok(st.commitIndex >= committed.length, `${id} remembers its commit index`);
  }
  waitForLeader(c, 300);
  const after = commitWrite(c);
  waitSettled(c);
  assert.deepEqual(assertSameValues(c), [...committed, after.value]);
});

test("§5.1 persistence: a minority restarted alone elects nobody; restarting a majority does", () => {
  const c = newCluster(5, 210);
  const l = waitForLeader(c);
  for (let i = 0; i < 5; i++) commitWrite(c, l.id);
  for (const id of c.ids()) c.crash(id);
  c.net.clear();
  const [a, b, d] = c.ids();
  c.restart(a!);
  c.restart(b!);
  c.ticks(200);
  assert.equal(c.leader(), undefined);
  c.restart(d!);
  const l2 = waitForLeader(c, 300, [a!, b!, d!]);
  commitWrite(c, l2.id);
  for (const id of c.ids()) c.restart(id);
  waitSettled(c);
  assertSameValues(c);
});

test("§5.1 persistence: a node crashing right after persisting (before sending) loses nothing it acknowledged", () => {
  const c = newCluster(3, 211);
  const l = waitForLeader(c);
  const rng = new Rng(211);
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 3; i++) c.write(agreedLeader(c)?.id ?? l.id);
    c.node(rng.pick(c.ids())).crashAfterPersist = true;
    c.ticks(1 + rng.int(4));
    for (const id of c.ids()) {
      c.node(id).crashAfterPersist = false;
      c.restart(id);
    }
    waitForLeader(c, 300);
  }
  waitAllWritesCommitted(c);
  c.checkConverged();
});

test("§5.3 agreement on an unreliable network (20% loss, duplication, reordering delays)", () => {
  const c = newCluster(5, 212);
  waitForLeader(c);
  c.net.faults = { lossRate: 0.2, duplicateRate: 0.1, minDelay: 0, maxDelay: 3 };
  const rng = new Rng(212);
  for (let i = 0; i < 60; i++) {
    c.write(rng.pick(c.ids()));
    c.ticks(rng.int(3));
    if (i % 10 === 0) c.read(rng.pick(c.ids()));
  }
  waitAllWritesCommitted(c, 3000);
  c.checkConverged();
  assert.equal(assertSameValues(c).length, 60);
});

test("§5.3 unreliable network: a retried write is applied once even when its proposal is duplicated", () => {
  const c = newCluster(3, 213);
  waitForLeader(c);
  c.net.faults = { lossRate: 0, duplicateRate: 0.5, minDelay: 0, maxDelay: 2 };
  for (let i = 0; i < 30; i++) c.write(c.ids()[i % 3]!);
  waitAllWritesCommitted(c, 1000);
  const values = assertSameValues(c);
  assert.equal(new Set(values).size, values.length);
  assert.equal(values.length, 30);
});
