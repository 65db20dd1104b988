import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Entry, EntryType } from "../../src/raft/types.js";
import { DiskStorage, type DiskStorageOptions } from "../../src/storage/index.js";

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "taskraft-storage-"));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Deterministic payload, so any entry found on disk can be checked from its index and term alone. */
export function dataFor(index: number, term: number, size = (index * 7 + term * 13) % 97): Uint8Array {
  const d = new Uint8Array(size);
  for (let i = 0; i < size; i++) d[i] = (index * 31 + term * 17 + i * 7) & 0xff;
  return d;
}

export function entry(index: number, term: number, size?: number): Entry {
  return { index, term, type: EntryType.Normal, data: dataFor(index, term, size) };
}

export function range(from: number, to: number, term: number, size?: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, size));
  return out;
}

export function openStorage(dir: string, opts: Partial<DiskStorageOptions> = {}): DiskStorage {
  return DiskStorage.open({ dir, clusterId: "c1", nodeId: "n1", ...opts });
}

/** All entries of the log, read with a small byte budget to exercise batching. */
export function readAll(s: DiskStorage, maxBytes = 300): Entry[] {
  const out: Entry[] = [];
  const hi = s.lastIndex() + 1;
  for (let lo = s.firstIndex(); lo < hi; ) {
    const batch = s.entries(lo, hi, maxBytes);
    if (batch.length === 0) throw new Error(`entries(${lo}, ${hi}) returned nothing`);
    out.push(...batch);
    lo += batch.length;
  }
  return out;
}

export function walFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(dir, "wal"))
    .filter((n) => n.endsWith(".wal"))
    .sort()
    .map((n) => path.join(dir, "wal", n));
}

/** Offsets [start, end) of every record in a segment file, found by walking the length fields. */
export function recordSpans(file: string): Array<[number, number]> {
  const b = fs.readFileSync(file);
  const spans: Array<[number, number]> = [];
  for (let pos = 16; pos + 8 <= b.length; ) {
    const end = pos + 8 + b.readUInt32LE(pos);
    if (end > b.length) break;
    spans.push([pos, end]);
    pos = end;
  }
  return spans;
}

export interface LogLine {
  obj: Record<string, unknown>;
  msg: string;
}

export function recordingLogger(): { lines: LogLine[]; logger: DiskStorageOptions["logger"] } {
  const lines: LogLine[] = [];
  const rec = (obj: object, msg: string) => {
    lines.push({ obj: obj as Record<string, unknown>, msg });
  };
  return { lines, logger: { info: rec, warn: rec, error: rec } };
}
