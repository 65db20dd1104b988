import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  formatJsonl,
  HistoryError,
  operationsToEvents,
  pairEvents,
  parseEvent,
  parseHistory,
} from "../../src/chaos/history.js";
import { hist } from "./helpers.js";

const lines = (...objs: unknown[]): string => objs.map((o) => JSON.stringify(o)).join("\n");

describe("history parsing", () => {
  it("pairs invocations with completions per process", () => {
    const ops = parseHistory(
      lines(
        { type: "invoke", process: 0, op: "create", key: "k1", value: { title: "a" }, time: 0 },
        { type: "invoke", process: 1, op: "read", key: "k1", value: null, time: 1 },
        { type: "ok", process: 1, op: "read", key: "k1", value: { result: "not_found" }, time: 4 },
        { type: "ok", process: 0, op: "create", key: "k1", value: { result: "ok", version: 1 }, time: 5 },
        {
          type: "invoke",
          process: 1,
          op: "cas",
          key: "k1",
          value: { expectedVersion: 1, title: "b" },
          time: 6,
        },
        { type: "info", process: 1, op: "cas", key: "k1", value: "timeout", time: 9 },
        { type: "invoke", process: "c2", op: "delete", key: 7, time: 10 },
        { type: "fail", process: "c2", op: "delete", key: "7", value: { status: 503 }, time: 11 },
      ) + "\n\n",
    );
    assert.equal(ops.length, 4);
    assert.deepEqual(ops[0], {
      id: 0,
      process: 0,
      key: "k1",
      input: { kind: "create", title: "a" },
      status: "ok",
      output: { result: "ok", version: 1 },
      invokeTime: 0,
      completeTime: 5,
    });
    assert.deepEqual(ops[1]?.output, { result: "not_found" });
    assert.equal(ops[2]?.status, "info");
    assert.equal(ops[2]?.error, "timeout");
    assert.deepEqual(ops[2]?.input, { kind: "cas", expectedVersion: 1, title: "b" });
    assert.equal(ops[3]?.key, "7");
    assert.equal(ops[3]?.status, "fail");
  });

  it("turns an invocation without completion into an indeterminate operation", () => {
    const ops = parseHistory(
      lines({ type: "invoke", process: 0, op: "update", key: "k", value: { title: "x" }, time: 3 }),
    );
    assert.equal(ops[0]?.status, "info");
    assert.equal(ops[0]?.completeTime, Number.POSITIVE_INFINITY);
  });

  const bad: [string, string, RegExp][] = [
    ["invalid JSON", "{not json", /line 1: invalid JSON/],
    ["non-object", "[1,2]", /line 1: event must be a JSON object/],
    ["unknown type", lines({ type: "done", process: 0, op: "read", key: "k", time: 0 }), /"type" must be/],
    ["bad process", lines({ type: "invoke", process: -1, op: "read", key: "k", time: 0 }), /"process"/],
    [
      "unknown op",
      lines({ type: "invoke", process: 0, op: "upsert", key: "k", time: 0 }),
      /"op" must be one of/,
    ],
    ["missing key", lines({ type: "invoke", process: 0, op: "read", time: 0 }), /"key"/],
    [
      "bad time",
      lines({ type: "invoke", process: 0, op: "read", key: "k", time: "noon" }),
      /"time" must be a finite/,
    ],
    [
      "missing title",
      lines({ type: "invoke", process: 0, op: "create", key: "k", value: {}, time: 0 }),
      /"title"/,
    ],
    [
      "bad expectedVersion",
      lines({
        type: "invoke",
        process: 0,
        op: "cas",
        key: "k",
        value: { expectedVersion: 0, title: "x" },
        time: 0,
      }),
      /"expectedVersion" must be an integer >= 1/,
    ],
    [
      "read ok without version",
      lines(
        { type: "invoke", process: 0, op: "read", key: "k", time: 0 },
        { type: "ok", process: 0, op: "read", key: "k", value: { result: "ok", title: "a" }, time: 1 },
      ),
      /line 2: read ok value: a successful read must carry "title" and "version"/,
    ],
    [
      "impossible result",
      lines(
        { type: "invoke", process: 0, op: "read", key: "k", time: 0 },
        { type: "ok", process: 0, op: "read", key: "k", value: { result: "conflict" }, time: 1 },
      ),
      /a read cannot report "conflict"/,
    ],
    [
      "completion without invoke",
      lines({ type: "ok", process: 0, op: "read", key: "k", value: { result: "not_found" }, time: 1 }),
      /line 1: ok completion for process 0 has no pending invocation/,
    ],
    [
      "overlapping invocations",
      lines(
        { type: "invoke", process: 0, op: "read", key: "k", time: 0 },
        { type: "invoke", process: 0, op: "delete", key: "k", time: 1 },
      ),
      /line 2: process 0 invoked delete while its read from line 1 has not completed/,
    ],
    [
      "mismatched op",
      lines(
        { type: "invoke", process: 0, op: "read", key: "k", time: 0 },
        { type: "ok", process: 0, op: "delete", key: "k", value: { result: "ok" }, time: 1 },
      ),
      /line 2: completion op delete does not match the read invoked at line 1/,
    ],
    [
      "mismatched key",
      lines(
        { type: "invoke", process: 0, op: "read", key: "k", time: 0 },
        { type: "fail", process: 0, op: "read", key: "j", time: 1 },
      ),
      /line 2: completion key "j" does not match "k"/,
    ],
    [
      "completion before invocation",
      lines(
        { type: "invoke", process: 0, op: "read", key: "k", time: 5 },
        { type: "info", process: 0, op: "read", key: "k", time: 4 },
      ),
      /line 2: completes at time 4, before its invocation at 5/,
    ],
  ];
  for (const [name, text, message] of bad) {
    it(`rejects ${name} with a clear error`, () => {
      assert.throws(
        () => parseHistory(text),
        (e: unknown) => e instanceof HistoryError && message.test(e.message),
      );
    });
  }

  it("validates events given as objects", () => {
    assert.throws(
      () => parseEvent({ type: "invoke", process: 0, op: "read", key: "", time: 0 }),
      HistoryError,
    );
    assert.throws(
      () =>
        pairEvents([
          { type: "ok", process: 0, op: "read", key: "k", value: { result: "not_found" }, time: 0 },
        ]),
      /event 1: ok completion/,
    );
  });

  it("round-trips operations through JSON Lines", () => {
    const ops = hist(
      "p0 k create a @0-10 => ok v1",
      "p0 k read @10-10 => ok a v1",
      "p0 k update b @10-20 => info",
      "p1 k cas 1 c @5-10 => precondition_failed",
      "p1 k delete @10-12 => fail",
    );
    const text = formatJsonl(operationsToEvents(ops));
    assert.equal(text.trim().split("\n").length, 10);
    const back = parseHistory(text);
    const strip = (o: (typeof ops)[number]) => ({ ...o, id: 0 });
    assert.deepEqual(
      back.map(strip).sort((a, b) => a.invokeTime - b.invokeTime || Number(a.process) - Number(b.process)),
      ops.map(strip).sort((a, b) => a.invokeTime - b.invokeTime || Number(a.process) - Number(b.process)),
    );
  });
});
