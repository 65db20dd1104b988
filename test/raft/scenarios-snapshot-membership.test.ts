import assert from "node:assert/strict";
import { test } from "node:test";
import { type Message, MessageType, type NodeId } from "../../src/raft/index.js";
import type { SimCluster } from "../sim/cluster.js";
import { encodeValue } from "../sim/state-machine.js";
import {
  agreedLeader,
  assertSameValues,
  commitWrite,
  newCluster,
  others,
  statusOf,
  tapSent,
  valuesOf,
  waitFor,
  waitForLeader,
  waitSettled,
} from "./sim-helpers.js";

function countSent(c: SimCluster, pred: (m: Message) => boolean): { n: number } {
  const counter = { n: 0 };
  tapSent(c, (m) => {
    if (pred(m)) counter.n++;
  });
  return counter;
}

/** Snapshots every live node's state machine and compacts its whole log. */
function compactAll(c: SimCluster): void {
  for (const id of c.aliveIds()) c.snapshot(id);
}

// ---------------------------------------------------------------- snapshots

test("§7 InstallSnapshot: a follower behind the leader's compacted log is caught up with a chunked snapshot", () => {
  const c = newCluster(3, 401, { maxSnapshotChunkBytes: 128 });
  const l = waitForLeader(c);
  commitWrite(c, l.id);
  waitSettled(c);
  const [f] = others(c.ids(), l.id);
  c.crash(f!);
  for (let i = 0; i < 40; i++) c.write(l.id);
  waitFor(c, "writes commit without f", () => c.writes.every((w) => w.status === "ok"), 200);
  c.ticks(3);
  compactAll(c);
  const meta = c.node(l.id).storage.snapshot();
  assert.ok(meta.size > 3 * 128, `snapshot of ${meta.size} bytes needs several chunks`);
  assert.ok(c.node(l.id).storage.firstIndex() > statusOf(c, l.id).commitIndex - 1);
  const snaps = countSent(c, (m) => m.type === MessageType.Snap && m.to === f);
  const apps = countSent(c, (m) => m.type === MessageType.App && m.to === f && m.entries.length > 0);
  c.restart(f!);
  waitSettled(c);
  assert.ok(snaps.n >= Math.ceil(meta.size / 128), `${snaps.n} chunks sent`);
  assert.equal(
    c.node(f!).storage.snapshot().index,
    meta.index,
    "the follower installed the leader's snapshot",
  );
  assert.deepEqual(valuesOf(c, f!), valuesOf(c, l.id));
  // The follower is back to ordinary replication afterwards.
  const after = commitWrite(c, l.id);
  waitSettled(c);
  assert.ok(valuesOf(c, f!).includes(after.value));
  assert.ok(apps.n >= 1);
  assert.equal(statusOf(c, l.id).progress[f!]?.state, "replicate");
});

test("§7 crash during a snapshot install: the receiver restarts and the transfer completes", () => {
  const c = newCluster(3, 402, { maxSnapshotChunkBytes: 64 });
  const l = waitForLeader(c);
  waitSettled(c);
  const [f] = others(c.ids(), l.id);
  c.crash(f!);
  for (let i = 0; i < 60; i++) c.write(l.id);
  waitFor(c, "writes commit without f", () => c.writes.every((w) => w.status === "ok"), 200);
  compactAll(c);
  const meta = c.node(l.id).storage.snapshot();
  const chunks = Math.ceil(meta.size / 64);
  assert.ok(chunks >= 8, `${chunks} chunks`);
  const snaps = countSent(c, (m) => m.type === MessageType.Snap && m.to === f);
  const rejected = countSent(c, (m) => m.type === MessageType.SnapResp && m.reject);
  c.restart(f!);
  waitFor(c, "some chunks staged", () => c.node(f!).staging.length >= 2, 100);
  assert.equal(c.node(f!).storage.snapshot().index, 0, "not installed yet");
  c.crash(f!);
  c.ticks(15);
  c.restart(f!);
  waitSettled(c, 300);
  assert.equal(c.node(f!).storage.snapshot().index, meta.index);
  assert.deepEqual(valuesOf(c, f!), valuesOf(c, l.id));
  assert.ok(snaps.n > chunks, `the transfer started over (${snaps.n} chunks sent for ${chunks})`);
  assert.ok(rejected.n >= 1, "the restarted follower asked to start over");
});

test("§7 a snapshot sent over a lossy, reordering link still installs exactly the leader's state", () => {
  const c = newCluster(3, 403, { maxSnapshotChunkBytes: 64 });
  const l = waitForLeader(c);
  waitSettled(c);
  const [f] = others(c.ids(), l.id);
  c.crash(f!);
  for (let i = 0; i < 50; i++) c.write(l.id);
  waitFor(c, "writes commit", () => c.writes.every((w) => w.status === "ok"), 200);
  compactAll(c);
  c.net.faults = { lossRate: 0.2, duplicateRate: 0.1, minDelay: 0, maxDelay: 3 };
  c.restart(f!);
  waitFor(
    c,
    "snapshot installed",
    () => c.node(f!).sm.appliedIndex >= c.node(l.id).storage.snapshot().index,
    1000,
  );
  c.net.faults = { lossRate: 0, duplicateRate: 0, minDelay: 0, maxDelay: 0 };
  waitSettled(c, 500);
  assertSameValues(c);
});

test("§7 a node whose log is compacted restarts from its own snapshot", () => {
  const c = newCluster(3, 404);
  const l = waitForLeader(c);
  for (let i = 0; i < 10; i++) commitWrite(c, l.id);
  waitSettled(c);
  compactAll(c);
  for (const id of c.ids()) c.crash(id);
  c.net.clear();
  for (const id of c.ids()) c.restart(id);
  for (const id of c.ids()) {
    const st = statusOf(c, id);
    assert.equal(st.firstIndex, c.node(id).storage.snapshot().index + 1);
    assert.ok(st.commitIndex >= st.firstIndex - 1);
  }
  waitForLeader(c, 300);
  commitWrite(c);
  waitSettled(c);
  assert.equal(assertSameValues(c).length, 11);
});

// --------------------------------------------------------------- membership

test("§4.2.1 a learner receives the log but never votes or counts toward commit; promoted, it counts", () => {
  // Two voters and a learner: whether the learner counts decides whether one voter can commit with it.
  const c = newCluster(2, 405);
  const l = waitForLeader(c);
  commitWrite(c, l.id);
  assert.equal(c.proposeConfChange(l.id, { type: "addLearner", nodeId: "n3" })?.ok, true);
  c.spawn("n3");
  const votesToOrFrom3 = countSent(
    c,
    (m) =>
      (m.from === "n3" || m.to === "n3") &&
      [MessageType.Vote, MessageType.PreVote, MessageType.VoteResp, MessageType.PreVoteResp].includes(m.type),
  );
  waitSettled(c);
  assert.equal(c.node("n3").raft!.role(), "learner");
  assert.deepEqual(statusOf(c, l.id).conf, { voters: ["n1", "n2"], learners: ["n3"] });
  assert.deepEqual(valuesOf(c, "n3"), valuesOf(c, l.id), "the learner has the log");

  // The other voter is down: the learner holds the new entry, yet it is not committed.
  const [v2] = others(["n1", "n2"], l.id);
  c.crash(v2!);
  const w = c.write(l.id);
  const lastIndex = statusOf(c, l.id).lastIndex;
  waitFor(c, "learner has the entry", () => statusOf(c, "n3").lastIndex === lastIndex, 20);
  c.ticks(100);
  assert.equal(w.status, "pending");
  assert.ok(statusOf(c, l.id).commitIndex < lastIndex);
  assert.notEqual(statusOf(c, "n3").role, "leader");
  assert.equal(statusOf(c, "n3").role, "learner");
  c.restart(v2!);
  waitFor(c, "write commits with both voters", () => w.status === "ok", 300);
  assert.equal(votesToOrFrom3.n, 0, "nobody asked the learner for a vote, and it never asked");

  // Promote once caught up.
  const leader = waitForLeader(c, 300);
  waitFor(
    c,
    "learner caught up",
    () => {
      const st = statusOf(c, leader.id);
      return (st.progress.n3?.match ?? 0) >= st.commitIndex;
    },
    100,
  );
  assert.equal(c.proposeConfChange(leader.id, { type: "addVoter", nodeId: "n3" })?.ok, true);
  waitSettled(c);
  assert.deepEqual(statusOf(c, leader.id).conf, { voters: ["n1", "n2", "n3"], learners: [] });
  assert.equal(statusOf(c, "n3").role, "follower");
  // Now one original voter plus n3 is a majority.
  const other = others(["n1", "n2"], leader.id)[0]!;
  c.crash(leader.id === "n3" ? "n1" : other);
  const l2 = waitForLeader(c, 300);
  commitWrite(c, l2.id);
});

test("§4.2.2 removing the leader: it steps down once the removal commits; the rest elect a leader and commit", () => {
  const c = newCluster(3, 406);
  const l = waitForLeader(c);
  const oldTerm = statusOf(c, l.id).term;
  commitWrite(c, l.id);
  assert.equal(c.proposeConfChange(l.id, { type: "removeNode", nodeId: l.id })?.ok, true);
  assert.equal(statusOf(c, l.id).role, "leader", "still leads while the removal is uncommitted");
  waitFor(c, "removed leader steps down", () => statusOf(c, l.id).role !== "leader", 50);
  assert.deepEqual(statusOf(c, l.id).conf.voters, others(c.ids(), l.id));
  const rest = others(c.ids(), l.id);
  const next = waitForLeader(c, 300, rest);
  assert.ok(statusOf(c, next.id).term > oldTerm);
  // The removed node never campaigns again, even while it still runs.
  c.ticks(100);
  assert.equal(agreedLeader(c, rest)?.id, next.id);
  assert.notEqual(statusOf(c, l.id).role, "leader");
  c.retire(l.id);
  for (let i = 0; i < 5; i++) commitWrite(c, next.id);
  waitSettled(c);
  assertSameValues(c, rest);
});

test("§4.1 removing a follower shrinks the majority: the two remaining nodes of four commit alone", () => {
  const c = newCluster(4, 407);
  const l = waitForLeader(c);
  waitSettled(c);
  const [gone, down] = others(c.ids(), l.id);
  assert.equal(c.proposeConfChange(l.id, { type: "removeNode", nodeId: gone! })?.ok, true);
  waitSettled(c);
  c.retire(gone!);
  assert.equal(statusOf(c, l.id).conf.voters.length, 3);
  c.crash(down!);
  commitWrite(c, l.id);
});

test("§4.1 membership changes go one at a time and a new server joins as a learner first", () => {
  const c = newCluster(3, 408);
  const l = waitForLeader(c);
  waitSettled(c);
  assert.equal(c.proposeConfChange(l.id, { type: "addLearner", nodeId: "n4" })?.ok, true);
  assert.deepEqual(c.proposeConfChange(l.id, { type: "addLearner", nodeId: "n5" }), {
    ok: false,
    reason: "conf_change_pending",
    leaderId: l.id,
  });
  c.spawn("n4");
  waitSettled(c);
  assert.equal(c.proposeConfChange(l.id, { type: "addVoter", nodeId: "n4" })?.ok, true);
  waitSettled(c);
  assert.deepEqual(statusOf(c, l.id).conf.voters, ["n1", "n2", "n3", "n4"]);
  assert.deepEqual(c.proposeConfChange(l.id, { type: "removeNode", nodeId: "n9" }), {
    ok: false,
    reason: "invalid_conf_change",
    leaderId: l.id,
  });
  commitWrite(c, "n4");
  waitSettled(c);
  assertSameValues(c);
});

// ---------------------------------------------------------- leadership transfer

test("§3.10 leadership transfer to a caught-up follower completes within a few ticks", () => {
  const c = newCluster(3, 409);
  const l = waitForLeader(c);
  commitWrite(c, l.id);
  waitSettled(c);
  const [to] = others(c.ids(), l.id);
  const term = statusOf(c, l.id).term;
  c.transferLeadership(l.id, to!);
  const ticks = waitFor(c, "transfer", () => agreedLeader(c)?.id === to, 20);
  assert.ok(ticks < 5, `took ${ticks} ticks`);
  assert.equal(statusOf(c, to!).term, term + 1);
  commitWrite(c, to!);
});

test("§3.10 leadership transfer to a lagging follower catches it up first; proposals are refused meanwhile", () => {
  const c = newCluster(3, 410);
  const l = waitForLeader(c);
  waitSettled(c);
  const [to, other] = others(c.ids(), l.id) as [NodeId, NodeId];
  c.isolate(to);
  for (let i = 0; i < 30; i++) commitWrite(c, l.id);
  c.healNetwork();
  const lastIndex = statusOf(c, l.id).lastIndex;
  assert.ok(statusOf(c, to).lastIndex < lastIndex - 20);
  const timeoutNows = countSent(c, (m) => m.type === MessageType.TimeoutNow);
  c.transferLeadership(l.id, to);
  assert.equal(statusOf(c, l.id).leadTransferee, to);
  assert.equal(timeoutNows.n, 0, "no TimeoutNow to a lagging follower");
  const refused = c.node(l.id).raft!.propose(encodeValue("during-transfer"));
  assert.deepEqual(refused, { ok: false, reason: "transferring", leaderId: l.id });
  const forwarded = c.write(other);
  // A few round trips to find where the logs agree and to catch up, then one to elect: well within
  // the election timeout after which the leader would abandon the transfer.
  const ticks = waitFor(c, "transfer", () => agreedLeader(c)?.id === to, 30);
  assert.ok(ticks <= 12, `took ${ticks} ticks`);
  assert.equal(timeoutNows.n, 1);
  // Leader completeness: the new leader holds every entry the old one had committed.
  assert.ok(statusOf(c, to).lastIndex > lastIndex);
  waitSettled(c);
  assert.ok(!valuesOf(c, to).includes("during-transfer"));
  assert.equal(forwarded.status, "pending", "a proposal forwarded during the transfer was dropped");
  c.submitWrite(forwarded, to);
  waitFor(c, "retried write", () => forwarded.status === "ok", 50);
});

test("§3.10 a transfer to an unreachable follower is abandoned after an election timeout", () => {
  const c = newCluster(3, 411);
  const l = waitForLeader(c);
  waitSettled(c);
  const [to] = others(c.ids(), l.id);
  c.isolate(to!);
  c.transferLeadership(l.id, to!);
  assert.equal(c.node(l.id).raft!.propose(encodeValue("x")).ok, false);
  waitFor(c, "transfer abandoned", () => statusOf(c, l.id).leadTransferee === "", 25);
  assert.equal(agreedLeader(c, others(c.ids(), to!))?.id, l.id);
  commitWrite(c, l.id);
});

test("§7 the leader replaces its snapshot while streaming it: the follower ends up with the newer one", () => {
  const c = newCluster(3, 412, { maxSnapshotChunkBytes: 32 });
  const l = waitForLeader(c);
  waitSettled(c);
  const [f] = others(c.ids(), l.id);
  c.crash(f!);
  for (let i = 0; i < 30; i++) c.write(l.id);
  waitFor(c, "writes commit", () => c.writes.every((w) => w.status === "ok"), 200);
  compactAll(c);
  c.net.faults = { lossRate: 0, duplicateRate: 0, minDelay: 2, maxDelay: 2 };
  c.restart(f!);
  waitFor(c, "transfer under way", () => c.node(f!).staging.length >= 1, 100);
  for (let i = 0; i < 10; i++) c.write(l.id);
  waitFor(c, "more writes commit", () => c.writes.every((w) => w.status === "ok"), 200);
  compactAll(c);
  const newer = c.node(l.id).storage.snapshot();
  waitSettled(c, 500);
  assert.ok(c.node(f!).storage.snapshot().index >= newer.index);
  assertSameValues(c);
});

test("§7 the leader crashes while streaming a snapshot: the next leader finishes the job", () => {
  const c = newCluster(3, 413, { maxSnapshotChunkBytes: 32 });
  const l = waitForLeader(c);
  waitSettled(c);
  const [f, other] = others(c.ids(), l.id) as [NodeId, NodeId];
  c.crash(f);
  for (let i = 0; i < 30; i++) c.write(l.id);
  waitFor(c, "writes commit", () => c.writes.every((w) => w.status === "ok"), 200);
  c.ticks(3);
  compactAll(c);
  c.restart(f);
  waitFor(c, "transfer under way", () => c.node(f).staging.length >= 1, 100);
  c.crash(l.id);
  waitFor(c, "new leader", () => agreedLeader(c, [f, other])?.id === other, 300);
  commitWrite(c, other);
  c.restart(l.id);
  waitSettled(c, 500);
  assertSameValues(c);
});

test("§4.2.3 a removed server that never learned of its removal does not disrupt the cluster", () => {
  const c = newCluster(3, 414);
  const l = waitForLeader(c);
  waitSettled(c);
  const [gone, stay] = others(c.ids(), l.id) as [NodeId, NodeId];
  c.isolate(gone);
  assert.equal(c.proposeConfChange(l.id, { type: "removeNode", nodeId: gone })?.ok, true);
  waitFor(c, "removal commits", () => statusOf(c, stay).conf.voters.length === 2 && c.isSettled(), 100);
  const term = statusOf(c, l.id).term;
  c.ticks(100);
  c.healNetwork();
  // It still thinks it is a voter and keeps campaigning, but the members never answer it.
  c.ticks(300);
  assert.deepEqual(statusOf(c, gone).conf.voters.length, 3);
  assert.equal(agreedLeader(c, [l.id, stay])?.id, l.id);
  assert.equal(statusOf(c, l.id).term, term);
  commitWrite(c, l.id);
});
