import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import type { SnapshotMeta } from "../../src/raft/types.js";
import type { DiskStorage } from "../../src/storage/index.js";
import { entry, openStorage, range, readAll, recordingLogger, removeDir, tempDir } from "./helpers.js";

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed * 101 + (i >> 8)) & 0xff;
  return b;
}

function readWhole(s: DiskStorage, meta: SnapshotMeta, chunk: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let off = 0; off < meta.size; ) {
    const c = s.snapshotChunk(meta, off, chunk);
    assert.ok(c.length > 0 && c.length <= chunk);
    parts.push(c);
    off += c.length;
  }
  assert.equal(s.snapshotChunk(meta, meta.size, chunk).length, 0);
  return new Uint8Array(Buffer.concat(parts));
}

function snapFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, "snapshots")).sort();
}

const conf = { voters: ["n1", "n2", "n3"], learners: ["n4"] };

test("create a snapshot from a buffer or a stream, read it back in chunks, also after reopen", async () => {
  const dir = tempDir();
  try {
    const s = openStorage(dir);
    s.append(range(1, 30, 2));
    s.sync();
    const data = bytes(100_000, 1);
    const m1 = await s.createSnapshot(10, 2, conf, data);
    assert.deepEqual(m1, { index: 10, term: 2, conf, size: data.length });
    assert.deepEqual(readWhole(s, m1, 7777), data);

    async function* stream() {
      for (let off = 0; off < data.length; off += 9000) yield data.subarray(off, off + 9000);
    }
    const m2 = await s.createSnapshot(20, 2, conf, stream());
    assert.equal(m2.size, data.length);
    assert.deepEqual(s.snapshot(), m2);
    assert.deepEqual(readWhole(s, m2, 4096), data);
    // A snapshot not newer than the current one is a no-op; a wrong term is a caller bug.
    assert.deepEqual(await s.createSnapshot(15, 2, conf, data), m2);
    await assert.rejects(s.createSnapshot(25, 3, conf, data), /term/);
    s.close();

    const t = openStorage(dir);
    assert.deepEqual(t.snapshot(), m2);
    assert.equal(t.firstIndex(), 21, "after a restart the log starts after the snapshot");
    assert.deepEqual(t.initialState().confState, conf);
    assert.deepEqual(readWhole(t, m2, 65536), data);
    assert.deepEqual(fs.readFileSync(t.snapshotPath(m2)).subarray(0, m2.size), Buffer.from(data));
    assert.deepEqual(readAll(t), range(21, 30, 2));
    t.close();
  } finally {
    removeDir(dir);
  }
});

test("only the newest two snapshots are kept", async () => {
  const dir = tempDir();
  try {
    const s = openStorage(dir);
    s.append(range(1, 40, 1));
    for (const i of [10, 20, 30]) await s.createSnapshot(i, 1, conf, bytes(100, i));
    assert.deepEqual(snapFiles(dir), [
      "00000000000000000020-00000000000000000001.snap",
      "00000000000000000030-00000000000000000001.snap",
    ]);
    assert.throws(() => s.snapshotChunk({ index: 10, term: 1, conf, size: 100 }, 0, 10), /no longer stored/);
    s.close();
  } finally {
    removeDir(dir);
  }
});

test("stage an incoming snapshot chunk by chunk, install it, and continue the log after it", async () => {
  const leaderDir = tempDir();
  const followerDir = tempDir();
  try {
    const leader = openStorage(leaderDir, { nodeId: "n1" });
    leader.append(range(1, 100, 3));
    const meta = await leader.createSnapshot(90, 3, conf, bytes(50_000, 7));

    const f = openStorage(followerDir, { nodeId: "n2" });
    f.append(range(1, 5, 1));
    f.sync();
    const CH = 8192;
    let done: SnapshotMeta | undefined;
    for (let off = 0; off < meta.size; off += CH) {
      const data = leader.snapshotChunk(meta, off, CH);
      const last = off + data.length === meta.size;
      done = f.stageSnapshotChunk({ meta, offset: off, data, last });
      assert.equal(done === undefined, !last);
      if (off === CH) {
        // A resent chunk rewrites from its offset; a chunk from the future is refused.
        assert.throws(
          () => f.stageSnapshotChunk({ meta, offset: off + 2 * CH, data, last: false }),
          /expected/,
        );
        assert.equal(f.stageSnapshotChunk({ meta, offset: off, data, last: false }), undefined);
      }
    }
    assert.deepEqual(done, meta);
    assert.equal(f.snapshot().index, 0, "staged is not installed");
    f.installSnapshot(meta);
    assert.deepEqual(f.snapshot(), meta);
    assert.equal(f.firstIndex(), 91);
    assert.equal(f.lastIndex(), 90);
    assert.equal(f.term(90), 3);
    assert.deepEqual(readWhole(f, meta, 10_000), bytes(50_000, 7));
    f.append(range(91, 95, 3));
    f.setHardState({ term: 3, vote: "", commit: 95 });
    f.close();

    const g = openStorage(followerDir, { nodeId: "n2" });
    assert.deepEqual(g.snapshot(), meta);
    assert.deepEqual(readAll(g), range(91, 95, 3));
    assert.equal(g.initialState().hardState.commit, 95);
    g.close();
    leader.close();
  } finally {
    removeDir(leaderDir);
    removeDir(followerDir);
  }
});

test("a snapshot whose size does not add up is refused", () => {
  const dir = tempDir();
  try {
    const s = openStorage(dir);
    const meta = { index: 5, term: 1, conf, size: 10 };
    assert.throws(
      () => s.stageSnapshotChunk({ meta, offset: 0, data: bytes(4, 1), last: true }),
      /expected 10/,
    );
    assert.throws(() => s.stageSnapshotChunk({ meta, offset: 0, data: bytes(11, 1), last: false }), /past/);
    assert.throws(() => s.installSnapshot(meta), /not stored/);
    assert.deepEqual(snapFiles(dir), []);
    s.close();
  } finally {
    removeDir(dir);
  }
});

test("a partial snapshot is ignored and deleted at open", async () => {
  const dir = tempDir();
  try {
    const s = openStorage(dir);
    s.append(range(1, 10, 1));
    const m = await s.createSnapshot(5, 1, conf, bytes(1000, 1));
    const meta = { index: 50, term: 4, conf, size: 1000 };
    s.stageSnapshotChunk({ meta, offset: 0, data: bytes(400, 2), last: false });
    // And a crash in the middle of writing a local snapshot.
    fs.writeFileSync(
      path.join(dir, "snapshots", "00000000000000000009-00000000000000000001.snap.tmp"),
      "half",
    );
    s.close();
    assert.equal(snapFiles(dir).filter((n) => n.endsWith(".tmp")).length, 1, "close abandons staging");

    fs.writeFileSync(
      path.join(dir, "snapshots", "00000000000000000050-00000000000000000004.incoming.tmp"),
      "x",
    );
    fs.writeFileSync(
      path.join(dir, "snapshots", "00000000000000000009-00000000000000000001.snap.tmp"),
      "half",
    );
    const { lines, logger } = recordingLogger();
    const t = openStorage(dir, { logger });
    assert.deepEqual(t.snapshot(), m);
    assert.deepEqual(snapFiles(dir), ["00000000000000000005-00000000000000000001.snap"]);
    assert.equal(lines.filter((l) => /incomplete snapshot/.test(l.msg)).length, 2);
    t.close();
  } finally {
    removeDir(dir);
  }
});

test("a corrupt newest snapshot falls back to the previous one", async () => {
  const dir = tempDir();
  try {
    const s = openStorage(dir);
    s.append(range(1, 30, 1));
    const m10 = await s.createSnapshot(10, 1, conf, bytes(5000, 1));
    const m20 = await s.createSnapshot(20, 1, conf, bytes(5000, 2));
    s.close();
    const file = path.join(dir, "snapshots", "00000000000000000020-00000000000000000001.snap");
    const b = fs.readFileSync(file);
    b[100]! ^= 1;
    fs.writeFileSync(file, b);
    const { lines, logger } = recordingLogger();
    const t = openStorage(dir, { logger });
    assert.deepEqual(t.snapshot(), m10);
    assert.ok(lines.some((l) => l.obj["problem"] === "data checksum mismatch"));
    assert.ok(fs.existsSync(`${file}.corrupt`));
    assert.equal(t.firstIndex(), 11);
    assert.deepEqual(readAll(t), range(11, 30, 1));
    assert.notDeepEqual(t.snapshot(), m20);
    t.close();
  } finally {
    removeDir(dir);
  }
});

test("a snapshot promoted but not installed before a crash is adopted at open, and a stale log dropped", () => {
  const dir = tempDir();
  try {
    const s = openStorage(dir);
    s.append(range(1, 10, 1));
    s.setHardState({ term: 1, vote: "n1", commit: 8 });
    const meta = { index: 40, term: 5, conf, size: 3 };
    s.stageSnapshotChunk({ meta, offset: 0, data: bytes(3, 1), last: true });
    s.close(); // crash before installSnapshot()
    const t = openStorage(dir);
    assert.deepEqual(t.snapshot(), meta);
    assert.equal(t.firstIndex(), 41);
    assert.equal(t.lastIndex(), 40);
    assert.equal(t.initialState().hardState.commit, 40, "commit raised to the snapshot");
    t.append([entry(41, 5)]);
    t.close();
  } finally {
    removeDir(dir);
  }
});
