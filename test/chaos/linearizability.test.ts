import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkHistory, checkKey } from "../../src/chaos/check-history.js";
import { appendFinalReads } from "../../src/chaos/invariants.js";
import { checkLinearizable, type Model } from "../../src/chaos/linearizability.js";
import { hist } from "./helpers.js";

function assertLinearizable(ops: ReturnType<typeof hist>): ReturnType<typeof checkHistory> {
  const r = checkHistory(ops);
  assert.equal(r.outcome, "ok", r.report);
  return r;
}

function assertIllegal(ops: ReturnType<typeof hist>): string {
  const r = checkHistory(ops);
  assert.equal(r.outcome, "illegal", r.report);
  return r.report;
}

describe("linearizable histories", () => {
  it("accepts a sequential history of every operation kind", () => {
    assertLinearizable(
      hist(
        "p0 k read @0-1 => not_found",
        "p0 k create a @2-3 => ok v1",
        "p0 k create z @4-5 => conflict",
        "p0 k read @6-7 => ok a v1",
        "p0 k update b @8-9 => ok b v2",
        "p0 k cas 1 c @10-11 => precondition_failed",
        "p0 k cas 2 c @12-13 => ok v3",
        "p0 k read @14-15 => ok c v3",
        "p0 k delete @16-17 => ok",
        "p0 k read @18-19 => not_found",
        "p0 k update d @20-21 => not_found",
        "p0 k delete @22-23 => not_found",
        "p0 k create e @24-25 => conflict",
      ),
    );
  });

  it("reorders overlapping operations: the later-invoked update took effect first", () => {
    const r = assertLinearizable(
      hist(
        "p0 k create a @0-5 => ok v1",
        "p1 k update x @10-50 => ok v3",
        "p2 k update y @20-40 => ok v2",
        "p3 k read @30-35 => ok y v2",
        "p0 k read @60-70 => ok x v3",
      ),
    );
    const order = r.keys[0]?.linearization?.map((op) => op.id);
    assert.deepEqual(order, [0, 2, 3, 1, 4]);
  });

  it("accepts concurrent reads that see the old and the new value of an in-flight write", () => {
    assertLinearizable(
      hist(
        "p0 k create a @0-5 => ok v1",
        "p1 k update b @10-100 => ok v2",
        "p2 k read @20-30 => ok a v1",
        "p3 k read @40-50 => ok b v2",
        "p2 k read @60-70 => ok b v2",
      ),
    );
  });

  it("treats operations that touch at an instant as concurrent", () => {
    assertLinearizable(hist("p0 k create a @0-10 => ok v1", "p1 k read @10-20 => not_found"));
  });

  it("lets an indeterminate write take effect, even after the client gave up", () => {
    const r = assertLinearizable(
      hist(
        "p0 k create a @0-5 => ok v1",
        "p1 k update b @10-20 => info",
        "p2 k read @100-110 => ok a v1",
        "p2 k read @200-210 => ok b v2",
      ),
    );
    assert.ok(
      r.keys[0]?.linearization?.some((op) => op.id === 1),
      "the info update should be in the witness",
    );
  });

  it("lets an indeterminate write never take effect", () => {
    const r = assertLinearizable(
      hist(
        "p0 k create a @0-5 => ok v1",
        "p1 k update b @10-20 => info",
        "p1 k delete @30-40 => info",
        "p2 k read @100-110 => ok a v1",
      ),
    );
    assert.ok(!r.keys[0]?.linearization?.some((op) => op.id === 1 || op.id === 2));
  });

  it("accepts a retried create whose first attempt timed out but succeeded", () => {
    assertLinearizable(
      hist("p0 k create a @0-10 => info", "p1 k create a @20-30 => conflict", "p1 k read @40-50 => ok a v1"),
    );
  });

  it("ignores failed operations", () => {
    assertLinearizable(
      hist("p0 k create a @0-5 => ok v1", "p1 k update b @10-20 => fail", "p2 k read @30-40 => ok a v1"),
    );
  });

  it("accepts either 404 or 412 for a cas on a missing task by default", () => {
    assertLinearizable(hist("p0 k cas 1 a @0-1 => not_found", "p0 k cas 1 a @2-3 => precondition_failed"));
    const strict = checkHistory(hist("p0 k cas 1 a @0-1 => precondition_failed"), {
      model: { casOnAbsent: "not_found" },
    });
    assert.equal(strict.outcome, "illegal");
  });

  it("checks keys independently", () => {
    const r = assertLinearizable(
      hist(
        "p0 a create x @0-10 => ok v1",
        "p1 b create y @0-10 => ok v1",
        "p0 a read @20-30 => ok x v1",
        "p1 b read @20-30 => ok y v1",
      ),
    );
    assert.deepEqual(
      r.keys.map((k) => k.key),
      ["a", "b"],
    );
  });
});

describe("non-linearizable histories", () => {
  it("rejects a stale read and explains it", () => {
    const report = assertIllegal(
      hist(
        "p0 k create a @0-5 => ok v1",
        "p0 k update b @10-20 => ok v2",
        "p1 k update c @50-100 => ok v3",
        "p2 k read @120-130 => ok b v2",
      ),
    );
    assert.match(report, /NOT linearizable/);
    assert.match(report, /#2 p1 update\("c"\) \[t=50\.\.100\] -> ok \(version 3\)/);
    assert.match(report, /#3 p2 read\(\) \[t=120\.\.130\] -> \{title "b", version 2\}: read returned/);
    assert.match(report, /but the task is \{title "c", version 3\}/);
  });

  it("exposes the longest prefix and the unplaceable operations in the result", () => {
    const ops = hist(
      "p0 k create a @0-5 => ok v1",
      "p1 k update c @50-100 => ok v2",
      "p2 k read @120-130 => ok a v1",
    );
    const r = checkKey("k", ops);
    assert.equal(r.outcome, "illegal");
    const e = r.explanation!;
    assert.deepEqual(
      e.prefix.map((p) => p.op.id),
      [0, 1],
    );
    assert.deepEqual(e.state, { kind: "present", title: "c", version: 2 });
    assert.equal(e.blocking.id, 2);
    assert.deepEqual(
      e.unplaceable.map((u) => u.op.id),
      [2],
    );
  });

  it("rejects a lost write caught by an appended final read", () => {
    const ops = hist("p0 k create a @0-5 => ok v1", "p1 k update b @10-20 => ok v2");
    const withFinal = appendFinalReads(ops, { k: { title: "a", version: 1 } });
    const report = assertIllegal(withFinal);
    assert.match(report, /read returned \{title "a", version 1\} but the task is \{title "b", version 2\}/);
    assertLinearizable(appendFinalReads(ops, new Map([["k", { title: "b", version: 2 }]])));
  });

  it("rejects a duplicate create", () => {
    const report = assertIllegal(hist("p0 k create a @0-10 => ok v1", "p1 k create a @20-30 => ok v1"));
    assert.match(report, /create\("a"\) returned \{title|create\("a"\) returned ok/);
    assert.match(report, /so it would return conflict/);
  });

  it("rejects a cas that succeeded against the wrong version", () => {
    const report = assertIllegal(
      hist("p0 k create a @0-5 => ok v1", "p0 k update b @10-20 => ok v2", "p1 k cas 1 c @30-40 => ok v2"),
    );
    assert.match(report, /cas\(expected version 1, "c"\) returned ok \(version 2\)/);
    assert.match(report, /so it would return precondition_failed/);
  });

  it("rejects a cas refused although its version matched", () => {
    assertIllegal(hist("p0 k create a @0-5 => ok v1", "p1 k cas 1 c @30-40 => precondition_failed"));
  });

  it("rejects a read of a version that was never written", () => {
    const report = assertIllegal(
      hist("p0 k create a @0-5 => ok v1", "p1 k update b @10-50 => ok v2", "p2 k read @20-30 => ok b v5"),
    );
    assert.match(report, /read returned \{title "b", version 5\}/);
  });

  it("rejects a read that sees a write which then disappears", () => {
    assertIllegal(
      hist(
        "p0 k create a @0-5 => ok v1",
        "p1 k update b @10-100 => info",
        "p2 k read @20-30 => ok b v2",
        "p2 k read @40-50 => ok a v1",
      ),
    );
  });

  it("rejects a deleted task that comes back", () => {
    assertIllegal(
      hist("p0 k create a @0-5 => ok v1", "p0 k delete @10-20 => ok", "p1 k read @30-40 => ok a v1"),
    );
  });

  it("rejects a read of a task before anything could have created it", () => {
    const report = assertIllegal(hist("p0 k read @0-5 => ok a v1", "p1 k create a @10-20 => ok v1"));
    assert.match(report, /none: not even the first operation can be placed/);
    assert.match(report, /but the task is absent \(never created\)/);
  });

  it("reports illegal when one key of many is wrong", () => {
    const r = checkHistory(
      hist(
        "p0 good create a @0-5 => ok v1",
        "p1 bad create a @0-5 => ok v1",
        "p1 bad read @6-7 => not_found",
      ),
    );
    assert.equal(r.outcome, "illegal");
    assert.deepEqual(
      r.failures.map((f) => f.key),
      ["bad"],
    );
  });
});

describe("search bound", () => {
  it("answers unknown instead of searching forever", () => {
    const lines = ["p0 k create a @0-1 => ok v1"];
    for (let i = 0; i < 12; i++) lines.push(`p${i + 1} k update u${i} @10-${1000 + i} => info`);
    lines.push("p0 k read @2000-2001 => ok zzz v99");
    const r = checkHistory(hist(...lines), { maxStates: 50 });
    assert.equal(r.outcome, "unknown", r.report);
    assert.match(r.report, /UNKNOWN/);
    assert.ok((r.keys[0]?.explored ?? 0) <= 50);
  });

  it("settles the same history without a tight bound", () => {
    const lines = ["p0 k create a @0-1 => ok v1"];
    for (let i = 0; i < 6; i++) lines.push(`p${i + 1} k update u${i} @10-${1000 + i} => info`);
    lines.push("p0 k read @2000-2001 => ok zzz v99");
    assert.equal(checkHistory(hist(...lines)).outcome, "illegal");
  });
});

describe("generic checker", () => {
  const counter: Model<number, { add: number; expect?: number }> = {
    init: () => 0,
    step: (s, v) => (v.expect === undefined || v.expect === s + v.add ? s + v.add : undefined),
    stateKey: (s) => String(s),
  };

  it("accepts an empty history", () => {
    assert.equal(checkLinearizable(counter, []).outcome, "ok");
  });

  it("finishes when only indeterminate operations remain", () => {
    const r = checkLinearizable(counter, [
      { call: 0, ret: 10, value: { add: 1, expect: 1 } },
      { call: 5, ret: Number.POSITIVE_INFINITY, value: { add: 5 } },
    ]);
    assert.equal(r.outcome, "ok");
  });

  it("rejects malformed intervals", () => {
    assert.throws(() => checkLinearizable(counter, [{ call: 10, ret: 5, value: { add: 1 } }]), RangeError);
    assert.throws(
      () => checkLinearizable(counter, [{ call: Number.NaN, ret: 5, value: { add: 1 } }]),
      RangeError,
    );
  });
});
