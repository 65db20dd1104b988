import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { migrate } from "../../src/state/migrate.js";
import { MIGRATIONS } from "../../src/state/migrations/index.js";
import { selectRows } from "../../src/state/sql.js";
import { REPLICATED_TABLES } from "../../src/state/tables.js";
import { type Scratch, scratchStateMachine } from "./helpers.js";

describe("schema", () => {
  let s: Scratch;
  before(async () => {
    s = await scratchStateMachine("schema");
  });
  after(async () => {
    await s.close();
  });

  test("REPLICATED_TABLES lists every column and primary key of the live schema", async () => {
    const tables = await selectRows<{ name: string; engine: string; collation: string }>(
      s.pool,
      `SELECT TABLE_NAME AS name, ENGINE AS engine, TABLE_COLLATION AS collation FROM information_schema.TABLES
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> 'schema_migrations' ORDER BY TABLE_NAME`,
    );
    assert.deepEqual(tables.map((t) => t.name).sort(), REPLICATED_TABLES.map((t) => t.name).sort());
    for (const t of tables) {
      assert.equal(t.engine, "InnoDB", t.name);
      assert.match(t.collation, /^utf8mb4_/, t.name);
    }
    for (const spec of REPLICATED_TABLES) {
      const cols = await selectRows<{ name: string }>(
        s.pool,
        `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
        [spec.name],
      );
      assert.deepEqual(
        cols.map((c) => c.name),
        spec.columns,
        spec.name,
      );
      const pk = await selectRows<{ name: string }>(
        s.pool,
        `SELECT COLUMN_NAME AS name FROM information_schema.STATISTICS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`,
        [spec.name],
      );
      assert.deepEqual(
        pk.map((c) => c.name),
        spec.primaryKey,
        spec.name,
      );
    }
  });

  test("foreign keys cascade from projects and tasks", async () => {
    const fks = await selectRows<{ table: string; column: string; ref: string; rule: string }>(
      s.pool,
      `SELECT k.TABLE_NAME AS \`table\`, k.COLUMN_NAME AS \`column\`, k.REFERENCED_TABLE_NAME AS ref, r.DELETE_RULE AS rule
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.REFERENTIAL_CONSTRAINTS r
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
       WHERE k.TABLE_SCHEMA = DATABASE() ORDER BY k.TABLE_NAME, k.COLUMN_NAME`,
    );
    const rule = (table: string, column: string) =>
      fks.find((f) => f.table === table && f.column === column)?.rule;
    assert.equal(rule("tasks", "project_id"), "CASCADE");
    assert.equal(rule("labels", "project_id"), "CASCADE");
    assert.equal(rule("comments", "task_id"), "CASCADE");
    assert.equal(rule("task_labels", "label_id"), "CASCADE");
    assert.equal(rule("tasks", "assignee_id"), "SET NULL");
    assert.equal(rule("users", "inbox_project_id"), "SET NULL");
  });

  test("migrations are recorded once and running them again changes nothing", async () => {
    assert.equal(await migrate(s.pool), MIGRATIONS.at(-1)!.version);
    await s.sm.open();
    const rows = await selectRows<{ version: number }>(s.pool, "SELECT version FROM schema_migrations");
    assert.deepEqual(
      rows.map((r) => Number(r.version)),
      MIGRATIONS.map((m) => m.version),
    );
    const applied = await selectRows<{ n: number }>(s.pool, "SELECT COUNT(*) AS n FROM raft_applied");
    assert.equal(Number(applied[0]!.n), 1);
  });
});
