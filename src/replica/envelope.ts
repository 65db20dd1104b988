import { Packr } from "msgpackr";
import type { MemberInfo } from "./state-machine.js";

/**
 * What a replica puts in a log entry around the application's command: who
 * proposed it, so that the proposing node (and only it) answers its waiting
 * client when the entry is applied.
 */
export interface Envelope {
  /** Node id and process incarnation of the proposer: a restarted node never mistakes an old entry for its own. */
  origin: string;
  seq: number;
  command: Uint8Array;
}

export interface ConfContext {
  origin: string;
  seq: number;
  member: MemberInfo | undefined;
}

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeEnvelope(e: Envelope): Uint8Array {
  return packr.pack([e.origin, e.seq, e.command]);
}

export function decodeEnvelope(data: Uint8Array): Envelope {
  const v = packr.unpack(data) as unknown;
  if (
    !Array.isArray(v) ||
    typeof v[0] !== "string" ||
    typeof v[1] !== "number" ||
    !(v[2] instanceof Uint8Array)
  ) {
    throw new Error("log entry is not a replica envelope");
  }
  return { origin: v[0], seq: v[1], command: v[2] };
}

export function encodeConfContext(c: ConfContext): Uint8Array {
  return packr.pack([
    c.origin,
    c.seq,
    c.member ? [c.member.id, c.member.raftAddress, c.member.apiUrl] : null,
  ]);
}

export function decodeConfContext(data: Uint8Array): ConfContext | undefined {
  if (data.length === 0) return undefined;
  const v = packr.unpack(data) as unknown;
  if (!Array.isArray(v) || typeof v[0] !== "string" || typeof v[1] !== "number") return undefined;
  const m = v[2] as unknown;
  const member =
    Array.isArray(m) && m.length === 3 && m.every((x) => typeof x === "string")
      ? { id: m[0] as string, raftAddress: m[1] as string, apiUrl: m[2] as string }
      : undefined;
  return { origin: v[0], seq: v[1], member };
}
