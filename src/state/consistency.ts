/**
 * The consistency check: the replicated tables of several nodes' databases, compared row by row at
 * one applied index. Each database is read inside a consistent-snapshot transaction, every table in
 * primary-key order, so the comparison is a streaming merge: memory stays bounded whatever the
 * table sizes, and every differing row is found by its primary key.
 */
import { createHash, type Hash } from "node:crypto";
import type { Pool, PoolConnection } from "mysql2/promise";
import { redactMysqlUrl } from "../db/index.js";
import { createStatePool, type Param, selectOne } from "./sql.js";
import { readTable } from "./table-reader.js";
import { REPLICATED_TABLES, type TableSpec } from "./tables.js";

export interface RowDifference {
  table: string;
  /** Primary key values, in primaryKey order. */
  key: Param[];
  /** The row in each database (null where it is missing), in the order of the URLs. */
  rows: (Record<string, Param> | null)[];
}

export interface TableReport {
  table: string;
  /** Per database, in the order of the URLs. */
  rowCounts: number[];
  sha256: string[];
  equal: boolean;
  differingRows: number;
}

export interface ConsistencyReport {
  appliedIndex: number;
  databases: string[];
  consistent: boolean;
  tables: TableReport[];
  /** The first `maxDifferences` differing rows over all tables. */
  differences: RowDifference[];
}

export interface ConsistencyOptions {
  urls: string[];
  /** How long to wait for all databases to reach the same applied index. */
  timeoutMs?: number;
  /** Require exactly this applied index (waiting for it); fail if a database is already past it. */
  atIndex?: number;
  pollMs?: number;
  maxDifferences?: number;
}

export class ConsistencyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConsistencyError";
  }
}

/** The canonical encoding hashed per row: JSON of the values in column order. */
function encodeRow(row: readonly Param[]): string {
  return `${JSON.stringify(row)}\n`;
}

/** Primary keys compared as the server orders them: numbers numerically, text (ascii/utf8mb4 binary) by UTF-8 bytes. */
function compareKeys(a: readonly Param[], b: readonly Param[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (typeof x === "number" && typeof y === "number") {
      if (x !== y) return x < y ? -1 : 1;
      continue;
    }
    const c = Buffer.compare(Buffer.from(String(x), "utf8"), Buffer.from(String(y), "utf8"));
    if (c !== 0) return c;
  }
  return 0;
}

function asRecord(spec: TableSpec, row: readonly Param[] | undefined): Record<string, Param> | null {
  if (!row) return null;
  return Object.fromEntries(spec.columns.map((c, i) => [c, row[i] ?? null]));
}

async function appliedIndex(db: Pool | PoolConnection): Promise<number> {
  const row = await selectOne<{ applied_index: number }>(
    db,
    "SELECT applied_index FROM raft_applied WHERE id = 1",
  );
  if (!row) throw new ConsistencyError("a database has no raft_applied row (not a taskraft database?)");
  return Number(row.applied_index);
}

/** Compares one table across databases; appends differences (up to the cap) and returns the report. */
async function compareTable(
  conns: PoolConnection[],
  spec: TableSpec,
  differences: RowDifference[],
  maxDifferences: number,
): Promise<TableReport> {
  const readers = conns.map((c) => readTable(c, spec)[Symbol.asyncIterator]());
  const hashes: Hash[] = conns.map(() => createHash("sha256"));
  const counts = conns.map(() => 0);
  const heads: (Param[] | undefined)[] = await Promise.all(
    readers.map(async (r) => (await r.next()).value ?? undefined),
  );
  const pkIdx = spec.primaryKey.map((c) => spec.columns.indexOf(c));
  const keyOf = (row: Param[]): Param[] => pkIdx.map((i) => row[i] ?? null);
  let differing = 0;
  for (;;) {
    let minKey: Param[] | undefined;
    for (const h of heads) if (h && (!minKey || compareKeys(keyOf(h), minKey) < 0)) minKey = keyOf(h);
    if (!minKey) break;
    const key = minKey;
    const here = heads.map((h) => (h && compareKeys(keyOf(h), key) === 0 ? h : undefined));
    const encoded = here.map((h) => (h ? encodeRow(h) : undefined));
    const same = encoded.every((e) => e !== undefined && e === encoded[0]);
    if (!same) {
      differing++;
      if (differences.length < maxDifferences) {
        differences.push({ table: spec.name, key, rows: here.map((h) => asRecord(spec, h)) });
      }
    }
    await Promise.all(
      here.map(async (h, i) => {
        if (!h) return;
        hashes[i]!.update(encoded[i]!);
        counts[i]!++;
        heads[i] = (await readers[i]!.next()).value ?? undefined;
      }),
    );
  }
  const sha256 = hashes.map((h) => h.digest("hex"));
  return { table: spec.name, rowCounts: counts, sha256, equal: differing === 0, differingRows: differing };
}

async function openSnapshots(pools: Pool[]): Promise<{ conns: PoolConnection[]; index: number[] }> {
  const conns: PoolConnection[] = [];
  try {
    for (const p of pools) conns.push(await p.getConnection());
    for (const c of conns) {
      await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      await c.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    }
    return { conns, index: await Promise.all(conns.map(appliedIndex)) };
  } catch (e) {
    await closeSnapshots(conns);
    throw e;
  }
}

async function closeSnapshots(conns: PoolConnection[]): Promise<void> {
  for (const c of conns) {
    await c.query("ROLLBACK").catch(() => {});
    c.release();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Waits until every database is at the same applied index (or at `atIndex`), then compares all
 * replicated tables at that index. Throws ConsistencyError when that index is not reached in time.
 */
export async function checkConsistency(opts: ConsistencyOptions): Promise<ConsistencyReport> {
  if (opts.urls.length === 0) throw new ConsistencyError("no database to check");
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const pollMs = opts.pollMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  const pools = opts.urls.map((u) => createStatePool(u, { connectionLimit: 1, queueLimit: 10 }));
  try {
    let last: number[] = [];
    for (;;) {
      last = await Promise.all(pools.map(appliedIndex));
      if (opts.atIndex !== undefined && last.some((i) => i > opts.atIndex!)) {
        throw new ConsistencyError(
          `a database is already past index ${opts.atIndex} (applied: ${last.join(", ")})`,
        );
      }
      const target = opts.atIndex ?? last[0];
      if (last.every((i) => i === target)) {
        // The indexes may move between this poll and the snapshots; compare only if they still agree.
        const snap = await openSnapshots(pools);
        if (snap.index.every((i) => i === target)) {
          try {
            return await compareAll(snap.conns, target!, opts);
          } finally {
            await closeSnapshots(snap.conns);
          }
        }
        await closeSnapshots(snap.conns);
      }
      if (Date.now() >= deadline) {
        throw new ConsistencyError(
          `the databases did not reach ${opts.atIndex !== undefined ? `index ${opts.atIndex}` : "the same applied index"} within ${timeoutMs} ms (applied: ${last.join(", ")})`,
        );
      }
      await sleep(pollMs);
    }
  } finally {
    await Promise.all(pools.map((p) => p.end().catch(() => {})));
  }
}

async function compareAll(
  conns: PoolConnection[],
  index: number,
  opts: ConsistencyOptions,
): Promise<ConsistencyReport> {
  const differences: RowDifference[] = [];
  const tables: TableReport[] = [];
  for (const spec of REPLICATED_TABLES) {
    tables.push(await compareTable(conns, spec, differences, opts.maxDifferences ?? 20));
  }
  return {
    appliedIndex: index,
    databases: opts.urls.map(redactMysqlUrl),
    consistent: tables.every((t) => t.equal),
    tables,
    differences,
  };
}

/** Per-table row counts and checksums of one database, read in one consistent snapshot. */
export async function tableChecksums(pool: Pool): Promise<Record<string, { rows: number; sha256: string }>> {
  const { conns } = await openSnapshots([pool]);
  try {
    const out: Record<string, { rows: number; sha256: string }> = {};
    for (const spec of REPLICATED_TABLES) {
      const r = await compareTable(conns, spec, [], 0);
      out[spec.name] = { rows: r.rowCounts[0]!, sha256: r.sha256[0]! };
    }
    return out;
  } finally {
    await closeSnapshots(conns);
  }
}
