import type { Operation, OpInput, OpKind, OpOutput, OpResult, OpStatus } from "../../src/chaos/history.js";
import { ABSENT, executeTaskOp, type TaskState } from "../../src/chaos/task-model.js";

/**
 * A compact notation for hand-written histories, one operation per string:
 *
 *   "p0 k create a @0-10 => ok v1"     "p1 k read @12-20 => ok a v1"     "p2 k cas 1 b @5-9 => precondition_failed"
 *   "p3 k update c @30-40 => info"     "p4 k delete @50-60 => fail"      "p5 k read @1-2 => not_found"
 *
 * Ids follow the order given.
 */
export function hist(...lines: string[]): Operation[] {
  return lines.map((line, id) => parseLine(line, id));
}

function parseLine(line: string, id: number): Operation {
  const [left, right] = line.split("=>").map((s) => s.trim());
  if (left === undefined || right === undefined) throw new Error(`bad line: ${line}`);
  const l = left.split(/\s+/);
  const [proc, key, kind, ...rest] = l;
  const when = rest.pop();
  const m = when ? /^@(-?\d+)-(-?\d+)$/.exec(when) : null;
  if (!proc || !key || !kind || !m) throw new Error(`bad line: ${line}`);
  const input = parseInput(kind as OpKind, rest, line);
  const r = right.split(/\s+/);
  const head = r.shift();
  let status: OpStatus = "ok";
  let output: OpOutput | undefined;
  if (head === "info" || head === "fail") status = head;
  else {
    const out: { result: OpResult; title?: string; version?: number } = { result: head as OpResult };
    for (const tok of r) {
      if (/^v\d+$/.test(tok)) out.version = Number(tok.slice(1));
      else out.title = tok;
    }
    output = out;
  }
  return {
    id,
    process: Number(proc.replace(/^p/, "")),
    key,
    input,
    status,
    output,
    invokeTime: Number(m[1]),
    completeTime: Number(m[2]),
  };
}

function parseInput(kind: OpKind, args: string[], line: string): OpInput {
  switch (kind) {
    case "create":
    case "update":
      return { kind, title: args[0] ?? "" };
    case "cas":
      return { kind, expectedVersion: Number(args[0]), title: args[1] ?? "" };
    case "read":
    case "delete":
      return { kind };
    default:
      throw new Error(`bad kind in: ${line}`);
  }
}

/** One planned operation; `buildHistory` turns a plan into a history consistent with real time. */
export interface PlanOp {
  readonly client: number;
  readonly key: number;
  readonly kind: OpKind;
  readonly title: number;
  /** cas: expected version = current version + delta, so both outcomes occur. */
  readonly casDelta: number;
  /** Idle time before the client invokes. */
  readonly gap: number;
  readonly duration: number;
  /** Where in [invoke, complete] the operation takes effect, as a percentage. */
  readonly at: number;
  /** ok: applied and acknowledged; info: applied, outcome unknown; lost: info that never applied; fail. */
  readonly fate: "ok" | "info" | "lost" | "fail";
}

/**
 * Executes the plan against the model sequentially, in the order of the chosen effect instants. Each
 * instant lies inside its operation's [invoke, complete] window, so that order is a valid
 * linearization and the history must check as linearizable.
 */
export function buildHistory(plan: readonly PlanOp[]): Operation[] {
  const free = new Map<number, number>();
  const timed = plan.map((p, i) => {
    const call = (free.get(p.client) ?? 0) + p.gap;
    const ret = call + p.duration;
    free.set(p.client, ret);
    return { p, i, call, ret, at: call + Math.floor((p.duration * p.at) / 100) };
  });
  const states = new Map<number, TaskState>();
  const built = new Map<number, Operation>();
  for (const t of [...timed].sort((a, b) => a.at - b.at || a.i - b.i)) {
    const { p } = t;
    const state = states.get(p.key) ?? ABSENT;
    const title = `t${p.title}`;
    let input: OpInput;
    if (p.kind === "cas") {
      const current = state.kind === "present" ? state.version : 1;
      input = { kind: "cas", expectedVersion: Math.max(1, current + p.casDelta), title };
    } else if (p.kind === "create" || p.kind === "update") input = { kind: p.kind, title };
    else input = { kind: p.kind };
    const applied = p.fate === "ok" || p.fate === "info";
    const result = executeTaskOp(state, input);
    if (applied) states.set(p.key, result.state);
    const status: OpStatus = p.fate === "ok" ? "ok" : p.fate === "fail" ? "fail" : "info";
    built.set(t.i, {
      id: 0,
      process: p.client,
      key: `k${p.key}`,
      input,
      status,
      output: status === "ok" ? result.output : undefined,
      invokeTime: t.call,
      completeTime: t.ret,
    });
  }
  const ops = timed.map((t) => built.get(t.i)!);
  ops.sort((a, b) => a.invokeTime - b.invokeTime);
  return ops.map((op, id) => ({ ...op, id }));
}

/** Replaces one ok read's result by a task state no operation ever wrote. */
export function corruptRead(
  ops: readonly Operation[],
  pick: number,
  variant: number,
): Operation[] | undefined {
  const reads = ops.filter((op) => op.status === "ok" && op.input.kind === "read");
  const victim = reads[pick % Math.max(1, reads.length)];
  if (!victim) return undefined;
  const was = victim.output?.result === "ok" ? victim.output : { title: "t0", version: 1 };
  const bogus: OpOutput =
    variant % 2 === 0
      ? { result: "ok", title: was.title ?? "t0", version: 1_000_000 }
      : { result: "ok", title: "never-written", version: was.version ?? 1 };
  return ops.map((op) => (op === victim ? { ...op, output: bogus } : op));
}
