import type { ConfState, Entry, SnapshotMeta } from "../../src/raft/index.js";
import { EntryType } from "../../src/raft/index.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeValue(value: string): Uint8Array {
  return enc.encode(value);
}

export function decodeValue(data: Uint8Array): string {
  return dec.decode(data);
}

/**
 * The simulated application: an append-only list of distinct values with the
 * log index each was first applied at. Like the MySQL state machine it is
 * durable (it survives crashes) and records its applied index atomically with
 * each change.
 */
export class ListStateMachine {
  appliedIndex = 0;
  conf: ConfState;
  /** value → index of the entry that first applied it (retries of a value apply nothing new). */
  readonly firstIndexOf = new Map<string, number>();
  values: string[] = [];

  constructor(conf: ConfState) {
    this.conf = conf;
  }

  apply(e: Entry): void {
    if (e.index !== this.appliedIndex + 1) {
      throw new Error(`apply out of order: entry ${e.index} after applied ${this.appliedIndex}`);
    }
    this.appliedIndex = e.index;
    if (e.type === EntryType.Conf && e.conf) this.conf = e.conf;
    if (e.type !== EntryType.Normal || e.data.length === 0) return;
    const value = decodeValue(e.data);
    if (!this.firstIndexOf.has(value)) {
      this.firstIndexOf.set(value, e.index);
      this.values.push(value);
    }
  }

  snapshotData(): Uint8Array {
    return enc.encode(JSON.stringify(this.values.map((v) => [v, this.firstIndexOf.get(v)])));
  }

  restore(meta: SnapshotMeta, data: Uint8Array): void {
    const pairs = JSON.parse(dec.decode(data)) as [string, number][];
    this.values = pairs.map((p) => p[0]);
    this.firstIndexOf.clear();
    for (const [v, i] of pairs) this.firstIndexOf.set(v, i);
    this.appliedIndex = meta.index;
    this.conf = meta.conf;
  }
}
