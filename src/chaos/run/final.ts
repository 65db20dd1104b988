/**
 * The end of a run, after every fault is healed: wait for the cluster to converge, read back the
 * final state of every key (linearizable reads), count the rows of every logical task, and compare
 * the nodes' databases with `taskraft check-consistency`.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createConnection } from "mysql2/promise";
import { mysqlConnectionOptions, repoRoot } from "../../db/index.js";
import type { FinalState } from "../invariants.js";
import type { ChaosCluster } from "./cluster.js";
import { httpRequest, sleep } from "./http.js";
import { taskOf, type Workload } from "./workload.js";

export interface FinalPhase {
  converged: boolean;
  leader: string | undefined;
  /** One entry per key whose final state is known; the value is null when no task exists. */
  finals: Map<string, FinalState>;
  /** Rows per logical task (tasks carrying any title the key's writes used). */
  rowCounts: { key: string; count: number }[];
  /** Keys whose create had no definitive answer, and what the final listing found for them. */
  resolved: { key: string; found: boolean }[];
  /** Problems that are violations by themselves (a final read that never succeeded, an unknown row). */
  violations: string[];
  consistency: { ok: boolean; output: string };
  dbDuplicates: string[];
}

interface ListedTask {
  id: string;
  title: string;
  version: number;
}

const CONVERGE_MS = 90_000;
const FINAL_READ_ATTEMPTS = 8;
/** Pages of 500: bounds the listing at 500 000 tasks, far above what a run creates. */
const MAX_PAGES = 1000;

export async function finalPhase(
  cluster: ChaosCluster,
  workload: Workload,
  token: string,
  tag: string,
  dir: string,
  say: (line: string) => void,
): Promise<FinalPhase> {
  const violations: string[] = [];
  let conv = await cluster.waitConverged(CONVERGE_MS);
  if (!conv) violations.push(`the cluster did not converge within ${CONVERGE_MS / 1000} s after healing`);
  // A write of the current term commits, or discards, whatever older terms left uncommitted, so no
  // timed-out client write can still appear after the reads below.
  const sentinel = await sentinelWrite(cluster, token, tag);
  if (!sentinel) violations.push("the sentinel write after healing did not succeed");
  conv = await cluster.waitConverged(CONVERGE_MS);
  if (!conv) violations.push("the nodes did not apply the sentinel write");
  say(`chaos: converged${conv ? ` (leader ${conv.leader})` : " NOT"}; reading final state`);

  const listed = await listAll(cluster, token);
  if (!listed) violations.push("listing all tasks failed");
  const byTitle = new Map<string, ListedTask[]>();
  for (const t of listed ?? []) {
    const l = byTitle.get(t.title);
    if (l) l.push(t);
    else byTitle.set(t.title, [t]);
  }

  const counts = new Map<string, number>();
  for (const t of listed ?? []) {
    if (t.title === `${tag}-sentinel`) continue;
    const key = workload.titleToKey.get(t.title);
    if (key === undefined) {
      violations.push(`task ${t.id} has title ${JSON.stringify(t.title)}, which no client wrote`);
      continue;
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }

  const finals = new Map<string, FinalState>();
  const resolved: { key: string; found: boolean }[] = [];
  const keys = workload.allKeys();
  const ids = new Map<string, string | undefined>();
  for (const k of keys) {
    let id = k.id;
    if (id === undefined) {
      // The create never answered: the listing says whether it took effect. A task created by it
      // still carries the create's title, since no client knew its id to change it.
      const found = byTitle.get(k.createTitle);
      if (found && found.length > 0) id = found[0]!.id;
      if (k.phase === "unresolved") resolved.push({ key: k.key, found: id !== undefined });
      else if (id !== undefined)
        violations.push(`key ${k.key}: its create was answered as not applied, but task ${id} exists`);
    }
    ids.set(k.key, id);
  }
  let next = 0;
  const reader = async () => {
    while (next < keys.length) {
      const k = keys[next++]!;
      const id = ids.get(k.key);
      if (id === undefined) {
        if (listed) finals.set(k.key, null);
        continue;
      }
      const state = await finalRead(cluster, token, id);
      if (state === undefined) violations.push(`key ${k.key}: the final read of task ${id} never succeeded`);
      else finals.set(k.key, state);
    }
  };
  await Promise.all(Array.from({ length: 6 }, reader));

  const dbDuplicates = await duplicateTitles(cluster);
  const consistency = await runCheckConsistency(cluster, dir);
  return {
    converged: conv !== undefined,
    leader: conv?.leader,
    finals,
    rowCounts: keys.map((k) => ({ key: k.key, count: counts.get(k.key) ?? 0 })),
    resolved,
    violations,
    consistency,
    dbDuplicates,
  };
}

async function sentinelWrite(cluster: ChaosCluster, token: string, tag: string): Promise<boolean> {
  for (let attempt = 0; attempt < 20; attempt++) {
    if (attempt > 0) await sleep(500);
    const leader = await cluster.leader();
    const r = await cluster.anyNode("POST", "/api/v1/tasks", {
      token,
      body: { title: `${tag}-sentinel` },
      timeoutMs: 8000,
      ...(leader ? { prefer: leader } : {}),
    });
    // No idempotency key needed: a duplicate sentinel is harmless and excluded from the counts.
    if (r?.status === 201) return true;
  }
  return false;
}

async function listAll(cluster: ChaosCluster, token: string): Promise<ListedTask[] | undefined> {
  const out: ListedTask[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const q = `/api/v1/tasks?limit=500&sort=createdAt${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    let body: { items: unknown[]; nextCursor: string | null } | undefined;
    for (let attempt = 0; attempt < 5 && !body; attempt++) {
      if (attempt > 0) await sleep(500);
      const r = await cluster.anyNode("GET", q, { token, timeoutMs: 15_000 });
      if (r?.status === 200) body = r.body as { items: unknown[]; nextCursor: string | null };
    }
    if (!body) return undefined;
    for (const item of body.items) {
      const t = taskOf({ task: item });
      if (t) out.push(t);
    }
    cursor = body.nextCursor;
    if (!cursor) return out;
  }
  return undefined;
}

async function finalRead(cluster: ChaosCluster, token: string, id: string): Promise<FinalState | undefined> {
  for (let attempt = 0; attempt < FINAL_READ_ATTEMPTS; attempt++) {
    if (attempt > 0) await sleep(300);
    const nodes = cluster.serving();
    if (nodes.length === 0) continue;
    const node = nodes[attempt % nodes.length]!;
    const r = await httpRequest(cluster.url(node), "GET", `/api/v1/tasks/${id}`, { token, timeoutMs: 8000 });
    if (r.kind !== "answer") continue;
    if (r.status === 404) return null;
    const t = r.status === 200 ? taskOf(r.body) : undefined;
    if (t) return { title: t.title, version: t.version };
  }
  return undefined;
}

/** Every title is written once, so two rows with one title in any node's database are a duplicate. */
async function duplicateTitles(cluster: ChaosCluster): Promise<string[]> {
  const out: string[] = [];
  for (const id of cluster.ids) {
    try {
      const conn = await createConnection({
        ...mysqlConnectionOptions(cluster.databaseUrl(id)),
        connectTimeout: 10_000,
      });
      try {
        const [rows] = await conn.query(
          "SELECT title, COUNT(*) AS c FROM tasks GROUP BY title HAVING COUNT(*) > 1 ORDER BY title LIMIT 20",
        );
        for (const r of rows as { title: string; c: number }[]) {
          out.push(`${id}: ${r.c} rows titled ${JSON.stringify(r.title)}`);
        }
      } finally {
        await conn.end().catch(() => {});
      }
    } catch (e) {
      out.push(`${id}: could not read its database (${(e as Error).message})`);
    }
  }
  return out;
}

/** `taskraft check-consistency` over every node's database, from the checkout (never a mutant). */
async function runCheckConsistency(
  cluster: ChaosCluster,
  dir: string,
): Promise<{ ok: boolean; output: string }> {
  const root = repoRoot();
  const urls = cluster.ids.map((id) => cluster.databaseUrl(id)).join(",");
  const args = [
    "--import",
    "tsx",
    join(root, "src", "cli.ts"),
    "check-consistency",
    "--mysql-url",
    urls,
    "--timeout-ms",
    "60000",
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: "" };
  delete env["NODE_TEST_CONTEXT"];
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    const add = (b: Buffer) => {
      if (text.length < 1_000_000) text += b.toString();
    };
    child.stdout.on("data", add);
    child.stderr.on("data", add);
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.once("close", (c) => {
      clearTimeout(timer);
      resolve({ code: c, output: text });
    });
  });
  writeFileSync(join(dir, "consistency.txt"), output);
  return { ok: code === 0, output };
}
