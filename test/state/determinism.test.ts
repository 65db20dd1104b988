import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ApplyEntry } from "../../src/replica/state-machine.js";
import { checkConsistency } from "../../src/state/consistency.js";
import type { MysqlStateMachine } from "../../src/state/mysql-state-machine.js";
import { runStatement } from "../../src/state/sql.js";
import { checksums, type Scratch, scratchStateMachine } from "./helpers.js";
import { generateLog } from "./log-generator.js";

const SEED = 20_260_101;
const COUNT = 2000;

async function applyInBatches(
  sm: MysqlStateMachine,
  entries: ApplyEntry[],
  size: number,
): Promise<unknown[]> {
  const results: unknown[] = [];
  for (let i = 0; i < entries.length; i += size)
    results.push(...(await sm.apply(entries.slice(i, i + size))));
  return results;
}

describe("determinism", () => {
  const entries = generateLog(SEED, COUNT);
  const sizes = [1, 7, 256];
  const dbs: Scratch[] = [];
  const results: unknown[][] = [];

  before(async () => {
    for (const size of sizes) {
      const s = await scratchStateMachine(`det${size}`);
      dbs.push(s);
      results.push(await applyInBatches(s.sm, entries, size));
    }
  });
  after(async () => {
    for (const s of dbs) await s.close();
  });

  test(`a seeded log of ${COUNT} commands gives identical tables whatever the batch size (1, 7, 256)`, async () => {
    const report = await checkConsistency({ urls: dbs.map((d) => d.db.url), timeoutMs: 5000 });
    assert.equal(report.appliedIndex, COUNT);
    assert.deepEqual(report.differences, []);
    assert.ok(report.consistent);
    const tasks = report.tables.find((t) => t.table === "tasks");
    assert.ok(tasks && tasks.rowCounts[0]! > 50, "the log should leave a fair number of tasks");
  });

  test("and identical answers for every entry", () => {
    assert.deepEqual(results[1], results[0]);
    assert.deepEqual(results[2], results[0]);
    const statuses = new Set(results[0]!.map((r) => (r as { status?: number } | undefined)?.status));
    for (const status of [200, 201, 204, 400, 401, 403, 404, 409, 412])
      assert.ok(statuses.has(status), `no ${status} in the log`);
  });

  test("applying the whole log again changes nothing (retry safety)", async () => {
    const s = dbs[0]!;
    const before = await checksums(s.pool);
    const again = await applyInBatches(s.sm, entries, 97);
    assert.equal(again.length, COUNT);
    assert.deepEqual(await checksums(s.pool), before);
  });

  test("the check finds a difference and names the row", async () => {
    const s = dbs[2]!;
    await runStatement(s.pool, "UPDATE tasks SET title = CONCAT(title, '!') ORDER BY id LIMIT 1");
    await runStatement(s.pool, "DELETE FROM comments ORDER BY id LIMIT 1");
    const report = await checkConsistency({ urls: dbs.map((d) => d.db.url), timeoutMs: 5000 });
    assert.equal(report.consistent, false);
    assert.deepEqual(
      report.tables.filter((t) => !t.equal).map((t) => [t.table, t.differingRows]),
      [
        ["tasks", 1],
        ["comments", 1],
      ],
    );
    assert.equal(report.differences.length, 2);
    assert.equal(report.differences[1]!.rows[2], null);
    assert.ok(report.differences[1]!.rows[0]);
  });
});
