/**
 * Availability figures of a run, as pure functions of its history and fault log: how many
 * operations succeeded, and for each fault how long clients waited for the next successful write.
 */
import type { Operation } from "../history.js";

export interface FaultWindow {
  readonly seq: number;
  readonly kind: string;
  readonly target: string;
  readonly start: number;
  readonly end: number;
  readonly error?: string;
}

export interface FaultGap {
  readonly fault: FaultWindow;
  /** From the fault's start to the completion of the first write invoked after it that succeeded. */
  readonly gapMs: number;
  /** True when no write succeeded before the workload ended: the gap is a lower bound. */
  readonly censored: boolean;
}

/** A write the cluster answered definitively (its entry went through Raft, whatever the verdict). */
export function isServedWrite(op: Operation): boolean {
  return op.input.kind !== "read" && op.status === "ok";
}

export function faultGaps(
  ops: readonly Operation[],
  faults: readonly FaultWindow[],
  workloadEnd: number,
): FaultGap[] {
  const writes = ops
    .filter(isServedWrite)
    .map((op) => ({ invoke: op.invokeTime, complete: op.completeTime }))
    .sort((a, b) => a.invoke - b.invoke);
  return faults.map((fault) => {
    let first = Number.POSITIVE_INFINITY;
    for (const w of writes) {
      if (w.invoke >= fault.start && w.complete < first) first = w.complete;
    }
    if (Number.isFinite(first)) return { fault, gapMs: first - fault.start, censored: false };
    return { fault, gapMs: Math.max(0, workloadEnd - fault.start), censored: true };
  });
}

/** The longest stretch of the workload in which no write completed successfully. */
export function longestWriteSilence(
  ops: readonly Operation[],
  workloadStart: number,
  workloadEnd: number,
): number {
  const times = ops
    .filter(isServedWrite)
    .map((op) => op.completeTime)
    .filter((t) => t >= workloadStart && t <= workloadEnd)
    .sort((a, b) => a - b);
  let prev = workloadStart;
  let longest = 0;
  for (const t of times) {
    longest = Math.max(longest, t - prev);
    prev = t;
  }
  return Math.max(longest, workloadEnd - prev);
}

export interface KindRow {
  readonly kind: string;
  readonly count: number;
  readonly maxGapMs: number;
  readonly meanGapMs: number;
  readonly censored: number;
  readonly errors: number;
}

export function gapsByKind(gaps: readonly FaultGap[], kinds: readonly string[]): KindRow[] {
  return kinds.map((kind) => {
    const mine = gaps.filter((g) => g.fault.kind === kind);
    const total = mine.reduce((s, g) => s + g.gapMs, 0);
    return {
      kind,
      count: mine.length,
      maxGapMs: mine.reduce((m, g) => Math.max(m, g.gapMs), 0),
      meanGapMs: mine.length > 0 ? total / mine.length : 0,
      censored: mine.filter((g) => g.censored).length,
      errors: mine.filter((g) => g.fault.error !== undefined).length,
    };
  });
}

export function formatKindTable(rows: readonly KindRow[]): string {
  const head = ["fault", "count", "max gap ms", "mean gap ms", "notes"];
  const cells = rows.map((r) => [
    r.kind,
    String(r.count),
    r.count > 0 ? String(Math.round(r.maxGapMs)) : "-",
    r.count > 0 ? String(Math.round(r.meanGapMs)) : "-",
    [
      r.censored > 0 ? `${r.censored} with no write after it` : "",
      r.errors > 0 ? `${r.errors} did not go as planned` : "",
    ]
      .filter((s) => s !== "")
      .join("; "),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: readonly string[]) =>
    c
      .map((x, i) => (i === 0 || i === 4 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [fmt(head), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(fmt)].join("\n");
}

export interface LastLine {
  readonly pass: boolean;
  readonly ops: number;
  readonly ok: number;
  readonly info: number;
  readonly maxGapMs: number;
}

/** The run's last line, which scripts and the test read. */
export function formatLastLine(l: LastLine): string {
  return `chaos: ${l.pass ? "PASS" : "FAIL"} ops=${l.ops} ok=${l.ok} info=${l.info} maxGapMs=${Math.round(l.maxGapMs)}`;
}
