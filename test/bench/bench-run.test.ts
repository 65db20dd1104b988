import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { BenchResults } from "../../src/bench/results.js";

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

/** A very short `taskraft bench`: every taskraft workload, the MariaDB baseline and one failover trial. */
test("taskraft bench runs every workload, a baseline and a failover trial, and writes its results", {
  timeout: 300_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-run-"));
  try {
    const out = join(dir, "run");
    const report = join(dir, "BENCHMARKS.md");
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env["NODE_TEST_CONTEXT"];
    const args = [
      "--import",
      "tsx",
      CLI,
      "bench",
      "--baselines",
      "mysql",
      "--clients",
      "1,2",
      "--warmup",
      "0.3",
      "--duration",
      "1",
      "--failover-trials",
      "1",
      "--seed-tasks",
      "40",
      "--out",
      out,
      "--report",
      report,
    ];
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const code = await new Promise<number | null>((r) => child.on("close", r));
    assert.equal(code, 0, output);

    const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as BenchResults;
    const tr = r.runs.filter((x) => x.system === "taskraft-3");
    // Two levels, so the same load generator runs each workload twice (keys must not repeat).
    assert.deepEqual(
      tr.map((x) => `${x.workload}@${x.concurrency}`),
      ["create", "update", "read", "read-stale", "list", "mixed"].flatMap((w) => [`${w}@1`, `${w}@2`]),
    );
    for (const x of tr) {
      assert.ok(x.ok > 0, `${x.workload}: nothing acknowledged`);
      assert.equal(x.errors, 0, `${x.workload}: ${JSON.stringify(x.errorKinds)}`);
      assert.ok(x.latencyMs.p50 > 0 && x.latencyMs.p50 <= x.latencyMs.max);
      assert.deepEqual(Object.keys(x.cpuPct).sort(), ["n1", "n1-mysql", "n2", "n2-mysql", "n3", "n3-mysql"]);
    }
    // Every acknowledged create made a task (a reused Idempotency-Key would answer without one).
    for (const create of tr.filter((x) => x.workload === "create")) {
      assert.ok(
        create.tasksCreated !== undefined && create.tasksCreated >= create.ok,
        JSON.stringify(create),
      );
    }
    const create = tr.find((x) => x.workload === "create")!;
    assert.ok(
      create.batching && create.batching.entriesPerFsync >= 1 && create.batching.entriesPerApplyTx >= 1,
    );
    const mysql = r.runs.filter((x) => x.system === "mariadb-1");
    assert.deepEqual(
      mysql.map((x) => x.workload),
      ["insert", "insert", "insert-batched", "insert-batched", "read", "read"],
    );
    for (const x of mysql) assert.ok(x.ok > 0 && x.errors === 0, `${x.workload}: ${JSON.stringify(x)}`);
    assert.equal(r.failover.length, 1);
    const f = r.failover[0]!;
    assert.equal(f.trials.length, 1);
    assert.ok(f.trials[0]!.newLeaderMs > 0 && f.trials[0]!.gapMs > 0, JSON.stringify(f));
    assert.ok(r.targets.length >= 8);

    const md = readFileSync(report, "utf8");
    assert.match(md, /### Targets/);
    assert.match(md, /\| taskraft-3 \| mixed \| 2 \|/);
    assert.match(md, /### Failover/);
    assert.match(output, /targets:/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
