import * as fs from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";

/** What an fsync made durable; reported with each latency so slow devices can be told apart by use. */
export type FsyncKind = "wal" | "dir" | "hardstate" | "snapshot" | "meta";

export type FsyncHook = (kind: FsyncKind, ms: number) => void;

/** How many recent fsync latencies are kept for percentiles; bounded so a busy node does not grow. */
const LATENCY_RING = 512;

/**
 * Every fsync storage does goes through here, so the runtime can export one
 * counter and latency distribution for "how often and how slowly do we hit the disk".
 */
export class FsyncMeter {
  count = 0;
  readonly byKind: Record<FsyncKind, number> = { wal: 0, dir: 0, hardstate: 0, snapshot: 0, meta: 0 };
  totalMs = 0;
  private readonly ring = new Float64Array(LATENCY_RING);
  private ringNext = 0;
  private ringLen = 0;

  constructor(private readonly hook?: FsyncHook) {}

  fsync(fd: number, kind: FsyncKind): number {
    const t0 = process.hrtime.bigint();
    fs.fsyncSync(fd);
    return this.record(kind, t0);
  }

  async fsyncHandle(handle: FileHandle, kind: FsyncKind): Promise<number> {
    const t0 = process.hrtime.bigint();
    await handle.sync();
    return this.record(kind, t0);
  }

  /** Makes creations, renames and deletions of entries in `dir` durable. */
  fsyncDir(dir: string): number {
    const fd = fs.openSync(dir, "r");
    try {
      return this.fsync(fd, "dir");
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Latencies (ms) of the most recent fsyncs, oldest first. */
  recent(): number[] {
    const out: number[] = [];
    const start = (this.ringNext - this.ringLen + LATENCY_RING) % LATENCY_RING;
    for (let i = 0; i < this.ringLen; i++) out.push(this.ring[(start + i) % LATENCY_RING]!);
    return out;
  }

  private record(kind: FsyncKind, t0: bigint): number {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    this.count++;
    this.byKind[kind]++;
    this.totalMs += ms;
    this.ring[this.ringNext] = ms;
    this.ringNext = (this.ringNext + 1) % LATENCY_RING;
    if (this.ringLen < LATENCY_RING) this.ringLen++;
    this.hook?.(kind, ms);
    return ms;
  }
}

/** writeSync may write less than asked (signals, quotas); loop until all of it is in the file. */
export function writeFully(fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
  }
}

/** Reads exactly buf.length bytes at position, or fewer only at end of file; returns the count. */
export function readFully(fd: number, buf: Uint8Array, position: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = fs.readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * Replaces `dir/name` with `bytes` so that a crash leaves either the old or the
 * new content, never a mix: write a temp file, fsync it (otherwise the rename can
 * reach the disk before the data and leave an empty file), rename over, and fsync
 * the directory (otherwise the rename itself may be lost). `syncDir: false` skips
 * the last step for callers to whom losing the rename (keeping the old content) is harmless.
 */
export function atomicReplace(
  meter: FsyncMeter,
  kind: FsyncKind,
  dir: string,
  name: string,
  bytes: Uint8Array,
  syncDir = true,
): void {
  const tmp = path.join(dir, `${name}.tmp`);
  const fd = fs.openSync(tmp, "w");
  try {
    writeFully(fd, bytes, 0);
    meter.fsync(fd, kind);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, name));
  if (syncDir) meter.fsyncDir(dir);
}

/** Removes a file if present; storage cleans up leftovers whose absence is the goal. */
export function removeIfExists(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

export function exists(file: string): boolean {
  return fs.existsSync(file);
}
