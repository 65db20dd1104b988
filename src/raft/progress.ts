import { Inflights } from "./inflights.js";
import type { SnapshotMeta } from "./types.js";

/**
 * How the leader replicates to one follower:
 * - probe: one AppendEntries at a time until the logs are found to agree;
 * - replicate: optimistic, pipelined, bounded by the inflight window;
 * - snapshot: the follower is behind the first log index; snapshot chunks are streamed.
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** Probe state: an AppendEntries is outstanding, wait for its answer or a heartbeat reply. */
  probeSent = false;
  /** Set by any message from the follower; check-quorum reads and clears it once per election timeout. */
  recentActive = false;
  readonly inflights: Inflights;
  /** Snapshot state: what is being sent, up to where it is sent and acknowledged. */
  snapshot: SnapshotMeta | undefined;
  snapshotSent = 0;
  snapshotAcked = 0;
  /** Chunks acknowledged since the last heartbeat reply; none means a chunk was lost. */
  snapshotProgressed = false;
  /** An empty snapshot is still one chunk; remembers that it went out. */
  snapshotEmptySent = false;

  constructor(
    next: number,
    maxInflight: number,
    public isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.snapshot = undefined;
    this.snapshotSent = 0;
    this.snapshotAcked = 0;
    this.snapshotProgressed = false;
    this.snapshotEmptySent = false;
    this.inflights.reset();
  }

  becomeProbe(): void {
    const snapIndex = this.snapshot?.index ?? 0;
    const wasSnapshot = this.state === "snapshot";
    this.resetState("probe");
    this.next = wasSnapshot ? Math.max(this.match + 1, snapIndex + 1) : this.match + 1;
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(meta: SnapshotMeta): void {
    this.resetState("snapshot");
    this.snapshot = meta;
  }

  /** An acknowledgement up to index: returns whether it told us something new. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejection of the AppendEntries whose prevLogIndex was `rejected`; `matchHint`
   * is where the logs may agree. Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    // A follower that rejects at or below what it acknowledged has lost its log (a wiped disk);
    // believing the old match would probe the same index forever.
    if (rejected <= this.match && matchHint < this.match) this.match = matchHint;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }
}
