import * as fs from "node:fs";
import * as path from "node:path";
import { CompactedError, cloneConf, entrySize, type RaftStorage, UnavailableError } from "../raft/storage.js";
import type { ConfState, Entry, HardState, SnapshotChunk, SnapshotMeta } from "../raft/types.js";
import { EntryCache } from "./entry-cache.js";
import { StorageCorruptError, StorageUsageError } from "./errors.js";
import { type FsyncHook, type FsyncKind, FsyncMeter } from "./fsio.js";
import { EMPTY_HARD_STATE, HARD_STATE_FILE, readHardState, writeHardState } from "./hard-state.js";
import { type StorageLogger, silentLogger } from "./logger.js";
import { checkMeta, type DirMeta, readMeta, writeMeta } from "./meta.js";
import { type SnapshotSource, SnapshotStore } from "./snapshots.js";
import { Wal } from "./wal.js";

/**
 * A node's durable Raft state in one data dir:
 *
 *   <dir>/meta                 cluster id, node id, bootstrap configuration (meta.ts)
 *   <dir>/hardstate            term, vote, commit (hard-state.ts)
 *   <dir>/wal/*.wal            the log (wal.ts)
 *   <dir>/snapshots/*.snap     the newest two snapshots (snapshots.ts)
 *
 * Durability contract: append() and setHardState() only stage; nothing is
 * durable until sync() returns, which makes everything staged since the last
 * sync durable with one fsync of the log (plus the hard state file when it
 * changed): the runtime calls it once per Ready, so all proposals in a Ready
 * share it. installSnapshot(), compact(), stageSnapshotChunk() on the last
 * chunk and createSnapshot() are durable when they return.
 *
 * If a write or fsync fails the storage refuses all further writes: after a
 * failed fsync the kernel may have dropped the dirty pages, so retrying could
 * report success for data that is gone. The node must restart and recover.
 *
 * Reads: recent entries come from a bounded in-memory suffix cache, older ones
 * from the segment files through the WAL's offset index, so memory does not
 * grow with the log.
 */

export interface DiskStorageOptions {
  dir: string;
  clusterId: string;
  nodeId: string;
  /** Configuration of a brand-new data dir (the initial voters); ignored when the dir exists. Default: empty. */
  bootstrap?: ConfState;
  /** Segment size at which the log rolls to a new file (default 64 MiB). */
  segmentBytes?: number;
  /** Largest encoded entry accepted (default 64 MiB). */
  maxRecordBytes?: number;
  /** Appends are gathered in a buffer of this size before a write() (default 1 MiB). */
  writeBufferBytes?: number;
  /** Approximate bytes of recent entries kept decoded in memory (default 16 MiB). */
  cacheBytes?: number;
  logger?: StorageLogger;
  /** Called after every fsync with its latency, e.g. to feed a histogram. */
  onFsync?: FsyncHook;
}

export interface SyncResult {
  /** fsyncs this sync() performed (0 when nothing was staged). */
  fsyncs: number;
  /** Wall time of the whole sync(), in milliseconds. */
  ms: number;
}

export interface StorageStats {
  fsyncs: number;
  fsyncsByKind: Record<FsyncKind, number>;
  fsyncMsTotal: number;
  /** Latencies (ms) of the most recent fsyncs (bounded), oldest first. */
  recentFsyncMs: number[];
  walBytesAppended: number;
  segments: number;
  firstIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  cachedEntries: number;
}

const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export class DiskStorage implements RaftStorage {
  private readonly meter: FsyncMeter;
  private readonly logger: StorageLogger;
  private durableHs: HardState;
  private pendingHs: HardState | undefined;
  private snap: SnapshotMeta;
  /** Entries <= compactIndex are compacted; compactTerm answers term(compactIndex). */
  private compactIndex: number;
  private compactTerm: number;
  private readonly cache: EntryCache;
  private failed: Error | undefined;

  private constructor(
    readonly dir: string,
    readonly dirMeta: DirMeta,
    private readonly wal: Wal,
    private readonly snaps: SnapshotStore,
    meter: FsyncMeter,
    logger: StorageLogger,
    hs: HardState,
    snap: SnapshotMeta,
    cacheBytes: number,
  ) {
    this.meter = meter;
    this.logger = logger;
    this.durableHs = hs;
    this.snap = snap;
    this.compactIndex = snap.index;
    this.compactTerm = snap.term;
    this.cache = new EntryCache(wal.lastIndex() + 1, cacheBytes);
  }

  /**
   * Opens the data dir (creating it if new) and recovers it. Throws
   * StorageMismatchError when the dir belongs to another cluster or node, and
   * StorageCorruptError when it cannot be trusted.
   */
  static open(opts: DiskStorageOptions): DiskStorage {
    const dir = path.resolve(opts.dir);
    const logger = opts.logger ?? silentLogger;
    const meter = new FsyncMeter(opts.onFsync);
    const walDir = path.join(dir, "wal");
    const snapDir = path.join(dir, "snapshots");
    const created = !fs.existsSync(dir);
    fs.mkdirSync(dir, { recursive: true });
    if (created) meter.fsyncDir(path.dirname(dir));

    let dirMeta = readMeta(dir);
    if (dirMeta === undefined) {
      const leftovers = [
        fs.existsSync(path.join(dir, HARD_STATE_FILE)),
        fs.existsSync(walDir) && fs.readdirSync(walDir).some((n) => n.endsWith(".wal")),
        fs.existsSync(snapDir) && fs.readdirSync(snapDir).some((n) => n.endsWith(".snap")),
      ];
      if (leftovers.some(Boolean)) {
        throw new StorageCorruptError(
          path.join(dir, "meta"),
          "missing although the data dir holds Raft state",
          "restore the file or remove the data dir and rejoin",
        );
      }
      fs.mkdirSync(walDir, { recursive: true });
      fs.mkdirSync(snapDir, { recursive: true });
      dirMeta = writeMeta(
        meter,
        dir,
        opts.clusterId,
        opts.nodeId,
        opts.bootstrap ?? { voters: [], learners: [] },
      );
    } else {
      checkMeta(dir, dirMeta, opts.clusterId, opts.nodeId);
    }

    const hs = readHardState(dir) ?? { ...EMPTY_HARD_STATE };
    const snaps = new SnapshotStore(snapDir, meter, logger);
    const snap: SnapshotMeta = snaps.open() ?? {
      index: 0,
      term: 0,
      conf: cloneConf(dirMeta.bootstrap),
      size: 0,
    };
    const wal = Wal.open(
      {
        dir: walDir,
        segmentBytes: opts.segmentBytes,
        maxRecordBytes: opts.maxRecordBytes,
        writeBufferBytes: opts.writeBufferBytes,
        meter,
        logger,
      },
      snap.index,
    );
    try {
      // Raft's rule for a log next to a snapshot (§5.4 / InstallSnapshot): the
      // log continues the snapshot only if it holds the snapshot's last entry
      // with the same term; otherwise all of it is stale. This also finishes an
      // installSnapshot() interrupted between promoting the file and resetting the log.
      if (snap.index > 0) {
        const last = wal.lastIndex();
        const stale =
          last < snap.index || (snap.index >= wal.firstIndex() && wal.term(snap.index) !== snap.term);
        if (stale) {
          logger.warn(
            { snapshotIndex: snap.index, snapshotTerm: snap.term, logLastIndex: last },
            "storage: the log does not continue the newest snapshot; discarding it",
          );
          wal.reset(snap.index + 1);
        }
      }
      if (hs.commit > wal.lastIndex()) {
        throw new StorageCorruptError(
          walDir,
          `the hard state says index ${hs.commit} is committed but the log ends at ${wal.lastIndex()}, so its last segment(s) are missing`,
        );
      }
    } catch (err) {
      wal.close();
      snaps.close();
      throw err;
    }
    logger.info(
      {
        dir,
        firstIndex: snap.index + 1,
        lastIndex: wal.lastIndex(),
        snapshotIndex: snap.index,
        term: hs.term,
      },
      "storage: opened",
    );
    return new DiskStorage(
      dir,
      dirMeta,
      wal,
      snaps,
      meter,
      logger,
      hs,
      snap,
      opts.cacheBytes ?? DEFAULT_CACHE_BYTES,
    );
  }

  // ---- RaftStorage (read side) ----

  /**
   * The hard state, with commit raised to the snapshot index if a crash came
   * between installing a snapshot and recording the commit it implies (a
   * snapshot only ever holds committed entries), and the snapshot's (or the
   * bootstrap) configuration; the core replays Conf entries of the log on top.
   */
  initialState(): { hardState: HardState; confState: ConfState } {
    const hs = this.pendingHs ?? this.durableHs;
    return {
      hardState: { ...hs, commit: Math.max(hs.commit, this.snap.index) },
      confState: cloneConf(this.snap.conf),
    };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.compactIndex) throw new CompactedError(lo, this.compactIndex + 1);
    const last = this.lastIndex();
    if (hi > last + 1) throw new UnavailableError(hi - 1, last);
    const out: Entry[] = [];
    let size = 0;
    const take = (e: Entry): boolean => {
      const s = entrySize(e);
      if (out.length > 0 && size + s > maxBytes) return false;
      out.push(e);
      size += s;
      return true;
    };
    let i = lo;
    while (i < hi) {
      const cached = this.cache.get(i);
      if (cached) {
        if (!take(cached)) break;
        i++;
        continue;
      }
      const batch = this.wal.read(i, Math.min(hi, this.cache.first), maxBytes - size);
      for (const e of batch) {
        if (!take(e)) return out;
        i++;
      }
    }
    return out;
  }

  term(index: number): number {
    if (index === this.compactIndex) return this.compactTerm;
    if (index < this.compactIndex) throw new CompactedError(index, this.compactIndex + 1);
    const last = this.lastIndex();
    if (index > last) throw new UnavailableError(index, last);
    return this.cache.get(index)?.term ?? this.wal.term(index);
  }

  firstIndex(): number {
    return this.compactIndex + 1;
  }

  lastIndex(): number {
    return this.wal.lastIndex();
  }

  snapshot(): SnapshotMeta {
    return { ...this.snap, conf: cloneConf(this.snap.conf) };
  }

  snapshotChunk(meta: SnapshotMeta, offset: number, maxBytes: number): Uint8Array {
    if (meta.index === 0) return new Uint8Array(0);
    return this.snaps.readChunk(meta, offset, maxBytes);
  }

  // ---- write side (the runtime, after handling a Ready) ----

  /**
   * Stages entries, replacing any conflicting suffix (entries at or below the
   * compaction point are skipped, as a snapshot already covers them). Visible
   * to reads at once; durable after sync().
   */
  append(entries: readonly Entry[]): void {
    this.checkUsable();
    let es = entries;
    if (es.length > 0 && es[0]!.index <= this.compactIndex)
      es = es.filter((e) => e.index > this.compactIndex);
    const head = es[0];
    if (head === undefined) return;
    const last = this.lastIndex();
    if (head.index > last + 1) {
      throw new StorageUsageError(
        `storage: append at ${head.index} leaves a gap after the last index ${last}`,
      );
    }
    if (head.index === this.compactIndex + 1 && head.term < this.compactTerm) {
      throw new StorageUsageError(
        `storage: entry ${head.index} has term ${head.term}, below ${this.compactTerm} before it`,
      );
    }
    this.guard(() => this.wal.append(es));
    this.cache.put(es);
  }

  /** Stages the hard state; durable after sync(). */
  setHardState(hs: HardState): void {
    this.checkUsable();
    this.pendingHs = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  /**
   * Makes everything staged durable: one fsync of the log for all appends since
   * the last sync (group commit), then the hard state file if it changed.
   * The log goes first so a durable commit index never points past the durable log.
   */
  sync(): SyncResult {
    this.checkUsable();
    const t0 = performance.now();
    const before = this.meter.count;
    this.guard(() => {
      this.wal.sync();
      const hs = this.pendingHs;
      // commitIndex is volatile in Raft (re-learned from the leader, and raised to the
      // state machine's applied index at start), so a change of commit alone is not
      // worth an fsync: it stays pending and rides along with the next term/vote
      // change or close().
      if (hs && (hs.term !== this.durableHs.term || hs.vote !== this.durableHs.vote)) {
        writeHardState(this.meter, this.dir, hs, true);
        this.durableHs = hs;
        this.pendingHs = undefined;
      }
    });
    return { fsyncs: this.meter.count - before, ms: performance.now() - t0 };
  }

  /**
   * Stages one chunk of a snapshot received from the leader. Returns its meta
   * once the last chunk has made the whole snapshot durable, then call
   * installSnapshot(meta).
   */
  stageSnapshotChunk(chunk: SnapshotChunk): SnapshotMeta | undefined {
    this.checkUsable();
    return this.snaps.stage(chunk);
  }

  /**
   * Adopts a staged (or locally created) snapshot and resets the log to start
   * right after it. Durable on return. A snapshot not newer than the current one is ignored.
   */
  installSnapshot(meta: SnapshotMeta): void {
    this.checkUsable();
    if (meta.index <= this.snap.index) return;
    if (!this.snaps.has(meta)) {
      throw new StorageUsageError(
        `storage: snapshot ${meta.index}/${meta.term} is not stored; stage all its chunks first`,
      );
    }
    this.guard(() => this.wal.reset(meta.index + 1));
    this.cache.reset(meta.index + 1);
    this.snap = { ...meta, conf: cloneConf(meta.conf) };
    this.compactIndex = meta.index;
    this.compactTerm = meta.term;
    this.snaps.retain(this.snap);
  }

  /**
   * Writes a snapshot of the local state machine at `index` (which must be in
   * the log, with `term`). Data may be a buffer or a stream (e.g. a Readable).
   * The log is not compacted: call compact() when followers no longer need the
   * entries. Resolves, once durable, to the snapshot now in use (the current
   * one unchanged if `index` is not newer).
   */
  async createSnapshot(
    index: number,
    term: number,
    conf: ConfState,
    data: SnapshotSource,
  ): Promise<SnapshotMeta> {
    this.checkUsable();
    if (index <= this.snap.index) return this.snapshot();
    const last = this.lastIndex();
    if (index > last) throw new UnavailableError(index, last);
    const actual = this.term(index);
    if (actual !== term)
      throw new StorageUsageError(
        `storage: snapshot at ${index} says term ${term} but the log has ${actual}`,
      );
    const meta = await this.snaps.write({ index, term, conf }, data);
    // Another snapshot may have been installed while this one was being written.
    if (meta.index > this.snap.index) this.snap = meta;
    this.snaps.retain(this.snap);
    return this.snapshot();
  }

  /**
   * Drops the log up to `index`, which the current snapshot must cover: reads
   * at or below it throw CompactedError and whole segments at or below it are deleted.
   */
  compact(index: number): void {
    this.checkUsable();
    if (index <= this.compactIndex) return;
    if (index > this.snap.index) {
      throw new StorageUsageError(
        `storage: cannot compact to ${index}, past the snapshot at ${this.snap.index}`,
      );
    }
    this.compactTerm = this.term(index);
    this.compactIndex = index;
    this.cache.dropBefore(index + 1);
    this.guard(() => this.wal.compact(index));
  }

  /** Path of a stored snapshot's file; its first meta.size bytes are the data (for restoring the state machine). */
  snapshotPath(meta: Pick<SnapshotMeta, "index" | "term">): string {
    return this.snaps.path(meta);
  }

  stats(): StorageStats {
    return {
      fsyncs: this.meter.count,
      fsyncsByKind: { ...this.meter.byKind },
      fsyncMsTotal: this.meter.totalMs,
      recentFsyncMs: this.meter.recent(),
      walBytesAppended: this.wal.bytesAppended,
      segments: this.wal.segmentCount(),
      firstIndex: this.firstIndex(),
      lastIndex: this.lastIndex(),
      snapshotIndex: this.snap.index,
      cachedEntries: this.cache.size(),
    };
  }

  /** Syncs what is staged (unless a write failed) and releases the files. */
  close(): void {
    try {
      if (!this.failed) {
        this.sync();
        const hs = this.pendingHs;
        if (hs && !sameHardState(hs, this.durableHs)) writeHardState(this.meter, this.dir, hs, false);
      }
    } finally {
      this.wal.close();
      this.snaps.close();
      this.failed ??= new Error("storage: closed");
    }
  }

  private checkUsable(): void {
    if (this.failed) throw this.failed;
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof StorageUsageError)) {
        this.failed = new Error(
          `storage: unusable after a failed write (${(err as Error).message}); restart the node`,
        );
        this.logger.error({ err }, "storage: a write failed; refusing further writes");
      }
      throw err;
    }
  }
}
