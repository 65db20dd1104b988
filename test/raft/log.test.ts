import assert from "node:assert/strict";
import { test } from "node:test";
import { CompactedError, InvariantError, MemoryStorage, UnavailableError } from "../../src/raft/index.js";
import { RaftLog } from "../../src/raft/log.js";
import { confOf, entriesWithTerms, entry } from "./helpers.js";

const conf = confOf(["a", "b", "c"]);

/** A log whose persisted part has the given terms at indexes 1.. and no unstable tail. */
function stableLog(terms: number[]): RaftLog {
  const s = new MemoryStorage(conf);
  s.append(entriesWithTerms(terms));
  return new RaftLog(s, 0);
}

function termsOf(log: RaftLog, from = log.firstIndex()): number[] {
  const out: number[] = [];
  for (let i = from; i <= log.lastIndex(); i++) out.push(log.term(i));
  return out;
}

test("an empty log starts at index 1 with last index 0 and term 0", () => {
  const log = new RaftLog(new MemoryStorage(conf), 0);
  assert.equal(log.firstIndex(), 1);
  assert.equal(log.lastIndex(), 0);
  assert.equal(log.lastTerm(), 0);
  assert.equal(log.committed, 0);
  assert.equal(log.applied, 0);
});

test("§5.4.1 isUpToDate: a later last term wins regardless of length", () => {
  const log = stableLog([1, 1, 2, 2, 2]);
  assert.equal(log.isUpToDate(1, 3), true);
  assert.equal(log.isUpToDate(100, 1), false);
});

test("§5.4.1 isUpToDate: with equal last terms the longer (or equal) log wins", () => {
  const log = stableLog([1, 1, 2, 2, 2]);
  assert.equal(log.isUpToDate(5, 2), true);
  assert.equal(log.isUpToDate(6, 2), true);
  assert.equal(log.isUpToDate(4, 2), false);
  assert.equal(new RaftLog(new MemoryStorage(conf), 0).isUpToDate(0, 0), true);
});

test("§5.3 findConflict: 0 when all entries match or only extend the log", () => {
  const log = stableLog([1, 2, 3]);
  assert.equal(log.findConflict([]), 0);
  assert.equal(log.findConflict(entriesWithTerms([1, 2, 3])), 0);
  assert.equal(log.findConflict(entriesWithTerms([2, 3], 2)), 0);
});

test("§5.3 findConflict: the first new index when entries go past the log", () => {
  const log = stableLog([1, 2, 3]);
  assert.equal(log.findConflict(entriesWithTerms([2, 3, 4, 4], 2)), 4);
  assert.equal(log.findConflict(entriesWithTerms([4, 4], 4)), 4);
});

test("§5.3 findConflict: the first index whose term differs", () => {
  const log = stableLog([1, 2, 3]);
  assert.equal(log.findConflict(entriesWithTerms([1, 4, 4])), 2);
  assert.equal(log.findConflict(entriesWithTerms([4, 4], 3)), 3);
  assert.equal(log.findConflict(entriesWithTerms([5, 5, 5, 5])), 1);
});

test("§5.3 findConflictByTerm fast backtracking: skips every entry of a term above the given one", () => {
  // index:  1 2 3 4 5 6 7 8 9 10
  const log = stableLog([1, 1, 1, 4, 4, 5, 5, 6, 6, 6]);
  assert.equal(log.findConflictByTerm(10, 6), 10);
  assert.equal(log.findConflictByTerm(10, 5), 7);
  assert.equal(log.findConflictByTerm(10, 4), 5);
  assert.equal(log.findConflictByTerm(10, 3), 3);
  assert.equal(log.findConflictByTerm(10, 2), 3);
  assert.equal(log.findConflictByTerm(10, 0), 0);
  assert.equal(log.findConflictByTerm(6, 4), 5);
  assert.equal(log.findConflictByTerm(0, 9), 0);
});

test("§5.3 findConflictByTerm stops at the compaction boundary instead of scanning a compacted prefix", () => {
  const s = new MemoryStorage(conf);
  s.append(entriesWithTerms([1, 2, 3, 4, 5, 6]));
  s.createSnapshot(4, conf, new Uint8Array([1]));
  s.compact(4);
  const log = new RaftLog(s, 0);
  // Term 4 at the snapshot index itself is still known.
  assert.equal(log.findConflictByTerm(6, 4), 4);
  // Below the snapshot nothing is known: the first unknown index is the answer.
  assert.equal(log.findConflictByTerm(6, 1), 3);
});

test("term() throws CompactedError below the log and UnavailableError past it; termOrZero and matchTerm answer 0/false", () => {
  const s = new MemoryStorage(conf);
  s.append(entriesWithTerms([1, 1, 2, 2]));
  s.createSnapshot(2, conf, new Uint8Array());
  s.compact(2);
  const log = new RaftLog(s, 0);
  assert.throws(() => log.term(1), CompactedError);
  assert.throws(() => log.term(5), UnavailableError);
  assert.equal(log.term(2), 1);
  assert.equal(log.termOrZero(1), 0);
  assert.equal(log.termOrZero(9), 0);
  assert.equal(log.matchTerm(1, 1), false);
  assert.equal(log.matchTerm(3, 2), true);
  assert.equal(log.matchTerm(9, 0), false);
});

test("a log built on a snapshot starts committed and applied at the snapshot index", () => {
  const s = new MemoryStorage(conf);
  s.append(entriesWithTerms([1, 1, 2, 2]));
  s.createSnapshot(3, conf, new Uint8Array());
  s.compact(3);
  const log = new RaftLog(s, 0);
  assert.equal(log.committed, 3);
  assert.equal(log.applied, 3);
  assert.equal(log.firstIndex(), 4);
  assert.equal(new RaftLog(s, 4).applied, 4);
});

test("append extends the unstable tail and lastIndex/lastTerm follow it", () => {
  const log = stableLog([1, 1]);
  log.append(entriesWithTerms([2, 2], 3));
  assert.equal(log.lastIndex(), 4);
  assert.equal(log.lastTerm(), 2);
  assert.equal(log.unstableOffset, 3);
  assert.deepEqual(
    log.unstable.map((e) => e.index),
    [3, 4],
  );
});

test("§5.3 append with a conflicting suffix replaces the unstable tail from the first new index", () => {
  const log = stableLog([1]);
  log.append(entriesWithTerms([1, 1, 1], 2));
  log.append(entriesWithTerms([3], 3));
  assert.deepEqual(termsOf(log), [1, 1, 3]);
  assert.equal(log.lastIndex(), 3);
});

test("§5.3 append that starts inside the stable log moves the unstable offset back (storage drops that suffix on persist)", () => {
  const log = stableLog([1, 1, 1, 1]);
  log.append(entriesWithTerms([2, 2], 2));
  assert.equal(log.unstableOffset, 2);
  assert.deepEqual(termsOf(log), [1, 2, 2]);
});

test("§5.4 append never truncates at or below the commit index (throws InvariantError)", () => {
  const log = stableLog([1, 1, 1, 1]);
  log.commitTo(3);
  assert.throws(() => log.append(entriesWithTerms([2], 3)), InvariantError);
  assert.throws(() => log.append(entriesWithTerms([2, 2], 1)), InvariantError);
  assert.deepEqual(termsOf(log), [1, 1, 1, 1]);
  log.append(entriesWithTerms([2], 4));
  assert.deepEqual(termsOf(log), [1, 1, 1, 2]);
});

test("append of nothing is a no-op even below the commit index", () => {
  const log = stableLog([1, 1]);
  log.commitTo(2);
  log.append([]);
  assert.equal(log.lastIndex(), 2);
});

test("stableTo moves the unstable offset past what the runtime persisted", () => {
  const log = stableLog([1]);
  log.append(entriesWithTerms([1, 1, 1], 2));
  log.stableTo(3, 1);
  assert.equal(log.unstableOffset, 4);
  assert.deepEqual(
    log.unstable.map((e) => e.index),
    [4],
  );
  log.stableTo(4, 1);
  assert.equal(log.unstable.length, 0);
  assert.equal(log.unstableOffset, 5);
});

test("stableTo with a replaced tail: an acknowledgement of the old entries leaves the new ones unstable", () => {
  const log = stableLog([1]);
  log.append(entriesWithTerms([1, 1], 2));
  // A conflicting append arrives before the runtime reports the first batch durable.
  log.append(entriesWithTerms([2, 2], 2));
  log.stableTo(3, 1);
  assert.equal(log.unstableOffset, 2);
  assert.deepEqual(
    log.unstable.map((e) => `${e.index}@${e.term}`),
    ["2@2", "3@2"],
  );
  log.stableTo(3, 2);
  assert.equal(log.unstable.length, 0);
});

test("stableTo ignores indexes outside the unstable tail", () => {
  const log = stableLog([1, 1]);
  log.append(entriesWithTerms([1], 3));
  log.stableTo(2, 1);
  log.stableTo(9, 1);
  assert.equal(log.unstableOffset, 3);
  assert.equal(log.unstable.length, 1);
});

test("commitTo never moves back and never goes past the last index", () => {
  const log = stableLog([1, 1, 1]);
  log.commitTo(2);
  log.commitTo(1);
  assert.equal(log.committed, 2);
  assert.throws(() => log.commitTo(4), InvariantError);
  assert.equal(log.committed, 2);
});

test("appliedTo stays within [applied, committed]", () => {
  const log = stableLog([1, 1, 1]);
  log.commitTo(2);
  assert.throws(() => log.appliedTo(3), InvariantError);
  log.appliedTo(2);
  assert.throws(() => log.appliedTo(1), InvariantError);
  assert.equal(log.applied, 2);
});

test("committed entries handed out are exactly (applied, committed] within the byte bound (at least one)", () => {
  const log = stableLog([1, 1, 1, 1]);
  log.append(entriesWithTerms([1], 5));
  assert.equal(log.hasNextCommittedEntries(), false);
  log.commitTo(5);
  assert.deepEqual(
    log.nextCommittedEntries(1 << 20).map((e) => e.index),
    [1, 2, 3, 4, 5],
  );
  assert.equal(log.nextCommittedEntries(1).length, 1);
  log.appliedTo(3);
  assert.deepEqual(
    log.nextCommittedEntries(1 << 20).map((e) => e.index),
    [4, 5],
  );
});

test("slice spans the stable and unstable parts, bounded by bytes but never empty", () => {
  const log = stableLog([1, 1, 1]);
  log.append(entriesWithTerms([2, 2], 4));
  assert.deepEqual(
    log.slice(2, 6, 1 << 20).map((e) => e.index),
    [2, 3, 4, 5],
  );
  assert.deepEqual(
    log.slice(3, 6, 1).map((e) => e.index),
    [3],
  );
  assert.deepEqual(
    log.slice(4, 6, 1).map((e) => e.index),
    [4],
  );
  assert.deepEqual(log.slice(4, 4, 1 << 20), []);
  assert.throws(() => log.slice(4, 7, 1 << 20), InvariantError);
});

test("slice below the first index throws CompactedError (the leader then sends a snapshot)", () => {
  const s = new MemoryStorage(conf);
  s.append(entriesWithTerms([1, 1, 1, 1]));
  s.createSnapshot(3, conf, new Uint8Array());
  s.compact(3);
  const log = new RaftLog(s, 0);
  assert.throws(() => log.slice(2, 5, 1 << 20), CompactedError);
  assert.deepEqual(
    log.slice(4, 5, 1 << 20).map((e) => e.index),
    [4],
  );
});

test("restore replaces the log by a snapshot; nothing is applied until the snapshot is persisted", () => {
  const log = stableLog([1, 1]);
  log.append([entry(3, 1)]);
  log.restore({ index: 10, term: 3, conf, size: 0 });
  assert.equal(log.committed, 10);
  assert.equal(log.firstIndex(), 11);
  assert.equal(log.lastIndex(), 10);
  assert.equal(log.lastTerm(), 3);
  assert.equal(log.unstable.length, 0);
  assert.throws(() => log.term(9), CompactedError);
  assert.throws(() => log.term(11), UnavailableError);
  assert.equal(log.hasNextCommittedEntries(), false);
  log.append(entriesWithTerms([3], 11));
  assert.equal(log.term(11), 3);
  log.stableSnapTo(9);
  assert.ok(log.unstableSnapshot);
  log.stableSnapTo(10);
  assert.equal(log.unstableSnapshot, undefined);
});
