/**
 * Baseline (a): one private MariaDB server, the ceiling a replicated system is compared against.
 * It is started and stopped by src/db (the same binary and settings taskraft's own private
 * servers use: InnoDB with innodb_flush_log_at_trx_commit=1, so every commit is fsynced, no
 * binlog). A single server has no leader: killLeader, waitNewLeader and restartKilled reject
 * with "not applicable".
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createConnection } from "mysql2/promise";
import { createDatabase } from "../../db/helpers.js";
import { serverPaths, startServer, stopServer } from "../../db/server.js";
import { mysqlConnectionOptions } from "../../db/url.js";
import { freePorts } from "../../dev/ports.js";
import { benchTableSql, DEFAULT_TABLE, insertSql, rowValues, tableOf } from "../drivers/mysql.js";
import { type BenchSystem, SystemUnavailable } from "../load/types.js";

export const BENCH_DATABASE = "bench";

export interface BaselineOptions {
  log?: (line: string) => void;
  /** Leave the data dirs in runDir after stop (default: remove them). */
  keepData?: boolean;
}

export function readPidFile(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function notApplicable(what: string): Promise<never> {
  return Promise.reject(new Error(`not applicable: mariadb-1 is a single server, it has no ${what}`));
}

export async function startMariadbBaseline(
  runDir: string,
  opts: BaselineOptions = {},
): Promise<BenchSystem & { url: string }> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dataDir = join(runDir, "mariadb");
  const [port] = await freePorts(1);
  let rootUrl: string;
  try {
    rootUrl = await startServer({ dataDir, port: port!, log, timeoutMs: 60_000 });
  } catch (e) {
    throw new SystemUnavailable(`mariadb-1: ${(e as Error).message}`);
  }
  const url = await createDatabase(rootUrl, BENCH_DATABASE);
  const pidFile = serverPaths(dataDir).pidFile;
  return {
    name: "mariadb-1",
    url,
    pids: (): Record<string, number> => {
      const pid = readPidFile(pidFile);
      return pid === undefined ? {} : { mariadb: pid };
    },
    killLeader: () => notApplicable("leader to kill"),
    waitNewLeader: () => notApplicable("leader election"),
    restartKilled: () => notApplicable("killed member"),
    stop: async () => {
      await stopServer({ dataDir, log: () => {} });
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// Bound on one seeding statement (rows × ~450 bytes stays far below max_allowed_packet).
const SEED_ROWS_PER_STATEMENT = 1000;

/**
 * Creates the bench table at `url` (a URL with the database) and tops it up to `seedRows` rows
 * for the read workload, with multi-row inserts. Returns the number of rows it now holds.
 */
export async function prepareBenchTable(
  url: string,
  opts: { table?: string; seedRows: number },
): Promise<number> {
  const table = tableOf({ table: opts.table ?? DEFAULT_TABLE });
  const conn = await createConnection({ ...mysqlConnectionOptions(url), connectTimeout: 10_000 });
  try {
    await conn.query(benchTableSql(table));
    const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM \`${table}\``);
    let have = Number((rows as Array<{ n: number | string }>)[0]?.n ?? 0);
    while (have < opts.seedRows) {
      const n = Math.min(SEED_ROWS_PER_STATEMENT, opts.seedRows - have);
      const values: Array<string | number> = [];
      for (let i = 0; i < n; i++) rowValues(values);
      await conn.query(insertSql(table, n), values);
      have += n;
    }
    return have;
  } finally {
    await conn.end().catch(() => {});
  }
}
