/**
 * History checks besides linearizability, as pure functions over recorded operations and the final
 * state read back from the cluster.
 */
import {
  OP_KINDS,
  OP_RESULTS,
  type Operation,
  type OpKind,
  type OpResult,
  type OpStatus,
  type ProcessId,
} from "./history.js";
import { describeOperation } from "./task-model.js";

/** What a final read found for a key: the task, or null for 404. */
export type FinalState = { readonly title: string; readonly version: number } | null;
export type FinalStates = ReadonlyMap<string, FinalState> | Readonly<Record<string, FinalState>>;

function entriesOf(finals: FinalStates): [string, FinalState][] {
  return finals instanceof Map ? [...(finals as ReadonlyMap<string, FinalState>)] : Object.entries(finals);
}

/**
 * Appends one read per key returning its final state, after every recorded time. Checking the result
 * for linearizability then also proves that no acknowledged write was lost: an indeterminate write may
 * still land after the final read (a timed-out entry can commit late), which the checker allows.
 */
export function appendFinalReads(
  ops: readonly Operation[],
  finals: FinalStates,
  options: { process?: ProcessId; time?: number } = {},
): Operation[] {
  let latest = Number.NEGATIVE_INFINITY;
  for (const op of ops) {
    latest = Math.max(latest, op.invokeTime);
    if (Number.isFinite(op.completeTime)) latest = Math.max(latest, op.completeTime);
  }
  const t = options.time ?? (Number.isFinite(latest) ? latest + 1 : 0);
  if (t <= latest)
    throw new RangeError(`final reads at t=${t} would not follow the history (last time ${latest})`);
  const out = [...ops];
  let id = ops.reduce((m, op) => Math.max(m, op.id + 1), 0);
  for (const [key, final] of entriesOf(finals)) {
    out.push({
      id: id++,
      process: options.process ?? "final",
      key,
      input: { kind: "read" },
      status: "ok",
      output: final ? { result: "ok", title: final.title, version: final.version } : { result: "not_found" },
      invokeTime: t,
      completeTime: t + 1,
    });
  }
  return out;
}

export interface LostWrite {
  readonly key: string;
  readonly kind: "missing" | "stale" | "resurrected" | "title_mismatch";
  readonly message: string;
  readonly op: Operation;
}

/**
 * A direct, cheap form of "no acknowledged write was lost", with messages that name the write. Keys
 * absent from `finals` are skipped (their final read did not succeed).
 */
export function checkNoLostWrites(ops: readonly Operation[], finals: FinalStates): LostWrite[] {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    const list = byKey.get(op.key);
    if (list) list.push(op);
    else byKey.set(op.key, [op]);
  }
  const violations: LostWrite[] = [];
  for (const [key, final] of entriesOf(finals)) {
    const history = byKey.get(key) ?? [];
    const acked = history.filter(
      (op) => op.status === "ok" && op.output?.result === "ok" && op.input.kind !== "read",
    );
    const writes = acked.filter((op) => op.input.kind !== "delete");
    const ackedDelete = acked.find((op) => op.input.kind === "delete");
    // A delete that failed definitely did not happen; an indeterminate one may have.
    const mayBeDeleted = history.some((op) => op.input.kind === "delete" && op.status !== "fail");
    const versionOf = (op: Operation): number | undefined =>
      op.output?.version ?? (op.input.kind === "create" ? 1 : undefined);
    let newest: Operation | undefined;
    for (const op of writes) {
      const v = versionOf(op);
      if (v !== undefined && (newest === undefined || v > versionOf(newest)!)) newest = op;
    }
    const name = JSON.stringify(key);
    if (final === null) {
      const w = newest ?? writes[0];
      if (w && !mayBeDeleted) {
        violations.push({
          key,
          kind: "missing",
          op: w,
          message: `key ${name}: final read found no task, but ${describeOperation(w)} was acknowledged and no delete was attempted`,
        });
      }
      continue;
    }
    if (ackedDelete) {
      violations.push({
        key,
        kind: "resurrected",
        op: ackedDelete,
        message: `key ${name}: final read found version ${final.version}, but ${describeOperation(ackedDelete)} was acknowledged`,
      });
      continue;
    }
    if (newest && final.version < versionOf(newest)!) {
      violations.push({
        key,
        kind: "stale",
        op: newest,
        message: `key ${name}: final read found version ${final.version}, older than ${describeOperation(newest)}`,
      });
      continue;
    }
    const same = writes.find(
      (op) => versionOf(op) === final.version && "title" in op.input && op.input.title !== final.title,
    );
    if (same) {
      violations.push({
        key,
        kind: "title_mismatch",
        op: same,
        message: `key ${name}: final read found title ${JSON.stringify(final.title)} at version ${final.version}, but ${describeOperation(same)} wrote that version`,
      });
    }
  }
  return violations;
}

export interface DuplicateCreate {
  readonly key: string;
  readonly count: number;
  readonly message: string;
}

/** Flags keys whose single logical create produced more than one row (e.g. a retried create). */
export function findDuplicateCreates(
  rows: Iterable<{ readonly key: string; readonly count: number }>,
): DuplicateCreate[] {
  const out: DuplicateCreate[] = [];
  for (const { key, count } of rows) {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(
        `key ${JSON.stringify(key)}: row count must be a non-negative integer, got ${count}`,
      );
    }
    if (count > 1) {
      out.push({ key, count, message: `key ${JSON.stringify(key)}: ${count} tasks exist for one create` });
    }
  }
  return out;
}

export interface HistorySummary {
  readonly operations: number;
  readonly keys: number;
  readonly processes: number;
  readonly byStatus: Readonly<Record<OpStatus, number>>;
  readonly byKind: Readonly<Record<OpKind, Readonly<Record<OpStatus, number>>>>;
  /** Results of the ok-completed operations. */
  readonly byResult: Readonly<Record<OpResult, number>>;
}

export function summarizeHistory(ops: readonly Operation[]): HistorySummary {
  const zero = (): Record<OpStatus, number> => ({ ok: 0, fail: 0, info: 0 });
  const byStatus = zero();
  const byKind = Object.fromEntries(OP_KINDS.map((k) => [k, zero()])) as Record<
    OpKind,
    Record<OpStatus, number>
  >;
  const byResult = Object.fromEntries(OP_RESULTS.map((r) => [r, 0])) as Record<OpResult, number>;
  const keys = new Set<string>();
  const processes = new Set<string>();
  for (const op of ops) {
    byStatus[op.status]++;
    byKind[op.input.kind][op.status]++;
    if (op.status === "ok" && op.output) byResult[op.output.result]++;
    keys.add(op.key);
    processes.add(`${typeof op.process}:${op.process}`);
  }
  return { operations: ops.length, keys: keys.size, processes: processes.size, byStatus, byKind, byResult };
}

export function formatSummary(s: HistorySummary): string {
  const st = (c: Readonly<Record<OpStatus, number>>): string => `ok ${c.ok}, fail ${c.fail}, info ${c.info}`;
  const lines = [
    `${s.operations} ops on ${s.keys} keys by ${s.processes} processes: ${st(s.byStatus)}`,
    ...OP_KINDS.map((k) => `  ${k.padEnd(6)} ${st(s.byKind[k])}`),
    `  ok results: ${OP_RESULTS.map((r) => `${r} ${s.byResult[r]}`).join(", ")}`,
  ];
  return lines.join("\n");
}
