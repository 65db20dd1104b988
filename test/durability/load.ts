/**
 * Heavy write load for the durability tests, and the check of its outcome against each node's
 * database.
 *
 * Every client owns the tasks it creates and is the only one to change them, one write at a time,
 * so the last acknowledged write of a task is well defined. Every write carries its own
 * Idempotency-Key and is retried with that same key on another node after an ambiguous or
 * refused attempt (timeout, reset, 503, 504), until a definitive answer or the operation's
 * deadline. Every title is unique in the run, so a row names the write that produced it.
 */
import { type HttpOutcome, httpRequest, sleep } from "../../src/chaos/run/http.js";
import { taskOf } from "../../src/chaos/run/workload.js";
import type { Rng } from "../../src/raft/rng.js";
import { createStatePool, selectRows } from "../../src/state/sql.js";

/** Where the load sends its requests; `nodes()` is asked before every attempt. */
export interface LoadTarget {
  nodes(): string[];
  url(id: string): string;
}

export interface LoadOptions {
  target: LoadTarget;
  token: string;
  clients: number;
  rng: Rng;
  /** Prefix of titles and idempotency keys. */
  tag: string;
  /** Pause between a client's operations (0: as fast as the cluster answers). */
  thinkMs?: number;
  /** Bound on one attempt; past it the outcome is unknown and the write is retried elsewhere. */
  requestTimeoutMs?: number;
  /** No new attempt of one write after this long: the write stays "unknown". */
  opDeadlineMs?: number;
}

/** A write's outcome: acknowledged (2xx), refused (another definitive status) or unknown. */
export type Outcome = "acked" | "refused" | "unknown";

export interface TaskUpdate {
  title: string;
  outcome: Outcome;
  /** The version the acknowledgement carried. */
  version?: number;
}

export interface TrackedTask {
  key: string;
  client: number;
  createTitle: string;
  create: Outcome | "pending";
  id: string | undefined;
  createVersion: number;
  /** Writes after the create, in the order the owning client made them. */
  updates: TaskUpdate[];
}

/** One HTTP attempt, for time-windowed checks (what a node answered while its database was down). */
export interface Attempt {
  node: string;
  sentAt: number;
  doneAt: number;
  /** HTTP status, or the transport failure. */
  status: number | string;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 3000;
const DEFAULT_OP_DEADLINE_MS = 60_000;
/** The owner keeps this many live tasks before it mostly updates. */
const TASKS_PER_CLIENT = 4;

export class WriteLoad {
  readonly tasks = new Map<string, TrackedTask>();
  readonly titleToKey = new Map<string, string>();
  readonly attempts: Attempt[] = [];
  /** 2xx acknowledgements: when they arrived and which node answered. */
  readonly acks: { node: string; at: number }[] = [];
  /** Answers the model has no place for (a 500, a 4xx on an owned task): each one is a failure. */
  readonly unexpected: string[] = [];
  private stopping = false;
  private nextTitle = 0;
  private nextOp = 0;
  private running: Promise<void> | undefined;

  constructor(private readonly o: LoadOptions) {}

  start(): void {
    this.running ??= Promise.all(
      Array.from({ length: this.o.clients }, (_, c) => this.client(c, this.o.rng.fork())),
    ).then(() => {});
  }

  /** Stops the clients; resolves once each has finished its current write. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  acksBetween(from: number, to: number): number {
    return this.acks.filter((a) => a.at >= from && a.at <= to).length;
  }

  counts(): { creates: number; updates: number; unknown: number; refused: number; attempts: number } {
    let creates = 0;
    let updates = 0;
    let unknown = 0;
    let refused = 0;
    for (const t of this.tasks.values()) {
      if (t.create === "acked") creates++;
      if (t.create === "unknown") unknown++;
      if (t.create === "refused") refused++;
      for (const u of t.updates) {
        if (u.outcome === "acked") updates++;
        if (u.outcome === "unknown") unknown++;
        if (u.outcome === "refused") refused++;
      }
    }
    return { creates, updates, unknown, refused, attempts: this.attempts.length };
  }

  private title(key: string): string {
    const t = `${this.o.tag}-${key}-w${++this.nextTitle}`;
    this.titleToKey.set(t, key);
    return t;
  }

  private async client(c: number, rng: Rng): Promise<void> {
    const mine: TrackedTask[] = [];
    let made = 0;
    while (!this.stopping) {
      if (mine.length < TASKS_PER_CLIENT || rng.chance(0.15)) {
        const t = await this.create(c, ++made, rng);
        if (t) mine.push(t);
      } else {
        await this.update(rng.pick(mine), rng);
      }
      if (this.o.thinkMs) await sleep(this.o.thinkMs);
    }
  }

  private async create(c: number, n: number, rng: Rng): Promise<TrackedTask | undefined> {
    const key = `c${c}k${n}`;
    const t: TrackedTask = {
      key,
      client: c,
      createTitle: this.title(key),
      create: "pending",
      id: undefined,
      createVersion: 0,
      updates: [],
    };
    this.tasks.set(key, t);
    const r = await this.write(rng, "POST", "/api/v1/tasks", { title: t.createTitle });
    t.create = r.outcome;
    if (r.outcome === "acked") {
      const task = taskOf(r.body);
      if (!task || r.status !== 201) {
        this.unexpected.push(`create ${key}: ${r.status} ${JSON.stringify(r.body)}`);
        t.create = "unknown";
        return undefined;
      }
      t.id = task.id;
      t.createVersion = task.version;
      return t;
    }
    if (r.outcome === "refused") this.unexpected.push(`create ${key}: refused with ${r.status}`);
    return undefined;
  }

  private async update(t: TrackedTask, rng: Rng): Promise<void> {
    const u: TaskUpdate = { title: this.title(t.key), outcome: "unknown" };
    t.updates.push(u);
    const r = await this.write(rng, "PATCH", `/api/v1/tasks/${t.id}`, { title: u.title });
    u.outcome = r.outcome;
    if (r.outcome === "acked") {
      const task = taskOf(r.body);
      if (!task || task.title !== u.title) {
        this.unexpected.push(`update ${t.key}: ${r.status} ${JSON.stringify(r.body)}`);
        u.outcome = "unknown";
      } else u.version = task.version;
    }
    if (r.outcome === "refused") this.unexpected.push(`update ${t.key}: refused with ${r.status}`);
  }

  /** One logical write: attempts with one Idempotency-Key until a definitive answer. */
  private async write(
    rng: Rng,
    method: string,
    path: string,
    body: unknown,
  ): Promise<{ outcome: Outcome; status?: number; body?: unknown }> {
    const idem = `${this.o.tag}-op${++this.nextOp}`;
    const deadline = Date.now() + (this.o.opDeadlineMs ?? DEFAULT_OP_DEADLINE_MS);
    let previous: string | undefined;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      if (attempt > 0) await sleep(Math.min(1000, 50 * 2 ** attempt) + rng.int(50));
      const nodes = this.o.target.nodes();
      if (nodes.length === 0) continue;
      const others = nodes.filter((n) => n !== previous);
      const node = rng.pick(others.length > 0 ? others : nodes);
      previous = node;
      const sentAt = Date.now();
      const r: HttpOutcome = await httpRequest(this.o.target.url(node), method, path, {
        token: this.o.token,
        body,
        headers: { "idempotency-key": idem },
        timeoutMs: this.o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      });
      const doneAt = Date.now();
      if (r.kind === "failure") {
        this.attempts.push({ node, sentAt, doneAt, status: r.reason });
        continue;
      }
      const answeredBy = r.node ?? node;
      this.attempts.push({ node: answeredBy, sentAt, doneAt, status: r.status });
      if (r.status >= 200 && r.status < 300) {
        this.acks.push({ node: answeredBy, at: doneAt });
        return { outcome: "acked", status: r.status, body: r.body };
      }
      // 503/429: not applied; 504: unknown; both retried with the same key, which settles it.
      if (r.status === 503 || r.status === 504 || r.status === 429) continue;
      if (r.status >= 500) {
        this.unexpected.push(`${method} ${path} on ${answeredBy}: ${r.status} ${JSON.stringify(r.body)}`);
        continue;
      }
      return { outcome: "refused", status: r.status, body: r.body };
    }
    return { outcome: "unknown" };
  }
}

export interface TaskRow {
  id: string;
  title: string;
  version: number;
}

/** Every task row of one node's database, read directly (no API, no Raft). */
export async function readTasks(url: string): Promise<TaskRow[]> {
  const pool = createStatePool(url, { connectionLimit: 1 });
  try {
    const rows = await selectRows<TaskRow>(pool, "SELECT id, title, version FROM tasks ORDER BY id");
    return rows.map((r) => ({ id: r.id, title: r.title, version: Number(r.version) }));
  } finally {
    await pool.end().catch(() => {});
  }
}

/**
 * The problems of one node's tasks against what the clients were told: an acknowledged create
 * missing or not at its last acknowledged title and version, a write applied twice (two rows of
 * one create, a version ahead of the writes that could have produced it), a row no client wrote.
 * A write whose outcome stayed unknown may or may not be there, but at most once.
 */
export function verifyTasks(load: WriteLoad, rows: readonly TaskRow[], node: string): string[] {
  const problems: string[] = [];
  const byKey = new Map<string, TaskRow[]>();
  for (const row of rows) {
    const key = load.titleToKey.get(row.title);
    if (key === undefined) {
      problems.push(`${node}: task ${row.id} has a title no client wrote: ${row.title}`);
      continue;
    }
    byKey.set(key, [...(byKey.get(key) ?? []), row]);
  }
  for (const [key, found] of byKey) {
    if (found.length > 1) {
      problems.push(
        `${node}: ${key} has ${found.length} tasks (a create applied twice): ${JSON.stringify(found)}`,
      );
    }
  }
  for (const t of load.tasks.values()) {
    const found = byKey.get(t.key) ?? [];
    if (t.create === "acked") problems.push(...verifyAcked(t, found[0], node));
    else if (t.create === "refused" && found.length > 0) {
      problems.push(`${node}: ${t.key}'s create was refused, yet task ${found[0]!.id} exists`);
    } else if (found[0] && (found[0].title !== t.createTitle || found[0].version !== 1)) {
      problems.push(`${node}: ${t.key}'s unanswered create left ${JSON.stringify(found[0])}`);
    }
  }
  return problems;
}

function verifyAcked(t: TrackedTask, row: TaskRow | undefined, node: string): string[] {
  if (!row) return [`${node}: acknowledged create ${t.key} (${t.id}) is missing`];
  if (row.id !== t.id) return [`${node}: ${t.key} is task ${row.id}, the create answered ${t.id}`];
  const problems: string[] = [];
  // Walk the writes: an acknowledged version may be ahead of the last one by at most one per
  // write in between (the acknowledged one, and each unknown one that may have applied).
  let version = t.createVersion;
  let unknownSince = 0;
  let title = t.createTitle;
  let pending: string[] = [];
  for (const u of t.updates) {
    if (u.outcome === "acked") {
      const v = u.version ?? 0;
      if (v < version + 1 || v > version + 1 + unknownSince) {
        problems.push(
          `${node}: ${t.key} update to ${u.title} answered version ${v} after version ${version} with ${unknownSince} unknown writes between (applied twice?)`,
        );
      }
      version = v;
      unknownSince = 0;
      title = u.title;
      pending = [];
    } else if (u.outcome === "unknown") {
      unknownSince++;
      pending.push(u.title);
    }
  }
  const titles = [title, ...pending];
  if (!titles.includes(row.title)) {
    problems.push(`${node}: ${t.key} has title ${row.title}, expected ${titles.join(" or ")}`);
  }
  if (row.version < version || row.version > version + unknownSince) {
    problems.push(
      `${node}: ${t.key} is at version ${row.version}, expected ${version}${unknownSince ? `..${version + unknownSince}` : ""}`,
    );
  }
  return problems;
}
