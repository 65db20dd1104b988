import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { CompactedError, UnavailableError } from "../../src/raft/storage.js";
import type { Entry, HardState } from "../../src/raft/types.js";
import type { DiskStorage, DiskStorageOptions } from "../../src/storage/index.js";
import { dataFor, entry, openStorage, removeDir, tempDir } from "./helpers.js";

/** The obvious in-memory log the disk storage must agree with. */
class Model {
  log = new Map<number, Entry>();
  last = 0;
  maxTerm = 1;
  snapIndex = 0;
  snapTerm = 0;
  compactIndex = 0;
  compactTerm = 0;
  hs: HardState = { term: 0, vote: "", commit: 0 };

  termAt(i: number): number {
    if (i === this.compactIndex) return this.compactTerm;
    return this.log.get(i)!.term;
  }

  dropFrom(i: number): void {
    for (const k of [...this.log.keys()]) if (k >= i) this.log.delete(k);
  }

  dropUpTo(i: number): void {
    for (const k of [...this.log.keys()]) if (k <= i) this.log.delete(k);
  }
}

type Op =
  | { kind: "append"; back: number; count: number; bump: boolean; size: number }
  | { kind: "sync" }
  | { kind: "hs"; frac: number }
  | { kind: "snap"; frac: number }
  | { kind: "compact"; frac: number }
  | { kind: "install"; ahead: number; size: number; chunk: number }
  | { kind: "reopen" }
  | { kind: "read"; lo: number; hi: number; maxBytes: number };

const frac = fc.double({ min: 0, max: 1, noNaN: true });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      back: fc.nat(6),
      count: fc.integer({ min: 1, max: 8 }),
      bump: fc.boolean(),
      size: fc.integer({ min: 0, max: 150 }),
    }),
    weight: 6,
  },
  { arbitrary: fc.constant({ kind: "sync" as const }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("hs" as const), frac }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("snap" as const), frac }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("compact" as const), frac }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant("install" as const),
      ahead: fc.nat(4),
      size: fc.nat(3000),
      chunk: fc.integer({ min: 1, max: 1200 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.constant({ kind: "reopen" as const }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant("read" as const), lo: frac, hi: frac, maxBytes: fc.nat(400) }),
    weight: 1,
  },
);

const optsArb = fc.record({
  segmentBytes: fc.integer({ min: 64, max: 2000 }),
  // Often no cache at all, so reads and terms come from the segment files.
  cacheBytes: fc.oneof(fc.constant(0), fc.nat(3000)),
  writeBufferBytes: fc.integer({ min: 16, max: 4096 }),
});

const conf = { voters: ["n1", "n2"], learners: [] };

function check(s: DiskStorage, m: Model, what: string): void {
  assert.equal(s.firstIndex(), m.compactIndex + 1, `${what}: firstIndex`);
  assert.equal(s.lastIndex(), m.last, `${what}: lastIndex`);
  assert.equal(s.term(m.compactIndex), m.compactTerm, `${what}: term at the compaction point`);
  if (m.compactIndex > 0) assert.throws(() => s.term(m.compactIndex - 1), CompactedError);
  assert.throws(() => s.term(m.last + 1), UnavailableError);
  const want: Entry[] = [];
  for (let i = m.compactIndex + 1; i <= m.last; i++) {
    want.push(m.log.get(i)!);
    assert.equal(s.term(i), m.log.get(i)!.term, `${what}: term(${i})`);
  }
  assert.deepEqual(
    s.entries(m.compactIndex + 1, m.last + 1, Number.MAX_SAFE_INTEGER),
    want,
    `${what}: entries`,
  );
  const snap = s.snapshot();
  assert.equal(snap.index, m.snapIndex, `${what}: snapshot index`);
  assert.equal(snap.term, m.snapTerm, `${what}: snapshot term`);
}

async function apply(s: DiskStorage, m: Model, op: Op, reopen: () => DiskStorage): Promise<DiskStorage> {
  switch (op.kind) {
    case "append": {
      // Never at or below the snapshot: Raft only overwrites uncommitted entries.
      const from = Math.max(m.snapIndex + 1, m.last + 1 - op.back);
      if (op.bump) m.maxTerm++;
      const es: Entry[] = [];
      for (let i = from; i < from + op.count; i++) es.push(entry(i, m.maxTerm, op.size));
      s.append(es);
      m.dropFrom(from);
      for (const e of es) m.log.set(e.index, e);
      m.last = from + op.count - 1;
      return s;
    }
    case "sync":
      s.sync();
      return s;
    case "hs": {
      m.hs = { term: m.maxTerm, vote: "n1", commit: Math.floor(op.frac * m.last) };
      s.setHardState(m.hs);
      return s;
    }
    case "snap": {
      if (m.last <= m.snapIndex) return s;
      const idx = Math.min(m.last, m.snapIndex + 1 + Math.floor(op.frac * (m.last - m.snapIndex)));
      const term = m.termAt(idx);
      const meta = await s.createSnapshot(idx, term, conf, dataFor(idx, 777, 100));
      assert.equal(meta.index, idx);
      m.snapIndex = idx;
      m.snapTerm = term;
      return s;
    }
    case "compact": {
      if (m.snapIndex <= m.compactIndex) return s;
      const idx = Math.min(
        m.snapIndex,
        m.compactIndex + 1 + Math.floor(op.frac * (m.snapIndex - m.compactIndex)),
      );
      s.compact(idx);
      m.compactTerm = m.termAt(idx);
      m.compactIndex = idx;
      m.dropUpTo(idx);
      return s;
    }
    case "install": {
      const index = Math.max(m.last + op.ahead, m.snapIndex + 1);
      m.maxTerm++;
      const meta = { index, term: m.maxTerm, conf, size: op.size };
      const data = dataFor(index, 555, op.size);
      let done: unknown;
      for (let off = 0; off < op.size || off === 0; off += op.chunk) {
        const piece = data.subarray(off, off + op.chunk);
        done = s.stageSnapshotChunk({ meta, offset: off, data: piece, last: off + piece.length === op.size });
        if (op.size === 0) break;
      }
      assert.deepEqual(done, meta);
      s.installSnapshot(meta);
      assert.deepEqual(s.snapshotChunk(meta, 0, op.size), data);
      m.log.clear();
      m.last = index;
      m.snapIndex = m.compactIndex = index;
      m.snapTerm = m.compactTerm = meta.term;
      return s;
    }
    case "reopen": {
      s.close();
      const t = reopen();
      // After a restart the log starts right after the snapshot.
      m.compactIndex = m.snapIndex;
      m.compactTerm = m.snapTerm;
      m.dropUpTo(m.snapIndex);
      const hs = t.initialState().hardState;
      assert.deepEqual(
        hs,
        { ...m.hs, commit: Math.max(m.hs.commit, m.snapIndex) },
        "hard state after reopen",
      );
      return t;
    }
    case "read": {
      const first = m.compactIndex + 1;
      const span = m.last + 1 - first;
      const lo = first + Math.floor(op.lo * span);
      const hi = Math.max(lo, first + Math.floor(op.hi * span));
      const got = s.entries(lo, hi, op.maxBytes);
      if (lo < hi) assert.ok(got.length >= 1, "at least one entry");
      for (let k = 0; k < got.length; k++) assert.deepEqual(got[k], m.log.get(lo + k));
      return s;
    }
  }
}

test("random appends, overwrites, syncs, snapshots, compactions and reopens agree with an in-memory model", async () => {
  await fc.assert(
    fc.asyncProperty(optsArb, fc.array(opArb, { minLength: 1, maxLength: 40 }), async (opts, ops) => {
      const dir = tempDir();
      const o: Partial<DiskStorageOptions> = opts;
      let s = openStorage(dir, o);
      try {
        const m = new Model();
        for (const [k, op] of ops.entries()) {
          s = await apply(s, m, op, () => openStorage(dir, o));
          check(s, m, `op ${k} ${op.kind}`);
        }
        s.close();
        s = openStorage(dir, o);
        m.compactIndex = m.snapIndex;
        m.compactTerm = m.snapTerm;
        m.dropUpTo(m.snapIndex);
        check(s, m, "final reopen");
      } finally {
        s.close();
        removeDir(dir);
      }
    }),
    { numRuns: Number(process.env["STORAGE_PROP_RUNS"] ?? 60) },
  );
});
