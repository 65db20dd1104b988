/**
 * Wire framing: every frame is `[u32 length][u8 kind][payload]`, big-endian, where `length`
 * counts the kind byte plus the payload. The decoder is incremental because TCP delivers bytes
 * in arbitrary pieces, and it rejects a length above the limit *before* buffering it, so a
 * hostile or confused sender cannot make the node allocate gigabytes.
 */

export enum FrameKind {
  /** Handshake: protocol version, cluster id, node ids, nonce. */
  Hello = 1,
  /** Handshake: HMAC answer to the peer's nonce. */
  Proof = 2,
  /** Handshake refusal with a human-readable reason, sent just before closing. */
  Reject = 3,
  /** One Raft `Message`. */
  Raft = 4,
  /** Application request `{ id, payload }`. */
  Request = 5,
  /** Application response `{ id, ok, payload | error }`, sent back on the request's connection. */
  Response = 6,
  /** Keepalive so that both ends notice a silent peer; carries no payload. */
  Ping = 7,
}

export const LENGTH_BYTES = 4;
export const HEADER_BYTES = LENGTH_BYTES + 1;
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

export interface Frame {
  kind: number;
  payload: Buffer;
}

/** The peer broke the framing rules; the connection cannot be resynchronised and must close. */
export class FrameError extends Error {
  override name = "FrameError";
}

export function encodeFrame(kind: FrameKind, payload?: Uint8Array): Buffer {
  const size = payload?.length ?? 0;
  const buf = Buffer.allocUnsafe(HEADER_BYTES + size);
  buf.writeUInt32BE(1 + size, 0);
  buf.writeUInt8(kind, LENGTH_BYTES);
  if (payload !== undefined) buf.set(payload, HEADER_BYTES);
  return buf;
}

/** Size a frame occupies against the limit (kind byte + payload), i.e. its length prefix. */
export function frameLength(frame: Buffer): number {
  return frame.length - LENGTH_BYTES;
}

export class FrameDecoder {
  // Received chunks are kept as a list and only joined once a whole frame is present, so a
  // 5 MiB frame arriving in 64 KiB pieces is copied once, not once per piece.
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** May be raised once the peer is authenticated; checked for every frame. */
  constructor(public maxFrameBytes: number) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete frame, or undefined until more bytes arrive. Throws FrameError. */
  next(): Frame | undefined {
    if (this.buffered < LENGTH_BYTES) return undefined;
    const length = this.peekLength();
    if (length === 0) throw new FrameError("frame with length 0 (no kind byte)");
    if (length > this.maxFrameBytes) {
      throw new FrameError(`frame length ${length} exceeds the limit of ${this.maxFrameBytes} bytes`);
    }
    if (this.buffered < LENGTH_BYTES + length) return undefined;
    const bytes = this.take(LENGTH_BYTES + length);
    return { kind: bytes[LENGTH_BYTES]!, payload: bytes.subarray(HEADER_BYTES) };
  }

  /** Called at end of stream: leftover bytes mean the peer stopped in the middle of a frame. */
  finish(): void {
    if (this.buffered > 0) {
      const have = this.buffered;
      this.chunks = [];
      this.buffered = 0;
      throw new FrameError(`truncated frame: stream ended with ${have} unparsed bytes`);
    }
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= LENGTH_BYTES) return first.readUInt32BE(0);
    let value = 0;
    let got = 0;
    for (const chunk of this.chunks) {
      for (let i = 0; i < chunk.length && got < LENGTH_BYTES; i++, got++) {
        value = value * 256 + chunk[i]!;
      }
      if (got === LENGTH_BYTES) break;
    }
    return value;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    this.buffered -= n;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const want = n - filled;
      if (chunk.length <= want) {
        chunk.copy(out, filled);
        filled += chunk.length;
        this.chunks.shift();
      } else {
        chunk.copy(out, filled, 0, want);
        filled += want;
        this.chunks[0] = chunk.subarray(want);
      }
    }
    return out;
  }
}
