import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../../src/raft/index.js";

const draw = (r: Rng, n: number) => Array.from({ length: n }, () => r.nextU32());

test("the same seed replays the same sequence (simulations replay from their seed)", () => {
  assert.deepEqual(draw(new Rng(42), 50), draw(new Rng(42), 50));
});

test("different seeds give different sequences; seeds are taken modulo 2^32", () => {
  assert.notDeepEqual(draw(new Rng(1), 10), draw(new Rng(2), 10));
  assert.deepEqual(draw(new Rng(0), 10), draw(new Rng(2 ** 32), 10));
});

test("nextU32 yields unsigned 32-bit integers", () => {
  for (const x of draw(new Rng(9), 1000)) {
    assert.ok(Number.isInteger(x) && x >= 0 && x < 2 ** 32, String(x));
  }
});

test("float is in [0, 1) and int(n) in [0, n)", () => {
  const r = new Rng(5);
  for (let i = 0; i < 2000; i++) {
    const f = r.float();
    assert.ok(f >= 0 && f < 1);
    const k = r.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
  }
  assert.equal(r.int(1), 0);
});

test("int(n) is roughly uniform (randomized election timeouts spread out)", () => {
  const r = new Rng(123);
  const counts = new Array(10).fill(0);
  const n = 20_000;
  for (let i = 0; i < n; i++) counts[r.int(10)]++;
  for (const c of counts) assert.ok(Math.abs(c - n / 10) < n / 10 / 5, `bucket count ${c}`);
});

test("chance(p) respects its extremes and is near p on average", () => {
  const r = new Rng(77);
  for (let i = 0; i < 100; i++) {
    assert.equal(r.chance(0), false);
    assert.equal(r.chance(1), true);
  }
  let hits = 0;
  for (let i = 0; i < 10_000; i++) if (r.chance(0.2)) hits++;
  assert.ok(hits > 1700 && hits < 2300, `${hits} hits`);
});

test("pick chooses an element and refuses an empty list", () => {
  const r = new Rng(3);
  const items = ["a", "b", "c"];
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) seen.add(r.pick(items));
  assert.deepEqual([...seen].sort(), items);
  assert.throws(() => r.pick([]), /empty/);
});

test("fork is deterministic and gives an independent stream", () => {
  const a = new Rng(11);
  const b = new Rng(11);
  const fa = a.fork();
  const fb = b.fork();
  assert.deepEqual(draw(fa, 20), draw(fb, 20));
  assert.deepEqual(draw(a, 20), draw(b, 20), "the parents stay in step");
  const parent = new Rng(11);
  parent.nextU32();
  assert.notDeepEqual(draw(new Rng(11).fork(), 5), draw(parent, 5));
});
