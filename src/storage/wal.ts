import * as fs from "node:fs";
import * as path from "node:path";
import type { Entry } from "../raft/types.js";
import { decodeEntry, EntryDecodeError, encodeEntry } from "./entry-codec.js";
import { StorageCorruptError, StorageUsageError } from "./errors.js";
import { type FsyncMeter, readFully, writeFully } from "./fsio.js";
import type { StorageLogger } from "./logger.js";
import { checkRecord, RECORD_HEADER, type RecordCheck, writeRecord } from "./record.js";
import { TermIndex } from "./term-index.js";

/**
 * The segmented write-ahead log.
 *
 * Layout: `<dir>/<first index, 20 digits>.wal`, each file a 16-byte header
 * (magic, first index) followed by records (see record.ts), one per entry, with
 * strictly consecutive indexes across the whole sequence of segments.
 *
 * Suffix truncation (Raft overwriting a conflicting tail) is done in place: the
 * segment holding the first overwritten index is cut with ftruncate and fsynced,
 * and later segments are unlinked, before any new record is written. The
 * alternative, a truncation record, would keep the files append-only but make
 * the on-disk sequence non-monotonic, so recovery could no longer treat "index
 * out of sequence" as corruption, and compaction would have to reason about
 * superseded records. Conflicts happen only when a new leader overwrites a
 * follower's uncommitted tail, so paying an immediate fsync for them is cheap.
 *
 * Only the last segment is ever written; it is fsynced before the next one is
 * created, so after a crash only the last segment can end in a torn record.
 *
 * Memory: per entry only a u32 file offset (the term is kept as runs), so the
 * index of a multi-GB log stays small; entries themselves are read from disk.
 */

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;
export const DEFAULT_WRITE_BUFFER_BYTES = 1024 * 1024;

const SEGMENT_HEADER = 16;
const SEGMENT_MAGIC = Buffer.from("TKWAL001", "latin1");
const SEGMENT_NAME = /^(\d{20})\.wal$/;
/** Upper bound of one read during recovery or entries(); a larger single record gets its own buffer. */
const READ_WINDOW = 4 * 1024 * 1024;
/** Read-only descriptors kept open for older segments (followers catching up read them). */
const READ_FD_CACHE = 8;
/** Offsets are u32: a segment must stay below 4 GiB even with one oversized record at its end. */
const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;

export interface WalOptions {
  dir: string;
  segmentBytes?: number;
  maxRecordBytes?: number;
  writeBufferBytes?: number;
  meter: FsyncMeter;
  logger: StorageLogger;
}

export function segmentName(first: number): string {
  return `${String(first).padStart(20, "0")}.wal`;
}

/** A growable array of u32 (record offsets within one segment). */
class U32List {
  private data = new Uint32Array(64);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Uint32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }

  get(i: number): number {
    return this.data[i]!;
  }

  truncate(n: number): void {
    this.length = Math.min(this.length, n);
  }
}

interface Segment {
  first: number;
  file: string;
  /** offsets.get(i): file offset of the record holding index first + i. */
  offsets: U32List;
  /** Bytes of the segment, including (for the last one) bytes still in the write buffer. */
  size: number;
}

export class Wal {
  private readonly dir: string;
  private readonly segmentBytes: number;
  private readonly maxRecordBytes: number;
  private readonly meter: FsyncMeter;
  private readonly logger: StorageLogger;
  private segments: Segment[] = [];
  private readonly terms = new TermIndex();
  private next = 1;

  /** Descriptor of the last segment, the only one written. */
  private activeFd = -1;
  /** Bytes of the last segment handed to the OS; the rest of `size` is in `buf`. */
  private flushed = 0;
  private readonly buf: Buffer;
  private bufLen = 0;
  /** Data was handed to the OS since the last fsync of the last segment. */
  private dirty = false;
  /** A segment file was created since the last directory fsync. */
  private dirDirty = false;
  private readonly readFds = new Map<string, number>();
  bytesAppended = 0;

  private constructor(opts: WalOptions) {
    this.dir = opts.dir;
    this.segmentBytes = Math.min(opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES, MAX_SEGMENT_BYTES);
    this.maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.meter = opts.meter;
    this.logger = opts.logger;
    this.buf = Buffer.allocUnsafe(opts.writeBufferBytes ?? DEFAULT_WRITE_BUFFER_BYTES);
  }

  /**
   * Opens (creating if needed) the log in `opts.dir`, recovering from a crash.
   * Segments that end at or below `coveredIndex` + 1 — all of whose entries a
   * durable snapshot covers — are deleted unread: they are leftovers of a
   * compaction whose deletions did not all reach the disk.
   */
  static open(opts: WalOptions, coveredIndex: number): Wal {
    const wal = new Wal(opts);
    wal.recover(coveredIndex);
    return wal;
  }

  /** First index physically present (entries below a snapshot may still be here). */
  firstIndex(): number {
    return this.segments[0]!.first;
  }

  lastIndex(): number {
    return this.next - 1;
  }

  segmentCount(): number {
    return this.segments.length;
  }

  /** Term of a present entry; the caller checks firstIndex() <= index <= lastIndex(). */
  term(index: number): number {
    return this.terms.termAt(index);
  }

  /**
   * Appends entries, first cutting off any suffix from entries[0].index on. The
   * entries are visible to reads at once but durable only after sync().
   */
  append(entries: readonly Entry[]): void {
    const head = entries[0];
    if (head === undefined) return;
    const first = head.index;
    if (first > this.next)
      throw new StorageUsageError(`wal: append at ${first} leaves a gap after ${this.next - 1}`);
    if (first < this.firstIndex()) {
      throw new StorageUsageError(
        `wal: append at ${first} is below the log's first index ${this.firstIndex()}`,
      );
    }
    let prevTerm = first > this.firstIndex() ? this.terms.termAt(first - 1) : -1;
    // Encode and validate everything before touching the file, so a rejected
    // batch leaves the log as it was.
    const payloads: Uint8Array[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.index !== first + i) throw new StorageUsageError(`wal: entries not consecutive at ${e.index}`);
      if (e.term < prevTerm)
        throw new StorageUsageError(`wal: term decreases at ${e.index} (${e.term} < ${prevTerm})`);
      prevTerm = e.term;
      const p = encodeEntry(e);
      if (p.length > this.maxRecordBytes) {
        throw new StorageUsageError(
          `wal: entry ${e.index} encodes to ${p.length} bytes, over the ${this.maxRecordBytes} limit`,
        );
      }
      payloads.push(p);
    }
    if (first < this.next) this.truncateFrom(first);
    for (let i = 0; i < payloads.length; i++) this.writeEntry(payloads[i]!, entries[i]!);
  }

  /** Makes everything appended so far durable; returns the number of fsyncs it took (0 if none were needed). */
  sync(): number {
    this.flush();
    let n = 0;
    if (this.dirty) {
      this.meter.fsync(this.activeFd, "wal");
      this.dirty = false;
      n++;
    }
    if (this.dirDirty) {
      this.meter.fsyncDir(this.dir);
      this.dirDirty = false;
      n++;
    }
    return n;
  }

  /**
   * Entries from lo (inclusive) towards hi (exclusive), all from the segment
   * holding lo, reading about maxBytes of records (at least one record, at most
   * READ_WINDOW unless that one record is larger). The caller checks the range.
   */
  read(lo: number, hi: number, maxBytes: number): Entry[] {
    const seg = this.segmentFor(lo);
    const i0 = lo - seg.first;
    const iEnd = Math.min(hi - seg.first, seg.offsets.length);
    const start = seg.offsets.get(i0);
    const budget = Math.min(Math.max(maxBytes, 0), READ_WINDOW);
    let i = i0 + 1;
    let end = this.recordEnd(seg, i0);
    while (i < iEnd) {
      const e = this.recordEnd(seg, i);
      if (e - start > budget) break;
      end = e;
      i++;
    }
    const isActive = seg === this.segments[this.segments.length - 1];
    if (isActive && end > this.flushed) this.flush();
    const fd = isActive ? this.activeFd : this.readFd(seg);
    const bytes = Buffer.allocUnsafe(end - start);
    if (readFully(fd, bytes, start) !== bytes.length) {
      throw new StorageCorruptError(seg.file, `file ends before offset ${end}, which the index expects`);
    }
    const out: Entry[] = [];
    let at = 0;
    for (let k = i0; k < i; k++) {
      const c = checkRecord(bytes, at, bytes.length, this.maxRecordBytes);
      const offset = start + at;
      if (c.kind !== "ok") throw new StorageCorruptError(seg.file, `${describe(c)} at offset ${offset}`);
      const e = this.decodeAt(seg, c.payload, offset);
      if (e.index !== seg.first + k) {
        throw new StorageCorruptError(seg.file, `record at offset ${offset} holds index ${e.index}`);
      }
      out.push(e);
      at = c.end;
    }
    return out;
  }

  /**
   * Deletes whole segments whose entries are all <= index (a durable snapshot
   * must cover index). The last segment is always kept. Returns how many went.
   */
  compact(index: number): number {
    let n = 0;
    while (n + 1 < this.segments.length && this.segments[n + 1]!.first <= index + 1) n++;
    if (n === 0) return 0;
    for (const seg of this.segments.slice(0, n)) {
      this.closeReadFd(seg.file);
      fs.unlinkSync(seg.file);
    }
    this.segments = this.segments.slice(n);
    this.terms.dropBefore(this.firstIndex());
    // One directory fsync is enough: if only some unlinks survive a crash, the
    // leftovers are below the snapshot and recovery deletes them unread.
    this.meter.fsyncDir(this.dir);
    return n;
  }

  /** Replaces the whole log by an empty one whose next index is `next` (after installing a snapshot). Durable on return. */
  reset(next: number): void {
    this.bufLen = 0;
    this.removeSegmentsAfter(-1);
    this.terms.clear();
    this.createSegment(next);
    this.next = next;
    this.sync();
  }

  /** Hands buffered records to the OS (not durable: see sync()). */
  flush(): void {
    if (this.bufLen === 0) return;
    writeFully(this.activeFd, this.buf.subarray(0, this.bufLen), this.flushed);
    this.flushed += this.bufLen;
    this.bufLen = 0;
    this.dirty = true;
  }

  close(): void {
    this.flush();
    if (this.activeFd >= 0) fs.closeSync(this.activeFd);
    this.activeFd = -1;
    for (const fd of this.readFds.values()) fs.closeSync(fd);
    this.readFds.clear();
  }

  // ---- writing ----

  private writeEntry(payload: Uint8Array, e: Entry): void {
    const len = RECORD_HEADER + payload.length;
    let seg = this.segments[this.segments.length - 1]!;
    if (seg.size > SEGMENT_HEADER && seg.size + len > this.segmentBytes) {
      this.roll();
      seg = this.segments[this.segments.length - 1]!;
    }
    if (len > this.buf.length - this.bufLen) this.flush();
    const offset = seg.size;
    if (len > this.buf.length) {
      const big = Buffer.allocUnsafe(len);
      writeRecord(big, 0, payload);
      writeFully(this.activeFd, big, this.flushed);
      this.flushed += len;
      this.dirty = true;
    } else {
      writeRecord(this.buf, this.bufLen, payload);
      this.bufLen += len;
    }
    seg.size += len;
    seg.offsets.push(offset);
    this.terms.push(e.index, e.term);
    this.next = e.index + 1;
    this.bytesAppended += len;
  }

  /**
   * Starts a new segment at the next index. The current one is fsynced first so
   * that a crash can never leave a complete later segment behind an incomplete
   * earlier one, which recovery would have to call a hole.
   */
  private roll(): void {
    this.flush();
    if (this.dirty) {
      this.meter.fsync(this.activeFd, "wal");
      this.dirty = false;
    }
    fs.closeSync(this.activeFd);
    this.activeFd = -1;
    this.createSegment(this.next);
  }

  private createSegment(first: number): void {
    const file = path.join(this.dir, segmentName(first));
    const fd = fs.openSync(file, "wx+");
    writeFully(fd, segmentHeader(first), 0);
    this.activeFd = fd;
    this.flushed = SEGMENT_HEADER;
    this.dirty = true;
    this.dirDirty = true;
    this.segments.push({ first, file, offsets: new U32List(), size: SEGMENT_HEADER });
  }

  /** Cuts the log so that `index` is the next index; durable on return (see the file comment). */
  private truncateFrom(index: number): void {
    this.flush();
    const k = this.segments.indexOf(this.segmentFor(index));
    this.removeSegmentsAfter(k);
    const seg = this.segments[k]!;
    if (this.activeFd < 0) {
      this.closeReadFd(seg.file);
      this.activeFd = fs.openSync(seg.file, "r+");
    }
    const cut = seg.offsets.get(index - seg.first);
    fs.ftruncateSync(this.activeFd, cut);
    this.meter.fsync(this.activeFd, "wal");
    this.dirty = false;
    if (this.dirDirty) {
      this.meter.fsyncDir(this.dir);
      this.dirDirty = false;
    }
    seg.size = cut;
    seg.offsets.truncate(index - seg.first);
    this.flushed = cut;
    this.terms.truncateFrom(index);
    this.next = index;
  }

  /**
   * Deletes segments after position k, newest first, fsyncing the directory
   * after each: whatever a crash interrupts, the survivors are a prefix of the
   * log, never a log with a hole in the middle.
   */
  private removeSegmentsAfter(k: number): void {
    for (let i = this.segments.length - 1; i > k; i--) {
      const seg = this.segments[i]!;
      if (i === this.segments.length - 1 && this.activeFd >= 0) {
        fs.closeSync(this.activeFd);
        this.activeFd = -1;
        this.bufLen = 0;
        this.dirty = false;
      }
      this.closeReadFd(seg.file);
      fs.unlinkSync(seg.file);
      this.segments.pop();
      this.meter.fsyncDir(this.dir);
      this.dirDirty = false;
    }
  }

  // ---- reading ----

  private segmentFor(index: number): Segment {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.segments[mid]!.first <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.segments[lo]!;
  }

  private recordEnd(seg: Segment, i: number): number {
    return i + 1 < seg.offsets.length ? seg.offsets.get(i + 1) : seg.size;
  }

  private readFd(seg: Segment): number {
    const cached = this.readFds.get(seg.file);
    if (cached !== undefined) {
      // Re-insert to keep the map in least-recently-used order.
      this.readFds.delete(seg.file);
      this.readFds.set(seg.file, cached);
      return cached;
    }
    const fd = fs.openSync(seg.file, "r");
    this.readFds.set(seg.file, fd);
    if (this.readFds.size > READ_FD_CACHE) {
      const [oldest] = this.readFds.keys();
      if (oldest !== undefined) this.closeReadFd(oldest);
    }
    return fd;
  }

  private closeReadFd(file: string): void {
    const fd = this.readFds.get(file);
    if (fd === undefined) return;
    this.readFds.delete(file);
    fs.closeSync(fd);
  }

  private decodeAt(seg: Segment, payload: Uint8Array, offset: number): Entry {
    try {
      return decodeEntry(payload);
    } catch (err) {
      if (err instanceof EntryDecodeError) {
        throw new StorageCorruptError(
          seg.file,
          `record at offset ${offset} has a valid checksum but ${err.message}`,
        );
      }
      throw err;
    }
  }

  // ---- recovery ----

  private recover(coveredIndex: number): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const found: Segment[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const m = SEGMENT_NAME.exec(name);
      if (m === null) {
        this.logger.warn(
          { file: path.join(this.dir, name) },
          "wal: ignoring unknown file in the log directory",
        );
        continue;
      }
      found.push({ first: Number(m[1]), file: path.join(this.dir, name), offsets: new U32List(), size: 0 });
    }
    found.sort((a, b) => a.first - b.first);

    if (found.length === 0) {
      this.createSegment(coveredIndex + 1);
      this.next = coveredIndex + 1;
      this.sync();
      return;
    }

    let k = -1;
    for (let i = 0; i < found.length; i++) if (found[i]!.first <= coveredIndex + 1) k = i;
    if (k < 0) {
      const f = found[0]!;
      throw new StorageCorruptError(
        f.file,
        `the log starts at index ${f.first} but the newest snapshot covers only up to ${coveredIndex}, so the segment(s) before it are missing`,
      );
    }
    if (k > 0) {
      for (const seg of found.slice(0, k)) {
        fs.unlinkSync(seg.file);
        this.logger.info({ file: seg.file }, "wal: removed a segment left over from compaction");
      }
      this.meter.fsyncDir(this.dir);
    }

    const live = found.slice(k);
    let expected = live[0]!.first;
    for (let i = 0; i < live.length; i++) {
      const seg = live[i]!;
      if (seg.first !== expected) {
        const what =
          seg.first > expected
            ? `starts at index ${seg.first} but the previous segment ends at ${expected - 1}, so a segment is missing`
            : `starts at index ${seg.first} which overlaps the previous segment (ending at ${expected - 1})`;
        throw new StorageCorruptError(seg.file, what);
      }
      const isLast = i === live.length - 1;
      expected = this.scanSegment(seg, isLast);
      this.segments.push(seg);
    }
    this.next = expected;
  }

  /**
   * Reads one segment, filling its offsets and the term index; returns the next
   * expected index. Leaves the last segment open as the active one.
   */
  private scanSegment(seg: Segment, isLast: boolean): number {
    const fd = fs.openSync(seg.file, isLast ? "r+" : "r");
    let keepOpen = false;
    try {
      let size = fs.fstatSync(fd).size;
      if (size < SEGMENT_HEADER) {
        if (!isLast)
          throw new StorageCorruptError(seg.file, `only ${size} bytes, shorter than a segment header`);
        // Created but the header never reached the disk: the crash hit the roll itself.
        fs.ftruncateSync(fd, 0);
        writeFully(fd, segmentHeader(seg.first), 0);
        this.meter.fsync(fd, "wal");
        this.logger.warn({ file: seg.file, bytes: size }, "wal: rewrote the torn header of the last segment");
        size = SEGMENT_HEADER;
      } else {
        const header = Buffer.alloc(SEGMENT_HEADER);
        readFully(fd, header, 0);
        if (!header.subarray(0, 8).equals(SEGMENT_MAGIC)) {
          throw new StorageCorruptError(seg.file, "not a taskraft WAL segment (bad magic)");
        }
        const first = Number(header.readBigUInt64LE(8));
        if (first !== seg.first) {
          throw new StorageCorruptError(
            seg.file,
            `header says first index ${first}, the file name ${seg.first}`,
          );
        }
      }

      let index = seg.first;
      let pos = SEGMENT_HEADER;
      let win = Buffer.allocUnsafe(Math.min(READ_WINDOW, Math.max(size - pos, 0)));
      let winStart = pos;
      let winLen = readFully(fd, win, winStart);
      while (pos < size) {
        const c = checkRecord(win, pos - winStart, winLen, this.maxRecordBytes);
        if (c.kind === "short" && winStart + winLen < size) {
          // The record crosses the window's end: slide the window to it (growing it for one big record).
          const want = Math.min(Math.max(READ_WINDOW, c.need), size - pos);
          if (want > win.length) win = Buffer.allocUnsafe(want);
          winStart = pos;
          winLen = readFully(fd, win.subarray(0, want), winStart);
          if (winLen < want)
            throw new StorageCorruptError(seg.file, "the file shrank while it was being read");
          continue;
        }
        if (c.kind === "ok") {
          const e = this.decodeAt(seg, c.payload, pos);
          if (e.index !== index) {
            throw new StorageCorruptError(
              seg.file,
              `record ${seg.offsets.length} at offset ${pos} holds index ${e.index}, expected ${index}`,
            );
          }
          const lastTerm = this.terms.lastTerm();
          if (e.term < lastTerm) {
            throw new StorageCorruptError(
              seg.file,
              `term goes back from ${lastTerm} to ${e.term} at index ${index}`,
            );
          }
          seg.offsets.push(pos);
          this.terms.push(index, e.term);
          pos = winStart + c.end;
          index++;
          continue;
        }
        const problem = `${describe(c)} at offset ${pos} (record ${seg.offsets.length}, index ${index})`;
        if (!isLast) throw new StorageCorruptError(seg.file, problem);
        // A torn tail: the record is cut short by the end of the file, or damaged
        // with nothing but zeros after it (blocks allocated but never written).
        // Damage followed by real data is not a crash artefact: it is corruption.
        const after =
          c.kind === "badChecksum" ? winStart + c.end : c.kind === "badLength" ? pos + RECORD_HEADER : size;
        if (c.kind !== "short" && !zerosFrom(fd, after, size))
          throw new StorageCorruptError(seg.file, problem);
        fs.ftruncateSync(fd, pos);
        this.meter.fsync(fd, "wal");
        this.logger.warn(
          { file: seg.file, offset: pos, droppedBytes: size - pos, reason: describe(c), nextIndex: index },
          "wal: cut a torn record at the end of the log (a write interrupted by a crash)",
        );
        size = pos;
      }
      seg.size = size;
      if (isLast) {
        this.activeFd = fd;
        this.flushed = size;
        keepOpen = true;
      }
      return index;
    } finally {
      if (!keepOpen) fs.closeSync(fd);
    }
  }
}

function segmentHeader(first: number): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER);
  SEGMENT_MAGIC.copy(h, 0);
  h.writeBigUInt64LE(BigInt(first), 8);
  return h;
}

function describe(c: RecordCheck): string {
  switch (c.kind) {
    case "ok":
      return "valid record";
    case "short":
      return "incomplete record";
    case "badLength":
      return `impossible record length ${c.length}`;
    case "badChecksum":
      return "checksum mismatch";
  }
}

function zerosFrom(fd: number, from: number, to: number): boolean {
  const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, Math.max(to - from, 0)));
  for (let pos = from; pos < to; ) {
    const n = readFully(fd, chunk.subarray(0, Math.min(chunk.length, to - pos)), pos);
    if (n === 0) return true;
    for (let i = 0; i < n; i++) if (chunk[i] !== 0) return false;
    pos += n;
  }
  return true;
}
