import { assert } from "./assert.js";
import { CompactedError, entrySize, type RaftStorage, UnavailableError } from "./storage.js";
import type { Entry, SnapshotMeta } from "./types.js";

/**
 * The node's view of its log: the persisted part (storage) followed by an
 * unstable tail not yet made durable, and possibly an incoming snapshot that
 * replaces everything before it. Also tracks commitIndex and appliedIndex.
 */
export class RaftLog {
  committed: number;
  applied: number;
  /** A snapshot received from the leader that the runtime has yet to persist. */
  unstableSnapshot: SnapshotMeta | undefined;
  /** Entries after the stable log, starting at unstableOffset. */
  unstable: Entry[] = [];
  unstableOffset: number;

  constructor(
    readonly storage: RaftStorage,
    applied: number,
  ) {
    const first = storage.firstIndex();
    this.committed = first - 1;
    this.applied = Math.max(first - 1, applied);
    this.unstableOffset = storage.lastIndex() + 1;
  }

  firstIndex(): number {
    if (this.unstableSnapshot) return this.unstableSnapshot.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.unstableOffset + this.unstable.length - 1;
    if (this.unstableSnapshot) return this.unstableSnapshot.index;
    return this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** Term of the entry at index; throws CompactedError / UnavailableError outside the log. */
  term(index: number): number {
    if (index >= this.unstableOffset && this.unstable.length > 0) {
      const e = this.unstable[index - this.unstableOffset];
      if (e) return e.term;
      throw new UnavailableError(index, this.lastIndex());
    }
    const snap = this.unstableSnapshot;
    if (snap) {
      if (index === snap.index) return snap.term;
      if (index < snap.index) throw new CompactedError(index, snap.index + 1);
      throw new UnavailableError(index, this.lastIndex());
    }
    return this.storage.term(index);
  }

  /** Term at index, or 0 when the index is outside the log (compacted or absent). */
  termOrZero(index: number): number {
    // Checked up front: building an exception per probe dominated the replication hot path.
    if (index > this.lastIndex() || index < this.firstIndex() - 1) return 0;
    try {
      return this.term(index);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return 0;
      throw e;
    }
  }

  matchTerm(index: number, term: number): boolean {
    if (index > this.lastIndex() || index < this.firstIndex() - 1) return false;
    return this.termOrZero(index) === term;
  }

  /** §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi), at most maxBytes (at least one). Throws CompactedError when lo is compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) throw new CompactedError(lo, this.firstIndex());
    assert(hi <= this.lastIndex() + 1, `slice [${lo},${hi}) past last index ${this.lastIndex()}`);
    let out: Entry[] = [];
    if (lo < this.unstableOffset) {
      out = this.storage.entries(lo, Math.min(hi, this.unstableOffset), maxBytes);
      if (out.length < Math.min(hi, this.unstableOffset) - lo) return out;
    }
    if (hi > this.unstableOffset) {
      let bytes = 0;
      for (const e of out) bytes += entrySize(e);
      for (let i = Math.max(lo, this.unstableOffset); i < hi; i++) {
        const e = this.unstable[i - this.unstableOffset]!;
        bytes += entrySize(e);
        if (out.length > 0 && bytes > maxBytes) break;
        out.push(e);
      }
    }
    return out;
  }

  /** Appends to the unstable tail, replacing any entries at or after the first new index. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const after = entries[0]!.index;
    assert(after > this.committed, `append at ${after} would overwrite committed index ${this.committed}`);
    const end = this.unstableOffset + this.unstable.length;
    if (after === end) {
      for (const e of entries) this.unstable.push(e);
    } else if (after <= this.unstableOffset) {
      // Replaces part of the stable log too; storage drops that suffix when these are persisted.
      this.unstableOffset = after;
      this.unstable = [...entries];
    } else {
      this.unstable = this.unstable.slice(0, after - this.unstableOffset).concat(entries);
    }
  }

  /** First index among entries whose term conflicts with ours (0 when all match or extend the log). */
  findConflict(entries: readonly Entry[]): number {
    const last = this.lastIndex();
    for (const e of entries) {
      // Past our last index every entry is new: that is the first "conflict".
      if (e.index > last || !this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast backtracking (§5.3 optimisation): the largest index <= index whose term
   * is <= term. Entries after it cannot match a log whose entry at `index` has `term`.
   */
  findConflictByTerm(index: number, term: number): number {
    for (let i = index; i > 0; i--) {
      let t: number;
      try {
        t = this.term(i);
      } catch {
        return i;
      }
      if (t <= term) return i;
    }
    return 0;
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), `commit ${index} past last index ${this.lastIndex()}`);
    this.committed = index;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    assert(
      index <= this.committed && index >= this.applied,
      `applied ${index} out of range [${this.applied}, ${this.committed}]`,
    );
    this.applied = index;
  }

  hasNextCommittedEntries(): boolean {
    return !this.unstableSnapshot && this.committed > this.applied;
  }

  nextCommittedEntries(maxBytes: number): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    return this.slice(this.applied + 1, this.committed + 1, maxBytes);
  }

  /** The runtime has persisted entries up to (index, term). */
  stableTo(index: number, term: number): void {
    if (index < this.unstableOffset || this.unstable.length === 0) return;
    const e = this.unstable[index - this.unstableOffset];
    // A newer append may have replaced what was persisted; then it is still unstable.
    if (!e || e.term !== term) return;
    this.unstable = this.unstable.slice(index + 1 - this.unstableOffset);
    this.unstableOffset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.unstableSnapshot && this.unstableSnapshot.index === index) this.unstableSnapshot = undefined;
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  restore(meta: SnapshotMeta): void {
    this.committed = meta.index;
    this.unstableSnapshot = meta;
    this.unstable = [];
    this.unstableOffset = meta.index + 1;
  }
}
