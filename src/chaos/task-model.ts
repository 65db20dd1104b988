/**
 * The sequential specification of one task, as a register the checker can replay operations against.
 * Linearizability is compositional, so each task key is checked on its own with this model.
 */
import type { Operation, OpInput, OpOutput } from "./history.js";
import type { Model } from "./linearizability.js";

/**
 * "deleted" is kept apart from "absent" because a deleted task's id never comes back: a create on a
 * deleted key is a conflict, not a fresh task.
 */
export type TaskState =
  | { readonly kind: "absent" }
  | { readonly kind: "present"; readonly title: string; readonly version: number }
  | { readonly kind: "deleted" };

export interface TaskModelOptions {
  /**
   * What a cas on a missing task reports. HTTP allows either a 404 or a 412 (If-Match against no
   * representation); "either" accepts both, which loses nothing since the state is unchanged.
   */
  casOnAbsent?: "not_found" | "precondition_failed" | "either";
}

export const ABSENT: TaskState = { kind: "absent" };
const DELETED: TaskState = { kind: "deleted" };

/** Runs an operation against the specification: the next state and the canonical outcome. */
export function executeTaskOp(
  state: TaskState,
  input: OpInput,
  options: TaskModelOptions = {},
): { state: TaskState; output: OpOutput } {
  const present = state.kind === "present" ? state : undefined;
  switch (input.kind) {
    case "create":
      if (state.kind !== "absent") return { state, output: { result: "conflict" } };
      return {
        state: { kind: "present", title: input.title, version: 1 },
        output: { result: "ok", title: input.title, version: 1 },
      };
    case "read":
      if (!present) return { state, output: { result: "not_found" } };
      return { state, output: { result: "ok", title: present.title, version: present.version } };
    case "update":
    case "cas": {
      if (!present) {
        const refusal = input.kind === "cas" && options.casOnAbsent === "precondition_failed";
        return { state, output: { result: refusal ? "precondition_failed" : "not_found" } };
      }
      if (input.kind === "cas" && input.expectedVersion !== present.version) {
        return { state, output: { result: "precondition_failed" } };
      }
      const version = present.version + 1;
      return {
        state: { kind: "present", title: input.title, version },
        output: { result: "ok", title: input.title, version },
      };
    }
    case "delete":
      if (!present) return { state, output: { result: "not_found" } };
      return { state: DELETED, output: { result: "ok" } };
  }
}

/**
 * Applies an operation with its recorded outcome. An operation without an outcome (indeterminate)
 * takes its specified effect; one whose outcome differs from the specification cannot happen here.
 */
export function applyTaskOp(
  state: TaskState,
  input: OpInput,
  output: OpOutput | undefined,
  options: TaskModelOptions = {},
): { ok: true; state: TaskState } | { ok: false; reason: string } {
  const expected = executeTaskOp(state, input, options);
  if (output === undefined) return { ok: true, state: expected.state };
  const want = expected.output;
  const lenient =
    input.kind === "cas" &&
    state.kind !== "present" &&
    (options.casOnAbsent ?? "either") === "either" &&
    (output.result === "not_found" || output.result === "precondition_failed");
  const matches =
    lenient ||
    (output.result === want.result &&
      // Fields the client did not record are not checked; fields it did record must agree.
      (output.title === undefined || output.title === want.title) &&
      (output.version === undefined || output.version === want.version));
  if (matches) return { ok: true, state: expected.state };
  const where = `the task is ${describeState(state)}`;
  if (input.kind === "read")
    return { ok: false, reason: `read returned ${describeOutput(output)} but ${where}` };
  return {
    ok: false,
    reason: `${describeInput(input)} returned ${describeOutput(output)} but ${where}, so it would return ${describeOutput(want)}`,
  };
}

export function taskModel(options: TaskModelOptions = {}): Model<TaskState, Operation> {
  return {
    init: () => ABSENT,
    step: (state, op) => {
      const r = applyTaskOp(state, op.input, op.output, options);
      return r.ok ? r.state : undefined;
    },
    stateKey: (state) =>
      state.kind === "present" ? `p${state.version}:${state.title}` : state.kind === "absent" ? "a" : "d",
    readOnly: (op) => op.output !== undefined && (op.input.kind === "read" || op.output.result !== "ok"),
    neverApplies: (state, op) => neverApplies(state, op),
    explain: (state, op) => {
      const r = applyTaskOp(state, op.input, op.output, options);
      return r.ok ? "accepted by the model" : r.reason;
    },
  };
}

/**
 * States only move forward (absent, then versions 1, 2, ..., then deleted), so an acknowledged
 * outcome that needs an earlier state can never be produced again.
 */
function neverApplies(state: TaskState, op: Operation): boolean {
  const out = op.output;
  if (out === undefined || out.result !== "ok") return false;
  const rank =
    state.kind === "absent" ? 0 : state.kind === "present" ? state.version : Number.POSITIVE_INFINITY;
  switch (op.input.kind) {
    case "create":
      return state.kind !== "absent";
    case "read":
      if (out.version === undefined) return state.kind === "deleted";
      return (
        rank > out.version ||
        (state.kind === "present" &&
          rank === out.version &&
          out.title !== undefined &&
          state.title !== out.title)
      );
    case "update":
      return state.kind === "deleted" || (out.version !== undefined && rank >= out.version);
    case "cas":
      return rank > op.input.expectedVersion;
    case "delete":
      return state.kind === "deleted";
  }
}

function quote(title: string): string {
  const s = JSON.stringify(title);
  return s.length > 42 ? `${s.slice(0, 38)}..."` : s;
}

export function describeState(state: TaskState): string {
  switch (state.kind) {
    case "absent":
      return "absent (never created)";
    case "deleted":
      return "deleted";
    case "present":
      return `{title ${quote(state.title)}, version ${state.version}}`;
  }
}

export function describeInput(input: OpInput): string {
  switch (input.kind) {
    case "create":
    case "update":
      return `${input.kind}(${quote(input.title)})`;
    case "cas":
      return `cas(expected version ${input.expectedVersion}, ${quote(input.title)})`;
    case "read":
    case "delete":
      return `${input.kind}()`;
  }
}

export function describeOutput(output: OpOutput): string {
  if (output.result !== "ok") return output.result;
  if (output.title !== undefined && output.version !== undefined) {
    return `{title ${quote(output.title)}, version ${output.version}}`;
  }
  if (output.version !== undefined) return `ok (version ${output.version})`;
  if (output.title !== undefined) return `ok (title ${quote(output.title)})`;
  return "ok";
}

function describeTime(t: number): string {
  return Number.isFinite(t) ? String(t) : "?";
}

/** e.g. `#12 p3 read() [t=120..130] -> {title "b", version 2}` */
export function describeOperation(op: Operation): string {
  const who = typeof op.process === "number" ? `p${op.process}` : op.process;
  const when = `[t=${describeTime(op.invokeTime)}..${describeTime(op.completeTime)}]`;
  const outcome =
    op.status === "ok" && op.output
      ? describeOutput(op.output)
      : op.status === "info"
        ? "info (indeterminate)"
        : "fail";
  return `#${op.id} ${who} ${describeInput(op.input)} ${when} -> ${outcome}`;
}
