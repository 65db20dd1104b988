/**
 * The run's artefacts as they happen: the client history (JSON Lines of invoke/ok/fail/info, the
 * format of ../history.ts) and the fault log, both on one monotonic clock (ms since the run began),
 * so a fault's window can be laid over the operations it disturbed.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import type { EventType, HistoryEvent, OpInput, OpKind, OpOutput } from "../history.js";
import { invokeValue } from "../history.js";

export class RunClock {
  private readonly t0 = performance.now();
  /** Wall-clock start, written once so artefacts can be matched with node logs. */
  readonly startedAt = new Date().toISOString();

  /** Milliseconds since the run began (sub-millisecond, never going backwards). */
  now(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }
}

/** Buffered appends to one file: one write per flush, never unbounded. */
class LineFile {
  private pending: string[] = [];

  constructor(readonly path: string) {
    writeFileSync(path, "");
  }

  push(line: string): void {
    this.pending.push(line);
    // Bound the buffer: a burst of events is written through rather than held.
    if (this.pending.length >= 512) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    appendFileSync(this.path, `${this.pending.join("\n")}\n`);
    this.pending = [];
  }
}

export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  private readonly file: LineFile;

  constructor(
    path: string,
    private readonly clock: RunClock,
  ) {
    this.file = new LineFile(path);
  }

  private push(ev: HistoryEvent): void {
    this.events.push(ev);
    this.file.push(JSON.stringify(ev));
  }

  invoke(process: number, key: string, input: OpInput): void {
    this.push({
      type: "invoke",
      process,
      op: input.kind,
      key,
      value: invokeValue(input),
      time: this.clock.now(),
    });
  }

  ok(process: number, key: string, op: OpKind, output: OpOutput): void {
    this.complete("ok", process, key, op, output);
  }

  /** `fail`: definitely not applied; `info`: outcome unknown. */
  end(
    type: Exclude<EventType, "invoke" | "ok">,
    process: number,
    key: string,
    op: OpKind,
    why: string,
  ): void {
    this.complete(type, process, key, op, why);
  }

  private complete(type: EventType, process: number, key: string, op: OpKind, value: unknown): void {
    this.push({ type, process, op, key, value, time: this.clock.now() });
  }

  flush(): void {
    this.file.flush();
  }
}

export interface FaultRecord {
  /** 1-based position in the schedule. */
  readonly seq: number;
  readonly kind: string;
  readonly target: string;
  /** Why this target: "leader" or "random". */
  readonly choice: string;
  readonly start: number;
  /** When the fault was healed (the node back, the partition gone); equal to start for instant faults. */
  end: number;
  /** What was done, step by step, e.g. "SIGKILL n2; restarted n2". */
  readonly notes: string[];
  /** A step that did not go as planned (the run continues; the report shows it). */
  error?: string;
}

export class FaultLog {
  readonly faults: FaultRecord[] = [];
  private readonly file: LineFile;

  constructor(
    path: string,
    private readonly clock: RunClock,
  ) {
    this.file = new LineFile(path);
  }

  begin(seq: number, kind: string, target: string, choice: string): FaultRecord {
    const f: FaultRecord = { seq, kind, target, choice, start: this.clock.now(), end: -1, notes: [] };
    this.faults.push(f);
    this.file.push(JSON.stringify({ event: "start", seq, kind, target, choice, time: f.start }));
    this.file.flush();
    return f;
  }

  note(f: FaultRecord, text: string): void {
    f.notes.push(`${Math.round(this.clock.now())}ms ${text}`);
  }

  finish(f: FaultRecord, error?: string): void {
    f.end = this.clock.now();
    if (error !== undefined) f.error = error;
    this.file.push(
      JSON.stringify({
        event: "end",
        seq: f.seq,
        kind: f.kind,
        target: f.target,
        time: f.end,
        notes: f.notes,
        ...(error !== undefined ? { error } : {}),
      }),
    );
    this.file.flush();
  }

  /** Events that are not faults of the schedule (a node that exited by itself, the final heal). */
  event(what: string, detail: Record<string, unknown>): void {
    this.file.push(JSON.stringify({ event: what, time: this.clock.now(), ...detail }));
    this.file.flush();
  }

  flush(): void {
    this.file.flush();
  }
}
