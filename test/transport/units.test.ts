import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { EntryType, MessageType } from "../../src/raft/types.js";
import { Backoff } from "../../src/transport/backoff.js";
import { asMessage, decodeValue, encodeValue } from "../../src/transport/codec.js";
import { DelayLine } from "../../src/transport/faults.js";
import { encodeFrame, FrameDecoder, FrameError, FrameKind } from "../../src/transport/frame.js";
import { computeProof, verifyProof } from "../../src/transport/handshake.js";
import { SendQueue } from "../../src/transport/send-queue.js";
import { parsePeerAddress } from "../../src/transport/transport.js";
import { msg, sleep } from "./helpers.js";

describe("frame decoder", () => {
  it("reassembles frames from arbitrary splits of the byte stream", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 10 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p) => encodeFrame(FrameKind.Raft, p)));
          const dec = new FrameDecoder(1024);
          const got: Uint8Array[] = [];
          let pos = 0;
          let i = 0;
          while (pos < stream.length) {
            const n = cuts[i++ % cuts.length]!;
            dec.push(stream.subarray(pos, pos + n));
            pos += n;
            for (let f = dec.next(); f !== undefined; f = dec.next()) {
              assert.equal(f.kind, FrameKind.Raft);
              got.push(new Uint8Array(f.payload));
            }
          }
          assert.deepEqual(
            got,
            payloads.map((p) => new Uint8Array(p)),
          );
          assert.equal(dec.bufferedBytes, 0);
          dec.finish();
        },
      ),
    );
  });

  it("rejects a length above the limit before buffering it", () => {
    const dec = new FrameDecoder(16 * 1024 * 1024);
    dec.push(Buffer.from([0xff, 0xff]));
    assert.equal(dec.next(), undefined);
    dec.push(Buffer.from([0xff, 0xff, 0x04]));
    assert.throws(() => dec.next(), FrameError);
    assert.throws(() => dec.next(), /exceeds the limit of 16777216/);
  });

  it("rejects a zero length and reports a truncated tail", () => {
    const zero = new FrameDecoder(100);
    zero.push(Buffer.from([0, 0, 0, 0]));
    assert.throws(() => zero.next(), /length 0/);
    const trunc = new FrameDecoder(100);
    trunc.push(encodeFrame(FrameKind.Raft, new Uint8Array(50)).subarray(0, 20));
    assert.equal(trunc.next(), undefined);
    assert.throws(() => trunc.finish(), /truncated frame/);
  });

  it("accepts a frame of exactly the limit", () => {
    const dec = new FrameDecoder(101);
    dec.push(encodeFrame(FrameKind.Raft, new Uint8Array(100)));
    assert.equal(dec.next()?.payload.length, 100);
  });
});

describe("codec", () => {
  it("round-trips a Raft message with binary fields exactly", () => {
    const m = msg("a", "b", MessageType.App, {
      term: 7,
      index: 41,
      logTerm: 6,
      commit: 40,
      entries: [
        { index: 42, term: 7, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) },
        { index: 43, term: 7, type: EntryType.Normal, data: new Uint8Array(0) },
        {
          index: 44,
          term: 7,
          type: EntryType.Conf,
          data: new Uint8Array([9]),
          conf: { voters: ["a", "b"], learners: ["c"] },
          change: { type: "addLearner", nodeId: "c" },
        },
      ],
      snapshot: { index: 10, term: 2, conf: { voters: ["a"], learners: [] }, size: 4 },
      snapshotData: new Uint8Array([0, 255, 128, 7]),
    });
    const back = asMessage(decodeValue(encodeValue(m)));
    assert.deepStrictEqual(back, m);
    assert.equal(Object.getPrototypeOf((back as typeof m).snapshotData), Uint8Array.prototype);
  });

  it("rejects malformed messages", () => {
    assert.match(String(asMessage({ type: "nope" })), /unknown message type/);
    assert.match(String(asMessage({ ...msg("a", "b", MessageType.App), term: "1" })), /term/);
    assert.match(String(asMessage({ ...msg("a", "b", MessageType.App), entries: [{ index: 1 }] })), /entry/);
    assert.throws(() => decodeValue(Buffer.from([0x92, 1])));
  });
});

describe("handshake proofs", () => {
  const secret = new Uint8Array(Buffer.from("s3cret"));
  const nonce = new Uint8Array(32).fill(7);
  it("verify only for the same secret, cluster, prover, nonce and role", () => {
    const mac = computeProof(secret, "c", "a", nonce, "dialer");
    assert.ok(verifyProof(secret, "c", "a", nonce, "dialer", mac));
    assert.ok(!verifyProof(new Uint8Array(Buffer.from("other")), "c", "a", nonce, "dialer", mac));
    assert.ok(!verifyProof(secret, "c2", "a", nonce, "dialer", mac));
    assert.ok(!verifyProof(secret, "c", "b", nonce, "dialer", mac));
    assert.ok(!verifyProof(secret, "c", "a", new Uint8Array(32), "dialer", mac));
    assert.ok(!verifyProof(secret, "c", "a", nonce, "acceptor", mac));
    assert.ok(!verifyProof(secret, "c", "a", nonce, "dialer", mac.subarray(1)));
    assert.ok(!verifyProof(secret, "c", "a", nonce, "dialer", "not bytes"));
  });
  it("cannot confuse ids by moving a separator", () => {
    const x = computeProof(secret, "ab", "c", nonce, "dialer");
    const y = computeProof(secret, "a", "bc", nonce, "dialer");
    assert.notDeepEqual(x, y);
  });
});

describe("send queue", () => {
  it("is bounded in frames and bytes and refuses the newest", () => {
    const q = new SendQueue({ maxFrames: 3, maxBytes: 100 });
    assert.ok(q.push({ bytes: Buffer.alloc(40) }));
    assert.ok(q.push({ bytes: Buffer.alloc(40) }));
    assert.ok(!q.push({ bytes: Buffer.alloc(40) }), "byte bound");
    assert.ok(q.push({ bytes: Buffer.alloc(10) }));
    assert.ok(!q.push({ bytes: Buffer.alloc(1) }), "frame bound");
    assert.equal(q.length, 3);
    assert.equal(q.bytes, 90);
    assert.equal(q.shift()?.bytes.length, 40);
    assert.equal(q.bytes, 50);
  });
  it("keeps FIFO order across compaction", () => {
    const q = new SendQueue({ maxFrames: 5000, maxBytes: 1 << 20 });
    for (let i = 0; i < 3000; i++) q.push({ bytes: Buffer.from([i & 255]), requestId: i });
    for (let i = 0; i < 2500; i++) assert.equal(q.shift()?.requestId, i);
    for (let i = 3000; i < 3100; i++) q.push({ bytes: Buffer.from([0]), requestId: i });
    for (let i = 2500; i < 3100; i++) assert.equal(q.shift()?.requestId, i);
    assert.equal(q.shift(), undefined);
    assert.equal(q.bytes, 0);
  });
});

describe("backoff", () => {
  it("doubles from the initial delay up to the cap, with bounded jitter", () => {
    const fixed = new Backoff({ initialMs: 50, maxMs: 2000, random: () => 0.5 });
    assert.deepEqual(
      Array.from({ length: 8 }, () => fixed.next()),
      [50, 100, 200, 400, 800, 1600, 2000, 2000],
    );
    fixed.reset();
    assert.equal(fixed.next(), 50);
    const low = new Backoff({ initialMs: 50, maxMs: 2000, random: () => 0 });
    const high = new Backoff({ initialMs: 50, maxMs: 2000, random: () => 0.999 });
    assert.equal(low.next(), 38);
    assert.equal(high.next(), 62);
  });
});

describe("delay line", () => {
  it("runs items in order after their delay and is bounded", async () => {
    const line = new DelayLine(3);
    const ran: number[] = [];
    const t0 = performance.now();
    assert.ok(line.push(30, () => ran.push(1)));
    assert.ok(line.push(30, () => ran.push(2)));
    assert.ok(line.push(30, () => ran.push(3)));
    assert.ok(!line.push(30, () => ran.push(4)));
    await sleep(10);
    assert.deepEqual(ran, []);
    await sleep(60);
    assert.deepEqual(ran, [1, 2, 3]);
    assert.ok(performance.now() - t0 >= 29);
    line.close();
  });
});

describe("peer addresses", () => {
  it("parses host:port and [v6]:port", () => {
    assert.deepEqual(parsePeerAddress("127.0.0.1:7101"), { host: "127.0.0.1", port: 7101 });
    assert.deepEqual(parsePeerAddress("[::1]:7102"), { host: "::1", port: 7102 });
    assert.throws(() => parsePeerAddress("nohost"), /invalid peer address/);
  });
});
