import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, connect as tcpConnect } from "node:net";
import { describe, it } from "node:test";
import { EntryType, MessageType } from "../../src/raft/types.js";
import { decodeValue, encodeValue } from "../../src/transport/codec.js";
import { encodeFrame, FrameDecoder, FrameKind } from "../../src/transport/frame.js";
import {
  computeProof,
  helloBody,
  newNonce,
  PROTOCOL_VERSION,
  parseHello,
  proofBody,
} from "../../src/transport/handshake.js";
import {
  CLUSTER,
  freePort,
  msg,
  rawAuthenticatedClient,
  sleep,
  startCluster,
  startNode,
  type TestNode,
  waitFor,
} from "./helpers.js";

/** Sends `bytes` from a raw socket, optionally half-closes, and resolves when b drops it. */
async function sendGarbage(
  port: number,
  bytes: Buffer,
  end: boolean,
): Promise<{ local: string; ms: number }> {
  const s = tcpConnect({ host: "127.0.0.1", port });
  s.on("error", () => {});
  s.on("data", () => {});
  await new Promise<void>((r) => s.once("connect", () => r()));
  const local = `127.0.0.1:${s.localPort}`;
  const t0 = performance.now();
  const closed = new Promise<void>((r) => s.once("close", () => r()));
  s.write(bytes);
  if (end) s.end();
  await Promise.race([
    closed,
    sleep(3000).then(() => {
      s.destroy();
      throw new Error("connection not closed by the node");
    }),
  ]);
  return { local, ms: performance.now() - t0 };
}

async function stillDelivers(from: TestNode, to: TestNode, index: number): Promise<void> {
  from.t.send([msg(from.id, to.id, MessageType.App, { index })]);
  await waitFor(() => to.inbox.some((m) => m.index === index), 3000, `message ${index} after garbage`);
}

describe("reconnect", () => {
  it("redials a restarted peer and delivers what was queued meanwhile", async () => {
    const a = await startNode("a");
    let b = await startNode("b");
    const port = b.port;
    try {
      a.t.setPeers({ b: `127.0.0.1:${port}` });
      b.t.setPeers({ a: `127.0.0.1:${a.port}` });
      a.t.send([msg("a", "b", MessageType.App, { index: 1 })]);
      await waitFor(() => b.inbox.length === 1);
      await b.t.close();
      await waitFor(() => !a.t.stats().peers.b?.connected, 2000, "a notices b is gone");
      a.t.send([msg("a", "b", MessageType.App, { index: 2 })]);
      await sleep(300);
      assert.ok((a.t.stats().peers.b?.dialFailures ?? 0) >= 1, "redials failed while b was down");
      assert.equal(a.t.stats().peers.b?.queued.main.frames, 1);
      b = await startNode("b", { listen: { host: "127.0.0.1", port } });
      b.t.setPeers({ a: `127.0.0.1:${a.port}` });
      a.t.send([msg("a", "b", MessageType.App, { index: 3 })]);
      await waitFor(() => b.inbox.length === 2, 3000, "queued and new messages");
      assert.deepEqual(
        b.inbox.map((m) => m.index),
        [2, 3],
      );
      assert.equal(a.t.stats().peers.b?.reconnects, 1);
      assert.ok(a.log.lines.some((l) => l.msg === "connected to peer"));
      b.t.send([msg("b", "a", MessageType.AppResp)]);
      await waitFor(() => a.inbox.length === 1);
    } finally {
      await a.t.close();
      await b.t.close();
    }
  });

  it("detects a silent peer by idle timeout", async () => {
    const a = await startNode("a", { keepaliveMs: 20, idleTimeoutMs: 150 });
    // A peer that completes the handshake and then never sends anything, not even pings.
    const srvPort = await freePort();
    const server = createServer((sock) => {
      sock.on("error", () => {});
      const dec = new FrameDecoder(1 << 20);
      const nonce = newNonce();
      sock.on("data", (chunk: Buffer) => {
        dec.push(chunk);
        for (let f = dec.next(); f !== undefined; f = dec.next()) {
          if (f.kind === FrameKind.Hello) {
            const h = parseHello(decodeValue(f.payload));
            if (typeof h === "string") throw new Error(h);
            sock.write(
              encodeFrame(
                FrameKind.Hello,
                encodeValue(helloBody({ v: PROTOCOL_VERSION, clusterId: CLUSTER, nodeId: "b", nonce })),
              ),
            );
            (sock as unknown as { peerNonce: Uint8Array }).peerNonce = h.nonce;
          } else if (f.kind === FrameKind.Proof) {
            const peerNonce = (sock as unknown as { peerNonce: Uint8Array }).peerNonce;
            const mac = computeProof(
              new Uint8Array(Buffer.from("test-cluster-secret-0123456789")),
              CLUSTER,
              "b",
              peerNonce,
              "acceptor",
            );
            sock.write(encodeFrame(FrameKind.Proof, encodeValue(proofBody(mac))));
          }
        }
      });
    });
    await new Promise<void>((r) => server.listen(srvPort, "127.0.0.1", () => r()));
    try {
      a.t.setPeers({ b: `127.0.0.1:${srvPort}` });
      await waitFor(() => a.t.stats().peers.b?.connected === true, 2000, "connected to the silent peer");
      await waitFor(() => a.log.warnings("no data from peer").length > 0, 2000, "idle timeout");
    } finally {
      await a.t.close();
      server.close();
    }
  });
});

describe("authentication", () => {
  it("rejects a peer with the wrong secret: nothing delivered, both sides log", async () => {
    const c = await startCluster(["a", "b"], (id) => (id === "b" ? { secret: "a-different-secret" } : {}));
    try {
      const [a, b] = [c.get("a"), c.get("b")];
      b.t.onRequest(() => "should not run");
      a.t.send([msg("a", "b", MessageType.App)]);
      b.t.send([msg("b", "a", MessageType.App)]);
      const req = a.t.request("b", "x", 300);
      await assert.rejects(req, { code: "timeout" });
      await waitFor(() => b.log.warnings("failed authentication").length > 0, 2000, "acceptor log");
      await waitFor(() => a.log.warnings("peer rejected the handshake: authentication failed").length > 0);
      assert.equal(a.inbox.length, 0);
      assert.equal(b.inbox.length, 0);
      assert.deepEqual(a.t.stats().connectedPeers, []);
      assert.deepEqual(b.t.stats().connectedPeers, []);
      assert.ok(b.t.stats().inbound.rejected >= 1);
    } finally {
      await c.close();
    }
  });

  it("rejects a peer from another cluster", async () => {
    const c = await startCluster(["a", "b"], (id) => (id === "b" ? { clusterId: "another-cluster" } : {}));
    try {
      const [a, b] = [c.get("a"), c.get("b")];
      a.t.send([msg("a", "b", MessageType.App)]);
      b.t.send([msg("b", "a", MessageType.App)]);
      await waitFor(() => b.log.warnings("cluster id mismatch").length > 0, 2000, "b logs");
      await waitFor(() => a.log.warnings("cluster id mismatch").length > 0, 2000, "a logs");
      await sleep(100);
      assert.equal(a.inbox.length + b.inbox.length, 0);
      assert.deepEqual(a.t.stats().connectedPeers, []);
    } finally {
      await c.close();
    }
  });

  it("refuses to send to an acceptor that cannot prove the secret", async () => {
    const a = await startNode("a", { backoff: { initialMs: 1000, maxMs: 1000 } });
    let raftFrames = 0;
    // An impostor that plays along with the handshake but signs with the wrong secret.
    const server = createServer((sock) => {
      sock.on("error", () => {});
      const dec = new FrameDecoder(1 << 20);
      sock.on("data", (chunk: Buffer) => {
        dec.push(chunk);
        for (let f = dec.next(); f !== undefined; f = dec.next()) {
          if (f.kind === FrameKind.Raft) raftFrames++;
          if (f.kind === FrameKind.Hello) {
            const h = parseHello(decodeValue(f.payload));
            if (typeof h === "string") throw new Error(h);
            sock.write(
              encodeFrame(
                FrameKind.Hello,
                encodeValue(
                  helloBody({ v: PROTOCOL_VERSION, clusterId: CLUSTER, nodeId: "b", nonce: newNonce() }),
                ),
              ),
            );
            const mac = computeProof(new Uint8Array(Buffer.from("guess")), CLUSTER, "b", h.nonce, "acceptor");
            sock.write(encodeFrame(FrameKind.Proof, encodeValue(proofBody(mac))));
          }
        }
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
    try {
      a.t.setPeers({ b: `127.0.0.1:${port}` });
      a.t.send([msg("a", "b", MessageType.App)]);
      await waitFor(() => a.log.warnings("peer failed authentication").length > 0, 2000, "dialer log");
      await sleep(50);
      assert.equal(raftFrames, 0);
      assert.equal(a.t.stats().peers.b?.connected, false);
    } finally {
      await a.t.close();
      server.close();
    }
  });
});

describe("garbage on the port", () => {
  const cases: { name: string; bytes: () => Buffer; end: boolean; expect: RegExp }[] = [
    { name: "random bytes", bytes: () => randomBytes(4096), end: false, expect: /frame|hello|handshake/ },
    {
      name: "an HTTP request",
      bytes: () => Buffer.from("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
      end: false,
      expect: /exceeds the limit/,
    },
    {
      name: "a 4 GiB length prefix",
      bytes: () => Buffer.from([0xff, 0xff, 0xff, 0xff, 1]),
      end: false,
      expect: /4294967295/,
    },
    {
      name: "a truncated frame then EOF",
      bytes: () => encodeFrame(FrameKind.Hello, new Uint8Array(100)).subarray(0, 30),
      end: true,
      expect: /truncated frame/,
    },
    {
      name: "a truncated frame left hanging",
      bytes: () => encodeFrame(FrameKind.Hello, new Uint8Array(100)).subarray(0, 30),
      end: false,
      expect: /handshake not completed/,
    },
    {
      name: "a hello frame with an undecodable payload",
      bytes: () => encodeFrame(FrameKind.Hello, Buffer.from([0x92, 0x01])),
      end: false,
      expect: /bad frame/,
    },
    {
      name: "a zero-length frame",
      bytes: () => Buffer.from([0, 0, 0, 0]),
      end: false,
      expect: /length 0/,
    },
    {
      name: "a Raft frame before the handshake",
      bytes: () => encodeFrame(FrameKind.Raft, encodeValue(msg("x", "b", MessageType.App))),
      end: false,
      expect: /expected a hello/,
    },
  ];

  it("closes each bad connection, logs it, and keeps serving", async () => {
    const c = await startCluster(["a", "b"], () => ({ handshakeTimeoutMs: 300 }));
    try {
      await c.connected();
      const [a, b] = [c.get("a"), c.get("b")];
      let i = 0;
      for (const tc of cases) {
        const { local } = await sendGarbage(b.port, tc.bytes(), tc.end);
        await waitFor(
          () =>
            b.log.lines.some((l) => l.level >= 40 && l.remote === local && tc.expect.test(String(l.reason))),
          2000,
          `a log line for ${tc.name}`,
        );
        await stillDelivers(a, b, ++i);
      }
      // Many at once, interleaved with normal traffic.
      await Promise.all(cases.map((tc) => sendGarbage(b.port, tc.bytes(), tc.end)));
      await stillDelivers(a, b, 100);
      assert.equal(b.t.stats().inbound.authenticated, 1);
    } finally {
      await c.close();
    }
  });

  it("closes an authenticated connection that breaks the framing", async () => {
    const c = await startCluster(["a", "b"]);
    try {
      await c.connected();
      const [a, b] = [c.get("a"), c.get("b")];
      // A 4 GiB length after authentication: beyond the full 16 MiB limit.
      const huge = await rawAuthenticatedClient(b.port, { nodeId: "x", to: "b" });
      huge.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, FrameKind.Raft]));
      await huge.closed;
      assert.ok(b.log.warnings("exceeds the limit of 16777216").length > 0);
      await stillDelivers(a, b, 1);

      // A Raft frame whose payload is not msgpack.
      const junk = await rawAuthenticatedClient(b.port, { nodeId: "y", to: "b" });
      junk.socket.write(encodeFrame(FrameKind.Raft, Buffer.from([0xc1, 0xc1, 0xc1])));
      await junk.closed;
      await stillDelivers(a, b, 2);

      // A well-formed but invalid Raft message is dropped without killing the link.
      const odd = await rawAuthenticatedClient(b.port, { nodeId: "z", to: "b" });
      odd.socket.write(encodeFrame(FrameKind.Raft, encodeValue({ type: "bogus" })));
      odd.socket.write(
        encodeFrame(FrameKind.Raft, encodeValue(msg("z", "b", MessageType.App, { index: 77 }))),
      );
      await waitFor(() => b.inbox.some((m) => m.index === 77), 2000, "valid message after an invalid one");
      assert.equal(b.t.stats().drops.invalid, 1);
      // A spoofed sender id is dropped too.
      odd.socket.write(
        encodeFrame(FrameKind.Raft, encodeValue(msg("a", "b", MessageType.App, { index: 78 }))),
      );
      await sleep(50);
      assert.ok(!b.inbox.some((m) => m.index === 78));
      odd.socket.destroy();
      await stillDelivers(a, b, 3);
    } finally {
      await c.close();
    }
  });
});

describe("bounded queues", () => {
  it("caps the send queue of a peer that is down and counts the drops", async () => {
    const deadPort = await freePort();
    const a = await startNode("a", {
      peers: { b: `127.0.0.1:${deadPort}` },
      queues: { main: { maxFrames: 100, maxBytes: 64 * 1024 }, bulk: { maxFrames: 2, maxBytes: 1 << 20 } },
    });
    try {
      const entry = { index: 1, term: 1, type: EntryType.Normal, data: new Uint8Array(1000) };
      const heapBefore = process.memoryUsage().heapUsed;
      for (let round = 0; round < 20; round++) {
        a.t.send(
          Array.from({ length: 500 }, (_, i) =>
            msg("a", "b", MessageType.App, { index: i, entries: [entry] }),
          ),
        );
        const q = a.t.stats().peers.b!.queued.main;
        assert.ok(q.frames <= 100 && q.bytes <= 64 * 1024, `queue within bounds (${q.frames} / ${q.bytes})`);
      }
      const st = a.t.stats().peers.b!;
      assert.equal(st.queued.main.frames + st.drops.queueFull, 10_000);
      assert.ok(st.drops.queueFull >= 9_900);
      assert.equal(a.t.stats().drops.queueFull, st.drops.queueFull);
      const chunk = new Uint8Array(400 * 1024);
      a.t.send(
        [1, 2, 3].map((i) => msg("a", "b", MessageType.Snap, { snapshotOffset: i, snapshotData: chunk })),
      );
      assert.equal(a.t.stats().peers.b!.queued.bulk.frames, 2);
      // Roughly 10 MB was offered; retained memory must stay near the 64 KiB bound.
      const grown = process.memoryUsage().heapUsed - heapBefore;
      assert.ok(grown < 8 * 1024 * 1024, `heap grew by ${grown} bytes`);
      await sleep(250);
      assert.ok(a.t.stats().peers.b!.dialFailures >= 2, "kept redialling with backoff");
      const outage = a.log.warnings("cannot connect to peer");
      assert.deepEqual(
        outage.map((l) => l.lane).sort(),
        ["bulk", "main"],
        "the outage is logged once per lane, not per redial",
      );
    } finally {
      await a.t.close();
    }
  });

  it("refuses a request when the queue is full instead of waiting", async () => {
    const deadPort = await freePort();
    const a = await startNode("a", {
      peers: { b: `127.0.0.1:${deadPort}` },
      queues: { main: { maxFrames: 1, maxBytes: 1 << 20 } },
    });
    try {
      const first = a.t.request("b", 1, 200);
      await assert.rejects(a.t.request("b", 2, 5000), { code: "overloaded" });
      await assert.rejects(first, { code: "timeout" });
    } finally {
      await a.t.close();
    }
  });

  it("drops a message larger than the frame limit and counts it", async () => {
    const c = await startCluster(["a", "b"], () => ({ maxFrameBytes: 64 * 1024 }));
    try {
      await c.connected();
      const [a, b] = [c.get("a"), c.get("b")];
      a.t.send([msg("a", "b", MessageType.Snap, { snapshotData: new Uint8Array(100 * 1024) })]);
      await assert.rejects(a.t.request("b", new Uint8Array(100 * 1024), 1000), { code: "too_large" });
      assert.equal(a.t.stats().drops.oversize, 1);
      await stillDelivers(a, b, 5);
    } finally {
      await c.close();
    }
  });
});
