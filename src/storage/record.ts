import { crc32c } from "./crc32c.js";

/**
 * WAL record framing: [u32 LE payload length][u32 LE CRC32C of payload][payload].
 * The length comes first so a reader can tell an incomplete record (the file
 * ends inside it: a torn write) from a damaged one (complete but the checksum differs).
 */
export const RECORD_HEADER = 8;

/** Writes one framed record into `out` at `at`; the caller has checked there is room. */
export function writeRecord(out: Uint8Array, at: number, payload: Uint8Array): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(at, payload.length, true);
  view.setUint32(at + 4, crc32c(payload), true);
  out.set(payload, at + RECORD_HEADER);
  return at + RECORD_HEADER + payload.length;
}

export type RecordCheck =
  | { kind: "ok"; payload: Uint8Array; end: number }
  /** The bytes stop before the record does (header or payload cut short). */
  | { kind: "short"; need: number }
  /** A zero or over-limit length: never written by us. */
  | { kind: "badLength"; length: number }
  | { kind: "badChecksum"; end: number };

/** Examines the record starting at `at` within buf[0, avail). */
export function checkRecord(buf: Uint8Array, at: number, avail: number, maxPayload: number): RecordCheck {
  if (avail - at < RECORD_HEADER) return { kind: "short", need: RECORD_HEADER };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const length = view.getUint32(at, true);
  // Zero is rejected because an all-zero header (a preallocated, never-written
  // block) would otherwise pass: the CRC32C of an empty payload is 0.
  if (length === 0 || length > maxPayload) return { kind: "badLength", length };
  const end = at + RECORD_HEADER + length;
  if (end > avail) return { kind: "short", need: RECORD_HEADER + length };
  const payload = buf.subarray(at + RECORD_HEADER, end);
  if (crc32c(payload) !== view.getUint32(at + 4, true)) return { kind: "badChecksum", end };
  return { kind: "ok", payload, end };
}
