/**
 * The `taskraft node` process itself (API.md §1): its command line, one-line errors with a
 * non-zero exit for bad configuration, and a clean shutdown on SIGTERM within 5 s while requests
 * are in flight.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createScratchDatabase, type ScratchDatabase, testMysqlUrl } from "../../src/db/index.js";
import { CLI, freePorts, request, SECRET, signup, sleep } from "./harness.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      env: { ...process.env, TASKRAFT_CLUSTER_SECRET: SECRET },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("exit", (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last line a failed start printed on stderr (one line, no stack trace). */
function errorLine(r: Run): string {
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.filter((l) => l.startsWith("taskraft:")).length, 1, r.stderr);
  assert.ok(!r.stderr.includes("    at "), `no stack trace: ${r.stderr}`);
  return lines.find((l) => l.startsWith("taskraft:"))!;
}

describe("taskraft node process", () => {
  const dir = mkdtempSync(join(tmpdir(), "taskraft-node-"));
  let db: ScratchDatabase;
  let apiPort = 0;
  let raftPort = 0;
  const nodeArgs = (id = "p1", dataDir = join(dir, "p1"), extra: string[] = []) => [
    "node",
    "--id",
    id,
    "--peers",
    `${id}=127.0.0.1:${raftPort}@http://127.0.0.1:${apiPort}`,
    "--data-dir",
    dataDir,
    "--mysql-url",
    db.url,
    "--log-level",
    "warn",
    ...extra,
  ];

  before(async () => {
    db = await createScratchDatabase(await testMysqlUrl(), "proc");
    [apiPort, raftPort] = (await freePorts(2)) as [number, number];
  });
  after(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("--help prints the options; unknown flags and missing options exit 2 with one line", async () => {
    const help = await run(["node", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: taskraft node --id ID --peers LIST/);
    assert.match(help.stdout, /TASKRAFT_MYSQL_URL/);
    const unknown = await run(["node", "--id", "x", "--colour", "blue"]);
    assert.equal(unknown.code, 2);
    assert.match(errorLine(unknown), /--colour/);
    const missing = await run(["node", "--id", "x"]);
    assert.equal(missing.code, 2);
    assert.match(errorLine(missing), /--peers is required/);
    const bad = await run([
      "node",
      "--id",
      "x",
      "--peers",
      "x=nonsense",
      "--data-dir",
      dir,
      "--mysql-url",
      db.url,
    ]);
    assert.equal(bad.code, 2);
    assert.match(errorLine(bad), /peers/);
  });

  test("a port in use is a one-line error naming it", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(apiPort, "127.0.0.1", () => r()));
    try {
      const r = await run(nodeArgs("p1", join(dir, "blocked")));
      assert.equal(r.code, 1);
      assert.match(errorLine(r), new RegExp(`api port 127\\.0\\.0\\.1:${apiPort} is already in use`));
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  test("MySQL unreachable at start: after retries, a one-line error with the URL redacted", async () => {
    const [dead] = (await freePorts(1)) as [number];
    const args = nodeArgs("p1", join(dir, "nomysql"));
    args[args.indexOf("--mysql-url") + 1] = `mysql://root:hunter2@127.0.0.1:${dead}/nothing`;
    const r = await run([...args, "--mysql-wait-ms", "600"]);
    assert.equal(r.code, 1);
    const line = errorLine(r);
    assert.match(
      line,
      new RegExp(`MySQL at mysql://root:\\*\\*\\*@127\\.0\\.0\\.1:${dead}/nothing is unreachable`),
    );
    assert.ok(!r.stderr.includes("hunter2"), "the password is never printed");
  });

  test("SIGTERM stops a node with requests in flight within 5 s, exit 0; its data dir then refuses another node id", async () => {
    const dataDir = join(dir, "p1");
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...nodeArgs("p1", dataDir, ["--chaos"])], {
      env: { ...process.env, TASKRAFT_CLUSTER_SECRET: SECRET },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const base = `http://127.0.0.1:${apiPort}`;
    for (let i = 0; ; i++) {
      const r = await request(base, "GET", "/readyz", { timeoutMs: 1000 }).catch(() => undefined);
      if (r?.body?.ready) break;
      if (i > 300) throw new Error(`node did not start: ${stderr}`);
      await sleep(100);
    }
    const { token } = await signup(base, "shutdown");
    // --chaos outside `taskraft dev`: nobody can restart a node, so the relay does not exist.
    const restart = await request(base, "POST", "/api/v1/chaos/restart", { token, body: { nodeId: "p1" } });
    assert.equal(restart.status, 404);
    assert.equal(restart.body.error.code, "not_found");
    for (let i = 0; i < 5; i++) {
      assert.equal(
        (await request(base, "POST", "/api/v1/tasks", { token, body: { title: `t${i}` } })).status,
        201,
      );
    }
    // Writes in flight when the signal arrives: each gets an answer or a closed connection, none hangs.
    const inflight = Array.from({ length: 20 }, (_, i) =>
      request(base, "POST", "/api/v1/tasks", { token, body: { title: `late ${i}` }, timeoutMs: 6000 }).then(
        (r) => r.status,
        () => 0,
      ),
    );
    await sleep(5);
    const t0 = Date.now();
    child.kill("SIGTERM");
    const code = await exited;
    const ms = Date.now() - t0;
    assert.equal(code, 0, stderr);
    assert.ok(ms < 5000, `shutdown took ${ms} ms`);
    const statuses = await Promise.all(inflight);
    assert.ok(
      statuses.every((s) => [0, 201, 503, 504].includes(s)),
      `statuses ${statuses}`,
    );

    const other = await run(nodeArgs("p2", dataDir));
    assert.equal(other.code, 1);
    assert.match(errorLine(other), /p1|node/);
    const otherCluster = await run([...nodeArgs("p1", dataDir), "--cluster-id", "another"]);
    assert.equal(otherCluster.code, 1);
    assert.match(errorLine(otherCluster), /cluster/);
  });

  test("a corrupt log (a flipped byte before the tail) stops the start with a one-line error", async () => {
    const walDir = join(dir, "p1", "wal");
    const segment = join(
      walDir,
      readdirSync(walDir)
        .filter((f) => f.endsWith(".wal"))
        .sort()[0]!,
    );
    const bytes = readFileSync(segment);
    assert.ok(bytes.length > 200, "the log has several records");
    const bad = Buffer.from(bytes);
    bad[40]! ^= 0xff;
    writeFileSync(segment, bad);
    const r = await run(nodeArgs("p1", join(dir, "p1")));
    assert.equal(r.code, 1);
    assert.match(errorLine(r), /corrupt/);
  });
});
