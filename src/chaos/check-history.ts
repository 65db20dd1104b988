/**
 * Linearizability of a whole task history: each task key is an independent register, checked with
 * the task model, and failures are explained in terms a human can act on.
 */
import type { Operation } from "./history.js";
import { checkLinearizable, type DeadEnd, type SearchOptions, type TimedOp } from "./linearizability.js";
import {
  describeOperation,
  describeState,
  type TaskModelOptions,
  type TaskState,
  taskModel,
} from "./task-model.js";

export interface CheckOptions extends SearchOptions {
  model?: TaskModelOptions;
}

export type CheckOutcome = "ok" | "illegal" | "unknown";

export interface NonLinearizableExplanation {
  /** The longest linearizable prefix the search found, with the state after each operation. */
  readonly prefix: readonly { readonly op: Operation; readonly stateAfter: TaskState }[];
  readonly state: TaskState;
  /** Its completion was reached before it (or what must precede it) could be placed. */
  readonly blocking: Operation;
  /** Operations that could have come next but whose recorded outcome the model refuses. */
  readonly unplaceable: readonly { readonly op: Operation; readonly reason: string }[];
  /** Operations left unplaced after the prefix. */
  readonly remaining: number;
}

export interface KeyCheckResult {
  readonly key: string;
  readonly outcome: CheckOutcome;
  /** Operations handed to the search (fail ops and indeterminate reads are dropped). */
  readonly checked: number;
  readonly explored: number;
  /** A witness order when linearizable, including the indeterminate operations that took effect. */
  readonly linearization?: readonly Operation[];
  readonly explanation?: NonLinearizableExplanation;
  readonly message: string;
}

export interface HistoryCheckResult {
  /** "illegal" if any key is; otherwise "unknown" if any search gave up. */
  readonly outcome: CheckOutcome;
  /** One per key, sorted by key. */
  readonly keys: readonly KeyCheckResult[];
  /** The keys whose outcome is not "ok". */
  readonly failures: readonly KeyCheckResult[];
  readonly report: string;
}

/** Operations that can be dropped without changing the verdict. */
function isRelevant(op: Operation): boolean {
  // A failed op never took effect; an indeterminate read can always be placed and changes nothing.
  if (op.status === "fail") return false;
  if (op.status === "info" && op.input.kind === "read") return false;
  return true;
}

export function checkKey(key: string, ops: readonly Operation[], options: CheckOptions = {}): KeyCheckResult {
  const relevant: TimedOp<Operation>[] = [];
  for (const op of ops) {
    if (op.key !== key) throw new RangeError(`operation #${op.id} is on key ${op.key}, not ${key}`);
    if (!isRelevant(op)) continue;
    if (op.status === "ok" && (!Number.isFinite(op.completeTime) || op.output === undefined)) {
      throw new RangeError(`operation #${op.id} is ok but lacks a completion time or an output`);
    }
    const ret = op.status === "info" ? Number.POSITIVE_INFINITY : op.completeTime;
    relevant.push({ call: op.invokeTime, ret, value: op });
  }
  const r = checkLinearizable(taskModel(options.model), relevant, options);
  const opAt = (index: number): Operation => relevant[index]!.value;
  const base = { key, checked: relevant.length, explored: r.explored };
  const explain = (d: DeadEnd<TaskState>): NonLinearizableExplanation => ({
    prefix: d.prefix.map((p) => ({ op: opAt(p.index), stateAfter: p.stateAfter })),
    state: d.state,
    blocking: opAt(d.blocking),
    unplaceable: d.rejected.map((x) => ({ op: opAt(x.index), reason: x.reason })),
    remaining: relevant.filter((t) => t.ret !== Number.POSITIVE_INFINITY).length - countRequired(d, relevant),
  });
  switch (r.outcome) {
    case "ok":
      return {
        ...base,
        outcome: "ok",
        linearization: r.order.map(opAt),
        message: `key ${JSON.stringify(key)}: linearizable (${relevant.length} ops, ${r.explored} states explored)`,
      };
    case "illegal": {
      const explanation = explain(r.deadEnd);
      return {
        ...base,
        outcome: "illegal",
        explanation,
        message: formatExplanation(key, explanation, r.explored),
      };
    }
    case "unknown": {
      const explanation = r.deadEnd ? explain(r.deadEnd) : undefined;
      const head =
        `key ${JSON.stringify(key)}: UNKNOWN — search gave up after ${r.explored} states ` +
        `(maxStates); ${relevant.length} ops, ${relevant.filter((t) => t.ret === Number.POSITIVE_INFINITY).length} indeterminate`;
      return {
        ...base,
        outcome: "unknown",
        ...(explanation ? { explanation } : {}),
        message: explanation ? `${head}\n${formatPrefix(explanation)}` : head,
      };
    }
  }
}

function countRequired(d: DeadEnd<TaskState>, ops: readonly TimedOp<Operation>[]): number {
  return d.prefix.filter((p) => ops[p.index]!.ret !== Number.POSITIVE_INFINITY).length;
}

/** The tail of the prefix is what leads to the contradiction; earlier operations are only counted. */
const PREFIX_SHOWN = 12;

function formatPrefix(e: NonLinearizableExplanation): string {
  const lines = [`  longest linearizable prefix (${e.prefix.length} ops):`];
  if (e.prefix.length === 0) lines.push("    (none: not even the first operation can be placed)");
  const from = Math.max(0, e.prefix.length - PREFIX_SHOWN);
  if (from > 0) lines.push(`    ... ${from} earlier ops`);
  for (let i = from; i < e.prefix.length; i++) {
    const p = e.prefix[i]!;
    lines.push(`    ${i + 1}. ${describeOperation(p.op)}   => ${describeState(p.stateAfter)}`);
  }
  return lines.join("\n");
}

function formatExplanation(key: string, e: NonLinearizableExplanation, explored: number): string {
  const lines = [
    `key ${JSON.stringify(key)}: NOT linearizable (${explored} states explored)`,
    formatPrefix(e),
  ];
  lines.push(
    `  after it the task is ${describeState(e.state)}, and this acknowledged op cannot take effect:`,
  );
  const own = e.unplaceable.find((u) => u.op === e.blocking);
  const why = own?.reason ?? `its completion at t=${e.blocking.completeTime} came before it could be placed`;
  lines.push(`    ${describeOperation(e.blocking)}: ${why}`);
  const others = e.unplaceable.filter((u) => u.op !== e.blocking);
  if (others.length > 0) {
    lines.push("  nor can any other operation that could come next:");
    for (const u of others) lines.push(`    ${describeOperation(u.op)}: ${u.reason}`);
  }
  if (e.remaining > 1) lines.push(`  (${e.remaining} acknowledged ops in all remain unplaced)`);
  return lines.join("\n");
}

/** Checks every task key of a history independently. */
export function checkHistory(ops: readonly Operation[], options: CheckOptions = {}): HistoryCheckResult {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    const list = byKey.get(op.key);
    if (list) list.push(op);
    else byKey.set(op.key, [op]);
  }
  const keys = [...byKey.keys()].sort();
  const results = keys.map((k) => checkKey(k, byKey.get(k)!, options));
  const failures = results.filter((r) => r.outcome !== "ok");
  const outcome: CheckOutcome = failures.some((r) => r.outcome === "illegal")
    ? "illegal"
    : failures.length > 0
      ? "unknown"
      : "ok";
  const count = (o: CheckOutcome): number => results.filter((r) => r.outcome === o).length;
  const summary =
    `linearizability: ${outcome} — ${results.length} keys, ${ops.length} ops: ` +
    `${count("ok")} linearizable, ${count("illegal")} not linearizable, ${count("unknown")} unknown`;
  const report = [summary, ...failures.map((f) => f.message)].join("\n");
  return { outcome, keys: results, failures, report };
}
