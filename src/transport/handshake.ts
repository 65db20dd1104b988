/**
 * Mutual authentication of a new connection. Exchange (D = dialer, A = acceptor):
 *
 *   D → A  Hello { v, clusterId, nodeId: D, to: A, lane, nonce: nD }
 *   A → D  Hello { v, clusterId, nodeId: A, nonce: nA }
 *   D → A  Proof { mac: HMAC(secret, clusterId | D | nA | "dialer") }
 *   A → D  Proof { mac: HMAC(secret, clusterId | A | nD | "acceptor") }
 *
 * Each side proves possession of the secret over a nonce the *other* side chose fresh, so a
 * recorded proof is useless later. The MAC covers the prover's own node id and its role, so a
 * proof cannot be reflected back at its sender or replayed in the other direction. The
 * acceptor answers only after the dialer has proved itself, so an unauthenticated client
 * learns nothing computed from the secret. The secret itself never goes on the wire.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const PROTOCOL_VERSION = 1;
export const NONCE_BYTES = 32;
const MAC_BYTES = 32;

/**
 * Two connections per peer pair and direction: `main` carries everything latency-sensitive,
 * `bulk` carries snapshot chunks only (see lanes in transport.ts).
 */
export type Lane = "main" | "bulk";
export type Role = "dialer" | "acceptor";

export interface Hello {
  v: number;
  clusterId: string;
  nodeId: string;
  /** Dialer only: whom it believes it is calling, so a stale address book is caught. */
  to?: string;
  /** Dialer only. */
  lane?: Lane;
  nonce: Uint8Array;
}

export function newNonce(): Uint8Array {
  return new Uint8Array(randomBytes(NONCE_BYTES));
}

// Fields are length-prefixed so that no two different (clusterId, nodeId) pairs produce the
// same MAC input, whatever characters the ids contain.
function macInput(fields: (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    const bytes = typeof f === "string" ? Buffer.from(f, "utf8") : Buffer.from(f);
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(bytes.length, 0);
    parts.push(len, bytes);
  }
  return Buffer.concat(parts);
}

export function computeProof(
  secret: Uint8Array,
  clusterId: string,
  proverId: string,
  peerNonce: Uint8Array,
  proverRole: Role,
): Uint8Array {
  const mac = createHmac("sha256", secret);
  mac.update(macInput([clusterId, proverId, peerNonce, proverRole]));
  return new Uint8Array(mac.digest());
}

export function verifyProof(
  secret: Uint8Array,
  clusterId: string,
  proverId: string,
  ourNonce: Uint8Array,
  proverRole: Role,
  got: unknown,
): boolean {
  if (!(got instanceof Uint8Array) || got.length !== MAC_BYTES) return false;
  const expected = computeProof(secret, clusterId, proverId, ourNonce, proverRole);
  return timingSafeEqual(expected, got);
}

export function helloBody(h: Hello): Record<string, unknown> {
  const body: Record<string, unknown> = { v: h.v, clusterId: h.clusterId, nodeId: h.nodeId, nonce: h.nonce };
  if (h.to !== undefined) body.to = h.to;
  if (h.lane !== undefined) body.lane = h.lane;
  return body;
}

/** Shape check of a decoded Hello; returns a reason string when unusable. */
export function parseHello(v: unknown): Hello | string {
  if (typeof v !== "object" || v === null) return "hello is not an object";
  const h = v as Record<string, unknown>;
  if (h.v !== PROTOCOL_VERSION)
    return `unsupported protocol version ${String(h.v)} (ours ${PROTOCOL_VERSION})`;
  if (typeof h.clusterId !== "string") return "hello without cluster id";
  if (typeof h.nodeId !== "string" || h.nodeId === "") return "hello without node id";
  if (!(h.nonce instanceof Uint8Array) || h.nonce.length !== NONCE_BYTES) return "hello with a bad nonce";
  if (h.to !== undefined && typeof h.to !== "string") return "hello with a bad target id";
  if (h.lane !== undefined && h.lane !== "main" && h.lane !== "bulk") return "hello with an unknown lane";
  const out: Hello = { v: h.v, clusterId: h.clusterId, nodeId: h.nodeId, nonce: h.nonce };
  if (typeof h.to === "string") out.to = h.to;
  if (h.lane === "main" || h.lane === "bulk") out.lane = h.lane;
  return out;
}

export function proofBody(mac: Uint8Array): Record<string, unknown> {
  return { mac };
}

export function proofMac(v: unknown): unknown {
  return typeof v === "object" && v !== null ? (v as Record<string, unknown>).mac : undefined;
}

export function rejectReason(v: unknown): string {
  const reason = typeof v === "object" && v !== null ? (v as Record<string, unknown>).reason : undefined;
  return typeof reason === "string" ? reason.slice(0, 200) : "no reason given";
}
