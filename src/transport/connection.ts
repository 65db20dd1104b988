/**
 * A socket plus a frame decoder, with the bookkeeping both connection directions need:
 * byte counters, last-activity times for keepalive and idle detection, a handshake deadline,
 * and a single idempotent close that reports why the connection ended.
 */
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { encodeValue } from "./codec.js";
import { encodeFrame, type Frame, FrameDecoder, FrameError, type FrameKind } from "./frame.js";

/**
 * Until the peer is authenticated only small handshake frames are legal; this keeps an
 * unauthenticated client from making the node buffer up to the full frame limit.
 */
export const HANDSHAKE_MAX_FRAME_BYTES = 4096;

export interface ConnectionHandlers {
  /** Return nothing; call `close()` on the connection to reject the frame. */
  onFrame(frame: Frame): void;
  onClose(reason: string): void;
}

export class FramedConnection {
  readonly decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES);
  lastReceivedAt: number;
  lastSentAt: number;
  bytesIn = 0;
  bytesOut = 0;
  private closedReason: string | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private handlers: ConnectionHandlers | undefined;

  constructor(
    readonly socket: Socket,
    readonly log: Logger,
  ) {
    this.lastReceivedAt = performance.now();
    this.lastSentAt = this.lastReceivedAt;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => this.onEnd());
    socket.on("error", (err) => this.close(`socket error: ${err.message}`, "debug"));
    socket.on("close", () => this.close("connection closed by peer", "debug"));
  }

  /** Handlers are attached separately so that the owner can be constructed around the connection. */
  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? "?"}:${this.socket.remotePort ?? "?"}`;
  }

  /** Close with `reason` unless the connection has finished its handshake by then. */
  armDeadline(ms: number, reason: string): void {
    this.disarmDeadline();
    this.deadline = setTimeout(() => this.close(reason, "warn"), ms);
  }

  disarmDeadline(): void {
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  /** Socket backpressure: true when the caller may keep writing. */
  write(bytes: Buffer): boolean {
    if (this.closed) return false;
    this.bytesOut += bytes.length;
    this.lastSentAt = performance.now();
    return this.socket.write(bytes);
  }

  writeFrame(kind: FrameKind, body?: unknown): boolean {
    return this.write(encodeFrame(kind, body === undefined ? undefined : encodeValue(body)));
  }

  get writableBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Idempotent. `level` says how noteworthy the reason is: protocol violations and failed
   * authentication are warnings, ordinary disconnects are debug. With `flush`, bytes already
   * written (a Reject frame) are sent before the socket goes away.
   */
  close(reason: string, level: "debug" | "info" | "warn" = "info", flush = false): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.disarmDeadline();
    this.log[level]({ remote: this.remote, reason }, "peer connection closed");
    if (flush) {
      // Only tiny Reject frames are flushed this way; they fit in the kernel buffer, so
      // 'finish' comes at once. The owning transport still destroys the socket on close().
      this.socket.once("finish", () => this.socket.destroy());
      this.socket.end();
    } else {
      this.socket.destroy();
    }
    this.handlers?.onClose(reason);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.bytesIn += chunk.length;
    this.lastReceivedAt = performance.now();
    this.decoder.push(chunk);
    try {
      for (;;) {
        if (this.closed) return;
        const frame = this.decoder.next();
        if (frame === undefined) return;
        this.handlers?.onFrame(frame);
      }
    } catch (err) {
      this.protocolError(err);
    }
  }

  private onEnd(): void {
    if (this.closed) return;
    try {
      this.decoder.finish();
      this.close("connection ended by peer", "debug");
    } catch (err) {
      this.protocolError(err);
    }
  }

  protocolError(err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    const what = err instanceof FrameError ? "bad framing" : "bad frame";
    this.close(`${what}: ${msg}`, "warn");
  }
}
