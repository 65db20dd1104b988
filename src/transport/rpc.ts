/**
 * Bookkeeping for application requests sent to peers: ids, timeouts, and settling. A response
 * comes back on the same connection that carried the request, so when that connection dies
 * every request written on it is failed at once instead of waiting for its timeout.
 */
import type { NodeId } from "../raft/types.js";

export type TransportErrorCode =
  /** No response within the timeout (the request may or may not have run remotely). */
  | "timeout"
  /** The connection carrying the request was lost (the request may or may not have run). */
  | "connection_lost"
  /** The remote handler threw or refused; the message is the remote's. */
  | "remote"
  /** Not sent: a local bound was hit (send queue or pending-request limit). */
  | "overloaded"
  /** Not sent: the frame exceeds the maximum frame size. */
  | "too_large"
  /** Not sent: the payload cannot be encoded with msgpack. */
  | "invalid_payload"
  /** Not sent: the peer is not in the current peer set. */
  | "unknown_peer"
  /** The transport was closed. */
  | "closed";

export class TransportError extends Error {
  override name = "TransportError";
  constructor(
    readonly code: TransportErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  peer: NodeId;
  resolve: (value: unknown) => void;
  reject: (err: TransportError) => void;
  timer: NodeJS.Timeout;
  /** The connection the request was written to, once it was. */
  via?: object;
}

export class RequestTracker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** `maxPending` bounds the timers and closures held for requests awaiting an answer. */
  constructor(private readonly maxPending: number) {}

  get size(): number {
    return this.pending.size;
  }

  create(peer: NodeId, timeoutMs: number): { id: number; promise: Promise<unknown> } {
    if (this.pending.size >= this.maxPending) {
      throw new TransportError("overloaded", `too many pending requests (limit ${this.maxPending})`);
    }
    const id = this.nextId++;
    let resolve!: (value: unknown) => void;
    let reject!: (err: TransportError) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const timer = setTimeout(() => {
      this.fail(id, new TransportError("timeout", `request to ${peer} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    this.pending.set(id, { peer, resolve, reject, timer });
    return { id, promise };
  }

  /** Only the peer the request went to may answer it. Returns false for unknown/late ids. */
  settle(peer: NodeId, id: number, ok: boolean, payloadOrError: unknown): boolean {
    const p = this.pending.get(id);
    if (p === undefined || p.peer !== peer) return false;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (ok) p.resolve(payloadOrError);
    else p.reject(new TransportError("remote", String(payloadOrError)));
    return true;
  }

  fail(id: number, err: TransportError): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.reject(err);
  }

  markWritten(id: number, via: object): void {
    const p = this.pending.get(id);
    if (p !== undefined) p.via = via;
  }

  /** Fails requests written to a connection that is gone: their answer can no longer arrive. */
  failVia(via: object, err: TransportError): void {
    for (const [id, p] of this.pending) if (p.via === via) this.fail(id, err);
  }

  failPeer(peer: NodeId, err: TransportError): void {
    for (const [id, p] of this.pending) if (p.peer === peer) this.fail(id, err);
  }

  failAll(err: TransportError): void {
    for (const id of [...this.pending.keys()]) this.fail(id, err);
  }
}
