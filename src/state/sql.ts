/**
 * MySQL access for the state machine: one pool per database with the session settings every
 * connection needs, and thin typed helpers. All values go through placeholders; the only SQL built
 * from variables is made of identifiers from REPLICATED_TABLES and integers this code computed.
 */
import {
  createPool,
  type Pool,
  type PoolOptions,
  type ResultSetHeader,
  type RowDataPacket,
} from "mysql2/promise";
import { createDatabase, mysqlConnectionOptions, parseMysqlUrl } from "../db/index.js";

export type Param = string | number | null;

/** A pool or a connection: whatever can run a statement. */
export interface Queryable {
  execute: Pool["execute"];
  query: Pool["query"];
}

/**
 * Session settings that make results independent of server defaults: strict mode (a value that
 * does not fit is an error on every node instead of being silently truncated), UTC, and room for
 * the GROUP_CONCAT of a task's label ids.
 */
const SESSION_SETUP = [
  "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
  "SET SESSION time_zone = '+00:00'",
  "SET SESSION group_concat_max_len = 1048576",
];

export interface PoolSettings {
  /** Connections at most; the applier uses one, the rest serve reads and snapshots. */
  connectionLimit?: number;
  /** Requests waiting for a connection at most, so a read storm cannot queue without bound. */
  queueLimit?: number;
}

/** Opens a pool on the database of `url`, creating the database first when it does not exist. */
export async function openPool(url: string, settings: PoolSettings = {}): Promise<Pool> {
  const parsed = parseMysqlUrl(url);
  if (parsed.database === undefined) throw new Error("the MySQL URL must name a database");
  await createDatabase(url, parsed.database);
  return createStatePool(url, settings);
}

/** A pool on an existing database (no CREATE DATABASE). */
export function createStatePool(url: string, settings: PoolSettings = {}): Pool {
  const options: PoolOptions = {
    ...mysqlConnectionOptions(url),
    charset: "utf8mb4_unicode_ci",
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    connectionLimit: settings.connectionLimit ?? 8,
    maxIdle: settings.connectionLimit ?? 8,
    queueLimit: settings.queueLimit ?? 1000,
    waitForConnections: true,
    enableKeepAlive: true,
    connectTimeout: 10_000,
  };
  const pool = createPool(options);
  // The core pool hands out callback-style connections; commands on one connection run in order,
  // so these settings are in place before the connection's first real statement.
  pool.on("connection", (conn) => {
    const core = conn as unknown as { query(sql: string, cb: (err: Error | null) => void): void };
    for (const sql of SESSION_SETUP) core.query(sql, () => {});
  });
  return pool;
}

export async function selectRows<T>(db: Queryable, sql: string, params: readonly Param[] = []): Promise<T[]> {
  const [result] = await db.execute<RowDataPacket[]>(sql, params as Param[]);
  return result as unknown as T[];
}

export async function selectOne<T>(
  db: Queryable,
  sql: string,
  params: readonly Param[] = [],
): Promise<T | undefined> {
  const list = await selectRows<T>(db, sql, params);
  return list[0];
}

/** Runs a write; returns the number of affected rows. */
export async function runStatement(
  db: Queryable,
  sql: string,
  params: readonly Param[] = [],
): Promise<number> {
  const [result] = await db.execute<ResultSetHeader>(sql, params as Param[]);
  return result.affectedRows;
}

/**
 * Runs a statement through the text protocol (client-side placeholder substitution). For statements
 * whose shape varies with their size — multi-row INSERTs, IN lists — so they do not fill the
 * server's prepared-statement cache.
 */
export async function runText(db: Queryable, sql: string, params: readonly Param[] = []): Promise<number> {
  const [result] = await db.query<ResultSetHeader>(sql, params as Param[]);
  return result.affectedRows;
}

export async function selectText<T>(db: Queryable, sql: string, params: readonly Param[] = []): Promise<T[]> {
  const [result] = await db.query<RowDataPacket[]>(sql, params as Param[]);
  return result as unknown as T[];
}

export function placeholders(n: number): string {
  return new Array(n).fill("?").join(", ");
}

/** A LIMIT value: integers only, never text from outside. */
export function limitClause(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad LIMIT ${n}`);
  return `LIMIT ${n}`;
}

export interface SortColumn {
  /** A column expression written in this code, e.g. `t.position`. */
  expr: string;
  desc: boolean;
}

/**
 * The condition "row comes after `values` in the order `columns`" for keyset pagination, written
 * as nested OR/AND rather than a row constructor so both servers can use an index range on the
 * leading column.
 */
export function keysetAfter(
  columns: readonly SortColumn[],
  values: readonly Param[],
): { sql: string; params: Param[] } {
  const params: Param[] = [];
  const build = (i: number): string => {
    const c = columns[i]!;
    const v = values[i]!;
    const op = c.desc ? "<" : ">";
    params.push(v);
    if (i === columns.length - 1) return `${c.expr} ${op} ?`;
    const strict = `${c.expr} ${op} ?`;
    params.push(v);
    return `(${strict} OR (${c.expr} = ? AND ${build(i + 1)}))`;
  };
  const sql = build(0);
  return { sql, params };
}

/** Identifier quoting for names from REPLICATED_TABLES (never from input). */
export function quoteId(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected identifier ${name}`);
  return `\`${name}\``;
}

/**
 * MySQL errors that depend only on the data and the statement, so every node hits them at the
 * same entry: applying turns them into a refusal. Anything else (lost connection, deadlock,
 * server gone) is thrown so the batch is retried.
 */
const DETERMINISTIC_ERRNOS = new Set([
  1048, // ER_BAD_NULL_ERROR
  1062, // ER_DUP_ENTRY
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1292, // ER_TRUNCATED_WRONG_VALUE
  1300, // ER_INVALID_CHARACTER_STRING
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
  1406, // ER_DATA_TOO_LONG
  1451, // ER_ROW_IS_REFERENCED_2
  1452, // ER_NO_REFERENCED_ROW_2
]);

export function isDeterministicSqlError(e: unknown): e is Error & { errno: number } {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as { errno?: unknown }).errno === "number" &&
    DETERMINISTIC_ERRNOS.has((e as { errno: number }).errno) &&
    typeof (e as { sqlState?: unknown }).sqlState === "string"
  );
}

/** Any error reported by the MySQL server or driver (as opposed to a bug in this code). */
export function isSqlError(e: unknown): boolean {
  return (
    typeof e === "object" &&
    e !== null &&
    (typeof (e as { sqlState?: unknown }).sqlState === "string" ||
      typeof (e as { code?: unknown }).code === "string")
  );
}

export const ER_DUP_ENTRY = 1062;
