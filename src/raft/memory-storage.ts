import { CompactedError, cloneConf, entrySize, type RaftStorage, UnavailableError } from "./storage.js";
import type { ConfState, Entry, HardState, SnapshotMeta } from "./types.js";

/**
 * In-memory reference implementation of RaftStorage, used by tests and the
 * simulator. `ents[0]` is a dummy entry standing for the snapshot's index/term,
 * which keeps index arithmetic in one place.
 */
export class MemoryStorage implements RaftStorage {
  hardState: HardState = { term: 0, vote: "", commit: 0 };
  private snap: SnapshotMeta;
  private snapData: Uint8Array = new Uint8Array();
  private ents: Entry[];

  constructor(conf: ConfState = { voters: [], learners: [] }) {
    this.snap = { index: 0, term: 0, conf: cloneConf(conf), size: 0 };
    this.ents = [{ index: 0, term: 0, type: 0, data: new Uint8Array() }];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: cloneConf(this.snap.conf) };
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  term(index: number): number {
    const offset = this.ents[0]!.index;
    if (index < offset) throw new CompactedError(index, offset + 1);
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    return this.ents[index - offset]!.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - offset]!;
      bytes += entrySize(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): SnapshotMeta {
    return this.snap;
  }

  snapshotData(): Uint8Array {
    return this.snapData;
  }

  snapshotChunk(meta: SnapshotMeta, offset: number, maxBytes: number): Uint8Array {
    if (meta.index !== this.snap.index || meta.term !== this.snap.term) {
      throw new Error(`snapshot ${meta.index}/${meta.term} is no longer stored`);
    }
    return this.snapData.subarray(offset, Math.min(offset + maxBytes, this.snapData.length));
  }

  /** Appends persisted entries, overwriting any conflicting suffix. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    const offset = this.ents[0]!.index;
    if (first <= offset) {
      // Entries already covered by the snapshot are skipped, never rewritten.
      entries = entries.filter((e) => e.index > offset);
      if (entries.length === 0) return;
    }
    const start = entries[0]!.index;
    if (start > this.lastIndex() + 1) {
      throw new Error(`append leaves a gap: last index ${this.lastIndex()}, new entries start at ${start}`);
    }
    this.ents.length = start - offset;
    for (const e of entries) this.ents.push(e);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(meta: SnapshotMeta, data: Uint8Array): void {
    if (meta.index <= this.snap.index) return;
    this.snap = { ...meta, conf: cloneConf(meta.conf) };
    this.snapData = data;
    this.ents = [{ index: meta.index, term: meta.term, type: 0, data: new Uint8Array() }];
  }

  /** Records a snapshot of the local state machine at `index` (which must be in the log). */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): SnapshotMeta {
    if (index <= this.snap.index) return this.snap;
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    this.snap = { index, term: this.term(index), conf: cloneConf(conf), size: data.length };
    this.snapData = data;
    return this.snap;
  }

  /** Drops entries up to and including `index`, which a snapshot must cover. */
  compact(index: number): void {
    const offset = this.ents[0]!.index;
    if (index <= offset) return;
    if (index > this.snap.index)
      throw new Error(`cannot compact to ${index} past snapshot ${this.snap.index}`);
    const dummy = this.ents[index - offset]!;
    this.ents = [
      { index, term: dummy.term, type: 0, data: new Uint8Array() },
      ...this.ents.slice(index - offset + 1),
    ];
  }
}
