/** The chaos runner's pure parts: schedule, availability figures, mutations, options. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Operation } from "../../src/chaos/history.js";
import { faultGaps, formatLastLine, gapsByKind, longestWriteSilence } from "../../src/chaos/run/analysis.js";
import { applyMutation, CHAOS_MUTATIONS } from "../../src/chaos/run/mutants.js";
import { ELECTION_TIMEOUT_MS, planFaults } from "../../src/chaos/run/nemesis.js";
import { FAULT_KINDS, parseChaosArgs, UsageError } from "../../src/chaos/run/options.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

function op(
  id: number,
  kind: "update" | "read",
  invoke: number,
  complete: number,
  status: "ok" | "info" = "ok",
): Operation {
  return {
    id,
    process: id,
    key: "k1",
    input: kind === "read" ? { kind } : { kind, title: `t${id}` },
    status,
    output: status === "ok" ? { result: "ok", title: `t${id}`, version: id + 1 } : undefined,
    invokeTime: invoke,
    completeTime: status === "ok" ? complete : Number.POSITIVE_INFINITY,
  };
}

describe("fault schedule", () => {
  test("is a function of the seed, covers every kind each round and holds a few election timeouts", () => {
    const a = planFaults(7, FAULT_KINDS, 24);
    assert.deepEqual(a, planFaults(7, FAULT_KINDS, 24));
    assert.notDeepEqual(a, planFaults(8, FAULT_KINDS, 24));
    for (let r = 0; r < 3; r++) {
      const round = a.slice(r * FAULT_KINDS.length, (r + 1) * FAULT_KINDS.length).map((f) => f.kind);
      assert.deepEqual([...round].sort(), [...FAULT_KINDS].sort());
    }
    for (const f of a) {
      assert.ok(f.holdMs >= 5 * ELECTION_TIMEOUT_MS && f.holdMs <= 13 * ELECTION_TIMEOUT_MS);
      if (f.kind === "membership") assert.equal(f.target, "random");
      if (f.kind === "slow-kill") assert.equal(f.target, "leader");
    }
  });
});

describe("availability figures", () => {
  const ops = [
    op(0, "update", 0, 10),
    op(1, "read", 20, 30),
    op(2, "update", 100, 1500),
    op(3, "update", 120, 0, "info"),
    op(4, "update", 2000, 2100),
  ];
  test("the gap after a fault runs to the first successful write invoked after its start", () => {
    const gaps = faultGaps(
      ops,
      [
        { seq: 1, kind: "kill", target: "n1", start: 50, end: 900 },
        { seq: 2, kind: "pause", target: "n2", start: 3000, end: 3100 },
      ],
      3500,
    );
    assert.equal(gaps[0]!.gapMs, 1450);
    assert.equal(gaps[0]!.censored, false);
    assert.equal(gaps[1]!.gapMs, 500);
    assert.equal(gaps[1]!.censored, true);
    const rows = gapsByKind(gaps, ["kill", "pause", "isolate"]);
    assert.deepEqual(
      rows.map((r) => [r.kind, r.count, r.maxGapMs]),
      [
        ["kill", 1, 1450],
        ["pause", 1, 500],
        ["isolate", 0, 0],
      ],
    );
  });
  test("the longest silence counts the edges of the workload", () => {
    assert.equal(longestWriteSilence(ops, 0, 5000), 2900);
  });
  test("the last line has the documented shape", () => {
    assert.equal(
      formatLastLine({ pass: true, ops: 10, ok: 8, info: 1, maxGapMs: 12.6 }),
      "chaos: PASS ops=10 ok=8 info=1 maxGapMs=13",
    );
  });
});

describe("mutations", () => {
  test("every edit matches the current source exactly once", () => {
    for (const m of CHAOS_MUTATIONS) {
      for (const file of new Set(m.edits.map((e) => e.file))) {
        const text = readFileSync(join(root, file), "utf8");
        assert.notEqual(applyMutation(m, file, text), text, `${m.name} changes ${file}`);
      }
    }
  });
  test("an edit that does not match is refused", () => {
    assert.throws(
      () => applyMutation(CHAOS_MUTATIONS[0]!, "src/api/guards.ts", "nothing here"),
      /occurs 0 times/,
    );
  });
});

describe("options", () => {
  test("defaults and bounds", () => {
    const o = parseChaosArgs(["--seed", "5"], {});
    assert.equal(o.durationS, 60);
    assert.equal(o.nodes, 3);
    assert.equal(o.clients, 10);
    assert.deepEqual(o.faults, FAULT_KINDS);
    assert.equal(o.mutant, undefined);
    assert.throws(() => parseChaosArgs(["--nodes", "4"], {}), UsageError);
    assert.throws(() => parseChaosArgs(["--faults", "kill,flood"], {}), /unknown fault kind flood/);
    assert.equal(
      parseChaosArgs([], { TASKRAFT_CHAOS_MUTANT: "follower-local-read" }).mutant,
      "follower-local-read",
    );
  });
});
