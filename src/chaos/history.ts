/**
 * Histories recorded by the chaos test: one JSON object per line,
 *
 *   {"type":"invoke","process":3,"op":"cas","key":"k17","value":{"expectedVersion":2,"title":"x"},"time":1200}
 *   {"type":"ok","process":3,"op":"cas","key":"k17","value":{"result":"ok","version":3},"time":1250}
 *
 * and the operations obtained by pairing each invocation with its completion.
 *
 * `value` depends on the event type:
 * - invoke: the arguments: `{title}` for create/update, `{expectedVersion, title}` for cas, null for
 *   read/delete;
 * - ok: `{result, title?, version?}` where result is "ok" or one of the observed refusals
 *   ("not_found", "precondition_failed", "conflict"); a successful read carries title and version;
 * - fail / info: free-form error detail (optional).
 */

export const OP_KINDS = ["create", "read", "update", "cas", "delete"] as const;
export type OpKind = (typeof OP_KINDS)[number];

export const OP_RESULTS = ["ok", "not_found", "precondition_failed", "conflict"] as const;
export type OpResult = (typeof OP_RESULTS)[number];

/**
 * "ok": completed with a known result; "fail": definitely did not take effect; "info": indeterminate
 * (may have taken effect at any point after its invocation, or never).
 */
export type OpStatus = "ok" | "fail" | "info";
export type EventType = "invoke" | OpStatus;

export type ProcessId = number | string;

export type OpInput =
  | { readonly kind: "create"; readonly title: string }
  | { readonly kind: "read" }
  | { readonly kind: "update"; readonly title: string }
  | { readonly kind: "cas"; readonly expectedVersion: number; readonly title: string }
  | { readonly kind: "delete" };

export interface OpOutput {
  readonly result: OpResult;
  readonly title?: string;
  readonly version?: number;
}

/** One line of the history file, as written by the recorder. */
export interface HistoryEvent {
  readonly type: EventType;
  readonly process: ProcessId;
  readonly op: OpKind;
  readonly key: string;
  readonly value?: unknown;
  readonly time: number;
}

export interface Operation {
  /** Position in the paired history (invocation order); used to name operations in reports. */
  readonly id: number;
  readonly process: ProcessId;
  readonly key: string;
  readonly input: OpInput;
  readonly status: OpStatus;
  /** Present exactly when status is "ok". */
  readonly output: OpOutput | undefined;
  /** Error detail recorded with a fail/info completion. */
  readonly error?: unknown;
  readonly invokeTime: number;
  /** When the client saw the completion; Infinity when the history ended before it completed. */
  readonly completeTime: number;
}

/** Results an operation kind can legitimately report; anything else is a recorder bug, not a race. */
const ALLOWED_RESULTS: Readonly<Record<OpKind, readonly OpResult[]>> = {
  create: ["ok", "conflict"],
  read: ["ok", "not_found"],
  update: ["ok", "not_found"],
  cas: ["ok", "not_found", "precondition_failed"],
  delete: ["ok", "not_found"],
};

export class HistoryError extends Error {
  override name = "HistoryError";
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isVersion(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 1;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function requireTitle(v: Record<string, unknown>, what: string): string {
  const title = v["title"];
  if (typeof title !== "string")
    throw new HistoryError(`${what}: "title" must be a string, got ${show(title)}`);
  return title;
}

/** Validates an invocation's `value` for the given kind. */
export function inputFromValue(kind: OpKind, value: unknown): OpInput {
  const what = `${kind} invocation value`;
  switch (kind) {
    case "read":
    case "delete":
      if (value !== undefined && value !== null && !(isRecord(value) && Object.keys(value).length === 0)) {
        throw new HistoryError(`${what}: expected null, got ${show(value)}`);
      }
      return { kind };
    case "create":
    case "update": {
      if (!isRecord(value)) throw new HistoryError(`${what}: expected {title}, got ${show(value)}`);
      return { kind, title: requireTitle(value, what) };
    }
    case "cas": {
      if (!isRecord(value))
        throw new HistoryError(`${what}: expected {expectedVersion, title}, got ${show(value)}`);
      const expectedVersion = value["expectedVersion"];
      if (!isVersion(expectedVersion)) {
        throw new HistoryError(
          `${what}: "expectedVersion" must be an integer >= 1, got ${show(expectedVersion)}`,
        );
      }
      return { kind, expectedVersion, title: requireTitle(value, what) };
    }
  }
}

/** Validates an ok completion's `value` for the given kind. */
export function outputFromValue(kind: OpKind, value: unknown): OpOutput {
  const what = `${kind} ok value`;
  if (!isRecord(value)) throw new HistoryError(`${what}: expected {result, ...}, got ${show(value)}`);
  const result = value["result"];
  if (!(OP_RESULTS as readonly unknown[]).includes(result)) {
    throw new HistoryError(`${what}: "result" must be one of ${OP_RESULTS.join(", ")}, got ${show(result)}`);
  }
  const r = result as OpResult;
  if (!ALLOWED_RESULTS[kind].includes(r)) {
    throw new HistoryError(
      `${what}: a ${kind} cannot report "${r}" (allowed: ${ALLOWED_RESULTS[kind].join(", ")})`,
    );
  }
  const title = value["title"];
  const version = value["version"];
  if (title !== undefined && typeof title !== "string") {
    throw new HistoryError(`${what}: "title" must be a string, got ${show(title)}`);
  }
  if (version !== undefined && !isVersion(version)) {
    throw new HistoryError(`${what}: "version" must be an integer >= 1, got ${show(version)}`);
  }
  if (kind === "read" && r === "ok" && (title === undefined || version === undefined)) {
    throw new HistoryError(`${what}: a successful read must carry "title" and "version"`);
  }
  const out: { result: OpResult; title?: string; version?: number } = { result: r };
  if (title !== undefined) out.title = title;
  if (version !== undefined) out.version = version;
  return out;
}

/** Validates one decoded JSON line. Throws HistoryError describing the first problem. */
export function parseEvent(raw: unknown): HistoryEvent {
  if (!isRecord(raw)) throw new HistoryError(`event must be a JSON object, got ${show(raw)}`);
  const { type, process, op, key, value, time } = raw;
  if (type !== "invoke" && type !== "ok" && type !== "fail" && type !== "info") {
    throw new HistoryError(`"type" must be invoke, ok, fail or info, got ${show(type)}`);
  }
  if (
    !(typeof process === "number" && Number.isSafeInteger(process) && process >= 0) &&
    !(typeof process === "string" && process.length > 0)
  ) {
    throw new HistoryError(
      `"process" must be a non-negative integer or a non-empty string, got ${show(process)}`,
    );
  }
  if (!(OP_KINDS as readonly unknown[]).includes(op)) {
    throw new HistoryError(`"op" must be one of ${OP_KINDS.join(", ")}, got ${show(op)}`);
  }
  const kind = op as OpKind;
  let k: string;
  if (typeof key === "string" && key.length > 0) k = key;
  else if (typeof key === "number" && Number.isSafeInteger(key)) k = String(key);
  else throw new HistoryError(`"key" must be a non-empty string or an integer, got ${show(key)}`);
  if (typeof time !== "number" || !Number.isFinite(time)) {
    throw new HistoryError(`"time" must be a finite number, got ${show(time)}`);
  }
  if (type === "invoke") inputFromValue(kind, value);
  else if (type === "ok") outputFromValue(kind, value);
  const ev: { type: EventType; process: ProcessId; op: OpKind; key: string; value?: unknown; time: number } =
    {
      type,
      process,
      op: kind,
      key: k,
      time,
    };
  if (value !== undefined) ev.value = value;
  return ev;
}

/**
 * Pairs each invocation with the next completion by the same process. A process has at most one
 * operation outstanding; an invocation still pending when the history ends becomes "info", since
 * the request may have reached the cluster. `labels[i]` names event i in error messages.
 */
export function pairEvents(events: readonly HistoryEvent[], labels?: readonly string[]): Operation[] {
  interface Pending {
    ev: HistoryEvent;
    label: string;
    id: number;
    input: OpInput;
  }
  const pending = new Map<string, Pending>();
  const invocations: Pending[] = [];
  const done = new Map<number, Operation>();
  const procKey = (p: ProcessId): string => `${typeof p}:${p}`;
  const procName = (p: ProcessId): string => (typeof p === "number" ? String(p) : JSON.stringify(p));

  for (let i = 0; i < events.length; i++) {
    const ev = events[i]!;
    const label = labels?.[i] ?? `event ${i + 1}`;
    // Value errors from the validators get the event's location prepended too.
    const located = <T>(f: () => T): T => {
      try {
        return f();
      } catch (e) {
        throw new HistoryError(`${label}: ${(e as Error).message}`);
      }
    };
    const fail = (msg: string): never => {
      throw new HistoryError(`${label}: ${msg}`);
    };
    const pk = procKey(ev.process);
    const open = pending.get(pk);
    if (ev.type === "invoke") {
      if (open) {
        fail(
          `process ${procName(ev.process)} invoked ${ev.op} while its ${open.ev.op} from ${open.label} has not completed`,
        );
      }
      const p: Pending = {
        ev,
        label,
        id: invocations.length,
        input: located(() => inputFromValue(ev.op, ev.value)),
      };
      pending.set(pk, p);
      invocations.push(p);
      continue;
    }
    if (!open) {
      return fail(`${ev.type} completion for process ${procName(ev.process)} has no pending invocation`);
    }
    if (open.ev.op !== ev.op) {
      fail(`completion op ${ev.op} does not match the ${open.ev.op} invoked at ${open.label}`);
    }
    if (open.ev.key !== ev.key) {
      fail(
        `completion key ${JSON.stringify(ev.key)} does not match ${JSON.stringify(open.ev.key)} at ${open.label}`,
      );
    }
    if (ev.time < open.ev.time)
      fail(`completes at time ${ev.time}, before its invocation at ${open.ev.time}`);
    const output = ev.type === "ok" ? located(() => outputFromValue(ev.op, ev.value)) : undefined;
    done.set(open.id, {
      id: open.id,
      process: open.ev.process,
      key: open.ev.key,
      input: open.input,
      status: ev.type,
      output,
      ...(ev.type !== "ok" && ev.value !== undefined ? { error: ev.value } : {}),
      invokeTime: open.ev.time,
      completeTime: ev.time,
    });
    pending.delete(pk);
  }

  return invocations.map(
    (p) =>
      done.get(p.id) ?? {
        id: p.id,
        process: p.ev.process,
        key: p.ev.key,
        input: p.input,
        status: "info",
        output: undefined,
        error: "no completion recorded",
        invokeTime: p.ev.time,
        completeTime: Number.POSITIVE_INFINITY,
      },
  );
}

/** Parses a JSON Lines history (blank lines ignored) into paired operations. */
export function parseHistory(text: string): Operation[] {
  const events: HistoryEvent[] = [];
  const labels: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new HistoryError(`line ${i + 1}: invalid JSON (${(e as Error).message})`);
    }
    try {
      events.push(parseEvent(raw));
    } catch (e) {
      throw new HistoryError(`line ${i + 1}: ${(e as Error).message}`);
    }
    labels.push(`line ${i + 1}`);
  }
  return pairEvents(events, labels);
}

/** The invocation `value` for an input (inverse of inputFromValue). */
export function invokeValue(input: OpInput): unknown {
  switch (input.kind) {
    case "create":
    case "update":
      return { title: input.title };
    case "cas":
      return { expectedVersion: input.expectedVersion, title: input.title };
    case "read":
    case "delete":
      return null;
  }
}

/**
 * Events for a list of operations, ordered by time. Ties are broken by each process's own order so
 * that re-parsing pairs the same invocations and completions.
 */
export function operationsToEvents(ops: readonly Operation[]): HistoryEvent[] {
  const byProcess = new Map<string, Operation[]>();
  for (const op of ops) {
    const pk = `${typeof op.process}:${op.process}`;
    const list = byProcess.get(pk);
    if (list) list.push(op);
    else byProcess.set(pk, [op]);
  }
  const tagged: { ev: HistoryEvent; rank: number; seq: number }[] = [];
  for (const list of byProcess.values()) {
    list.sort((a, b) => a.invokeTime - b.invokeTime || a.id - b.id);
    list.forEach((op, j) => {
      const base = { process: op.process, op: op.input.kind, key: op.key };
      const invoke: HistoryEvent = {
        type: "invoke",
        ...base,
        value: invokeValue(op.input),
        time: op.invokeTime,
      };
      tagged.push({ ev: invoke, rank: 2 * j, seq: tagged.length });
      if (Number.isFinite(op.completeTime)) {
        const value = op.status === "ok" ? op.output : op.error;
        const done: HistoryEvent = {
          type: op.status,
          ...base,
          ...(value !== undefined ? { value } : {}),
          time: op.completeTime,
        };
        tagged.push({ ev: done, rank: 2 * j + 1, seq: tagged.length });
      }
    });
  }
  tagged.sort((a, b) => a.ev.time - b.ev.time || a.rank - b.rank || a.seq - b.seq);
  return tagged.map((t) => t.ev);
}

export function formatJsonl(events: readonly HistoryEvent[]): string {
  return events.map((e) => JSON.stringify(e)).join("\n") + (events.length > 0 ? "\n" : "");
}
