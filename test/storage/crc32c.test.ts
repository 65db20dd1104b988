import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32c } from "../../src/storage/crc32c.js";

const enc = (s: string) => new TextEncoder().encode(s);

/** Byte-at-a-time reference, to check the sliced implementation against. */
function slow(data: Uint8Array): number {
  let c = ~0;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

test("crc32c check value and known vectors", () => {
  assert.equal(crc32c(enc("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, and of 0xff.
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
});

test("crc32c matches a bitwise reference at every length and continues across pieces", () => {
  const data = new Uint8Array(300);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
  for (let n = 0; n <= data.length; n++) {
    const piece = data.subarray(0, n);
    assert.equal(crc32c(piece), slow(piece), `length ${n}`);
    const cut = n >> 1;
    assert.equal(crc32c(piece.subarray(cut), crc32c(piece.subarray(0, cut))), crc32c(piece));
  }
});
