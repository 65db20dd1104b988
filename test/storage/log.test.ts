import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { CompactedError, UnavailableError } from "../../src/raft/storage.js";
import { type Entry, EntryType } from "../../src/raft/types.js";
import { entry, openStorage, range, readAll, removeDir, tempDir, walFiles } from "./helpers.js";

function withDir(fn: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = tempDir();
    try {
      await fn(dir);
    } finally {
      removeDir(dir);
    }
  };
}

test(
  "a fresh data dir is an empty log at index 0",
  withDir((dir) => {
    const s = openStorage(dir, { bootstrap: { voters: ["n1", "n2", "n3"], learners: [] } });
    assert.equal(s.firstIndex(), 1);
    assert.equal(s.lastIndex(), 0);
    assert.equal(s.term(0), 0);
    assert.throws(() => s.term(1), UnavailableError);
    assert.deepEqual(s.entries(1, 1, 100), []);
    assert.deepEqual(s.initialState(), {
      hardState: { term: 0, vote: "", commit: 0 },
      confState: { voters: ["n1", "n2", "n3"], learners: [] },
    });
    s.close();
    // The bootstrap configuration is durable: a reopen without it still knows it.
    const again = openStorage(dir);
    assert.deepEqual(again.initialState().confState.voters, ["n1", "n2", "n3"]);
    again.close();
  }),
);

test(
  "round trip: append, sync, reopen gives equal entries and terms (conf entries included)",
  withDir((dir) => {
    const conf: Entry = {
      index: 6,
      term: 2,
      type: EntryType.Conf,
      data: new Uint8Array([1, 2]),
      conf: { voters: ["a", "b"], learners: ["c"] },
      change: { type: "addLearner", nodeId: "c" },
    };
    const ents = [...range(1, 5, 1), conf, ...range(7, 40, 3)];
    const s = openStorage(dir);
    s.append(ents.slice(0, 10));
    s.append(ents.slice(10));
    assert.deepEqual(readAll(s), ents, "visible before sync");
    const r = s.sync();
    assert.ok(r.fsyncs >= 1);
    assert.equal(s.sync().fsyncs, 0, "nothing staged, nothing to fsync");
    s.close();

    const t = openStorage(dir);
    assert.equal(t.firstIndex(), 1);
    assert.equal(t.lastIndex(), 40);
    assert.deepEqual(readAll(t), ents);
    assert.deepEqual(readAll(t, 1), ents, "one entry per call when the budget is tiny");
    for (const e of ents) assert.equal(t.term(e.index), e.term);
    assert.equal(t.entries(3, 41, 1_000_000).length, 38);
    assert.throws(() => t.entries(1, 42, 100), UnavailableError);
    t.close();
  }),
);

test(
  "group commit: many appends share one fsync",
  withDir((dir) => {
    const s = openStorage(dir);
    s.sync();
    const before = s.stats().fsyncs;
    for (let i = 1; i <= 100; i++) s.append([entry(i, 1)]);
    assert.equal(s.stats().fsyncs, before, "appends alone never fsync");
    assert.equal(s.sync().fsyncs, 1);
    assert.equal(s.stats().fsyncs, before + 1);
    assert.equal(s.stats().fsyncsByKind.wal >= 1, true);
    assert.ok(s.stats().recentFsyncMs.length >= 1);
    s.close();
  }),
);

test(
  "fsync hook reports every fsync with its latency",
  withDir((dir) => {
    const seen: string[] = [];
    const s = openStorage(dir, { onFsync: (kind, ms) => seen.push(`${kind}:${ms >= 0}`) });
    seen.length = 0;
    s.append(range(1, 3, 1));
    s.setHardState({ term: 1, vote: "n1", commit: 0 });
    s.sync();
    assert.deepEqual(seen, ["wal:true", "hardstate:true", "dir:true"]);
    s.close();
  }),
);

test(
  "suffix truncation overwrites a conflicting tail and survives reopen",
  withDir((dir) => {
    const s = openStorage(dir, { segmentBytes: 400 });
    s.append(range(1, 30, 1));
    s.sync();
    const segsBefore = walFiles(dir).length;
    assert.ok(segsBefore > 3);
    // Overwrite from 12: every segment after the one holding 12 must go.
    s.append(range(12, 15, 2));
    assert.equal(s.lastIndex(), 15);
    s.sync();
    // And a truncation inside the same segment, of unsynced entries.
    s.append(range(16, 20, 2));
    s.append(range(18, 19, 3));
    s.sync();
    const want = [...range(1, 11, 1), ...range(12, 17, 2), ...range(18, 19, 3)];
    assert.deepEqual(readAll(s), want);
    s.close();
    const t = openStorage(dir, { segmentBytes: 400 });
    assert.deepEqual(readAll(t), want);
    assert.equal(t.term(17), 2);
    assert.throws(() => t.term(20), UnavailableError);
    // Truncating everything back to the first index works too.
    t.append(range(1, 2, 4));
    t.close();
    const u = openStorage(dir, { segmentBytes: 400 });
    assert.deepEqual(readAll(u), range(1, 2, 4));
    u.close();
  }),
);

test(
  "appends that leave a gap or lower the term are rejected without changing anything",
  withDir((dir) => {
    const s = openStorage(dir);
    s.append(range(1, 5, 2));
    assert.throws(() => s.append([entry(7, 2)]), /gap/);
    assert.throws(() => s.append([entry(6, 1)]), /term/);
    assert.throws(() => s.append([entry(6, 2), entry(8, 2)]), /consecutive/);
    assert.equal(s.lastIndex(), 5);
    s.append([entry(6, 2)]);
    s.close();
  }),
);

test(
  "segments roll at the configured size and are named by their first index",
  withDir((dir) => {
    const s = openStorage(dir, { segmentBytes: 256 });
    s.append(range(1, 50, 1, 40));
    s.sync();
    const files = walFiles(dir);
    assert.ok(files.length >= 10, `${files.length} segments`);
    assert.equal(path.basename(files[0]!), "00000000000000000001.wal");
    for (const f of files) assert.ok(fs.statSync(f).size <= 256, `${f} is ${fs.statSync(f).size} bytes`);
    // The first index in each name follows the previous segment's records.
    const firsts = files.map((f) => Number(path.basename(f, ".wal")));
    assert.deepEqual(
      firsts,
      [...firsts].sort((a, b) => a - b),
    );
    s.close();
    const t = openStorage(dir, { segmentBytes: 256 });
    assert.deepEqual(readAll(t), range(1, 50, 1, 40));
    // A record bigger than a whole segment still fits (alone) and rolls around it.
    t.append([entry(51, 1, 1000), entry(52, 1, 10)]);
    t.close();
    const u = openStorage(dir, { segmentBytes: 256 });
    assert.equal(u.entries(51, 52, 10)[0]!.data.length, 1000);
    assert.equal(u.lastIndex(), 52);
    u.close();
  }),
);

test(
  "entries older than the memory cache are read back from disk",
  withDir((dir) => {
    const s = openStorage(dir, { cacheBytes: 500, segmentBytes: 2048, writeBufferBytes: 64 });
    const ents = range(1, 200, 1);
    s.append(ents);
    assert.ok(s.stats().cachedEntries < 20, `${s.stats().cachedEntries} cached`);
    assert.deepEqual(readAll(s), ents, "unsynced entries are readable (flushed on demand)");
    s.sync();
    assert.deepEqual(readAll(s, 5000), ents);
    s.close();
  }),
);

test(
  "compaction deletes whole segments covered by a snapshot",
  withDir(async (dir) => {
    const s = openStorage(dir, { segmentBytes: 300 });
    const ents = range(1, 80, 1);
    s.append(ents);
    s.sync();
    const before = walFiles(dir).length;
    assert.throws(() => s.compact(50), /past the snapshot/);
    await s.createSnapshot(50, 1, { voters: ["n1"], learners: [] }, new Uint8Array([1, 2, 3]));
    assert.equal(s.firstIndex(), 1, "a snapshot alone does not compact");
    s.compact(50);
    assert.equal(s.firstIndex(), 51);
    assert.equal(s.term(50), 1);
    assert.throws(() => s.term(49), CompactedError);
    assert.throws(() => s.entries(50, 52, 100), CompactedError);
    const files = walFiles(dir);
    assert.ok(files.length < before, `${files.length} < ${before}`);
    // Only segments entirely at or below 50 went: the first remaining one starts at or below 51.
    assert.ok(Number(path.basename(files[0]!, ".wal")) <= 51);
    assert.deepEqual(readAll(s), ents.slice(50));
    s.close();
    const t = openStorage(dir, { segmentBytes: 300 });
    assert.equal(t.firstIndex(), 51);
    assert.equal(t.snapshot().index, 50);
    assert.deepEqual(readAll(t), ents.slice(50));
    t.close();
  }),
);

test(
  "hard state is replaced atomically and survives reopen",
  withDir((dir) => {
    const s = openStorage(dir);
    s.append(range(1, 10, 3));
    s.setHardState({ term: 3, vote: "n2", commit: 4 });
    s.sync();
    s.setHardState({ term: 3, vote: "n2", commit: 9 });
    s.sync();
    // A commit-only change is volatile in Raft: it waits for the next term/vote change or close().
    assert.equal(s.stats().fsyncsByKind.hardstate, 1);
    s.close();
    const r = openStorage(dir);
    assert.equal(r.initialState().hardState.commit, 9, "close() writes the pending commit");
    r.close();
    const s2 = openStorage(dir);
    s2.setHardState({ term: 5, vote: "", commit: 9 });
    s2.close();
    // A replacement interrupted before its rename leaves a temp file, which is ignored.
    fs.writeFileSync(path.join(dir, "hardstate.tmp"), "garbage");
    const t = openStorage(dir);
    assert.deepEqual(t.initialState().hardState, { term: 5, vote: "", commit: 9 });
    assert.equal(fs.existsSync(path.join(dir, "hardstate.tmp")), false);
    t.close();
  }),
);

test(
  "a storage refuses to be used after close",
  withDir((dir) => {
    const s = openStorage(dir);
    s.close();
    assert.throws(() => s.append([entry(1, 1)]), /closed/);
  }),
);
