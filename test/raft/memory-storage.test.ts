import assert from "node:assert/strict";
import { test } from "node:test";
import { CompactedError, entrySize, MemoryStorage, UnavailableError } from "../../src/raft/index.js";
import { confOf, entriesWithTerms, entry } from "./helpers.js";

const conf = confOf(["a", "b", "c"]);

function storage(terms: number[]): MemoryStorage {
  const s = new MemoryStorage(conf);
  s.append(entriesWithTerms(terms));
  return s;
}

test("a new storage is empty: first index 1, last index 0, the bootstrap configuration, a zero hard state", () => {
  const s = new MemoryStorage(conf);
  assert.equal(s.firstIndex(), 1);
  assert.equal(s.lastIndex(), 0);
  assert.equal(s.term(0), 0);
  assert.deepEqual(s.initialState(), { hardState: { term: 0, vote: "", commit: 0 }, confState: conf });
  assert.equal(s.snapshot().index, 0);
});

test("initialState returns copies the caller cannot use to change the storage", () => {
  const s = new MemoryStorage(conf);
  const st = s.initialState();
  st.hardState.term = 99;
  st.confState.voters.push("zz");
  assert.equal(s.initialState().hardState.term, 0);
  assert.deepEqual(s.initialState().confState, conf);
});

test("append adds after the last index and overwrites a conflicting suffix", () => {
  const s = storage([1, 1, 1]);
  s.append(entriesWithTerms([2, 2], 3));
  assert.equal(s.lastIndex(), 4);
  assert.deepEqual(
    [1, 2, 3, 4].map((i) => s.term(i)),
    [1, 1, 2, 2],
  );
  s.append(entriesWithTerms([3], 2));
  assert.equal(s.lastIndex(), 2, "everything after the overwritten index is dropped");
});

test("append that would leave a gap is refused", () => {
  const s = storage([1]);
  assert.throws(() => s.append(entriesWithTerms([1], 3)), /gap/);
  assert.equal(s.lastIndex(), 1);
});

test("term: CompactedError below the snapshot, UnavailableError past the end, snapshot index from the snapshot", () => {
  const s = storage([1, 2, 3, 4]);
  s.createSnapshot(2, conf, new Uint8Array());
  s.compact(2);
  assert.throws(() => s.term(1), CompactedError);
  assert.equal(s.term(2), 2);
  assert.equal(s.term(4), 4);
  assert.throws(() => s.term(5), UnavailableError);
});

test("entries returns [lo, hi) bounded by bytes, always at least one entry", () => {
  const s = storage([1, 1, 1, 1]);
  assert.deepEqual(
    s.entries(1, 5, 1 << 20).map((e) => e.index),
    [1, 2, 3, 4],
  );
  assert.deepEqual(
    s.entries(2, 4, 0).map((e) => e.index),
    [2],
  );
  const one = entrySize(s.entries(1, 2, 1 << 20)[0]!);
  assert.equal(s.entries(1, 5, one * 2).length, 2);
  assert.throws(() => s.entries(1, 6, 1 << 20), UnavailableError);
});

test("entries at or below the snapshot index are compacted", () => {
  const s = storage([1, 1, 1, 1]);
  s.createSnapshot(2, conf, new Uint8Array());
  s.compact(2);
  assert.throws(() => s.entries(2, 4, 1 << 20), CompactedError);
  assert.deepEqual(
    s.entries(3, 5, 1 << 20).map((e) => e.index),
    [3, 4],
  );
});

test("createSnapshot records index, term and configuration; an older one is ignored", () => {
  const s = storage([1, 2, 2, 3]);
  const learnerConf = confOf(["a", "b", "c"], ["d"]);
  const meta = s.createSnapshot(3, learnerConf, new Uint8Array([1, 2, 3]));
  assert.deepEqual(meta, { index: 3, term: 2, conf: learnerConf, size: 3 });
  assert.equal(s.createSnapshot(2, conf, new Uint8Array()), s.snapshot(), "a snapshot never moves back");
  assert.throws(() => s.createSnapshot(9, conf, new Uint8Array()), UnavailableError);
  assert.deepEqual(
    s.initialState().confState,
    learnerConf,
    "a restart starts from the snapshot's configuration",
  );
  assert.equal(s.firstIndex(), 1, "creating a snapshot does not compact the log by itself");
});

test("compact drops entries up to the index a snapshot covers, and never past it", () => {
  const s = storage([1, 1, 2, 2, 2]);
  s.createSnapshot(3, conf, new Uint8Array());
  assert.throws(() => s.compact(4), /past snapshot/);
  s.compact(2);
  assert.equal(s.firstIndex(), 3);
  s.compact(3);
  assert.equal(s.firstIndex(), 4);
  s.compact(1);
  assert.equal(s.firstIndex(), 4, "compacting below the first index does nothing");
  assert.equal(s.lastIndex(), 5);
});

test("§7 applySnapshot replaces the whole log; an older snapshot is ignored", () => {
  const s = storage([1, 1, 1]);
  const newConf = confOf(["a", "b"]);
  s.applySnapshot({ index: 10, term: 4, conf: newConf, size: 2 }, new Uint8Array([9, 9]));
  assert.equal(s.firstIndex(), 11);
  assert.equal(s.lastIndex(), 10);
  assert.equal(s.term(10), 4);
  assert.deepEqual(s.initialState().confState, newConf);
  assert.deepEqual([...s.snapshotData()], [9, 9]);
  s.applySnapshot({ index: 5, term: 2, conf, size: 0 }, new Uint8Array());
  assert.equal(s.snapshot().index, 10);
});

test("append skips entries the snapshot already covers instead of rewriting them", () => {
  const s = storage([1, 1, 1]);
  s.applySnapshot({ index: 5, term: 2, conf, size: 0 }, new Uint8Array());
  s.append(entriesWithTerms([2, 2, 2], 4));
  assert.equal(s.firstIndex(), 6);
  assert.equal(s.lastIndex(), 6);
  s.append([entry(3, 1)]);
  assert.equal(s.lastIndex(), 6);
});

test("§7 snapshotChunk serves byte ranges of the current snapshot and refuses a replaced one", () => {
  const s = storage([1, 1, 1, 1]);
  const data = new Uint8Array([0, 1, 2, 3, 4, 5, 6]);
  const meta = s.createSnapshot(2, conf, data);
  assert.deepEqual([...s.snapshotChunk(meta, 0, 3)], [0, 1, 2]);
  assert.deepEqual([...s.snapshotChunk(meta, 6, 3)], [6]);
  assert.deepEqual([...s.snapshotChunk(meta, 7, 3)], []);
  s.createSnapshot(4, conf, new Uint8Array([1]));
  assert.throws(() => s.snapshotChunk(meta, 0, 3), /no longer stored/);
});
