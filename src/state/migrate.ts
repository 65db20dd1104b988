import type { Pool } from "mysql2/promise";
import { MIGRATIONS } from "./migrations/index.js";
import { selectOne, selectRows } from "./sql.js";

/** How long a node waits for another process migrating the same database. */
const LOCK_WAIT_SECONDS = 60;

/**
 * Brings the schema up to the newest migration. DDL commits implicitly in MySQL, so a migration is
 * not atomic: its statements are written to be re-runnable, and its row in schema_migrations is
 * written last, so an interrupted migration simply runs again. A named lock keeps two processes on
 * the same database from migrating at once. Returns the schema version.
 */
export async function migrate(pool: Pool): Promise<number> {
  const conn = await pool.getConnection();
  try {
    const db = await selectOne<{ name: string }>(conn, "SELECT DATABASE() AS name");
    const lockName = `taskraft_migrate_${db?.name ?? ""}`.slice(0, 64);
    const got = await selectOne<{ ok: number | null }>(conn, "SELECT GET_LOCK(?, ?) AS ok", [
      lockName,
      LOCK_WAIT_SECONDS,
    ]);
    if (got?.ok !== 1)
      throw new Error(`could not lock the database for migration within ${LOCK_WAIT_SECONDS} s`);
    try {
      await conn.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
          version INT UNSIGNED NOT NULL,
          name VARCHAR(100) NOT NULL,
          applied_at DATETIME(3) NOT NULL,
          PRIMARY KEY (version)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
      );
      const done = new Set(
        (await selectRows<{ version: number }>(conn, "SELECT version FROM schema_migrations")).map((r) =>
          Number(r.version),
        ),
      );
      let current = done.size === 0 ? 0 : Math.max(...done);
      const newest = MIGRATIONS.at(-1)?.version ?? 0;
      if (current > newest) {
        throw new Error(
          `the database schema is version ${current}, newer than this program knows (${newest}); upgrade taskraft`,
        );
      }
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        for (const sql of m.statements) await conn.query(sql);
        await conn.execute(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, UTC_TIMESTAMP(3))",
          [m.version, m.name],
        );
        current = m.version;
      }
      return current;
    } finally {
      await conn.query("SELECT RELEASE_LOCK(?)", [lockName]);
    }
  } finally {
    conn.release();
  }
}
