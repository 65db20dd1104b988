import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { checkConsistencyCommand } from "../../src/cli/check-consistency-command.js";
import { CliError } from "../../src/cli/command.js";
import { runStatement } from "../../src/state/sql.js";
import { type Scratch, scratchStateMachine } from "./helpers.js";
import { generateLog } from "./log-generator.js";

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  };
  try {
    const code = await checkConsistencyCommand.run(argv);
    return { code, out: lines.join("\n") };
  } finally {
    console.log = original;
  }
}

describe("taskraft check-consistency", () => {
  const dbs: Scratch[] = [];
  before(async () => {
    const entries = generateLog(4242, 400);
    for (const name of ["cli_a", "cli_b"]) {
      const s = await scratchStateMachine(name);
      await s.sm.apply(entries);
      dbs.push(s);
    }
  });
  after(async () => {
    for (const s of dbs) await s.close();
  });

  test("equal databases: exit 0, a line per table", async () => {
    const r = await run(["--mysql-url", dbs.map((d) => d.db.url).join(","), "--timeout-ms", "5000"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /applied index 400 on 2 database/);
    assert.match(r.out, /^tasks\s+\d+\s+[0-9a-f]{16}\s+ok$/m);
    assert.match(r.out, /\nconsistent$/);
  });

  test("--at-index waits for exactly that index; past it is an error", async () => {
    const ok = await run(["--mysql-url", dbs.map((d) => d.db.url).join(","), "--at-index", "400", "--json"]);
    assert.equal(ok.code, 0);
    assert.equal(JSON.parse(ok.out).appliedIndex, 400);
    await assert.rejects(
      run(["--mysql-url", dbs.map((d) => d.db.url).join(","), "--at-index", "399"]),
      (e: unknown) => e instanceof CliError && e.exitCode === 1 && /past index 399/.test(e.message),
    );
    await assert.rejects(
      run(["--mysql-url", dbs.map((d) => d.db.url).join(","), "--at-index", "401", "--timeout-ms", "300"]),
      (e: unknown) => e instanceof CliError && /did not reach index 401/.test(e.message),
    );
  });

  test("a difference: exit 1, the row named by its primary key", async () => {
    await runStatement(dbs[1]!.pool, "UPDATE projects SET name = 'tampered' ORDER BY id LIMIT 1");
    const r = await run(["--mysql-url", dbs.map((d) => d.db.url).join(",")]);
    assert.equal(r.code, 1);
    assert.match(r.out, /^projects\s.*DIFFERENT \(1 row\)$/m);
    assert.match(r.out, /db2: \{.*"name":"tampered"/);
    assert.match(r.out, /INCONSISTENT$/);
    const json = await run(["--mysql-url", dbs.map((d) => d.db.url).join(","), "--json"]);
    assert.equal(json.code, 1);
    assert.equal(JSON.parse(json.out).differences[0].table, "projects");
  });

  test("usage errors exit 2", async () => {
    await assert.rejects(run([]), (e: unknown) => e instanceof CliError && e.exitCode === 2);
    await assert.rejects(
      run(["--mysql-url", "x", "--timeout-ms", "soon"]),
      (e: unknown) => e instanceof CliError && e.exitCode === 2,
    );
    await assert.rejects(run(["--bogus"]), (e: unknown) => e instanceof CliError && e.exitCode === 2);
    await assert.rejects(
      run(["--mysql-url", "mysql://root@127.0.0.1:1/"]),
      (e: unknown) => e instanceof CliError && e.exitCode === 2 && /must name/.test(e.message),
    );
  });
});
