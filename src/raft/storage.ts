import type { ConfState, Entry, HardState, SnapshotMeta } from "./types.js";

/**
 * The durable state the core reads from. The runtime owns it: after it has made
 * a Ready's entries / snapshot durable it appends them here, so the core only
 * ever reads what has been persisted (plus its own unstable tail).
 *
 * Indexes: the log holds (snapshot.index, lastIndex]; firstIndex() is snapshot.index + 1.
 */
export interface RaftStorage {
  /**
   * The persisted hard state, and the configuration in force at the start of the
   * stored log: the snapshot's, or the bootstrap configuration of a new cluster.
   * The core replays Conf entries of the log on top of it.
   */
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most maxBytes (but always at least one entry when lo < hi). */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of the entry at index; snapshot.index is answered from the snapshot. Throws CompactedError below. */
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** Metadata of the newest durable snapshot (index 0 when there is none). */
  snapshot(): SnapshotMeta;
  /** Bytes [offset, offset+maxBytes) of the snapshot described by meta. */
  snapshotChunk(meta: SnapshotMeta, offset: number, maxBytes: number): Uint8Array;
}

export class CompactedError extends Error {
  constructor(index: number, firstIndex: number) {
    super(`index ${index} is compacted (log starts at ${firstIndex})`);
    this.name = "CompactedError";
  }
}

export class UnavailableError extends Error {
  constructor(index: number, lastIndex: number) {
    super(`index ${index} is past the end of the log (${lastIndex})`);
    this.name = "UnavailableError";
  }
}

/** Approximate encoded size of an entry, for batching limits. */
export function entrySize(e: Entry): number {
  return e.data.length + 24 + (e.conf ? 16 * (e.conf.voters.length + e.conf.learners.length) : 0);
}

export function cloneConf(c: ConfState): ConfState {
  return { voters: [...c.voters], learners: [...c.learners] };
}
