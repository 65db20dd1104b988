import { randomBytes } from "node:crypto";
import { type Connection, createConnection } from "mysql2/promise";
import {
  isValidDatabaseName,
  MysqlUrlError,
  mysqlConnectionOptions,
  parseMysqlUrl,
  withDatabase,
} from "./url.js";

function checkName(rootUrl: string, name: string): void {
  if (!isValidDatabaseName(name)) {
    throw new MysqlUrlError(rootUrl, `bad database name "${name}" (1-64 characters of A-Z a-z 0-9 _ $ -)`);
  }
}

/** A connection to the server of `url` without selecting a database (which may not exist yet). */
export async function connectServer(url: string): Promise<Connection> {
  const u = parseMysqlUrl(url);
  const { database: _ignored, ...rest } = u;
  return createConnection({ ...mysqlConnectionOptions(rest), connectTimeout: 10_000 });
}

/** Creates database `name` if absent and returns the URL that reaches it. */
export async function createDatabase(rootUrl: string, name: string): Promise<string> {
  checkName(rootUrl, name);
  const conn = await connectServer(rootUrl);
  try {
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await conn.end().catch(() => {});
  }
  return withDatabase(rootUrl, name);
}

/** Drops database `name`; no error when it does not exist. */
export async function dropDatabase(rootUrl: string, name: string): Promise<void> {
  checkName(rootUrl, name);
  const conn = await connectServer(rootUrl);
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await conn.end().catch(() => {});
  }
}

export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates a database with a unique name (`<prefix>_<random>`) on the server of rootUrl, so
 * that concurrent test files never share tables. Call drop() when done (e.g. in t.after).
 */
export async function createScratchDatabase(rootUrl: string, prefix = "t"): Promise<ScratchDatabase> {
  const clean = prefix.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 40);
  const name = `${clean}_${process.pid}_${randomBytes(4).toString("hex")}`;
  const url = await createDatabase(rootUrl, name);
  return { name, url, drop: () => dropDatabase(rootUrl, name) };
}
