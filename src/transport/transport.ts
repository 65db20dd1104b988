/**
 * PeerTransport: carries Raft messages and small application RPCs between the nodes of one
 * cluster over persistent, authenticated TCP connections.
 *
 * Connections. Each node dials every peer and sends only on its own outbound connections;
 * inbound connections deliver to this node. The acceptor writes on an inbound connection only
 * keepalives and the responses to requests that arrived on it, so a response needs no route
 * back and dies with the connection that carried the request.
 *
 * Lanes. Per peer there are two outbound connections: `main` for every Raft message except
 * snapshot chunks (and for requests), `bulk` for `snap` messages, dialled on first use. Within
 * one TCP stream, once a multi-MiB chunk has been handed to the socket every later byte waits
 * behind it in the kernel buffers and on the wire; a user-space priority queue could only
 * reorder what is not yet written, and would have to cut chunks into sub-frames to interleave.
 * Two streams let TCP multiplex, so a heartbeat waits at most for its own lane's small backlog.
 *
 * Bounds (all configurable): per peer and lane, a send queue in frames and bytes (memory while
 * a peer is slow or down; newest frames are dropped and counted when full); the frame size
 * (memory per message, and the most a peer can make this node buffer); pending outgoing
 * requests (timers and closures); concurrent incoming requests per connection (handler work a
 * peer can start); the delay line of the `delay` fault; the number of inbound connections
 * (pre-authentication buffers an unauthenticated client can hold).
 */
import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import { type Message, MessageType, type NodeId } from "../raft/types.js";
import { DEFAULT_BACKOFF } from "./backoff.js";
import { asMessage, asRequest, asResponse, decodeValue, encodeValue, type ResponseBody } from "./codec.js";
import { FramedConnection } from "./connection.js";
import { DelayLine, type DropCause, FaultInjector, type FaultState } from "./faults.js";
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, type Frame, FrameKind, frameLength } from "./frame.js";
import type { Lane } from "./handshake.js";
import { InboundConnection, type InboundContext } from "./inbound.js";
import { formatAddress, type LinkContext, type PeerAddress, PeerLink } from "./peer-link.js";
import { RequestTracker, TransportError } from "./rpc.js";
import type { OutFrame, QueueLimits } from "./send-queue.js";

export type { PeerAddress } from "./peer-link.js";

/** Peers by node id; addresses as `{host, port}` or `"host:port"` (`"[::1]:7101"` for IPv6). */
export type PeerMap =
  | ReadonlyMap<NodeId, PeerAddress | string>
  | Readonly<Record<NodeId, PeerAddress | string>>;

export type RequestHandler = (payload: unknown, ctx: { from: NodeId }) => unknown | Promise<unknown>;

export interface PeerTransportOptions {
  nodeId: NodeId;
  clusterId: string;
  /** Shared by all nodes of the cluster; never sent on the wire. */
  secret: string | Uint8Array;
  listen: PeerAddress;
  /** This node's own id may be included; it is ignored. */
  peers?: PeerMap;
  logger: Logger;
  /** Called synchronously for each Raft message addressed to this node. */
  onMessage: (msg: Message) => void;
  /** Largest frame (kind byte + payload) sent or accepted. Default 16 MiB. */
  maxFrameBytes?: number;
  /** Default 5000. */
  handshakeTimeoutMs?: number;
  /** A connection quiet for this long sends a ping. Default 500. */
  keepaliveMs?: number;
  /** A connection that received nothing for this long is closed. Default 5000. */
  idleTimeoutMs?: number;
  /** Reconnect delay: doubles from initialMs to maxMs. Defaults 50 and 2000. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Random source for backoff jitter and drop faults. Default Math.random. */
  random?: () => number;
  /** Defaults: main 4096 frames / 32 MiB, bulk 64 frames / 64 MiB. */
  queues?: { main?: Partial<QueueLimits>; bulk?: Partial<QueueLimits> };
  /** Default timeout of request(). Default 5000. */
  requestTimeoutMs?: number;
  /** Default 1024. */
  maxPendingRequests?: number;
  /** Default 64. */
  maxConcurrentRequestsPerConnection?: number;
  /** Frames held by the `delay` fault. Default 10000. */
  maxDelayedFrames?: number;
  /** Default 256. */
  maxInboundConnections?: number;
}

type DropKind = DropCause | "queueFull" | "oversize";

export interface PeerStats {
  address: string;
  connected: boolean;
  bulkConnected: boolean;
  queued: { main: { frames: number; bytes: number }; bulk: { frames: number; bytes: number } };
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  reconnects: number;
  dialFailures: number;
  drops: Record<DropKind, number>;
}

export interface TransportStats {
  nodeId: NodeId;
  listen: string | undefined;
  /** Peers whose main lane is connected and authenticated. */
  connectedPeers: NodeId[];
  peers: Record<NodeId, PeerStats>;
  inbound: { open: number; authenticated: number; rejected: number };
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  reconnects: number;
  pendingRequests: number;
  drops: Record<DropKind | "unknownPeer" | "delayOverflow" | "invalid", number> & { total: number };
  faults: FaultState;
}

interface PeerState {
  id: NodeId;
  main: PeerLink;
  bulk: PeerLink;
  drops: Record<DropKind, number>;
}

const RATE_LIMITED_LOG_MS = 10_000;

export function parsePeerAddress(value: PeerAddress | string): PeerAddress {
  if (typeof value !== "string") return { host: value.host, port: value.port };
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !(port >= 1 && port <= 65535))
    throw new Error(`invalid peer address "${value}" (want host:port)`);
  return { host: m[1]!, port };
}

export class PeerTransport {
  readonly nodeId: NodeId;
  private readonly opts: PeerTransportOptions;
  private readonly log: Logger;
  private readonly secret: Uint8Array;
  private readonly maxFrameBytes: number;
  private readonly keepaliveMs: number;
  private readonly idleTimeoutMs: number;
  private readonly linkCtx: LinkContext;
  private readonly inboundCtx: InboundContext;
  private readonly mainLimits: QueueLimits;
  private readonly bulkLimits: QueueLimits;
  private readonly faults: FaultInjector;
  private readonly delayLine: DelayLine;
  private readonly rpc: RequestTracker;
  private readonly peers = new Map<NodeId, PeerState>();
  private readonly inbound = new Set<InboundConnection>();
  private readonly sockets = new Set<Socket>();
  private readonly received = new Map<NodeId, { frames: number; bytes: number }>();
  private readonly drops = { unknownPeer: 0, delayOverflow: 0, invalid: 0, isolatedIn: 0 };
  private readonly lastLogged = new Map<string, number>();
  private rejectedInbound = 0;
  private requestHandler: RequestHandler | undefined;
  private server: Server | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private state: "new" | "starting" | "started" | "closed" = "new";
  private closing: Promise<void> | undefined;

  constructor(opts: PeerTransportOptions) {
    if (opts.nodeId === "") throw new Error("transport: nodeId must not be empty");
    this.opts = opts;
    this.nodeId = opts.nodeId;
    this.secret =
      typeof opts.secret === "string" ? new Uint8Array(Buffer.from(opts.secret, "utf8")) : opts.secret;
    if (this.secret.length === 0) throw new Error("transport: the cluster secret must not be empty");
    this.log = opts.logger.child({ component: "transport" });
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.keepaliveMs = opts.keepaliveMs ?? 500;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 5000;
    const random = opts.random ?? Math.random;
    const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 5000;
    this.mainLimits = { maxFrames: 4096, maxBytes: 32 * 1024 * 1024, ...opts.queues?.main };
    this.bulkLimits = { maxFrames: 64, maxBytes: 64 * 1024 * 1024, ...opts.queues?.bulk };
    this.faults = new FaultInjector(random);
    this.delayLine = new DelayLine(opts.maxDelayedFrames ?? 10_000);
    this.rpc = new RequestTracker(opts.maxPendingRequests ?? 1024);
    const common = {
      nodeId: opts.nodeId,
      clusterId: opts.clusterId,
      secret: this.secret,
      maxFrameBytes: this.maxFrameBytes,
      handshakeTimeoutMs,
      log: this.log,
    };
    this.linkCtx = {
      ...common,
      backoff: {
        initialMs: opts.backoff?.initialMs ?? DEFAULT_BACKOFF.initialMs,
        maxMs: opts.backoff?.maxMs ?? DEFAULT_BACKOFF.maxMs,
        random,
      },
      trackSocket: (s) => this.trackSocket(s),
      onResponse: (link, frame, conn) => this.onResponseFrame(link, frame, conn),
      onRequestWritten: (id, conn) => this.rpc.markWritten(id, conn),
      onConnectionLost: (conn) =>
        this.rpc.failVia(
          conn,
          new TransportError("connection_lost", "connection to peer lost before the response"),
        ),
    };
    this.inboundCtx = {
      ...common,
      onAuthenticated: (inb) => this.onInboundAuthenticated(inb),
      onRaftFrame: (inb, frame) => this.onRaftFrame(inb, frame),
      onRequestFrame: (inb, frame) => this.onRequestFrame(inb, frame),
      onClosed: (inb, _reason, authenticated) => {
        this.inbound.delete(inb);
        if (!authenticated) this.rejectedInbound++;
      },
    };
    if (opts.peers !== undefined) this.applyPeers(opts.peers);
  }

  /** Listens, then starts dialling peers. Rejects with a clear message if the port is taken. */
  start(): Promise<void> {
    if (this.state !== "new")
      return Promise.reject(new Error("transport: start() called twice or after close()"));
    this.state = "starting";
    const { host, port } = this.opts.listen;
    const where = formatAddress({ host, port });
    return new Promise<void>((resolve, reject) => {
      const server = createServer((socket) => this.accept(socket));
      const onError = (err: NodeJS.ErrnoException) => {
        server.close();
        if (this.state === "starting") this.state = "new";
        reject(
          err.code === "EADDRINUSE"
            ? new Error(`raft port ${where} is already in use`)
            : new Error(`cannot listen on raft port ${where}: ${err.message}`),
        );
      };
      server.once("error", onError);
      server.listen({ host, port }, () => {
        server.off("error", onError);
        if (this.state !== "starting") {
          server.close();
          reject(new Error("transport: closed while starting"));
          return;
        }
        server.on("error", (err) => this.log.error({ err }, "raft listener error"));
        this.server = server;
        this.state = "started";
        this.sweep = setInterval(() => this.tick(), this.keepaliveMs);
        for (const p of this.peers.values()) p.main.start();
        this.log.info({ listen: this.listenAddress() }, "raft transport listening");
        resolve();
      });
    });
  }

  /** The bound address (useful after listening on port 0). */
  address(): PeerAddress {
    const a = this.server?.address();
    if (a === null || a === undefined || typeof a === "string") throw new Error("transport: not listening");
    return { host: a.address, port: a.port };
  }

  /** Replaces the peer set (membership change). Unknown ids are added, missing ones removed. */
  setPeers(peers: PeerMap): void {
    if (this.state === "closed") return;
    this.applyPeers(peers);
  }

  /** Queues messages for their peers; never blocks, never throws. Undeliverable ones are counted. */
  send(msgs: readonly Message[]): void {
    if (this.state === "closed") return;
    const dirty = new Set<PeerLink>();
    for (const msg of msgs) this.sendOne(msg, dirty);
    for (const link of dirty) link.flush();
  }

  /**
   * Sends `payload` (anything msgpack can carry) to `to`'s request handler and resolves with
   * its answer. Rejects with a TransportError; on "timeout" or "connection_lost" the request
   * may or may not have run remotely.
   */
  async request(
    to: NodeId,
    payload: unknown,
    timeoutMs = this.opts.requestTimeoutMs ?? 5000,
  ): Promise<unknown> {
    if (this.state === "closed") throw new TransportError("closed", "transport is closed");
    const peer = this.peers.get(to);
    if (peer === undefined) throw new TransportError("unknown_peer", `no peer ${to}`);
    const { id, promise } = this.rpc.create(to, timeoutMs);
    let bytes: Buffer;
    try {
      bytes = encodeFrame(FrameKind.Request, encodeValue({ id, payload }));
    } catch (err) {
      this.rpc.fail(id, new TransportError("invalid_payload", `cannot encode request: ${String(err)}`));
      return promise;
    }
    if (frameLength(bytes) > this.maxFrameBytes) {
      this.rpc.fail(
        id,
        new TransportError("too_large", `request of ${bytes.length} bytes exceeds the frame limit`),
      );
      return promise;
    }
    const cause = this.faults.outgoing(to);
    if (cause !== undefined) {
      // Lost like on a real partition: the caller finds out by timeout.
      this.countDrop(peer, cause);
    } else {
      this.dispatch(to, "main", { bytes, requestId: id }, undefined);
    }
    return promise;
  }

  /** Registers the handler for requests from peers (one handler; a later call replaces it). */
  onRequest(handler: RequestHandler): void {
    this.requestHandler = handler;
  }

  /** Drops all traffic to and from this node (Raft and requests) until heal(). */
  isolate(): void {
    this.faults.isolate();
    // What is already queued would otherwise leak out after the partition started.
    for (const p of this.peers.values()) {
      for (const link of [p.main, p.bulk]) {
        // Queued requests are left to time out, as they would behind a real partition.
        for (const _ of link.queue.clear()) this.countDrop(p, "isolated");
      }
    }
    this.log.warn("fault: node isolated");
  }

  heal(): void {
    this.faults.heal();
    this.log.warn("fault: isolation healed");
  }

  /** Drops each outgoing message to `peer` with `probability` (0 removes the fault). */
  dropTo(peer: NodeId, probability: number): void {
    this.faults.dropTo(peer, probability);
    this.log.warn({ peer, probability }, "fault: dropping messages to peer");
  }

  /** Holds every outgoing message and request for `ms` before queueing it (0 removes the fault). */
  delay(ms: number): void {
    this.faults.setDelay(ms);
    this.log.warn({ ms }, "fault: delaying outgoing messages");
  }

  /** Clears isolate, dropTo and delay at once. */
  resetFaults(): void {
    this.faults.reset();
    this.log.warn("fault: all faults cleared");
  }

  stats(): TransportStats {
    const peers: Record<NodeId, PeerStats> = {};
    const totals = { framesSent: 0, bytesSent: 0, reconnects: 0 };
    const drops = { isolated: this.drops.isolatedIn, fault: 0, queueFull: 0, oversize: 0 };
    for (const p of this.peers.values()) {
      const rec = this.received.get(p.id) ?? { frames: 0, bytes: 0 };
      const m = p.main.counters;
      const b = p.bulk.counters;
      peers[p.id] = {
        address: formatAddress(p.main.address),
        connected: p.main.connected,
        bulkConnected: p.bulk.connected,
        queued: {
          main: { frames: p.main.queue.length, bytes: p.main.queue.bytes },
          bulk: { frames: p.bulk.queue.length, bytes: p.bulk.queue.bytes },
        },
        framesSent: m.framesSent + b.framesSent,
        bytesSent: m.bytesSent + b.bytesSent,
        framesReceived: rec.frames,
        bytesReceived: rec.bytes,
        reconnects: m.reconnects + b.reconnects,
        dialFailures: m.dialFailures + b.dialFailures,
        drops: { ...p.drops },
      };
      totals.framesSent += m.framesSent + b.framesSent;
      totals.bytesSent += m.bytesSent + b.bytesSent;
      totals.reconnects += m.reconnects + b.reconnects;
      for (const k of ["isolated", "fault", "queueFull", "oversize"] as const) drops[k] += p.drops[k];
    }
    let framesReceived = 0;
    let bytesReceived = 0;
    for (const r of this.received.values()) {
      framesReceived += r.frames;
      bytesReceived += r.bytes;
    }
    const all = {
      ...drops,
      unknownPeer: this.drops.unknownPeer,
      delayOverflow: this.drops.delayOverflow,
      invalid: this.drops.invalid,
    };
    return {
      nodeId: this.nodeId,
      listen: this.server?.listening ? this.listenAddress() : undefined,
      connectedPeers: [...this.peers.values()].filter((p) => p.main.connected).map((p) => p.id),
      peers,
      inbound: {
        open: this.inbound.size,
        authenticated: [...this.inbound].filter((i) => i.authenticated).length,
        rejected: this.rejectedInbound,
      },
      ...totals,
      framesReceived,
      bytesReceived,
      pendingRequests: this.rpc.size,
      drops: { ...all, total: Object.values(all).reduce((a, b) => a + b, 0) },
      faults: this.faults.state(),
    };
  }

  /** Closes the listener and every connection, fails pending requests, stops all timers. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.state = "closed";
    if (this.sweep !== undefined) clearInterval(this.sweep);
    this.sweep = undefined;
    this.delayLine.close();
    // Before the links go down, so callers see "closed" rather than "connection_lost".
    this.rpc.failAll(new TransportError("closed", "transport closed"));
    for (const p of this.peers.values()) {
      p.main.close();
      p.bulk.close();
    }
    for (const inb of this.inbound) inb.conn.close("transport closing", "debug");
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.closing = new Promise<void>((resolve) => {
      if (server === undefined) return resolve();
      server.close(() => resolve());
    });
    return this.closing;
  }

  // ---- internals ----

  private listenAddress(): string {
    return formatAddress(this.address());
  }

  private applyPeers(peers: PeerMap): void {
    const next = new Map<NodeId, PeerAddress>();
    const entries = peers instanceof Map ? [...peers.entries()] : Object.entries(peers);
    for (const [id, addr] of entries as [NodeId, PeerAddress | string][]) {
      if (id !== this.nodeId) next.set(id, parsePeerAddress(addr));
    }
    for (const [id, p] of this.peers) {
      if (next.has(id)) continue;
      this.rpc.failPeer(id, new TransportError("unknown_peer", `peer ${id} was removed`));
      p.main.close();
      p.bulk.close();
      this.peers.delete(id);
      this.log.info({ peer: id }, "peer removed");
    }
    for (const [id, addr] of next) {
      const existing = this.peers.get(id);
      if (existing !== undefined) {
        if (existing.main.address.host !== addr.host || existing.main.address.port !== addr.port) {
          this.log.info({ peer: id, address: formatAddress(addr) }, "peer address changed");
          existing.main.setAddress(addr);
          existing.bulk.setAddress(addr);
        }
        continue;
      }
      const p: PeerState = {
        id,
        main: new PeerLink(id, addr, "main", this.linkCtx, this.mainLimits),
        bulk: new PeerLink(id, addr, "bulk", this.linkCtx, this.bulkLimits),
        drops: { isolated: 0, fault: 0, queueFull: 0, oversize: 0 },
      };
      this.peers.set(id, p);
      if (this.state === "started") p.main.start();
      this.log.info({ peer: id, address: formatAddress(addr) }, "peer added");
    }
  }

  private sendOne(msg: Message, dirty: Set<PeerLink>): void {
    const peer = this.peers.get(msg.to);
    if (peer === undefined) {
      this.drops.unknownPeer++;
      this.logLimited(
        `unknown:${msg.to}`,
        "debug",
        { to: msg.to, type: msg.type },
        "dropping message to unknown peer",
      );
      return;
    }
    const cause = this.faults.outgoing(msg.to);
    if (cause !== undefined) {
      this.countDrop(peer, cause);
      return;
    }
    let bytes: Buffer;
    try {
      bytes = encodeFrame(FrameKind.Raft, encodeValue(msg));
    } catch (err) {
      this.drops.invalid++;
      this.logLimited("encode", "error", { err, type: msg.type }, "cannot encode raft message; dropped");
      return;
    }
    if (frameLength(bytes) > this.maxFrameBytes) {
      this.countDrop(peer, "oversize");
      this.logLimited(
        `oversize:${peer.id}`,
        "warn",
        { to: peer.id, type: msg.type, bytes: bytes.length, limit: this.maxFrameBytes },
        "raft message exceeds the frame limit; dropped",
      );
      return;
    }
    this.dispatch(peer.id, msg.type === MessageType.Snap ? "bulk" : "main", { bytes }, dirty);
  }

  /** Queues a frame now, or later through the delay fault. */
  private dispatch(peerId: NodeId, lane: Lane, frame: OutFrame, dirty: Set<PeerLink> | undefined): void {
    const delay = this.faults.delayMs;
    if (delay <= 0) {
      this.enqueue(peerId, lane, frame, dirty);
      return;
    }
    if (!this.delayLine.push(delay, () => this.enqueue(peerId, lane, frame, undefined))) {
      this.drops.delayOverflow++;
      if (frame.requestId !== undefined) {
        this.rpc.fail(frame.requestId, new TransportError("overloaded", "delay fault queue is full"));
      }
    }
  }

  private enqueue(peerId: NodeId, lane: Lane, frame: OutFrame, dirty: Set<PeerLink> | undefined): void {
    const peer = this.peers.get(peerId);
    if (peer === undefined || this.state === "closed") {
      if (frame.requestId !== undefined) {
        this.rpc.fail(frame.requestId, new TransportError("unknown_peer", `peer ${peerId} was removed`));
      }
      return;
    }
    if (this.faults.isolated) {
      // Isolated while the frame sat in the delay line.
      this.countDrop(peer, "isolated");
      return;
    }
    const link = lane === "bulk" ? peer.bulk : peer.main;
    if (!link.enqueue(frame)) {
      this.countDrop(peer, "queueFull");
      if (frame.requestId !== undefined) {
        this.rpc.fail(frame.requestId, new TransportError("overloaded", `send queue to ${peerId} is full`));
      }
      return;
    }
    if (dirty !== undefined) dirty.add(link);
    else link.flush();
  }

  private countDrop(peer: PeerState, kind: DropKind): void {
    peer.drops[kind]++;
  }

  private accept(socket: Socket): void {
    if (this.state === "closed") {
      socket.destroy();
      return;
    }
    const max = this.opts.maxInboundConnections ?? 256;
    if (this.inbound.size >= max) {
      this.logLimited(
        "inbound-limit",
        "warn",
        { remote: socket.remoteAddress, max },
        "too many inbound connections",
      );
      socket.destroy();
      return;
    }
    this.trackSocket(socket);
    const conn = new FramedConnection(socket, this.log.child({ dir: "in" }));
    this.inbound.add(new InboundConnection(conn, this.inboundCtx));
  }

  private trackSocket(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  private onInboundAuthenticated(inb: InboundConnection): void {
    // A redial replaces the peer's previous connection on that lane; the old one may be a
    // half-open leftover the peer has already given up on.
    for (const other of this.inbound) {
      if (other !== inb && other.authenticated && other.peerId === inb.peerId && other.lane === inb.lane) {
        other.conn.close("replaced by a newer connection from the same peer", "debug");
      }
    }
  }

  private countReceived(peer: NodeId, bytes: number): void {
    let r = this.received.get(peer);
    if (r === undefined) {
      r = { frames: 0, bytes: 0 };
      this.received.set(peer, r);
    }
    r.frames++;
    r.bytes += bytes;
  }

  private onRaftFrame(inb: InboundConnection, frame: Frame): void {
    const from = inb.peerId!;
    if (this.faults.isolated) {
      this.drops.isolatedIn++;
      return;
    }
    this.countReceived(from, frame.payload.length + 5);
    const msg = asMessage(decodeValue(frame.payload));
    if (typeof msg === "string") {
      // Version skew rather than an attack (the peer is authenticated): drop, keep the link.
      this.drops.invalid++;
      this.logLimited(`invalid:${from}`, "warn", { from, problem: msg }, "invalid raft message dropped");
      return;
    }
    if (msg.from !== from || msg.to !== this.nodeId) {
      this.drops.invalid++;
      this.logLimited(
        `misaddressed:${from}`,
        "warn",
        { peer: from, from: msg.from, to: msg.to },
        "raft message with wrong sender or recipient dropped",
      );
      return;
    }
    try {
      this.opts.onMessage(msg);
    } catch (err) {
      this.log.error({ err, type: msg.type, from }, "onMessage handler threw");
    }
  }

  private onRequestFrame(inb: InboundConnection, frame: Frame): void {
    const from = inb.peerId!;
    if (this.faults.isolated) {
      this.drops.isolatedIn++;
      return;
    }
    this.countReceived(from, frame.payload.length + 5);
    const body = asRequest(decodeValue(frame.payload));
    if (body === undefined) {
      inb.conn.protocolError("malformed request frame");
      return;
    }
    const { id } = body;
    const handler = this.requestHandler;
    if (handler === undefined) {
      this.reply(inb, { id, ok: false, error: `node ${this.nodeId} has no request handler` });
      return;
    }
    const limit = this.opts.maxConcurrentRequestsPerConnection ?? 64;
    if (inb.activeRequests >= limit) {
      this.reply(inb, {
        id,
        ok: false,
        error: `node ${this.nodeId} is busy (${limit} requests in progress)`,
      });
      return;
    }
    inb.activeRequests++;
    Promise.resolve()
      .then(() => handler(body.payload, { from }))
      .then(
        (payload) => this.reply(inb, { id, ok: true, payload }),
        (err: unknown) =>
          this.reply(inb, { id, ok: false, error: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => {
        inb.activeRequests--;
      });
  }

  private reply(inb: InboundConnection, body: ResponseBody): void {
    if (inb.conn.closed || this.state === "closed") return;
    if (this.faults.isolated) {
      this.drops.isolatedIn++;
      return;
    }
    let bytes: Buffer;
    try {
      bytes = encodeFrame(FrameKind.Response, encodeValue(body));
    } catch (err) {
      bytes = encodeFrame(
        FrameKind.Response,
        encodeValue({ id: body.id, ok: false, error: `cannot encode response: ${String(err)}` }),
      );
    }
    if (frameLength(bytes) > this.maxFrameBytes) {
      bytes = encodeFrame(
        FrameKind.Response,
        encodeValue({ id: body.id, ok: false, error: "response too large" }),
      );
    }
    // The requester is not reading fast enough; drop rather than buffer without bound. It
    // learns by timeout, as it would from a lost packet.
    if (inb.conn.writableBytes > this.maxFrameBytes) {
      this.logLimited(
        `reply-backlog:${inb.peerId}`,
        "warn",
        { peer: inb.peerId },
        "response dropped: backlog",
      );
      return;
    }
    inb.conn.write(bytes);
  }

  private onResponseFrame(link: PeerLink, frame: Frame, conn: FramedConnection): void {
    if (this.faults.isolated) {
      this.drops.isolatedIn++;
      return;
    }
    this.countReceived(link.peerId, frame.payload.length + 5);
    const body = asResponse(decodeValue(frame.payload));
    if (body === undefined) {
      conn.protocolError("malformed response frame");
      return;
    }
    this.rpc.settle(link.peerId, body.id, body.ok, body.ok ? body.payload : body.error);
  }

  private tick(): void {
    const now = performance.now();
    for (const p of this.peers.values()) {
      p.main.tick(now, this.keepaliveMs, this.idleTimeoutMs);
      p.bulk.tick(now, this.keepaliveMs, this.idleTimeoutMs);
    }
    for (const inb of this.inbound) {
      if (!inb.authenticated) continue;
      const c = inb.conn;
      if (now - c.lastReceivedAt > this.idleTimeoutMs) {
        c.close(`no data from peer for ${this.idleTimeoutMs} ms`, "warn");
      } else if (now - c.lastSentAt >= this.keepaliveMs && c.writableBytes === 0) {
        c.writeFrame(FrameKind.Ping);
      }
    }
  }

  private logLimited(key: string, level: "debug" | "warn" | "error", obj: object, msg: string): void {
    const now = performance.now();
    const last = this.lastLogged.get(key);
    if (last !== undefined && now - last < RATE_LIMITED_LOG_MS) return;
    // Keys include peer ids; forget old ones so the map stays small under membership churn.
    if (this.lastLogged.size > 1000) this.lastLogged.clear();
    this.lastLogged.set(key, now);
    this.log[level](obj, msg);
  }
}
