/**
 * A FIFO of encoded frames bounded both in count and in bytes. When a peer is slow or down,
 * frames pile up here; the bounds cap the memory one peer can cost. Raft tolerates message
 * loss, so when full the *newest* frame is refused (the caller counts it as dropped) rather
 * than blocking the node.
 */
export interface QueueLimits {
  maxFrames: number;
  maxBytes: number;
}

export interface OutFrame {
  bytes: Buffer;
  /** Set for application requests, so a lost connection can fail exactly those written on it. */
  requestId?: number;
}

export class SendQueue {
  private items: (OutFrame | undefined)[] = [];
  private head = 0;
  private totalBytes = 0;

  constructor(readonly limits: QueueLimits) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** False (and nothing queued) when the frame would exceed either bound. */
  push(frame: OutFrame): boolean {
    if (this.length + 1 > this.limits.maxFrames) return false;
    if (this.totalBytes + frame.bytes.length > this.limits.maxBytes) return false;
    this.items.push(frame);
    this.totalBytes += frame.bytes.length;
    return true;
  }

  shift(): OutFrame | undefined {
    if (this.head >= this.items.length) return undefined;
    const frame = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    // Compact occasionally instead of Array.shift() per item, which is O(n) each time.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (frame !== undefined) this.totalBytes -= frame.bytes.length;
    return frame;
  }

  clear(): OutFrame[] {
    const rest = this.items.slice(this.head).filter((f): f is OutFrame => f !== undefined);
    this.items = [];
    this.head = 0;
    this.totalBytes = 0;
    return rest;
  }
}
