/**
 * The outbound side of one lane to one peer: dials, authenticates as the dialer, drains the
 * lane's send queue into the socket while respecting backpressure, and redials with backoff
 * when the connection drops. The acceptor only ever writes keepalives and request responses
 * back on this connection.
 */
import { connect, type Socket } from "node:net";
import type { Logger } from "pino";
import type { NodeId } from "../raft/types.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { decodeValue } from "./codec.js";
import { FramedConnection } from "./connection.js";
import { type Frame, FrameKind } from "./frame.js";
import {
  computeProof,
  helloBody,
  type Lane,
  newNonce,
  PROTOCOL_VERSION,
  parseHello,
  proofBody,
  proofMac,
  rejectReason,
  verifyProof,
} from "./handshake.js";
import { type OutFrame, type QueueLimits, SendQueue } from "./send-queue.js";

export interface PeerAddress {
  host: string;
  port: number;
}

export function formatAddress(a: PeerAddress): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export interface LinkContext {
  nodeId: NodeId;
  clusterId: string;
  secret: Uint8Array;
  maxFrameBytes: number;
  handshakeTimeoutMs: number;
  backoff: BackoffOptions;
  log: Logger;
  /** Lets the transport destroy every socket it created on close(). */
  trackSocket(socket: Socket): void;
  onResponse(link: PeerLink, frame: Frame, conn: FramedConnection): void;
  onRequestWritten(requestId: number, conn: FramedConnection): void;
  onConnectionLost(conn: FramedConnection): void;
}

type State = "idle" | "connecting" | "ready" | "waiting" | "closed";

export class PeerLink {
  readonly queue: SendQueue;
  readonly counters = { framesSent: 0, bytesSent: 0, connects: 0, reconnects: 0, dialFailures: 0 };
  private state: State = "idle";
  private conn: FramedConnection | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private blocked = false;
  private readonly backoff: Backoff;
  private failureLogged = false;
  private readonly log: Logger;

  constructor(
    readonly peerId: NodeId,
    private addr: PeerAddress,
    readonly lane: Lane,
    private readonly ctx: LinkContext,
    limits: QueueLimits,
  ) {
    this.queue = new SendQueue(limits);
    this.backoff = new Backoff(ctx.backoff);
    this.log = ctx.log.child({ peer: peerId, lane });
  }

  get address(): PeerAddress {
    return this.addr;
  }

  get connected(): boolean {
    return this.state === "ready";
  }

  /** The live connection once authenticated (for keepalive and tests). */
  get connection(): FramedConnection | undefined {
    return this.state === "ready" ? this.conn : undefined;
  }

  start(): void {
    if (this.state === "idle") this.dial();
  }

  setAddress(addr: PeerAddress): void {
    if (addr.host === this.addr.host && addr.port === this.addr.port) return;
    this.addr = addr;
    if (this.state === "idle" || this.state === "closed") return;
    this.clearReconnect();
    this.backoff.reset();
    const conn = this.conn;
    this.conn = undefined;
    if (conn !== undefined) {
      conn.close("peer address changed", "info");
      this.ctx.onConnectionLost(conn);
    }
    this.dial();
  }

  /** False when the queue is full (the caller counts the drop). */
  enqueue(frame: OutFrame): boolean {
    if (this.state === "closed") return false;
    if (!this.queue.push(frame)) return false;
    // The bulk lane is dialled on first use: most clusters rarely send snapshots.
    if (this.state === "idle") this.dial();
    return true;
  }

  flush(): void {
    const conn = this.conn;
    if (this.state !== "ready" || conn === undefined || this.blocked) return;
    // Corking turns a burst of small frames (a Ready's worth of messages) into one writev.
    conn.socket.cork();
    try {
      for (;;) {
        const frame = this.queue.shift();
        if (frame === undefined) break;
        if (frame.requestId !== undefined) this.ctx.onRequestWritten(frame.requestId, conn);
        this.counters.framesSent++;
        this.counters.bytesSent += frame.bytes.length;
        if (!conn.write(frame.bytes)) {
          // The socket buffer is past its high-water mark: leave the rest queued (where it is
          // bounded and counted) instead of growing the socket's unbounded internal buffer.
          this.blocked = true;
          conn.socket.once("drain", () => {
            if (this.conn !== conn) return;
            this.blocked = false;
            this.flush();
          });
          break;
        }
      }
    } finally {
      conn.socket.uncork();
    }
  }

  /** Called periodically by the transport: keepalive when quiet, close when the peer is silent. */
  tick(now: number, keepaliveMs: number, idleTimeoutMs: number): void {
    const conn = this.conn;
    if (this.state !== "ready" || conn === undefined) return;
    if (now - conn.lastReceivedAt > idleTimeoutMs) {
      conn.close(`no data from peer for ${idleTimeoutMs} ms`, "warn");
    } else if (now - conn.lastSentAt >= keepaliveMs && !this.blocked) {
      conn.writeFrame(FrameKind.Ping);
    }
  }

  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.clearReconnect();
    const conn = this.conn;
    this.conn = undefined;
    if (conn !== undefined) {
      conn.close("transport closing", "debug");
      this.ctx.onConnectionLost(conn);
    }
    this.queue.clear();
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private dial(): void {
    this.state = "connecting";
    this.blocked = false;
    const nonce = newNonce();
    let socket: Socket;
    try {
      socket = connect({ host: this.addr.host, port: this.addr.port });
    } catch (err) {
      // Bad addresses throw synchronously; treat them like an unreachable peer.
      this.scheduleRedial(err instanceof Error ? err.message : String(err));
      return;
    }
    this.ctx.trackSocket(socket);
    const conn = new FramedConnection(socket, this.log);
    this.conn = conn;
    // The deadline covers the TCP connect as well, so a black-holed address does not hang.
    conn.armDeadline(
      this.ctx.handshakeTimeoutMs,
      `handshake not completed within ${this.ctx.handshakeTimeoutMs} ms`,
    );
    let phase: "hello" | "proof" | "ready" = "hello";
    socket.once("connect", () => {
      conn.writeFrame(
        FrameKind.Hello,
        helloBody({
          v: PROTOCOL_VERSION,
          clusterId: this.ctx.clusterId,
          nodeId: this.ctx.nodeId,
          to: this.peerId,
          lane: this.lane,
          nonce,
        }),
      );
    });
    conn.attach({
      onClose: (reason) => this.onClosed(conn, reason),
      onFrame: (frame) => {
        if (phase === "ready") {
          if (frame.kind === FrameKind.Response) this.ctx.onResponse(this, frame, conn);
          else if (frame.kind !== FrameKind.Ping) conn.protocolError(`unexpected frame kind ${frame.kind}`);
          return;
        }
        if (frame.kind === FrameKind.Reject) {
          conn.close(`peer rejected the handshake: ${rejectReason(safeDecode(frame))}`, "warn");
          return;
        }
        if (phase === "hello") {
          if (frame.kind !== FrameKind.Hello)
            return conn.protocolError(`expected hello, got frame kind ${frame.kind}`);
          const hello = parseHello(decodeValue(frame.payload));
          if (typeof hello === "string") return conn.close(`bad hello from peer: ${hello}`, "warn");
          if (hello.clusterId !== this.ctx.clusterId) {
            return conn.close(
              `cluster id mismatch: peer is in "${hello.clusterId}", this node in "${this.ctx.clusterId}"`,
              "warn",
            );
          }
          if (hello.nodeId !== this.peerId) {
            return conn.close(
              `expected node ${this.peerId} at this address but found ${hello.nodeId}`,
              "warn",
            );
          }
          const mac = computeProof(
            this.ctx.secret,
            this.ctx.clusterId,
            this.ctx.nodeId,
            hello.nonce,
            "dialer",
          );
          conn.writeFrame(FrameKind.Proof, proofBody(mac));
          phase = "proof";
          return;
        }
        if (frame.kind !== FrameKind.Proof)
          return conn.protocolError(`expected proof, got frame kind ${frame.kind}`);
        const ok = verifyProof(
          this.ctx.secret,
          this.ctx.clusterId,
          this.peerId,
          nonce,
          "acceptor",
          proofMac(decodeValue(frame.payload)),
        );
        if (!ok) return conn.close("peer failed authentication (does it hold the cluster secret?)", "warn");
        phase = "ready";
        this.onReady(conn);
      },
    });
  }

  private onReady(conn: FramedConnection): void {
    conn.disarmDeadline();
    conn.decoder.maxFrameBytes = this.ctx.maxFrameBytes;
    this.state = "ready";
    this.backoff.reset();
    if (this.counters.connects > 0) this.counters.reconnects++;
    this.counters.connects++;
    this.failureLogged = false;
    this.log.info({ address: formatAddress(this.addr) }, "connected to peer");
    this.flush();
  }

  private onClosed(conn: FramedConnection, reason: string): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    this.blocked = false;
    this.ctx.onConnectionLost(conn);
    if (this.state === "closed") return;
    this.scheduleRedial(reason);
  }

  private scheduleRedial(reason: string): void {
    if (this.state === "ready") {
      this.log.info({ reason }, "lost connection to peer; reconnecting");
    } else {
      this.counters.dialFailures++;
      // A peer that is down is retried every couple of seconds; say so once, not every time.
      if (!this.failureLogged) {
        this.log.warn(
          { address: formatAddress(this.addr), reason },
          "cannot connect to peer; retrying with backoff",
        );
        this.failureLogged = true;
      }
    }
    this.state = "waiting";
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.state === "waiting") this.dial();
    }, this.backoff.next());
  }
}

function safeDecode(frame: Frame): unknown {
  try {
    return decodeValue(frame.payload);
  } catch {
    return undefined;
  }
}
