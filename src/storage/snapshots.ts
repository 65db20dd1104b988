import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { Packr } from "msgpackr";
import { cloneConf } from "../raft/storage.js";
import type { ConfState, SnapshotChunk, SnapshotMeta } from "../raft/types.js";
import { crc32c } from "./crc32c.js";
import { type FsyncMeter, readFully, removeIfExists, writeFully } from "./fsio.js";
import type { StorageLogger } from "./logger.js";

/**
 * Snapshot files in `<data>/snapshots/`, named `<index>-<term>.snap` (20 digits
 * each, so names sort by age).
 *
 * File layout: [data][meta][u32 LE meta length][u32 LE CRC32C of meta][magic "TKSNAP01"].
 * The data comes first so a chunk at offset o is simply the file's bytes at o,
 * and so a snapshot can be streamed to disk before its size and checksum are
 * known; the trailer is written last. Meta is msgpack
 * [1, index, term, voters, learners, size, CRC32C of data].
 *
 * Both local snapshots and incoming ones being staged are written under a
 * `.tmp` name and renamed once complete and fsynced, so a crash leaves either
 * a whole snapshot or a `.tmp` file, which the next open deletes.
 */

const MAGIC = Buffer.from("TKSNAP01", "latin1");
const TRAILER = 16;
const MAX_META_BYTES = 1024 * 1024;
/** Buffer for checksumming snapshot data; snapshots may be GBs and are never read whole. */
const IO_CHUNK = 1024 * 1024;
/** Upper bound of one snapshotChunk() read, whatever the caller asks for. */
export const MAX_SNAPSHOT_CHUNK = 16 * 1024 * 1024;
const FINAL_NAME = /^(\d{20})-(\d{20})\.snap$/;

const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: "number" });

export interface SnapshotBase {
  index: number;
  term: number;
  conf: ConfState;
}

export type SnapshotSource = Uint8Array | AsyncIterable<Uint8Array>;

interface Stored {
  meta: SnapshotMeta;
  file: string;
}

interface Staging {
  key: string;
  meta: SnapshotMeta;
  file: string;
  fd: number;
  size: number;
}

function baseName(index: number, term: number): string {
  return `${String(index).padStart(20, "0")}-${String(term).padStart(20, "0")}`;
}

function newer(a: SnapshotMeta, b: SnapshotMeta): boolean {
  return a.index > b.index || (a.index === b.index && a.term > b.term);
}

function trailer(meta: SnapshotMeta, dataCrc: number): Buffer {
  const m = packr.pack([1, meta.index, meta.term, meta.conf.voters, meta.conf.learners, meta.size, dataCrc]);
  const out = Buffer.allocUnsafe(m.length + TRAILER);
  m.copy(out, 0);
  out.writeUInt32LE(m.length, m.length);
  out.writeUInt32LE(crc32c(m), m.length + 4);
  MAGIC.copy(out, m.length + 8);
  return out;
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isIds(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/**
 * Reads and checks the trailer; with `checkData`, also the checksum of all the data; with
 * `checkName`, that the file is named for its index and term. Returns why it is invalid, or the meta.
 */
function inspect(file: string, checkData: boolean, checkName = true): SnapshotMeta | string {
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    if (size < TRAILER) return `only ${size} bytes`;
    const t = Buffer.alloc(TRAILER);
    readFully(fd, t, size - TRAILER);
    if (!t.subarray(8).equals(MAGIC)) return "no snapshot trailer (bad magic)";
    const metaLen = t.readUInt32LE(0);
    if (metaLen > MAX_META_BYTES || metaLen + TRAILER > size) return `impossible metadata length ${metaLen}`;
    const m = Buffer.alloc(metaLen);
    readFully(fd, m, size - TRAILER - metaLen);
    if (crc32c(m) !== t.readUInt32LE(4)) return "metadata checksum mismatch";
    let v: unknown;
    try {
      v = packr.unpack(m);
    } catch {
      return "metadata does not decode";
    }
    if (!Array.isArray(v) || v.length !== 7 || v[0] !== 1) return "metadata has an unknown shape";
    const [, index, term, voters, learners, dataSize, dataCrc] = v as unknown[];
    if (!isCount(index) || !isCount(term) || !isCount(dataSize) || !isCount(dataCrc))
      return "metadata has bad numbers";
    if (!isIds(voters) || !isIds(learners)) return "metadata has a bad configuration";
    if (dataSize + metaLen + TRAILER !== size)
      return `metadata says ${dataSize} data bytes, the file disagrees`;
    if (checkName && path.basename(file) !== `${baseName(index, term)}.snap`)
      return "metadata does not match the file name";
    if (checkData) {
      const buf = Buffer.allocUnsafe(Math.min(IO_CHUNK, Math.max(dataSize, 1)));
      let crc = 0;
      for (let pos = 0; pos < dataSize; ) {
        const n = readFully(fd, buf.subarray(0, Math.min(buf.length, dataSize - pos)), pos);
        if (n === 0) return "data ends early";
        crc = crc32c(buf.subarray(0, n), crc);
        pos += n;
      }
      if (crc !== dataCrc) return "data checksum mismatch";
    }
    return { index, term, conf: { voters, learners }, size: dataSize };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Verifies a snapshot file anywhere (a backup copy may have any name): trailer, metadata and the
 * checksum of all its data. Returns its meta; throws an Error saying what is wrong.
 */
export function verifySnapshotFile(file: string): SnapshotMeta {
  let r: SnapshotMeta | string;
  try {
    r = inspect(file, true, false);
  } catch (e) {
    throw new Error(`${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (typeof r === "string") throw new Error(`${file} is not a valid taskraft snapshot: ${r}`);
  return r;
}

/** The snapshot files of a data dir's `snapshots/` folder, newest first (names only, unverified). */
export function listSnapshotFiles(snapDir: string): string[] {
  return fs
    .readdirSync(snapDir)
    .filter((n) => FINAL_NAME.test(n))
    .sort()
    .reverse()
    .map((n) => path.join(snapDir, n));
}

function crcOfFile(fd: number, size: number): number {
  const buf = Buffer.allocUnsafe(Math.min(IO_CHUNK, Math.max(size, 1)));
  let crc = 0;
  for (let pos = 0; pos < size; ) {
    const n = readFully(fd, buf.subarray(0, Math.min(buf.length, size - pos)), pos);
    if (n === 0) throw new Error(`snapshot staging file ends at ${pos}, expected ${size} bytes`);
    crc = crc32c(buf.subarray(0, n), crc);
    pos += n;
  }
  return crc;
}

export class SnapshotStore {
  private stored: Stored[] = [];
  private staging: Staging | undefined;
  private readonly readFds = new Map<string, number>();

  constructor(
    private readonly dir: string,
    private readonly meter: FsyncMeter,
    private readonly logger: StorageLogger,
    private readonly keep = 2,
  ) {}

  /**
   * Scans the directory: deletes `.tmp` leftovers, picks the newest snapshot
   * whose data checksum verifies (renaming invalid newer ones to `.corrupt`
   * for inspection), and returns its meta, or undefined when there is none.
   */
  open(): SnapshotMeta | undefined {
    fs.mkdirSync(this.dir, { recursive: true });
    const finals: string[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const file = path.join(this.dir, name);
      if (name.endsWith(".tmp")) {
        fs.unlinkSync(file);
        this.logger.warn({ file }, "snapshots: deleted an incomplete snapshot left by a crash");
      } else if (FINAL_NAME.test(name)) {
        finals.push(file);
      }
    }
    finals.sort().reverse();
    let verified = false;
    for (const file of finals) {
      const r = inspect(file, !verified);
      if (typeof r === "string") {
        fs.renameSync(file, `${file}.corrupt`);
        this.logger.error(
          { file, problem: r },
          "snapshots: ignoring an invalid snapshot (renamed to .corrupt)",
        );
        continue;
      }
      verified = true;
      this.stored.push({ meta: r, file });
    }
    this.stored.reverse();
    this.meter.fsyncDir(this.dir);
    const newest = this.stored[this.stored.length - 1]?.meta;
    if (newest) this.retain(newest);
    return newest ? this.copy(newest) : undefined;
  }

  /** Newest first. */
  list(): SnapshotMeta[] {
    return this.stored.map((s) => this.copy(s.meta)).reverse();
  }

  has(meta: Pick<SnapshotMeta, "index" | "term">): boolean {
    return this.find(meta) !== undefined;
  }

  /** Path of a stored snapshot's file, whose data is its first meta.size bytes (for the state machine to restore from). */
  path(meta: Pick<SnapshotMeta, "index" | "term">): string {
    const s = this.find(meta);
    if (!s) throw new Error(`snapshot ${meta.index}/${meta.term} is not stored`);
    return s.file;
  }

  /** Writes a complete snapshot; durable, and listed, once the promise resolves. */
  async write(base: SnapshotBase, data: SnapshotSource): Promise<SnapshotMeta> {
    const name = baseName(base.index, base.term);
    const tmp = path.join(this.dir, `${name}.snap.tmp`);
    const handle = await fsp.open(tmp, "w");
    let meta: SnapshotMeta;
    try {
      let crc = 0;
      let pos = 0;
      const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = data instanceof Uint8Array ? [data] : data;
      for await (const chunk of chunks) {
        crc = crc32c(chunk, crc);
        await writeAllAsync(handle, chunk, pos);
        pos += chunk.length;
      }
      meta = { index: base.index, term: base.term, conf: cloneConf(base.conf), size: pos };
      await writeAllAsync(handle, trailer(meta, crc), pos);
      await this.meter.fsyncHandle(handle, "snapshot");
      await handle.close();
    } catch (err) {
      await handle.close().catch(() => {});
      removeIfExists(tmp);
      throw err;
    }
    this.promote(tmp, meta);
    return this.copy(meta);
  }

  /**
   * Stages one chunk of an incoming snapshot. Chunks must arrive in order; a
   * chunk at an offset already staged (a resend) rewrites from there. On the
   * last chunk the size is checked and the snapshot made durable and listed;
   * its meta is returned then (undefined before). A chunk of another snapshot
   * abandons the one in progress.
   */
  stage(chunk: SnapshotChunk): SnapshotMeta | undefined {
    const { meta, offset, data } = chunk;
    const key = baseName(meta.index, meta.term);
    if (this.staging && this.staging.key !== key) this.abortStaging();
    if (!this.staging) {
      if (offset !== 0) {
        throw new Error(
          `snapshot ${meta.index}/${meta.term}: chunk at offset ${offset} but none staged; resend from 0`,
        );
      }
      const file = path.join(this.dir, `${key}.incoming.tmp`);
      const fd = fs.openSync(file, "w+");
      this.staging = { key, meta: { ...meta, conf: cloneConf(meta.conf) }, file, fd, size: 0 };
    }
    const st = this.staging;
    if (offset > st.size) {
      throw new Error(`snapshot ${meta.index}/${meta.term}: chunk at offset ${offset}, expected ${st.size}`);
    }
    if (offset + data.length > st.meta.size) {
      this.abortStaging();
      throw new Error(
        `snapshot ${meta.index}/${meta.term}: chunk ends past the announced size ${st.meta.size}`,
      );
    }
    if (offset < st.size) fs.ftruncateSync(st.fd, offset);
    writeFully(st.fd, data, offset);
    st.size = offset + data.length;
    if (!chunk.last) return undefined;
    if (st.size !== st.meta.size) {
      this.abortStaging();
      throw new Error(
        `snapshot ${meta.index}/${meta.term}: last chunk ends at ${st.size}, expected ${meta.size}`,
      );
    }
    try {
      writeFully(st.fd, trailer(st.meta, crcOfFile(st.fd, st.size)), st.size);
      this.meter.fsync(st.fd, "snapshot");
    } catch (err) {
      this.abortStaging();
      throw err;
    }
    fs.closeSync(st.fd);
    this.staging = undefined;
    this.promote(st.file, st.meta);
    return this.copy(st.meta);
  }

  /** Bytes [offset, offset + maxBytes) of a stored snapshot's data (fewer at its end). */
  readChunk(meta: Pick<SnapshotMeta, "index" | "term">, offset: number, maxBytes: number): Uint8Array {
    const s = this.find(meta);
    if (!s) throw new Error(`snapshot ${meta.index}/${meta.term} is no longer stored`);
    if (offset < 0 || offset > s.meta.size) {
      throw new RangeError(`snapshot ${meta.index}/${meta.term}: offset ${offset} outside 0..${s.meta.size}`);
    }
    const n = Math.max(0, Math.min(maxBytes, MAX_SNAPSHOT_CHUNK, s.meta.size - offset));
    let fd = this.readFds.get(s.file);
    if (fd === undefined) {
      fd = fs.openSync(s.file, "r");
      this.readFds.set(s.file, fd);
    }
    const out = new Uint8Array(n);
    if (readFully(fd, out, offset) !== n)
      throw new Error(`snapshot file ${s.file} is shorter than its metadata says`);
    return out;
  }

  /** Deletes all but the newest `keep` snapshots, never the one in use. */
  retain(inUse: SnapshotMeta): void {
    const drop = this.stored.slice(0, Math.max(0, this.stored.length - this.keep));
    let removed = false;
    for (const s of drop) {
      if (s.meta.index === inUse.index && s.meta.term === inUse.term) continue;
      this.closeFd(s.file);
      removeIfExists(s.file);
      this.stored = this.stored.filter((x) => x !== s);
      removed = true;
    }
    if (removed) this.meter.fsyncDir(this.dir);
  }

  close(): void {
    if (this.staging) this.abortStaging();
    for (const fd of this.readFds.values()) fs.closeSync(fd);
    this.readFds.clear();
  }

  private promote(tmp: string, meta: SnapshotMeta): void {
    const file = path.join(this.dir, `${baseName(meta.index, meta.term)}.snap`);
    this.closeFd(file);
    fs.renameSync(tmp, file);
    this.meter.fsyncDir(this.dir);
    this.stored = this.stored.filter((s) => s.file !== file);
    this.stored.push({ meta, file });
    this.stored.sort((a, b) => (newer(a.meta, b.meta) ? 1 : newer(b.meta, a.meta) ? -1 : 0));
  }

  private abortStaging(): void {
    const st = this.staging;
    if (!st) return;
    this.staging = undefined;
    fs.closeSync(st.fd);
    removeIfExists(st.file);
    this.logger.warn(
      { index: st.meta.index, term: st.meta.term },
      "snapshots: abandoned a partly received snapshot",
    );
  }

  private find(meta: Pick<SnapshotMeta, "index" | "term">): Stored | undefined {
    return this.stored.find((s) => s.meta.index === meta.index && s.meta.term === meta.term);
  }

  private closeFd(file: string): void {
    const fd = this.readFds.get(file);
    if (fd === undefined) return;
    this.readFds.delete(file);
    fs.closeSync(fd);
  }

  private copy(m: SnapshotMeta): SnapshotMeta {
    return { ...m, conf: cloneConf(m.conf) };
  }
}

async function writeAllAsync(handle: fsp.FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await handle.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}
