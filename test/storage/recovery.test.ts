import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import pino from "pino";
import { StorageCorruptError, StorageMismatchError } from "../../src/storage/index.js";
import {
  entry,
  openStorage,
  range,
  readAll,
  recordingLogger,
  recordSpans,
  removeDir,
  tempDir,
  walFiles,
} from "./helpers.js";

const SEG = 400;

/** A log of entries 1..n (term 1) in several segments, synced and closed. */
function buildLog(dir: string, n: number): void {
  const s = openStorage(dir, { segmentBytes: SEG });
  s.append(range(1, n, 1));
  s.sync();
  s.close();
}

function assertCorrupt(fn: () => unknown, file: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StorageCorruptError, `expected StorageCorruptError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.ok(err.message.startsWith(`${file}: `), err.message);
    assert.match(err.message, pattern);
    assert.match(err.message, /restore this node from a snapshot or remove its data dir and rejoin/);
    assert.ok(!err.message.includes("\n"), "one line");
    return true;
  });
}

test("a torn last record is cut at every byte offset, keeping exactly the records before it", () => {
  const dir = tempDir();
  try {
    buildLog(dir, 30);
    const last = walFiles(dir).at(-1)!;
    const original = fs.readFileSync(last);
    const spans = recordSpans(last);
    const [start, end] = spans.at(-1)!;
    assert.equal(end, original.length);
    const lastIndex = 30;
    const kept = range(1, lastIndex - 1, 1);
    const segments = walFiles(dir);
    for (let cut = start; cut < end; cut++) {
      // The append below may have rolled into a new segment: put the log back as it was.
      for (const f of walFiles(dir)) if (!segments.includes(f)) fs.unlinkSync(f);
      fs.writeFileSync(last, original.subarray(0, cut));
      const { lines, logger } = recordingLogger();
      const s = openStorage(dir, { segmentBytes: SEG, logger });
      assert.equal(s.lastIndex(), lastIndex - 1, `cut at ${cut}`);
      assert.deepEqual(readAll(s), kept, `cut at ${cut}`);
      assert.equal(fs.statSync(last).size, start, "the torn bytes are gone from the file");
      const reported = lines.some((l) => /torn record/.test(l.msg) && l.obj["offset"] === start);
      assert.equal(reported, cut > start, `cut at ${cut}: torn tail reported`);
      // Appending after recovery continues the log where it now ends.
      s.append([entry(lastIndex, 2)]);
      s.sync();
      s.close();
      const t = openStorage(dir, { segmentBytes: SEG });
      assert.deepEqual(readAll(t), [...kept, entry(lastIndex, 2)], `cut at ${cut}, after append`);
      t.close();
    }
    fs.writeFileSync(last, original);
  } finally {
    removeDir(dir);
  }
});

test("a complete last record with a bad checksum, or a zero-filled tail, is cut and reported through pino", () => {
  const dir = tempDir();
  try {
    buildLog(dir, 30);
    const last = walFiles(dir).at(-1)!;
    const original = fs.readFileSync(last);
    const [start, end] = recordSpans(last).at(-1)!;

    const damaged = Buffer.from(original);
    damaged[end - 2]! ^= 0x40;
    fs.writeFileSync(last, damaged);
    const out: string[] = [];
    const logger = pino({ level: "info" }, { write: (s: string) => void out.push(s) });
    const s = openStorage(dir, { segmentBytes: SEG, logger });
    assert.equal(s.lastIndex(), 29);
    s.close();
    const warn = out.map((l) => JSON.parse(l)).find((l) => /torn record/.test(l.msg));
    assert.ok(warn, out.join(""));
    assert.equal(warn.offset, start);
    assert.equal(warn.reason, "checksum mismatch");
    assert.equal(warn.file, last);

    // Blocks allocated but never written read back as zeros after a crash.
    fs.writeFileSync(last, Buffer.concat([original, Buffer.alloc(3000)]));
    const t = openStorage(dir, { segmentBytes: SEG });
    assert.equal(t.lastIndex(), 30);
    assert.equal(fs.statSync(last).size, original.length);
    t.close();
  } finally {
    removeDir(dir);
  }
});

test("a flipped byte before the tail stops the node with an error naming the file", () => {
  const dir = tempDir();
  try {
    buildLog(dir, 40);
    const files = walFiles(dir);
    assert.ok(files.length >= 3);

    // In a middle segment.
    const mid = files[1]!;
    const orig = fs.readFileSync(mid);
    const spans = recordSpans(mid);
    const [s0, e0] = spans[Math.floor(spans.length / 2)]!;
    const bad = Buffer.from(orig);
    bad[(s0 + 8 + e0) >> 1]! ^= 0x01;
    fs.writeFileSync(mid, bad);
    assertCorrupt(
      () => openStorage(dir, { segmentBytes: SEG }),
      mid,
      /checksum mismatch at offset \d+ \(record \d+, index \d+\); the log is corrupt/,
    );
    fs.writeFileSync(mid, orig);

    // In the last segment, with valid records after it: not a torn tail.
    const last = files.at(-1)!;
    const lorig = fs.readFileSync(last);
    const lspans = recordSpans(last);
    assert.ok(lspans.length >= 2);
    const [s1, e1] = lspans[0]!;
    const lbad = Buffer.from(lorig);
    lbad[(s1 + 8 + e1) >> 1]! ^= 0x80;
    fs.writeFileSync(last, lbad);
    assertCorrupt(
      () => openStorage(dir, { segmentBytes: SEG }),
      last,
      new RegExp(`checksum mismatch at offset ${s1} \\(record 0, index \\d+\\)`),
    );
    fs.writeFileSync(last, lorig);

    // A damaged length field in a non-last segment.
    const first = files[0]!;
    const forig = fs.readFileSync(first);
    const fbad = Buffer.from(forig);
    fbad.writeUInt32LE(0, 16);
    fs.writeFileSync(first, fbad);
    assertCorrupt(
      () => openStorage(dir, { segmentBytes: SEG }),
      first,
      /impossible record length 0 at offset 16 \(record 0, index 1\)/,
    );
    fs.writeFileSync(first, forig);

    const ok = openStorage(dir, { segmentBytes: SEG });
    assert.deepEqual(readAll(ok), range(1, 40, 1));
    ok.close();
  } finally {
    removeDir(dir);
  }
});

test("a missing segment is reported, in the middle or at the end", () => {
  const dir = tempDir();
  try {
    const s = openStorage(dir, { segmentBytes: SEG });
    s.append(range(1, 40, 1));
    s.setHardState({ term: 1, vote: "n1", commit: 40 });
    s.sync();
    s.close();
    const files = walFiles(dir);
    assert.ok(files.length >= 4);
    const saved = fs.readFileSync(files[1]!);
    fs.unlinkSync(files[1]!);
    assertCorrupt(() => openStorage(dir, { segmentBytes: SEG }), files[2]!, /a segment is missing/);
    fs.writeFileSync(files[1]!, saved);

    // The last segment gone: only the commit index in the hard state can tell.
    fs.unlinkSync(files.at(-1)!);
    assertCorrupt(
      () => openStorage(dir, { segmentBytes: SEG }),
      path.join(dir, "wal"),
      /hard state says index 40 is committed but the log ends at \d+/,
    );
  } finally {
    removeDir(dir);
  }
});

test("a data dir of another cluster or node is refused", () => {
  const dir = tempDir();
  try {
    openStorage(dir).close();
    const isMismatch = (re: RegExp) => (err: unknown) => {
      assert.ok(err instanceof StorageMismatchError);
      assert.match(err.message, re);
      return true;
    };
    assert.throws(
      () => openStorage(dir, { clusterId: "c2" }),
      isMismatch(/belongs to node "n1" of cluster "c1", not node "n1" of cluster "c2"/),
    );
    assert.throws(() => openStorage(dir, { nodeId: "n2" }), isMismatch(/not node "n2" of cluster "c1"/));
    openStorage(dir).close();

    // Raft state without its meta file is not silently adopted.
    fs.unlinkSync(path.join(dir, "meta"));
    assert.throws(() => openStorage(dir), /meta: missing although the data dir holds Raft state/);
  } finally {
    removeDir(dir);
  }
});

test("a corrupt hard state file is an error, not a fresh start", () => {
  const dir = tempDir();
  try {
    const s = openStorage(dir);
    s.setHardState({ term: 7, vote: "n3", commit: 0 });
    s.close();
    const file = path.join(dir, "hardstate");
    const b = fs.readFileSync(file);
    b[b.length - 1]! ^= 0xff;
    fs.writeFileSync(file, b);
    assert.throws(
      () => openStorage(dir),
      (err: unknown) => err instanceof StorageCorruptError && err.file === file,
    );
  } finally {
    removeDir(dir);
  }
});

test("a segment whose header was torn while rolling is repaired", () => {
  const dir = tempDir();
  try {
    buildLog(dir, 20);
    const files = walFiles(dir);
    const lastFirst = Number(path.basename(files.at(-1)!, ".wal"));
    const lastIndex = lastFirst + recordSpans(files.at(-1)!).length - 1;
    // A crash right after creating the next segment, before its header reached the disk.
    const next = path.join(dir, "wal", `${String(lastIndex + 1).padStart(20, "0")}.wal`);
    fs.writeFileSync(next, Buffer.alloc(5));
    const s = openStorage(dir, { segmentBytes: SEG });
    assert.equal(s.lastIndex(), 20);
    s.append([entry(21, 1)]);
    s.close();
    const t = openStorage(dir, { segmentBytes: SEG });
    assert.deepEqual(readAll(t), range(1, 21, 1));
    t.close();
  } finally {
    removeDir(dir);
  }
});
