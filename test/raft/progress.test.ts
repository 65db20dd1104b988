import assert from "node:assert/strict";
import { test } from "node:test";
import { InvariantError } from "../../src/raft/index.js";
import { Inflights } from "../../src/raft/inflights.js";
import { Progress } from "../../src/raft/progress.js";

const meta = (index: number) => ({ index, term: 1, conf: { voters: ["a"], learners: [] }, size: 10 });

test("inflights window bound: full at capacity, adding beyond it is an invariant violation", () => {
  const w = new Inflights(3);
  w.add(1);
  w.add(2);
  assert.equal(w.full(), false);
  w.add(5);
  assert.equal(w.full(), true);
  assert.equal(w.count, 3);
  assert.throws(() => w.add(6), InvariantError);
});

test("inflights: a window of zero messages is refused", () => {
  assert.throws(() => new Inflights(0), InvariantError);
});

test("inflights: last indexes must grow (messages are sent in log order)", () => {
  const w = new Inflights(4);
  w.add(3);
  assert.throws(() => w.add(3), InvariantError);
  assert.throws(() => w.add(2), InvariantError);
});

test("inflights: freeLE releases every message acknowledged by the index", () => {
  const w = new Inflights(4);
  for (const i of [2, 4, 6, 8]) w.add(i);
  w.freeLE(1);
  assert.equal(w.count, 4);
  w.freeLE(5);
  assert.equal(w.count, 2);
  w.freeLE(100);
  assert.equal(w.count, 0);
  w.add(9);
  assert.equal(w.count, 1);
});

test("inflights: freeFirst releases one slot so a heartbeat reply unblocks a full window", () => {
  const w = new Inflights(2);
  w.add(1);
  w.add(2);
  w.freeFirst();
  assert.equal(w.full(), false);
  w.add(3);
  w.reset();
  assert.equal(w.count, 0);
  w.freeFirst();
  assert.equal(w.count, 0);
});

test("maybeUpdate: a newer acknowledgement raises match and next; a stale one changes nothing", () => {
  const pr = new Progress(5, 4, false);
  assert.equal(pr.maybeUpdate(3), true);
  assert.equal(pr.match, 3);
  assert.equal(pr.next, 5);
  assert.equal(pr.maybeUpdate(2), false);
  assert.equal(pr.match, 3);
  assert.equal(pr.maybeUpdate(7), true);
  assert.equal(pr.next, 8);
});

test("maybeUpdate clears an outstanding probe", () => {
  const pr = new Progress(5, 4, false);
  pr.probeSent = true;
  assert.equal(pr.isPaused(), true);
  pr.maybeUpdate(4);
  assert.equal(pr.isPaused(), false);
});

test("maybeDecrTo in replicate: a rejection at or below match is stale and ignored", () => {
  const pr = new Progress(1, 4, false);
  pr.match = 5;
  pr.becomeReplicate();
  pr.next = 9;
  assert.equal(pr.maybeDecrTo(5, 2), false);
  assert.equal(pr.maybeDecrTo(3, 2), false);
  assert.equal(pr.next, 9);
});

test("maybeDecrTo in replicate: a real rejection falls back to match + 1", () => {
  const pr = new Progress(1, 4, false);
  pr.match = 5;
  pr.becomeReplicate();
  pr.next = 9;
  assert.equal(pr.maybeDecrTo(7, 6), true);
  assert.equal(pr.next, 6);
});

test("maybeDecrTo in probe: only the rejection of the outstanding probe (next - 1) counts", () => {
  const pr = new Progress(10, 4, false);
  pr.probeSent = true;
  assert.equal(pr.maybeDecrTo(8, 3), false);
  assert.equal(pr.next, 10);
  assert.equal(pr.probeSent, true);
  assert.equal(pr.maybeDecrTo(9, 3), true);
  assert.equal(pr.next, 4);
  assert.equal(pr.probeSent, false);
});

test("§5.3 maybeDecrTo in probe uses the follower's hint but never goes below match + 1 or 1", () => {
  const pr = new Progress(10, 4, false);
  assert.equal(pr.maybeDecrTo(9, 100), true);
  assert.equal(pr.next, 9, "a hint past the rejected index moves back by one");
  pr.match = 4;
  assert.equal(pr.maybeDecrTo(8, 0), true);
  assert.equal(pr.next, 5);
  const fresh = new Progress(3, 4, false);
  assert.equal(fresh.maybeDecrTo(2, -5), true);
  assert.equal(fresh.next, 1);
});

test("isPaused: probe waits for its answer, replicate for window space, snapshot always", () => {
  const pr = new Progress(1, 2, false);
  assert.equal(pr.state, "probe");
  assert.equal(pr.isPaused(), false);
  pr.probeSent = true;
  assert.equal(pr.isPaused(), true);
  pr.becomeReplicate();
  assert.equal(pr.isPaused(), false);
  pr.inflights.add(1);
  pr.inflights.add(2);
  assert.equal(pr.isPaused(), true);
  pr.becomeSnapshot(meta(10));
  assert.equal(pr.isPaused(), true);
});

test("becomeReplicate restarts from match + 1 with an empty window", () => {
  const pr = new Progress(1, 2, false);
  pr.match = 7;
  pr.next = 3;
  pr.probeSent = true;
  pr.becomeReplicate();
  assert.equal(pr.state, "replicate");
  assert.equal(pr.next, 8);
  assert.equal(pr.inflights.count, 0);
  assert.equal(pr.probeSent, false);
});

test("becomeProbe after a snapshot resumes after the snapshot index", () => {
  const pr = new Progress(1, 2, false);
  pr.match = 3;
  pr.becomeSnapshot(meta(20));
  pr.snapshotSent = 10;
  pr.becomeProbe();
  assert.equal(pr.state, "probe");
  assert.equal(pr.next, 21);
  assert.equal(pr.snapshot, undefined);
  assert.equal(pr.snapshotSent, 0);
});

test("becomeProbe from replicate resumes at match + 1", () => {
  const pr = new Progress(1, 2, false);
  pr.match = 3;
  pr.becomeReplicate();
  pr.inflights.add(9);
  pr.becomeProbe();
  assert.equal(pr.next, 4);
  assert.equal(pr.inflights.count, 0);
});
