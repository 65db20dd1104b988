/**
 * The accepting side of a connection: authenticates the dialer, then hands its Raft and request
 * frames to the transport. Anything that breaks the protocol closes only this connection.
 */
import type { Logger } from "pino";
import type { NodeId } from "../raft/types.js";
import { decodeValue } from "./codec.js";
import type { FramedConnection } from "./connection.js";
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
  verifyProof,
} from "./handshake.js";

export interface InboundContext {
  nodeId: NodeId;
  clusterId: string;
  secret: Uint8Array;
  maxFrameBytes: number;
  handshakeTimeoutMs: number;
  log: Logger;
  onAuthenticated(inb: InboundConnection): void;
  onRaftFrame(inb: InboundConnection, frame: Frame): void;
  onRequestFrame(inb: InboundConnection, frame: Frame): void;
  onClosed(inb: InboundConnection, reason: string, authenticated: boolean): void;
}

export class InboundConnection {
  /** Set once authenticated. */
  peerId: NodeId | undefined;
  lane: Lane = "main";
  /** Requests from this peer whose handler has not answered yet (bounded by the transport). */
  activeRequests = 0;
  private phase: "hello" | "proof" | "ready" = "hello";
  private readonly nonce = newNonce();
  private peerNonce: Uint8Array | undefined;
  private claimedId = "";

  constructor(
    readonly conn: FramedConnection,
    private readonly ctx: InboundContext,
  ) {
    conn.armDeadline(ctx.handshakeTimeoutMs, `handshake not completed within ${ctx.handshakeTimeoutMs} ms`);
    conn.attach({
      onFrame: (frame) => this.onFrame(frame),
      onClose: (reason) => ctx.onClosed(this, reason, this.phase === "ready"),
    });
  }

  get authenticated(): boolean {
    return this.phase === "ready";
  }

  private reject(clientReason: string, detail: string): void {
    this.conn.writeFrame(FrameKind.Reject, { reason: clientReason });
    this.conn.close(detail, "warn", true);
  }

  private onFrame(frame: Frame): void {
    switch (this.phase) {
      case "ready":
        if (frame.kind === FrameKind.Raft) this.ctx.onRaftFrame(this, frame);
        else if (frame.kind === FrameKind.Request) this.ctx.onRequestFrame(this, frame);
        else if (frame.kind !== FrameKind.Ping)
          this.conn.protocolError(`unexpected frame kind ${frame.kind}`);
        return;
      case "hello":
        this.onHello(frame);
        return;
      case "proof":
        this.onProof(frame);
        return;
    }
  }

  private onHello(frame: Frame): void {
    if (frame.kind !== FrameKind.Hello) {
      this.conn.protocolError(`expected a hello frame, got frame kind ${frame.kind}`);
      return;
    }
    const hello = parseHello(decodeValue(frame.payload));
    if (typeof hello === "string") {
      this.reject(hello, `bad hello: ${hello}`);
      return;
    }
    if (hello.clusterId !== this.ctx.clusterId) {
      this.reject(
        "cluster id mismatch",
        `cluster id mismatch: node ${hello.nodeId} claims cluster "${hello.clusterId}", this node is in "${this.ctx.clusterId}"`,
      );
      return;
    }
    if (hello.nodeId === this.ctx.nodeId) {
      this.reject("node id collision", `peer claims this node's own id ${hello.nodeId}`);
      return;
    }
    if (hello.to !== this.ctx.nodeId) {
      this.reject(
        `this is node ${this.ctx.nodeId}`,
        `node ${hello.nodeId} dialled ${String(hello.to)} but reached ${this.ctx.nodeId} (stale address?)`,
      );
      return;
    }
    this.claimedId = hello.nodeId;
    this.lane = hello.lane ?? "main";
    this.peerNonce = hello.nonce;
    this.conn.writeFrame(
      FrameKind.Hello,
      helloBody({
        v: PROTOCOL_VERSION,
        clusterId: this.ctx.clusterId,
        nodeId: this.ctx.nodeId,
        nonce: this.nonce,
      }),
    );
    this.phase = "proof";
  }

  private onProof(frame: Frame): void {
    if (frame.kind !== FrameKind.Proof) {
      this.conn.protocolError(`expected a proof frame, got frame kind ${frame.kind}`);
      return;
    }
    const mac = proofMac(decodeValue(frame.payload));
    if (!verifyProof(this.ctx.secret, this.ctx.clusterId, this.claimedId, this.nonce, "dialer", mac)) {
      this.reject(
        "authentication failed",
        `node ${this.claimedId} failed authentication (wrong cluster secret?)`,
      );
      return;
    }
    const answer = computeProof(
      this.ctx.secret,
      this.ctx.clusterId,
      this.ctx.nodeId,
      this.peerNonce!,
      "acceptor",
    );
    this.conn.writeFrame(FrameKind.Proof, proofBody(answer));
    this.conn.disarmDeadline();
    this.conn.decoder.maxFrameBytes = this.ctx.maxFrameBytes;
    this.peerId = this.claimedId;
    this.phase = "ready";
    this.ctx.log.debug(
      { peer: this.peerId, lane: this.lane, remote: this.conn.remote },
      "peer authenticated",
    );
    this.ctx.onAuthenticated(this);
  }
}
