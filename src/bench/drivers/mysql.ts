/**
 * The MySQL-protocol baseline driver: the same create and read workloads taskraft serves, sent
 * straight to MariaDB (one server, or a Galera cluster) through mysql2.
 *
 * Params: `{ driver: "mysql", urls, workload, batch?, table?, seed?, spread?, timeoutMs? }`
 *   - `insert`: one task-sized row per autocommit INSERT (a prepared statement).
 *   - `insert-batched`: one multi-row INSERT of `batch` rows (default 16) per op. The worker counts
 *     statements, so its ops/s is statements/s; rows/s is ops/s × `rowsPerOp(params)`.
 *   - `read`: SELECT one row by primary key, the key drawn (seeded) from the ids the table held at
 *     setup (`SELECT id … LIMIT 100000`); seed the table first (systems/mariadb.ts prepareBenchTable).
 *
 * The pool (one connection per client) talks to urls[0] — or, with `spread: true`, one pool per URL
 * takes every n-th client. When a connection is lost (server killed, Galera node left the primary
 * component) that pool moves to the next URL, so the Galera failover trial sees the
 * client-observed gap a real client with a server list would. A failed op throws an
 * error whose `kind` is short ("ECONNREFUSED", "deadlock", "wsrep-not-ready", "timeout", ...).
 */
import { randomBytes } from "node:crypto";
import { createPool, type Pool, type QueryOptions } from "mysql2/promise";
import { mysqlConnectionOptions } from "../../db/url.js";
import type { Driver, DriverFactory, DriverParams } from "../load/types.js";

export type MysqlWorkload = "insert" | "insert-batched" | "read";

export interface MysqlDriverParams extends DriverParams {
  driver: "mysql";
  /** Server URLs with the database, e.g. `mysql://root@127.0.0.1:40001/bench`. */
  urls: string[];
  workload: MysqlWorkload;
  /** Rows per statement for `insert-batched` (default 16). */
  batch?: number;
  /** Default `bench_tasks`. */
  table?: string;
  /** Seed of the read workload's key choice (default 1). */
  seed?: number;
  /** Spread clients over all URLs (client c starts on urls[c % urls.length]), as behind a load balancer. */
  spread?: boolean;
  /** Client-side bound on one statement (default 10000 ms); on expiry the connection is dropped. */
  timeoutMs?: number;
}

export const DEFAULT_TABLE = "bench_tasks";
const DEFAULT_BATCH = 16;
// Default bound on one statement: a server that neither answers nor drops the connection (a
// Galera node waiting out a view change) must not hold a client forever.
const DEFAULT_OP_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 2_000;
// Bound on the id list the read workload keeps in memory.
const MAX_READ_IDS = 100_000;
const MAX_BATCH = 1000;
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Rows one op writes: what the orchestrator multiplies ops/s by to get rows/s. */
export function rowsPerOp(params: DriverParams): number {
  return params["workload"] === "insert-batched" ? batchOf(params) : params["workload"] === "read" ? 0 : 1;
}

function batchOf(params: DriverParams): number {
  const b = params["batch"] ?? DEFAULT_BATCH;
  if (typeof b !== "number" || !Number.isInteger(b) || b < 1 || b > MAX_BATCH) {
    throw new Error(`mysql driver: batch must be an integer from 1 to ${MAX_BATCH} (got ${String(b)})`);
  }
  return b;
}

export function tableOf(params: { table?: unknown }): string {
  const t = params.table ?? DEFAULT_TABLE;
  if (typeof t !== "string" || !TABLE_NAME.test(t))
    throw new Error(`mysql driver: bad table name ${String(t)}`);
  return t;
}

/** The bench table: the columns and board index of taskraft's own `tasks`, without foreign keys. */
export function benchTableSql(table: string): string {
  return `CREATE TABLE IF NOT EXISTS \`${table}\` (
    id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    project_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    title VARCHAR(200) NOT NULL,
    description TEXT NOT NULL,
    status TINYINT UNSIGNED NOT NULL,
    priority TINYINT UNSIGNED NOT NULL,
    position VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_by CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    version INT UNSIGNED NOT NULL,
    PRIMARY KEY (id),
    KEY idx_board (project_id, status, position, id)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`;
}

const COLUMNS =
  "(id, project_id, title, description, status, priority, position, created_by, created_at, updated_at, version)";
const ROW_PLACEHOLDERS = "(?, ?, ?, ?, 0, 1, ?, ?, NOW(3), NOW(3), 1)";

export function insertSql(table: string, rows: number): string {
  return `INSERT INTO \`${table}\` ${COLUMNS} VALUES ${Array(rows).fill(ROW_PLACEHOLDERS).join(", ")}`;
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const PROJECT_ID = "01BENCHPR0JECT000000000000";
const CREATOR_ID = "01BENCHVSER000000000000000";
const DESCRIPTION =
  "Benchmark task body: roughly the size of a short task description a person types into a board, " +
  "with enough text to make the row realistic.....";

/** A ULID-shaped id (time prefix, random tail): unique across workers and runs of one table. */
export function newId(): string {
  let t = Date.now();
  let head = "";
  for (let i = 0; i < 10; i++) {
    head = CROCKFORD[t % 32] + head;
    t = Math.floor(t / 32);
  }
  const r = randomBytes(16);
  let tail = "";
  for (let i = 0; i < 16; i++) tail += CROCKFORD[r[i]! % 32];
  return head + tail;
}

let rowCounter = 0;

/** Values of one row, in ROW_PLACEHOLDERS order: ~60-char title, ~150-byte description. */
export function rowValues(out: Array<string | number>): void {
  const n = rowCounter++;
  const id = newId();
  out.push(
    id,
    PROJECT_ID,
    `Benchmark task ${n.toString().padStart(9, "0")}: write the quarterly report`,
    DESCRIPTION,
    `a${n.toString(36).padStart(8, "0")}`,
    CREATOR_ID,
  );
}

/** A small seeded generator (xorshift32) so a run's key choices replay from its seed. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

/** A mysql2 failure as a short kind for the error breakdown. */
export function mysqlErrorKind(e: unknown): string {
  const o = (e ?? {}) as { code?: unknown; errno?: unknown; message?: unknown };
  if (o.code === "ER_LOCK_DEADLOCK" || o.errno === 1213) return "deadlock";
  // "WSREP has not yet prepared node for application use": a Galera node outside the primary component.
  if (o.errno === 1047) return "wsrep-not-ready";
  if (o.code === "PROTOCOL_SEQUENCE_TIMEOUT") return "timeout";
  if (o.code === "ER_DUP_ENTRY") return "duplicate";
  if (typeof o.code === "string" && o.code !== "") return o.code;
  if (typeof o.message === "string" && /pool is closed/i.test(o.message)) return "pool-closed";
  return "error";
}

/** Failures that say the server (not the statement) is the problem: the slot tries the next URL. */
const FAIL_OVER_ON = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "PROTOCOL_CONNECTION_LOST",
  "ER_SERVER_SHUTDOWN",
  "wsrep-not-ready",
  "timeout",
]);

export class MysqlOpError extends Error {
  override name = "MysqlOpError";
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

interface Target {
  pool: Pool;
  urlIndex: number;
}

class MysqlDriver implements Driver {
  /** One target per slot; client c uses slot c % slots.length. */
  private readonly slots: Target[];
  private readonly poolSize: number;
  private readonly query: QueryOptions;
  private readonly random: () => number;
  private closed = false;

  constructor(
    private readonly urls: string[],
    concurrency: number,
    spread: boolean,
    sql: string,
    private readonly rowsPerStatement: number,
    private readonly readIds: string[],
    seed: number,
    timeoutMs: number,
  ) {
    const slots = spread ? Math.min(urls.length, concurrency) : 1;
    this.poolSize = Math.ceil(concurrency / slots);
    this.slots = Array.from({ length: slots }, (_, i) => this.connect(i));
    this.query = { sql, timeout: timeoutMs };
    this.random = xorshift(seed);
  }

  private connect(urlIndex: number): Target {
    const pool = createPool({
      ...mysqlConnectionOptions(this.urls[urlIndex]!),
      connectionLimit: this.poolSize,
      maxIdle: this.poolSize,
      connectTimeout: CONNECT_TIMEOUT_MS,
      enableKeepAlive: true,
    });
    // An idle connection dropped by a killed server must not become an unhandled 'error'.
    pool.on("connection", (c) => c.on("error", () => {}));
    return { pool, urlIndex };
  }

  /** Moves a slot's clients to the next URL, once per failed target (not once per failed op). */
  private failOver(slot: number, from: Target): void {
    if (this.closed || this.slots[slot] !== from || this.urls.length < 2) return;
    this.slots[slot] = this.connect((from.urlIndex + 1) % this.urls.length);
    void from.pool.end().catch(() => {});
  }

  async op(client: number): Promise<void> {
    const slot = client % this.slots.length;
    const t = this.slots[slot]!;
    const params: Array<string | number> = [];
    if (this.readIds.length > 0) params.push(this.readIds[Math.floor(this.random() * this.readIds.length)]!);
    else for (let i = 0; i < this.rowsPerStatement; i++) rowValues(params);
    try {
      await t.pool.execute(this.query, params);
    } catch (e) {
      const kind = mysqlErrorKind(e);
      if (FAIL_OVER_ON.has(kind)) this.failOver(slot, t);
      throw new MysqlOpError(kind, `${this.urls[t.urlIndex]}: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((t) => t.pool.end().catch(() => {})));
  }
}

async function loadReadIds(url: string, table: string): Promise<string[]> {
  const pool = createPool({ ...mysqlConnectionOptions(url), connectionLimit: 1 });
  try {
    const [rows] = await pool.query(`SELECT id FROM \`${table}\` LIMIT ${MAX_READ_IDS}`);
    return (rows as Array<{ id: string }>).map((r) => r.id);
  } finally {
    await pool.end().catch(() => {});
  }
}

export const mysqlDriver: DriverFactory = async (raw, concurrency) => {
  const params = raw as MysqlDriverParams;
  const urls = params.urls;
  if (!Array.isArray(urls) || urls.length === 0 || urls.some((u) => typeof u !== "string")) {
    throw new Error("mysql driver: params.urls must be a non-empty array of mysql:// URLs");
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`mysql driver: concurrency must be a positive integer (got ${concurrency})`);
  }
  const table = tableOf(params);
  const seed = typeof params.seed === "number" ? params.seed : 1;
  const spread = params.spread === true;
  const timeoutMs = params.timeoutMs ?? DEFAULT_OP_TIMEOUT_MS;
  if (typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new Error(`mysql driver: timeoutMs must be a positive integer (got ${String(timeoutMs)})`);
  }
  switch (params.workload) {
    case "insert":
      return new MysqlDriver(urls, concurrency, spread, insertSql(table, 1), 1, [], seed, timeoutMs);
    case "insert-batched": {
      const batch = batchOf(params);
      return new MysqlDriver(urls, concurrency, spread, insertSql(table, batch), batch, [], seed, timeoutMs);
    }
    case "read": {
      const ids = await loadReadIds(urls[0]!, table);
      if (ids.length === 0) {
        throw new Error(`mysql driver: table ${table} at ${urls[0]} has no rows to read; seed it first`);
      }
      return new MysqlDriver(
        urls,
        concurrency,
        spread,
        `SELECT * FROM \`${table}\` WHERE id = ?`,
        0,
        ids,
        seed,
        timeoutMs,
      );
    }
    default:
      throw new Error(
        `mysql driver: unknown workload '${String(params.workload)}' (insert, insert-batched, read)`,
      );
  }
};
