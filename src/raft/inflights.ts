import { assert } from "./assert.js";

/**
 * The window of AppendEntries in flight to one follower (pipelining). Each slot
 * holds the last index an in-flight message carries; the bound keeps a slow
 * follower from making the leader buffer an unbounded number of messages.
 */
export class Inflights {
  private readonly lastIndexes: number[] = [];

  constructor(readonly capacity: number) {
    assert(capacity > 0, "inflight window must hold at least one message");
  }

  get count(): number {
    return this.lastIndexes.length;
  }

  full(): boolean {
    return this.lastIndexes.length >= this.capacity;
  }

  add(lastIndex: number): void {
    assert(!this.full(), "adding to a full inflight window");
    const prev = this.lastIndexes[this.lastIndexes.length - 1];
    assert(prev === undefined || lastIndex > prev, `inflight ${lastIndex} not after ${prev}`);
    this.lastIndexes.push(lastIndex);
  }

  /** Frees every message whose entries are all at or below index (acknowledged). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.lastIndexes.length && this.lastIndexes[n]! <= index) n++;
    if (n > 0) this.lastIndexes.splice(0, n);
  }

  /** Frees the oldest slot: a heartbeat reply proves the follower is alive, so let one more message go. */
  freeFirst(): void {
    this.lastIndexes.shift();
  }

  reset(): void {
    this.lastIndexes.length = 0;
  }
}
