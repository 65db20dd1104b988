/**
 * taskraft as a benchmark subject: N real `taskraft node` processes on 127.0.0.1, each with its
 * own private MariaDB (fsync on: innodb_flush_log_at_trx_commit=1, and the Raft WAL fsyncs), the
 * same cluster launcher the chaos run uses. Seeds a user, a project and tasks for the read and
 * update workloads, and reads the batching counters from /metrics.
 */
import { fileURLToPath } from "node:url";
import { createConnection } from "mysql2/promise";
import { ChaosCluster } from "../../chaos/run/cluster.js";
import { httpRequest, sleep } from "../../chaos/run/http.js";
import { serverPaths } from "../../db/index.js";
import { mysqlConnectionOptions, parseMysqlUrl } from "../../db/url.js";
import { type BenchSystem, SystemUnavailable } from "../load/types.js";
import { readPidFile } from "./mariadb.js";

const CODE_ROOT = fileURLToPath(new URL("../../..", import.meta.url));
/** Same size as the baselines' servers, so nobody wins by cache size. */
export const BENCH_MYSQL_ARGS = ["--innodb-buffer-pool-size=256M", "--max-connections=400"];

export interface TaskraftSubject extends BenchSystem {
  readonly urls: string[];
  readonly token: string;
  readonly projectId: string;
  /** Creates `count` tasks (64 at a time) and returns their ids. */
  seedTasks(count: number): Promise<string[]>;
  /** Summed batching counters of every node (histogram sums and counts from /metrics). */
  batching(): Promise<BatchingCounters>;
  leaderId(): Promise<string | undefined>;
  /** Tasks in every node's database once all have applied the same index (they must agree). */
  taskCount(): Promise<number>;
}

/** Cumulative counters; the difference of two readings describes the window between them. */
export interface BatchingCounters {
  /** On the leader: entries made durable and the fsyncs that did it. */
  leaderEntriesSynced: number;
  leaderSyncs: number;
  /** Over all nodes: entries applied and the MySQL transactions that did it. */
  appliedEntries: number;
  applyTransactions: number;
}

export interface TaskraftOptions {
  nodes: number;
  runDir: string;
  log: (line: string) => void;
}

/** `name_sum` and `name_count` of a Prometheus histogram in a /metrics text. */
export function histogramTotals(text: string, name: string): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}_sum`)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    else if (line.startsWith(`${name}_count`)) count += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return { sum, count };
}

export async function startTaskraft(opts: TaskraftOptions): Promise<TaskraftSubject> {
  const t0 = Date.now();
  let cluster: ChaosCluster;
  try {
    cluster = await ChaosCluster.create({
      size: opts.nodes,
      dir: opts.runDir,
      codeRoot: CODE_ROOT,
      secret: "bench-secret",
      logLevel: "warn",
      now: () => Date.now() - t0,
      log: opts.log,
      mysqlArgs: BENCH_MYSQL_ARGS,
      chaos: false,
    });
  } catch (e) {
    throw new SystemUnavailable((e as Error).message);
  }
  for (const id of cluster.ids) cluster.spawn(id);
  const converged = await cluster.waitConverged(60_000);
  if (!converged) {
    await cluster.teardown(true);
    throw new SystemUnavailable(`taskraft-${opts.nodes}: no leader within 60 s (logs under ${opts.runDir})`);
  }
  const first = cluster.url(cluster.ids[0]!);
  const signup = await httpRequest(first, "POST", "/api/v1/auth/signup", {
    body: { username: "bench", password: "bench-password" },
    timeoutMs: 15_000,
  });
  if (signup.kind !== "answer" || signup.status !== 201) {
    await cluster.teardown(true);
    throw new SystemUnavailable(`taskraft-${opts.nodes}: signup failed (${JSON.stringify(signup)})`);
  }
  const token = (signup.body as { token: string }).token;
  const project = await httpRequest(first, "POST", "/api/v1/projects", {
    token,
    body: { name: "bench" },
    timeoutMs: 15_000,
  });
  if (project.kind !== "answer" || project.status !== 201) {
    await cluster.teardown(true);
    throw new SystemUnavailable(`taskraft-${opts.nodes}: project create failed`);
  }
  const projectId = (project.body as { project: { id: string } }).project.id;
  const urls = cluster.ids.map((id) => cluster.url(id));
  let killed: string | undefined;

  const leaderId = () => cluster.leader();

  const subject: TaskraftSubject = {
    name: `taskraft-${opts.nodes}`,
    urls,
    token,
    projectId,
    leaderId,
    async taskCount() {
      if (!(await cluster.waitConverged(60_000)))
        throw new Error("the nodes did not converge to count tasks");
      const counts = await Promise.all(
        cluster.ids.map(async (id) => {
          const conn = await createConnection(mysqlConnectionOptions(parseMysqlUrl(cluster.databaseUrl(id))));
          try {
            const [rows] = await conn.query("SELECT COUNT(*) AS n FROM tasks");
            return Number((rows as { n: number }[])[0]?.n);
          } finally {
            await conn.end();
          }
        }),
      );
      if (new Set(counts).size !== 1)
        throw new Error(`the nodes hold different task counts: ${counts.join(", ")}`);
      return counts[0]!;
    },
    pids() {
      const out: Record<string, number> = {};
      for (const id of cluster.ids) {
        const pid = cluster.node(id).proc?.pid;
        if (pid !== undefined && cluster.running(id)) out[id] = pid;
        // Each node's own MariaDB: the apply work is shared between the node and its server.
        const dbPid = readPidFile(serverPaths(cluster.node(id).dbDir).pidFile);
        if (dbPid !== undefined) out[`${id}-mysql`] = dbPid;
      }
      return out;
    },
    async seedTasks(count) {
      const ids: string[] = [];
      let next = 0;
      const worker = async (w: number) => {
        while (next < count) {
          const i = next++;
          for (let attempt = 0; ; attempt++) {
            const r = await httpRequest(urls[w % urls.length]!, "POST", "/api/v1/tasks", {
              token,
              body: { projectId, title: `seed ${i}`, description: "seeded for the read workloads" },
              headers: { "idempotency-key": `seed-${i}` },
              timeoutMs: 15_000,
            });
            if (r.kind === "answer" && r.status === 201) {
              ids.push((r.body as { task: { id: string } }).task.id);
              break;
            }
            if (attempt >= 5) throw new Error(`seeding task ${i} failed: ${JSON.stringify(r)}`);
            await sleep(200);
          }
        }
      };
      await Promise.all(Array.from({ length: 32 }, (_, w) => worker(w)));
      return ids;
    },
    async batching() {
      const leader = await leaderId();
      const c: BatchingCounters = {
        leaderEntriesSynced: 0,
        leaderSyncs: 0,
        appliedEntries: 0,
        applyTransactions: 0,
      };
      for (const id of cluster.ids) {
        if (!cluster.running(id)) continue;
        let text: string;
        try {
          text = await (
            await fetch(`${cluster.url(id)}/metrics`, { signal: AbortSignal.timeout(5000) })
          ).text();
        } catch {
          continue;
        }
        const apply = histogramTotals(text, "taskraft_apply_batch_entries");
        c.appliedEntries += apply.sum;
        c.applyTransactions += apply.count;
        if (id === leader) {
          const sync = histogramTotals(text, "taskraft_raft_entries_per_sync");
          c.leaderEntriesSynced += sync.sum;
          c.leaderSyncs += sync.count;
        }
      }
      return c;
    },
    async killLeader() {
      const leader = await leaderId();
      if (!leader) throw new Error("no leader to kill");
      const atEpochMs = Date.now();
      await cluster.kill(leader);
      killed = leader;
      return { killed: leader, atEpochMs };
    },
    async waitNewLeader(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        for (const id of cluster.serving()) {
          const v = await cluster.readyz(id, 500);
          if (v?.role === "leader" && v.nodeId !== killed) return Date.now();
        }
        await sleep(10);
      }
      throw new Error(`no new leader within ${timeoutMs} ms`);
    },
    async restartKilled() {
      if (!killed) return;
      cluster.spawn(killed);
      killed = undefined;
      if (!(await cluster.waitConverged(60_000)))
        throw new Error("the cluster did not converge after the restart");
    },
    async stop() {
      await cluster.teardown(false);
    },
  };
  return subject;
}
