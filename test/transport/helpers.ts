import { createServer, type Socket, connect as tcpConnect } from "node:net";
import pino, { type Logger } from "pino";
import { type Message, MessageType, type NodeId } from "../../src/raft/types.js";
import { decodeValue, encodeValue } from "../../src/transport/codec.js";
import { encodeFrame, type Frame, FrameDecoder, FrameKind } from "../../src/transport/frame.js";
import {
  computeProof,
  helloBody,
  newNonce,
  PROTOCOL_VERSION,
  parseHello,
  proofBody,
} from "../../src/transport/handshake.js";
import { PeerTransport, type PeerTransportOptions } from "../../src/transport/index.js";

export const SECRET = "test-cluster-secret-0123456789";
export const CLUSTER = "test-cluster";

export interface LogLine {
  level: number;
  msg: string;
  reason?: string;
  remote?: string;
  [k: string]: unknown;
}

export interface CapturedLog {
  logger: Logger;
  lines: LogLine[];
  /** Lines at warn or above whose message or reason contains `text`. */
  warnings(text: string): LogLine[];
}

export function captureLog(): CapturedLog {
  const lines: LogLine[] = [];
  // A plain object sink: pino writes one JSON line per call, synchronously, with no worker.
  const logger = pino(
    { level: "debug" },
    {
      write(s: string) {
        for (const line of s.split("\n")) if (line) lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return {
    logger,
    lines,
    warnings: (text) =>
      lines.filter((l) => l.level >= 40 && (l.msg.includes(text) || (l.reason ?? "").includes(text))),
  };
}

export function msg(from: NodeId, to: NodeId, type: MessageType, extra: Partial<Message> = {}): Message {
  return {
    type,
    from,
    to,
    term: 1,
    index: 0,
    logTerm: 0,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    context: "",
    force: false,
    snapshotOffset: 0,
    ...extra,
  };
}

export async function waitFor(cond: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  if (addr === null || typeof addr === "string") throw new Error("no port");
  return addr.port;
}

export interface TestNode {
  id: NodeId;
  t: PeerTransport;
  inbox: Message[];
  /** performance.now() at which each inbox message arrived. */
  arrivedAt: number[];
  log: CapturedLog;
  port: number;
}

export type NodeOptions = Partial<Omit<PeerTransportOptions, "onMessage" | "logger" | "nodeId">>;

export async function startNode(id: NodeId, opts: NodeOptions = {}): Promise<TestNode> {
  const log = captureLog();
  const inbox: Message[] = [];
  const arrivedAt: number[] = [];
  const t = new PeerTransport({
    nodeId: id,
    clusterId: CLUSTER,
    secret: SECRET,
    listen: { host: "127.0.0.1", port: 0 },
    logger: log.logger,
    onMessage: (m) => {
      inbox.push(m);
      arrivedAt.push(performance.now());
    },
    backoff: { initialMs: 20, maxMs: 200 },
    ...opts,
  });
  await t.start();
  return { id, t, inbox, arrivedAt, log, port: t.address().port };
}

/** Starts nodes on ephemeral ports, then tells each about all the others. */
export async function startCluster(ids: NodeId[], opts: (id: NodeId) => NodeOptions = () => ({})) {
  const nodes = new Map<NodeId, TestNode>();
  for (const id of ids) nodes.set(id, await startNode(id, opts(id)));
  const book = Object.fromEntries([...nodes.values()].map((n) => [n.id, `127.0.0.1:${n.port}`]));
  for (const n of nodes.values()) n.t.setPeers(book);
  const get = (id: NodeId): TestNode => {
    const n = nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  };
  return {
    nodes,
    get,
    book,
    async connected(): Promise<void> {
      await waitFor(
        () => [...nodes.values()].every((n) => n.t.stats().connectedPeers.length === nodes.size - 1),
        5000,
        "all peers connected",
      );
    },
    async close(): Promise<void> {
      await Promise.all([...nodes.values()].map((n) => n.t.close()));
    },
  };
}

/** A raw client speaking the dialer side of the handshake, for feeding bad frames after auth. */
export async function rawAuthenticatedClient(
  port: number,
  opts: { nodeId: NodeId; to: NodeId; secret?: string; clusterId?: string },
): Promise<{ socket: Socket; frames: Frame[]; closed: Promise<void> }> {
  const socket = tcpConnect({ host: "127.0.0.1", port });
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  socket.on("error", () => {});
  const decoder = new FrameDecoder(1 << 20);
  const frames: Frame[] = [];
  let notify: (() => void) | undefined;
  socket.on("data", (chunk: Buffer) => {
    decoder.push(chunk);
    for (let f = decoder.next(); f !== undefined; f = decoder.next()) frames.push(f);
    notify?.();
  });
  const nextFrame = async (): Promise<Frame> => {
    while (frames.length === 0) await new Promise<void>((r) => (notify = r));
    return frames.shift()!;
  };
  await new Promise<void>((r) => socket.once("connect", () => r()));
  const clusterId = opts.clusterId ?? CLUSTER;
  const secret = new Uint8Array(Buffer.from(opts.secret ?? SECRET));
  const nonce = newNonce();
  socket.write(
    encodeFrame(
      FrameKind.Hello,
      encodeValue(helloBody({ v: PROTOCOL_VERSION, clusterId, nodeId: opts.nodeId, to: opts.to, nonce })),
    ),
  );
  const hello = parseHello(decodeValue((await nextFrame()).payload));
  if (typeof hello === "string") throw new Error(hello);
  const mac = computeProof(secret, clusterId, opts.nodeId, hello.nonce, "dialer");
  socket.write(encodeFrame(FrameKind.Proof, encodeValue(proofBody(mac))));
  const proof = await nextFrame();
  if (proof.kind !== FrameKind.Proof) throw new Error(`expected proof, got kind ${proof.kind}`);
  return { socket, frames, closed };
}

export { MessageType };
