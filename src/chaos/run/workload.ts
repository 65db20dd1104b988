/**
 * The clients: concurrent processes that create, read, update, compare-and-set and delete tasks
 * through random nodes, each recording one history operation per logical operation.
 *
 * A key is one logical task. Its create chooses a title no other write uses, and so does every
 * update, so a read names the exact write it saw. Every write carries its own Idempotency-Key and is
 * retried with that same key after an ambiguous attempt (timeout, reset, 504), on any node; the
 * operation is `ok` once an attempt brings a definitive answer, `fail` only if no attempt can have
 * been applied, and `info` otherwise. A deleted key is never used again: a re-create is a new key.
 */
import type { Rng } from "../../raft/rng.js";
import type { OpInput, OpOutput } from "../history.js";
import type { ChaosCluster } from "./cluster.js";
import { errorCode, type HttpOutcome, httpRequest, sleep } from "./http.js";
import type { HistoryRecorder, RunClock } from "./recorder.js";

/**
 * Per attempt. Shorter than the nodes' 5 s proposal timeout on purpose: a write forwarded to a leader
 * that has just been cut off is never committed, and waiting for its 504 would leave every client
 * stuck; the retry with the same Idempotency-Key on another node finds out what happened.
 */
export const REQUEST_TIMEOUT_MS = 3000;
/** Attempts of one logical operation, and no new attempt after this long. */
const MAX_ATTEMPTS = 4;
const OP_DEADLINE_MS = 20_000;
/** A key that has seen this many operations is deleted, so per-key histories stay checkable. */
const MAX_OPS_PER_KEY = 60;

export type KeyPhase = "creating" | "live" | "retired" | "unresolved" | "never";

export interface KeyState {
  readonly key: string;
  readonly createTitle: string;
  id: string | undefined;
  /** The newest version any client saw: the If-Match of the next compare-and-set. */
  version: number;
  phase: KeyPhase;
  ops: number;
}

export interface WorkloadOptions {
  cluster: ChaosCluster;
  recorder: HistoryRecorder;
  clock: RunClock;
  rng: Rng;
  token: string;
  clients: number;
  thinkMs: number;
  /** Prefix of titles and idempotency keys, unique to the run. */
  tag: string;
}

interface Attempted {
  /** The definitive answer, if an attempt got one. */
  answer?: { status: number; body: unknown };
  /** Some attempt may have been applied without us knowing. */
  ambiguous: boolean;
  /** The last attempt's problem, for the history's fail/info value. */
  why: string;
  /** A 4xx refusal that retrying cannot change. */
  refused: boolean;
}

export class Workload {
  readonly keys = new Map<string, KeyState>();
  /** Every title any write used, to the key it belongs to (titles are unique per write). */
  readonly titleToKey = new Map<string, string>();
  /** Told of every write a node acknowledged (2xx), as it arrives; the nemesis times crashes by it. */
  onWriteAck: (node: string) => void = () => {};
  /** 500 answers: API.md calls each a bug. */
  internalErrors = 0;
  private live: KeyState[] = [];
  private nextKey = 0;
  private nextTitle = 0;
  private nextOp = 0;
  private stopping = false;
  private readonly target: number;

  constructor(private readonly o: WorkloadOptions) {
    this.target = Math.max(4, o.clients);
  }

  stop(): void {
    this.stopping = true;
  }

  /** Runs every client until stop() (each finishes its current operation, within its bounds). */
  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.o.clients }, (_, p) => this.client(p, this.o.rng.fork())));
    this.o.recorder.flush();
  }

  private title(key: string): string {
    const t = `${this.o.tag}-${key}-w${++this.nextTitle}`;
    this.titleToKey.set(t, key);
    return t;
  }

  private async client(p: number, rng: Rng): Promise<void> {
    while (!this.stopping) {
      if (this.live.length < this.target || (rng.chance(0.05) && this.live.length < 3 * this.target)) {
        await this.create(p, rng);
      } else {
        const k = rng.pick(this.live);
        k.ops++;
        const x = rng.float();
        if (k.ops >= MAX_OPS_PER_KEY || x < 0.05) await this.remove(p, rng, k);
        else if (x < 0.45) await this.read(p, rng, k);
        else if (x < 0.7) await this.update(p, rng, k);
        else await this.cas(p, rng, k);
      }
      if (this.o.thinkMs > 0) await sleep(this.o.thinkMs);
    }
  }

  private retire(k: KeyState): void {
    if (k.phase === "live") {
      k.phase = "retired";
      this.live = this.live.filter((x) => x !== k);
    }
  }

  private pickNode(rng: Rng): string {
    return rng.pick(this.o.cluster.ids);
  }

  /** One logical write: attempts with the same Idempotency-Key until a definitive answer. */
  private async write(
    rng: Rng,
    method: string,
    path: () => string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<Attempted> {
    const idem = `${this.o.tag}-op${++this.nextOp}`;
    const deadline = this.o.clock.now() + OP_DEADLINE_MS;
    const res: Attempted = { ambiguous: false, why: "", refused: false };
    for (let attempt = 0; attempt < MAX_ATTEMPTS && this.o.clock.now() < deadline; attempt++) {
      if (attempt > 0) await sleep(Math.min(800, 50 * 2 ** attempt) + rng.int(50));
      const id = this.pickNode(rng);
      const r = await httpRequest(this.o.cluster.url(id), method, path(), {
        token: this.o.token,
        ...(body !== undefined ? { body } : {}),
        headers: { ...headers, "idempotency-key": idem },
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      if (this.settle(r, res, id)) break;
    }
    return res;
  }

  /** Folds one attempt into the operation's state; true when retrying is pointless. */
  private settle(r: HttpOutcome, res: Attempted, node: string): boolean {
    if (r.kind === "failure") {
      if (r.maybeSent) res.ambiguous = true;
      res.why = `${node}: ${r.reason}`;
      return false;
    }
    const s = r.status;
    if ((s >= 200 && s < 300) || s === 404 || s === 409 || s === 412) {
      res.answer = { status: s, body: r.body };
      if (s < 300) this.onWriteAck(r.node ?? node);
      return true;
    }
    res.why = `${node}: ${s} ${errorCode(r)}`;
    if (s === 503 || s === 429) return false;
    if (s === 504) {
      res.ambiguous = true;
      return false;
    }
    if (s >= 500) {
      // A 500 is a bug (API.md); its effect is unknown.
      this.internalErrors++;
      res.ambiguous = true;
      return false;
    }
    res.refused = true;
    return true;
  }

  private finish(
    p: number,
    k: KeyState,
    input: OpInput,
    a: Attempted,
    ok: (status: number, body: unknown) => OpOutput | undefined,
  ): OpOutput | undefined {
    const rec = this.o.recorder;
    if (a.answer) {
      const out = ok(a.answer.status, a.answer.body);
      if (out) {
        rec.ok(p, k.key, input.kind, out);
        return out;
      }
      // An answer the model has no place for: its effect is unknown.
      rec.end("info", p, k.key, input.kind, `unexpected ${a.answer.status} ${JSON.stringify(a.answer.body)}`);
      return undefined;
    }
    rec.end(a.ambiguous ? "info" : "fail", p, k.key, input.kind, a.why || "no attempt made");
    return undefined;
  }

  private async create(p: number, rng: Rng): Promise<void> {
    const key = `k${++this.nextKey}`;
    const title = this.title(key);
    const k: KeyState = { key, createTitle: title, id: undefined, version: 0, phase: "creating", ops: 1 };
    this.keys.set(key, k);
    const input: OpInput = { kind: "create", title };
    this.o.recorder.invoke(p, key, input);
    const a = await this.write(rng, "POST", () => "/api/v1/tasks", { title }, {});
    const out = this.finish(p, k, input, a, (status, body) => {
      if (status === 201) {
        const t = taskOf(body);
        if (!t) return undefined;
        k.id = t.id;
        return { result: "ok", title: t.title, version: t.version };
      }
      if (status === 409) return { result: "conflict" };
      return undefined;
    });
    if (out?.result === "ok" && k.id !== undefined) {
      k.phase = "live";
      k.version = out.version ?? 1;
      this.live.push(k);
    } else if (out) k.phase = "never";
    else k.phase = a.ambiguous || a.answer ? "unresolved" : "never";
  }

  private async read(p: number, rng: Rng, k: KeyState): Promise<void> {
    const input: OpInput = { kind: "read" };
    this.o.recorder.invoke(p, k.key, input);
    let why = "";
    let ambiguous = false;
    const deadline = this.o.clock.now() + OP_DEADLINE_MS;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && this.o.clock.now() < deadline; attempt++) {
      if (attempt > 0) await sleep(Math.min(800, 50 * 2 ** attempt) + rng.int(50));
      const node = this.pickNode(rng);
      const r = await httpRequest(this.o.cluster.url(node), "GET", `/api/v1/tasks/${k.id}`, {
        token: this.o.token,
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      if (r.kind === "failure") {
        ambiguous ||= r.maybeSent;
        why = `${node}: ${r.reason}`;
        continue;
      }
      if (r.status === 200) {
        const t = taskOf(r.body);
        if (t) {
          this.o.recorder.ok(p, k.key, "read", { result: "ok", title: t.title, version: t.version });
          k.version = Math.max(k.version, t.version);
          return;
        }
      }
      if (r.status === 404) {
        this.o.recorder.ok(p, k.key, "read", { result: "not_found" });
        this.retire(k);
        return;
      }
      if (r.status >= 500 && r.status !== 503 && r.status !== 504) this.internalErrors++;
      why = `${node}: ${r.status} ${errorCode(r)}`;
      if (r.status !== 503 && r.status !== 504 && r.status !== 429 && r.status < 500) break;
    }
    // A read changes nothing: fail and info are equally harmless to the checker.
    this.o.recorder.end(ambiguous ? "info" : "fail", p, k.key, "read", why);
  }

  private async update(p: number, rng: Rng, k: KeyState): Promise<void> {
    const title = this.title(k.key);
    const input: OpInput = { kind: "update", title };
    this.o.recorder.invoke(p, k.key, input);
    const a = await this.write(rng, "PATCH", () => `/api/v1/tasks/${k.id}`, { title }, {});
    this.afterChange(k, this.finish(p, k, input, a, changed));
  }

  private async cas(p: number, rng: Rng, k: KeyState): Promise<void> {
    const title = this.title(k.key);
    const expectedVersion = Math.max(1, k.version);
    const input: OpInput = { kind: "cas", expectedVersion, title };
    this.o.recorder.invoke(p, k.key, input);
    const a = await this.write(
      rng,
      "PATCH",
      () => `/api/v1/tasks/${k.id}`,
      { title },
      { "if-match": `"${expectedVersion}"` },
    );
    this.afterChange(k, this.finish(p, k, input, a, changed));
  }

  private afterChange(k: KeyState, out: OpOutput | undefined): void {
    if (out?.result === "ok" && out.version !== undefined) k.version = Math.max(k.version, out.version);
    if (out?.result === "not_found") this.retire(k);
  }

  private async remove(p: number, rng: Rng, k: KeyState): Promise<void> {
    const input: OpInput = { kind: "delete" };
    // Retired at once: no new operation should start on a key that is going away.
    this.retire(k);
    this.o.recorder.invoke(p, k.key, input);
    const a = await this.write(rng, "DELETE", () => `/api/v1/tasks/${k.id}`, undefined, {});
    this.finish(p, k, input, a, (status) => {
      if (status === 204) return { result: "ok" };
      if (status === 404) return { result: "not_found" };
      return undefined;
    });
  }

  /** Keys in the order they were made. */
  allKeys(): KeyState[] {
    return [...this.keys.values()];
  }
}

function changed(status: number, body: unknown): OpOutput | undefined {
  if (status === 200) {
    const t = taskOf(body);
    return t ? { result: "ok", title: t.title, version: t.version } : undefined;
  }
  if (status === 404) return { result: "not_found" };
  if (status === 412) return { result: "precondition_failed" };
  return undefined;
}

export function taskOf(body: unknown): { id: string; title: string; version: number } | undefined {
  const t = (body as { task?: { id?: unknown; title?: unknown; version?: unknown } } | undefined)?.task;
  if (!t || typeof t.id !== "string" || typeof t.title !== "string" || typeof t.version !== "number") {
    return undefined;
  }
  return { id: t.id, title: t.title, version: t.version };
}
