import { entrySize } from "../raft/storage.js";
import type { Entry } from "../raft/types.js";

/**
 * Decoded entries at the end of the log, bounded by their approximate size.
 * The core mostly reads what it has just appended (replicating to followers,
 * applying commits), so a suffix answers nearly all reads without touching
 * disk; older entries are read from the WAL. Invariant kept by the owner: the
 * cache always holds [first, lastIndex], a suffix of the log (possibly empty).
 */
export class EntryCache {
  private items: (Entry | undefined)[] = [];
  private head = 0;
  private bytes = 0;
  /** Index of the oldest cached entry; lastIndex + 1 when empty. */
  first: number;

  constructor(
    next: number,
    private readonly maxBytes: number,
  ) {
    this.first = next;
  }

  get(index: number): Entry | undefined {
    if (index < this.first) return undefined;
    return this.items[this.head + index - this.first];
  }

  /** Appends entries starting at `from` after dropping any cached entry >= from. */
  put(entries: readonly Entry[]): void {
    const from = entries[0]?.index;
    if (from === undefined) return;
    if (from <= this.first) this.reset(from);
    else this.truncateFrom(from);
    for (const e of entries) {
      this.items.push(e);
      this.bytes += entrySize(e);
    }
    while (this.bytes > this.maxBytes && this.size() > 0) this.shift();
    this.compactArray();
  }

  /** Drops entries below `index` (compaction). */
  dropBefore(index: number): void {
    while (this.first < index && this.size() > 0) this.shift();
    if (this.size() === 0 && this.first < index) this.first = index;
    this.compactArray();
  }

  reset(next: number): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    this.first = next;
  }

  size(): number {
    return this.items.length - this.head;
  }

  private truncateFrom(index: number): void {
    const keep = this.head + index - this.first;
    for (let i = keep; i < this.items.length; i++) this.bytes -= entrySize(this.items[i]!);
    this.items.length = Math.min(this.items.length, keep);
  }

  private shift(): void {
    const e = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    this.first++;
    if (e) this.bytes -= entrySize(e);
  }

  /** Reclaims the dead prefix once it dominates, keeping shifts O(1) amortised. */
  private compactArray(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
