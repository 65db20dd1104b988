import { Packr } from "msgpackr";
import { type ConfChangeType, type ConfState, type Entry, EntryType } from "../raft/types.js";

/**
 * Entries are stored as msgpack arrays rather than maps: positional fields are
 * smaller and cheaper to decode, and the leading tag leaves room for other
 * record kinds without guessing from a payload's shape.
 *
 *   [TAG_ENTRY, index, term, type, data]
 *   [TAG_ENTRY, index, term, type, data, [voters, learners] | null, [changeType, nodeId] | null]
 */
const TAG_ENTRY = 1;

// Records off: they would make a payload depend on structures defined by earlier
// payloads, and each WAL record must decode on its own after a truncation.
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: "number" });

export function encodeEntry(e: Entry): Uint8Array {
  const head = [TAG_ENTRY, e.index, e.term, e.type, e.data];
  if (e.conf === undefined && e.change === undefined) return packr.pack(head);
  const conf = e.conf ? [e.conf.voters, e.conf.learners] : null;
  const change = e.change ? [e.change.type, e.change.nodeId] : null;
  return packr.pack([...head, conf, change]);
}

/** Thrown for a payload whose checksum matched but whose content is not an entry (a bug or a foreign file). */
export class EntryDecodeError extends Error {
  constructor(why: string) {
    super(`not an entry: ${why}`);
    this.name = "EntryDecodeError";
  }
}

function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isIdList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

export function decodeEntry(payload: Uint8Array): Entry {
  let v: unknown;
  try {
    v = packr.unpack(payload);
  } catch (err) {
    throw new EntryDecodeError(`msgpack: ${(err as Error).message}`);
  }
  if (!Array.isArray(v) || (v.length !== 5 && v.length !== 7) || v[0] !== TAG_ENTRY) {
    throw new EntryDecodeError("unexpected shape");
  }
  const [, index, term, type, data, conf, change] = v as unknown[];
  if (!isIndex(index) || !isIndex(term)) throw new EntryDecodeError("bad index or term");
  if (type !== EntryType.Normal && type !== EntryType.Conf) throw new EntryDecodeError("bad type");
  if (!(data instanceof Uint8Array)) throw new EntryDecodeError("bad data");
  // A copy: msgpackr may hand out a view of the read buffer, which is reused.
  const e: Entry = { index, term, type, data: new Uint8Array(data) };
  if (conf !== undefined && conf !== null) {
    if (!Array.isArray(conf) || !isIdList(conf[0]) || !isIdList(conf[1]))
      throw new EntryDecodeError("bad conf");
    e.conf = { voters: conf[0], learners: conf[1] } satisfies ConfState;
  }
  if (change !== undefined && change !== null) {
    if (!Array.isArray(change) || typeof change[0] !== "string" || typeof change[1] !== "string") {
      throw new EntryDecodeError("bad change");
    }
    e.change = { type: change[0] as ConfChangeType, nodeId: change[1] };
  }
  return e;
}
