import type { NodeId } from "./types.js";

/**
 * ReadIndex requests waiting for the leader to confirm it still leads (§6.4):
 * each records the commit index when it arrived and which nodes have answered
 * a heartbeat sent after it. Requests are confirmed in arrival order.
 */
export interface PendingRead {
  context: string;
  index: number;
  /** The node that asked: the leader itself or a follower that forwarded the read. */
  from: NodeId;
  acks: Set<NodeId>;
}

/** Bound on queued reads: beyond it new reads are refused rather than grow memory without limit. */
export const MAX_PENDING_READS = 10_000;

export class ReadOnlyQueue {
  private queue: PendingRead[] = [];
  private byContext = new Map<string, PendingRead>();

  get size(): number {
    return this.queue.length;
  }

  add(context: string, index: number, from: NodeId, self: NodeId): boolean {
    if (this.byContext.has(context) || this.queue.length >= MAX_PENDING_READS) return false;
    const read: PendingRead = { context, index, from, acks: new Set([self]) };
    this.queue.push(read);
    this.byContext.set(context, read);
    return true;
  }

  /** Records a heartbeat answer for the read `context`; returns its ack set if known. */
  ack(context: string, from: NodeId): Set<NodeId> | undefined {
    const read = this.byContext.get(context);
    if (!read) return undefined;
    read.acks.add(from);
    return read.acks;
  }

  /**
   * Releases `context` and every read queued before it: an answer to a later
   * heartbeat also confirms leadership for reads that arrived earlier.
   */
  release(context: string): PendingRead[] {
    const at = this.queue.findIndex((r) => r.context === context);
    if (at < 0) return [];
    const done = this.queue.splice(0, at + 1);
    for (const r of done) this.byContext.delete(r.context);
    return done;
  }

  lastContext(): string {
    return this.queue[this.queue.length - 1]?.context ?? "";
  }

  clear(): void {
    this.queue = [];
    this.byContext.clear();
  }
}
