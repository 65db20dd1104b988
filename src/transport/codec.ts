/**
 * Payload encoding with msgpackr, plus the checks that turn untrusted decoded data into a
 * `Message`. Decoded binary fields are copied into plain `Uint8Array`s: msgpackr hands back
 * `Buffer` views into the socket's receive buffer, which would both keep that buffer alive and
 * differ from what the sender put in (a `Buffer` is not deep-equal to a `Uint8Array`).
 */
import { Packr } from "msgpackr";
import { type Message, MessageType } from "../raft/types.js";

// Records (msgpackr's shared-structure extension) are off: they make a frame depend on
// structures learnt from earlier frames, which a dropped or reordered connection would break.
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export function encodeValue(value: unknown): Buffer {
  return packr.pack(value);
}

/** Throws on malformed input (truncated data, trailing bytes, unknown types). */
export function decodeValue(bytes: Uint8Array): unknown {
  return toPlain(packr.unpack(bytes));
}

function toPlain(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = toPlain(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) obj[key] = toPlain(obj[key]);
  return obj;
}

const MESSAGE_TYPES: ReadonlySet<string> = new Set(Object.values(MessageType));

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/**
 * Structural check of a decoded Raft message. Only authenticated peers get this far, so this
 * guards against version skew and bugs rather than attackers: the core must never see a
 * message whose fields have the wrong types.
 */
export function asMessage(v: unknown): Message | string {
  if (!isRecord(v)) return "not an object";
  if (typeof v.type !== "string" || !MESSAGE_TYPES.has(v.type))
    return `unknown message type ${String(v.type)}`;
  for (const key of ["from", "to", "context"] as const) {
    if (typeof v[key] !== "string") return `field ${key} is not a string`;
  }
  for (const key of ["term", "index", "logTerm", "commit", "rejectHint", "snapshotOffset"] as const) {
    if (typeof v[key] !== "number") return `field ${key} is not a number`;
  }
  for (const key of ["reject", "force"] as const) {
    if (typeof v[key] !== "boolean") return `field ${key} is not a boolean`;
  }
  if (!Array.isArray(v.entries)) return "field entries is not an array";
  for (const e of v.entries) {
    if (!isRecord(e) || typeof e.index !== "number" || typeof e.term !== "number") return "malformed entry";
    if (typeof e.type !== "number" || !(e.data instanceof Uint8Array)) return "malformed entry";
  }
  if (v.snapshotData !== undefined && !(v.snapshotData instanceof Uint8Array)) {
    return "field snapshotData is not bytes";
  }
  if (v.snapshot !== undefined && !isRecord(v.snapshot)) return "field snapshot is not an object";
  return v as unknown as Message;
}

export interface RequestBody {
  id: number;
  payload: unknown;
}

export type ResponseBody =
  | { id: number; ok: true; payload: unknown }
  | { id: number; ok: false; error: string };

export function asRequest(v: unknown): RequestBody | undefined {
  if (!isRecord(v) || !Number.isSafeInteger(v.id)) return undefined;
  return { id: v.id as number, payload: v.payload };
}

export function asResponse(v: unknown): ResponseBody | undefined {
  if (!isRecord(v) || !Number.isSafeInteger(v.id)) return undefined;
  const id = v.id as number;
  if (v.ok === true) return { id, ok: true, payload: v.payload };
  if (v.ok === false && typeof v.error === "string") return { id, ok: false, error: v.error };
  return undefined;
}
