import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { checkHistory } from "../../src/chaos/check-history.js";
import {
  formatJsonl,
  OP_KINDS,
  type Operation,
  type OpInput,
  type OpOutput,
  operationsToEvents,
  parseHistory,
} from "../../src/chaos/history.js";
import { ABSENT, applyTaskOp, type TaskState } from "../../src/chaos/task-model.js";
import { Rng } from "../../src/raft/rng.js";
import { buildHistory, corruptRead, type PlanOp } from "./helpers.js";

const planOp = (clients: number, keys: number): fc.Arbitrary<PlanOp> =>
  fc.record({
    client: fc.integer({ min: 0, max: clients - 1 }),
    key: fc.integer({ min: 0, max: keys - 1 }),
    kind: fc.constantFrom(...OP_KINDS, "create", "read", "read", "update", "cas"),
    title: fc.integer({ min: 0, max: 3 }),
    casDelta: fc.integer({ min: -1, max: 1 }),
    gap: fc.integer({ min: 0, max: 20 }),
    duration: fc.integer({ min: 0, max: 60 }),
    at: fc.integer({ min: 0, max: 100 }),
    fate: fc.constantFrom("ok", "ok", "ok", "ok", "ok", "info", "lost", "fail"),
  });

const plan = fc.array(planOp(4, 3), { minLength: 1, maxLength: 40 });

/** Every plan ends with a read so that the mutation property always has a victim. */
const withFinalRead = plan.map((p): PlanOp[] => [
  ...p,
  { client: 0, key: p[0]!.key, kind: "read", title: 0, casDelta: 0, gap: 1, duration: 5, at: 50, fate: "ok" },
]);

describe("properties", () => {
  it("histories produced by executing the model are linearizable", () => {
    fc.assert(
      fc.property(plan, (p) => {
        const ops = buildHistory(p);
        const r = checkHistory(ops);
        assert.equal(r.outcome, "ok", r.report);
      }),
      { numRuns: 300 },
    );
  });

  it("survive a round trip through JSON Lines", () => {
    fc.assert(
      fc.property(plan, (p) => {
        const ops = buildHistory(p);
        const back = parseHistory(formatJsonl(operationsToEvents(ops)));
        assert.equal(back.length, ops.length);
        assert.equal(checkHistory(back).outcome, "ok");
      }),
      { numRuns: 100 },
    );
  });

  it("a read corrupted to a never-written value is rejected", () => {
    fc.assert(
      fc.property(withFinalRead, fc.nat(), fc.nat(), (p, pick, variant) => {
        const ops = corruptRead(buildHistory(p), pick, variant);
        assert.ok(ops, "the plan always contains an ok read");
        const r = checkHistory(ops);
        assert.equal(r.outcome, "illegal", r.report);
        assert.match(r.report, /read returned/);
      }),
      { numRuns: 300 },
    );
  });
});

/** Exhaustive reference: tries every order of every subset allowed by real time. */
function bruteForceLinearizable(ops: readonly Operation[]): boolean {
  const live = ops.filter((op) => op.status !== "fail");
  const ret = (op: Operation): number => (op.status === "info" ? Number.POSITIVE_INFINITY : op.completeTime);
  const placed = new Array<boolean>(live.length).fill(false);
  const search = (state: TaskState): boolean => {
    if (live.every((op, i) => placed[i] || op.status === "info")) return true;
    for (let i = 0; i < live.length; i++) {
      if (placed[i]) continue;
      const op = live[i]!;
      // op may go next only if no unplaced op had returned before op was invoked.
      if (live.some((p, j) => j !== i && !placed[j] && ret(p) < op.invokeTime)) continue;
      const r = applyTaskOp(state, op.input, op.output);
      if (!r.ok) continue;
      placed[i] = true;
      const found = search(r.state);
      placed[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(ABSENT);
}

const arbInput: fc.Arbitrary<OpInput> = fc.oneof(
  fc.constantFrom<OpInput>({ kind: "create", title: "a" }, { kind: "read" }, { kind: "delete" }),
  fc.record({ kind: fc.constant("update" as const), title: fc.constantFrom("a", "b", "c") }),
  fc.record({
    kind: fc.constant("cas" as const),
    expectedVersion: fc.integer({ min: 1, max: 3 }),
    title: fc.constantFrom("a", "b", "c"),
  }),
);
const arbOutput: fc.Arbitrary<OpOutput> = fc.oneof(
  fc.constantFrom<OpOutput>(
    { result: "ok" },
    { result: "not_found" },
    { result: "precondition_failed" },
    { result: "conflict" },
  ),
  fc.record({
    result: fc.constant("ok" as const),
    title: fc.constantFrom("a", "b", "c"),
    version: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({ result: fc.constant("ok" as const), version: fc.integer({ min: 1, max: 4 }) }),
);
const arbOp = fc.record({
  input: arbInput,
  output: arbOutput,
  status: fc.constantFrom("ok", "ok", "ok", "info", "fail"),
  call: fc.integer({ min: 0, max: 30 }),
  length: fc.integer({ min: 0, max: 15 }),
});
const arbTinyHistory = fc.array(arbOp, { minLength: 1, maxLength: 7 }).map((raw) =>
  raw.map(
    (r, id): Operation => ({
      id,
      process: id,
      key: "k",
      input: r.input,
      status: r.status as Operation["status"],
      // Reads that succeed always carry the full task, as the parser demands.
      output:
        r.status !== "ok"
          ? undefined
          : r.input.kind === "read" && r.output.result === "ok"
            ? { result: "ok", title: r.output.title ?? "a", version: r.output.version ?? 1 }
            : r.output,
      invokeTime: r.call,
      completeTime: r.call + r.length,
    }),
  ),
);

/** A model-produced history with a few arbitrary edits: histories near the linearizable boundary. */
const arbEditedHistory = fc
  .tuple(
    fc.array(planOp(3, 1), { minLength: 1, maxLength: 8 }),
    fc.array(
      fc.record({
        at: fc.nat(),
        what: fc.constantFrom("output", "status", "call", "return"),
        output: arbOutput,
        shift: fc.integer({ min: -20, max: 20 }),
      }),
      { minLength: 1, maxLength: 2 },
    ),
  )
  .map(([plan, edits]) => {
    const ops = buildHistory(plan);
    for (const e of edits) {
      const i = e.at % ops.length;
      const op = ops[i]!;
      let edited: Operation = op;
      if (e.what === "output" && op.status === "ok" && op.input.kind !== "read")
        edited = { ...op, output: e.output };
      else if (e.what === "status") {
        edited =
          op.status === "ok"
            ? { ...op, status: "info", output: undefined }
            : op.input.kind === "read"
              ? { ...op, status: "ok", output: { result: "not_found" } }
              : { ...op, status: "ok", output: e.output };
      } else if (e.what === "call") {
        edited = { ...op, invokeTime: Math.min(op.completeTime, op.invokeTime + e.shift) };
      } else if (e.what === "return") {
        edited = { ...op, completeTime: Math.max(op.invokeTime, op.completeTime + e.shift) };
      }
      ops[i] = edited;
    }
    return ops;
  });

describe("agreement with an exhaustive search", () => {
  for (const [name, arb] of [
    ["arbitrary", arbTinyHistory],
    ["edited model-produced", arbEditedHistory],
  ] as const) {
    it(`gives the same verdict on small ${name} histories`, () => {
      const verdicts = { ok: 0, illegal: 0 };
      fc.assert(
        fc.property(arb, (ops) => {
          const expected = bruteForceLinearizable(ops) ? "ok" : "illegal";
          const r = checkHistory(ops);
          assert.equal(r.outcome, expected, r.report);
          verdicts[expected]++;
        }),
        { numRuns: 2000 },
      );
      // Both verdicts must be well represented for the agreement to mean anything.
      assert.ok(verdicts.ok > 100 && verdicts.illegal > 100, JSON.stringify(verdicts));
    });
  }
});

/** A plan in the shape of a chaos run: many clients, each working on random keys. */
function randomPlan(
  rng: Rng,
  ops: number,
  keys: number,
  clients: number,
  kinds: readonly PlanOp["kind"][] = [...OP_KINDS, "create", "read", "read", "update", "cas"],
): PlanOp[] {
  const fates: PlanOp["fate"][] = ["ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "info", "lost", "fail"];
  return Array.from({ length: ops }, () => ({
    client: rng.int(clients),
    key: rng.int(keys),
    kind: rng.pick(kinds),
    title: rng.int(5),
    casDelta: rng.int(3) - 1,
    gap: rng.int(10),
    duration: 1 + rng.int(80),
    at: rng.int(101),
    fate: rng.pick(fates),
  }));
}

describe("performance sanity", () => {
  it("checks 2,000 operations on 50 keys by 10 clients", () => {
    const ops = buildHistory(randomPlan(new Rng(42), 2000, 50, 10));
    assert.equal(ops.length, 2000);
    const r = checkHistory(ops);
    assert.equal(r.outcome, "ok", r.report);
    assert.equal(r.keys.length, 50);
    const bad = corruptRead(ops, 7, 0);
    assert.ok(bad);
    assert.equal(checkHistory(bad).outcome, "illegal");
  });

  it("checks a hot key: 2,000 operations on one long-lived task by 10 clients, with indeterminate ones", () => {
    const plan = randomPlan(new Rng(7), 2000, 1, 10, ["read", "read", "update", "cas"]);
    const create: PlanOp = { ...plan[0]!, kind: "create", fate: "ok" };
    const ops = buildHistory([create, ...plan]);
    assert.ok(ops.filter((op) => op.status === "info").length > 100);
    const r = checkHistory(ops);
    assert.equal(r.outcome, "ok", r.report);
    const bad = corruptRead(ops, 3, 1);
    assert.ok(bad);
    assert.equal(checkHistory(bad).outcome, "illegal");
  });
});
