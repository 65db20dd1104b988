/**
 * The taskraft side of the load generator: the API.md §2 operations the benchmark measures, over
 * keep-alive HTTP connections (undici pools, one per node).
 *
 * Workloads:
 * - `create`: POST /tasks into one project.
 * - `update`: PATCH /tasks/{id} with `If-Match`; each client owns its own seeded tasks, so a 412
 *   only happens when an earlier answer was lost (the client then re-reads the version).
 * - `read` / `read-stale`: GET /tasks/{id} of a random seeded task, linearizable or
 *   `?consistency=stale`.
 * - `list`: GET /tasks?projectId=&status=todo&limit=50.
 * - `mixed`: 70 % linearizable reads, 20 % updates, 10 % creates.
 *
 * Client c talks to node c mod N, so followers forward writes and ReadIndex requests to the
 * leader, as behind a load balancer. With `failover`, a failed attempt (connection refused or
 * reset, 503, 504, a timeout) is retried on the next node with the same Idempotency-Key until
 * `failoverDeadlineMs`, which is what the failover trial measures.
 */
import { randomUUID } from "node:crypto";
import { Pool } from "undici";
import type { Driver, DriverFactory, DriverParams } from "../load/types.js";

export type TaskraftWorkload = "create" | "update" | "read" | "read-stale" | "list" | "mixed";

export interface TaskraftParams extends DriverParams {
  driver: "taskraft";
  urls: string[];
  token: string;
  workload: TaskraftWorkload;
  projectId: string;
  /** Seeded task ids for reads and updates. */
  taskIds: string[];
  failover?: boolean;
  /** Per-attempt bound in failover mode (default 1000 ms). */
  attemptTimeoutMs?: number;
  failoverDeadlineMs?: number;
}

class OpError extends Error {
  constructor(readonly kind: string) {
    super(kind);
  }
}

const DESCRIPTION =
  "Benchmark task: a description of about one hundred and fifty bytes, like a short note a user writes.";

function kindOf(e: unknown): string {
  if (e instanceof OpError) return e.kind;
  const o = e as { code?: unknown; name?: unknown };
  if (typeof o?.code === "string") return o.code;
  if (o?.name === "TimeoutError" || o?.name === "AbortError") return "timeout";
  return "error";
}

interface Answer {
  status: number;
  body: unknown;
}

export const taskraftDriver: DriverFactory = async (raw, concurrency) => {
  const p = raw as TaskraftParams;
  if (p.urls.length === 0) throw new Error("taskraft driver: no urls");
  const perNode = Math.max(1, Math.ceil(concurrency / p.urls.length));
  const pools = p.urls.map(
    (u) =>
      new Pool(u, {
        connections: p.failover ? concurrency : perNode,
        pipelining: 1,
        keepAliveTimeout: 30_000,
      }),
  );
  const auth = `Bearer ${p.token}`;
  const attemptMs = p.attemptTimeoutMs ?? (p.failover ? 1000 : 15_000);
  const deadlineMs = p.failoverDeadlineMs ?? 20_000;
  let seq = 0;
  // Keys must be unique across runs: the load generator process (and so its pid) outlives a run,
  // and a reused key would be answered from the idempotency table without creating anything.
  const run = randomUUID().slice(0, 13);
  // Each client's own tasks for updates, with the version it last saw.
  const owned = Array.from({ length: concurrency }, (_, c) =>
    p.taskIds.filter((_, i) => i % concurrency === c).map((id) => ({ id, version: 0 })),
  );
  const cursor = new Array<number>(concurrency).fill(0);
  const home = (c: number) => c % pools.length;

  async function call(
    pool: Pool,
    method: "GET" | "POST" | "PATCH",
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<Answer> {
    const res = await pool.request({
      method,
      path,
      headers: {
        authorization: auth,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(attemptMs),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text === "" ? undefined : JSON.parse(text) };
  }

  /** One request; in failover mode retried on the next nodes (same key) until the deadline. */
  async function send(
    c: number,
    method: "GET" | "POST" | "PATCH",
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<Answer> {
    if (!p.failover) return call(pools[home(c)]!, method, path, body, headers);
    const until = performance.now() + deadlineMs;
    let node = home(c);
    let last = "error";
    while (performance.now() < until) {
      try {
        const a = await call(pools[node]!, method, path, body, headers);
        if (a.status !== 503 && a.status !== 504) return a;
        last = String(a.status);
      } catch (e) {
        last = kindOf(e);
      }
      node = (node + 1) % pools.length;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new OpError(`deadline(${last})`);
  }

  function expect(a: Answer, status: number): void {
    if (a.status !== status) throw new OpError(String(a.status));
  }

  async function create(c: number): Promise<void> {
    const n = seq++;
    const a = await send(
      c,
      "POST",
      "/api/v1/tasks",
      { projectId: p.projectId, title: `bench task ${c}-${n}`, description: DESCRIPTION },
      { "idempotency-key": `b-${run}-${c}-${n}` },
    );
    expect(a, 201);
  }

  async function update(c: number): Promise<void> {
    const mine = owned[c]!;
    if (mine.length === 0) throw new OpError("no-owned-task");
    const k = cursor[c] ?? 0;
    cursor[c] = k + 1;
    const t = mine[k % mine.length]!;
    if (t.version === 0) {
      const r = await send(c, "GET", `/api/v1/tasks/${t.id}`, undefined, {});
      expect(r, 200);
      t.version = (r.body as { task: { version: number } }).task.version;
    }
    const n = seq++;
    const a = await send(
      c,
      "PATCH",
      `/api/v1/tasks/${t.id}`,
      { title: `bench update ${c}-${n}` },
      { "if-match": `"${t.version}"`, "idempotency-key": `u-${run}-${c}-${n}` },
    );
    if (a.status === 412) {
      t.version = 0;
      throw new OpError("412");
    }
    expect(a, 200);
    t.version = (a.body as { task: { version: number } }).task.version;
  }

  async function read(c: number, stale: boolean): Promise<void> {
    const id = p.taskIds[Math.floor(Math.random() * p.taskIds.length)]!;
    const a = await send(c, "GET", `/api/v1/tasks/${id}${stale ? "?consistency=stale" : ""}`, undefined, {});
    expect(a, 200);
  }

  async function list(c: number): Promise<void> {
    const a = await send(
      c,
      "GET",
      `/api/v1/tasks?projectId=${p.projectId}&status=todo&limit=50`,
      undefined,
      {},
    );
    expect(a, 200);
    const items = (a.body as { items: unknown[] }).items;
    if (items.length === 0) throw new OpError("empty-list");
  }

  const ops: Record<TaskraftWorkload, (c: number) => Promise<void>> = {
    create,
    update,
    read: (c) => read(c, false),
    "read-stale": (c) => read(c, true),
    list,
    mixed: (c) => {
      const x = Math.random();
      if (x < 0.7) return read(c, false);
      if (x < 0.9) return update(c);
      return create(c);
    },
  };
  const op = ops[p.workload];
  if (!op) throw new Error(`taskraft driver: unknown workload '${p.workload}'`);

  const driver: Driver = {
    async op(c) {
      try {
        await op(c);
      } catch (e) {
        throw e instanceof OpError ? e : new OpError(kindOf(e));
      }
    },
    async close() {
      await Promise.all(pools.map((x) => x.close()));
    },
  };
  return driver;
};
