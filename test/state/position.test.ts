import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  isValidPosition,
  PositionError,
  positionBetween,
  spreadPositions,
} from "../../src/state/position.js";

/** Inserts at a random gap of a sorted list, the way a board receives moves. */
function insertAt(keys: string[], gap: number): string {
  const g = Math.min(Math.max(gap, 0), keys.length);
  const key = positionBetween(keys[g - 1], keys[g]);
  keys.splice(g, 0, key);
  return key;
}

function assertStrictlySorted(keys: readonly string[]): void {
  for (let i = 1; i < keys.length; i++) {
    assert.ok(keys[i - 1]! < keys[i]!, `keys out of order at ${i}: ${keys[i - 1]} !< ${keys[i]}`);
  }
}

describe("positionBetween", () => {
  test("the first key of an empty column, and keys before and after it", () => {
    const first = positionBetween(undefined, undefined);
    assert.ok(isValidPosition(first));
    assert.ok(positionBetween(first, undefined) > first);
    assert.ok(positionBetween(undefined, first) < first);
  });

  test("any sequence of inserts keeps every key valid, distinct and in order", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 300 }), (gaps) => {
        const keys: string[] = [];
        for (const gap of gaps) {
          const key = insertAt(keys, gap % (keys.length + 1));
          assert.ok(isValidPosition(key), `invalid key ${key}`);
        }
        assertStrictlySorted(keys);
      }),
      { numRuns: 300 },
    );
  });

  test("the key lies strictly between any two ordered keys this module produced", () => {
    const keyArb = fc.array(fc.nat(), { minLength: 1, maxLength: 60 }).map((gaps) => {
      const keys: string[] = [];
      for (const g of gaps) insertAt(keys, g % (keys.length + 1));
      return keys;
    });
    fc.assert(
      fc.property(keyArb, fc.nat(), fc.nat(), (keys, i, j) => {
        const a = keys[i % keys.length]!;
        const b = keys[j % keys.length]!;
        if (a === b) return;
        const [lo, hi] = a < b ? [a, b] : [b, a];
        const k = positionBetween(lo, hi);
        assert.ok(lo < k && k < hi, `${lo} < ${k} < ${hi}`);
      }),
      { numRuns: 500 },
    );
  });

  test("10,000 inserts at the same spot stay ordered and short, from either side", () => {
    const a = positionBetween(undefined, undefined);
    const b = positionBetween(a, undefined);
    // Right after `a` each time: every new key goes between a and the previous new key.
    let upper = b;
    let longest = 0;
    for (let i = 0; i < 10_000; i++) {
      const k = positionBetween(a, upper);
      assert.ok(a < k && k < upper);
      upper = k;
      longest = Math.max(longest, k.length);
    }
    assert.ok(longest <= 16, `keys grew to ${longest} characters inserting after one task`);
    // Right before `b` each time.
    let lower = a;
    longest = 0;
    for (let i = 0; i < 10_000; i++) {
      const k = positionBetween(lower, b);
      assert.ok(lower < k && k < b);
      lower = k;
      longest = Math.max(longest, k.length);
    }
    assert.ok(longest <= 16, `keys grew to ${longest} characters inserting before one task`);
  });

  test("100,000 appends and 100,000 prepends keep keys under 8 characters", () => {
    let last: string | undefined;
    let first: string | undefined;
    for (let i = 0; i < 100_000; i++) {
      const next = positionBetween(last, undefined);
      if (last !== undefined) assert.ok(next > last);
      last = next;
      const prev = positionBetween(undefined, first);
      if (first !== undefined) assert.ok(prev < first);
      first = prev;
    }
    assert.ok(last!.length < 8 && first!.length < 8, `${last} ${first}`);
  });

  test("alternating inserts between the two newest keys grow slowly (at most ~1 character per 3 inserts)", () => {
    let lo = positionBetween(undefined, undefined);
    let hi = positionBetween(lo, undefined);
    for (let i = 0; i < 1000; i++) {
      const k = positionBetween(lo, hi);
      assert.ok(lo < k && k < hi);
      if (i % 2 === 0) lo = k;
      else hi = k;
    }
    assert.ok(lo.length < 400 && hi.length < 400, `${lo.length} ${hi.length}`);
  });

  test("refuses reversed or equal bounds and keys it did not produce", () => {
    const a = positionBetween(undefined, undefined);
    const b = positionBetween(a, undefined);
    assert.throws(() => positionBetween(b, a), PositionError);
    assert.throws(() => positionBetween(a, a), PositionError);
    assert.throws(() => positionBetween("!!", undefined), PositionError);
    assert.equal(isValidPosition(""), false);
    assert.equal(isValidPosition("a"), false);
  });

  test("spreadPositions gives increasing short keys", () => {
    const keys = spreadPositions(100_000);
    assertStrictlySorted(keys);
    assert.ok(keys.every((k) => k.length <= 6 && isValidPosition(k)));
  });
});
