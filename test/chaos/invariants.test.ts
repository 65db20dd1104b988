import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  appendFinalReads,
  checkNoLostWrites,
  findDuplicateCreates,
  formatSummary,
  summarizeHistory,
} from "../../src/chaos/invariants.js";
import { hist } from "./helpers.js";

describe("appendFinalReads", () => {
  it("adds one read per key after every recorded time", () => {
    const ops = hist("p0 k create a @0-10 => ok v1", "p1 j create b @5-30 => info");
    const out = appendFinalReads(ops, { k: { title: "a", version: 1 }, j: null });
    assert.equal(out.length, 4);
    const finals = out.slice(2);
    assert.deepEqual(
      finals.map((op) => [op.id, op.key, op.invokeTime, op.completeTime, op.output]),
      [
        [2, "k", 31, 32, { result: "ok", title: "a", version: 1 }],
        [3, "j", 31, 32, { result: "not_found" }],
      ],
    );
    assert.throws(() => appendFinalReads(ops, {}, { time: 20 }), RangeError);
  });
});

describe("checkNoLostWrites", () => {
  const ops = hist(
    "p0 k create a @0-10 => ok v1",
    "p0 k update b @20-30 => ok v2",
    "p1 k update c @40-50 => info",
    "p0 d create a @0-10 => ok v1",
    "p0 d delete @20-30 => ok",
    "p0 m create a @0-10 => ok v1",
    "p0 m delete @20-30 => fail",
  );

  it("accepts final states that include every acknowledged write", () => {
    assert.deepEqual(checkNoLostWrites(ops, { k: { title: "b", version: 2 }, d: null }), []);
    assert.deepEqual(checkNoLostWrites(ops, { k: { title: "c", version: 3 } }), []);
  });

  it("flags a final version older than an acknowledged one", () => {
    const v = checkNoLostWrites(ops, { k: { title: "a", version: 1 } });
    assert.equal(v.length, 1);
    assert.equal(v[0]?.kind, "stale");
    assert.match(v[0]?.message ?? "", /final read found version 1, older than #1 p0 update\("b"\)/);
  });

  it("flags a missing task when no delete could explain it", () => {
    const v = checkNoLostWrites(ops, { m: null });
    assert.deepEqual(
      v.map((x) => x.kind),
      ["missing"],
    );
  });

  it("flags a deleted task that came back", () => {
    assert.deepEqual(
      checkNoLostWrites(ops, { d: { title: "a", version: 1 } }).map((x) => x.kind),
      ["resurrected"],
    );
  });

  it("flags a title that differs from the write of that version", () => {
    assert.deepEqual(
      checkNoLostWrites(ops, { k: { title: "zzz", version: 2 } }).map((x) => x.kind),
      ["title_mismatch"],
    );
  });
});

describe("findDuplicateCreates", () => {
  it("flags keys with more than one row", () => {
    const d = findDuplicateCreates([
      { key: "a", count: 1 },
      { key: "b", count: 2 },
      { key: "c", count: 0 },
    ]);
    assert.deepEqual(
      d.map((x) => [x.key, x.count]),
      [["b", 2]],
    );
    assert.match(d[0]?.message ?? "", /"b": 2 tasks exist for one create/);
    assert.throws(() => findDuplicateCreates([{ key: "x", count: -1 }]), RangeError);
  });
});

describe("summarizeHistory", () => {
  it("counts by status, kind and result", () => {
    const s = summarizeHistory(
      hist(
        "p0 k create a @0-10 => ok v1",
        "p1 k create a @0-10 => conflict",
        "p2 j read @0-10 => not_found",
        "p0 k update b @20-30 => info",
        "p1 k delete @20-30 => fail",
      ),
    );
    assert.equal(s.operations, 5);
    assert.equal(s.keys, 2);
    assert.equal(s.processes, 3);
    assert.deepEqual(s.byStatus, { ok: 3, fail: 1, info: 1 });
    assert.deepEqual(s.byKind.create, { ok: 2, fail: 0, info: 0 });
    assert.deepEqual(s.byKind.delete, { ok: 0, fail: 1, info: 0 });
    assert.deepEqual(s.byResult, { ok: 1, not_found: 1, precondition_failed: 0, conflict: 1 });
    assert.match(formatSummary(s), /^5 ops on 2 keys by 3 processes: ok 3, fail 1, info 1/);
  });
});
