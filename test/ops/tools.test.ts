/**
 * The offline operator tools on one node (the shared test MariaDB, one database per node):
 * `taskraft backup`, `taskraft restore` and `taskraft recover` — what they produce, and every
 * important refusal, each of which must change nothing. The multi-node procedures that use them
 * are walked through in operations.test.ts.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { dropDatabase, testMysqlUrl } from "../../src/db/index.js";
import { tableChecksums } from "../../src/state/consistency.js";
import { createStatePool, selectRows } from "../../src/state/sql.js";
import { type Json, request, signup, uniqueName } from "../api/harness.js";
import { runCli } from "../cli/run.js";
import { Host, OpsNode, waitForLeader } from "./hosts.js";

const dir = mkdtempSync(join(tmpdir(), "taskraft-ops-tools-"));
const databases: string[] = [];
let root = "";
let host: Host;
let n1: OpsNode;
let token = "";

function dbName(id: string): string {
  const name = uniqueName(`ops_${id}_`).replace(/[^a-z0-9_]/g, "");
  databases.push(name);
  return name;
}

/** The CLI as an operator runs it on the host: no TASKRAFT_* of the test run leaks in. */
function cli(args: string[], env: Record<string, string> = {}) {
  const clean: Record<string, string | undefined> = {};
  for (const k of Object.keys(process.env)) if (k.startsWith("TASKRAFT_")) clean[k] = undefined;
  return runCli(args, { env: { ...clean, ...env }, timeoutMs: 120_000 });
}

async function taskIds(url: string): Promise<string[]> {
  const r = await request(url, "GET", "/api/v1/tasks?limit=500", { token });
  assert.equal(r.status, 200, r.text);
  return (r.body.items as Json[]).map((t) => t.id as string).sort();
}

async function addTasks(url: string, n: number, prefix: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await request(url, "POST", "/api/v1/tasks", { token, body: { title: `${prefix} ${i}` } });
    assert.equal(r.status, 201, r.text);
  }
}

async function checksums(url: string): Promise<Record<string, { rows: number; sha256: string }>> {
  const pool = createStatePool(url, { connectionLimit: 1 });
  try {
    return await tableChecksums(pool);
  } finally {
    await pool.end();
  }
}

async function members(url: string): Promise<{ id: string; raft_address: string; api_url: string }[]> {
  const pool = createStatePool(url, { connectionLimit: 1 });
  try {
    return await selectRows(pool, "SELECT id, raft_address, api_url FROM cluster_members ORDER BY id");
  } finally {
    await pool.end();
  }
}

async function tableCount(url: string): Promise<number> {
  const pool = createStatePool(url.replace(/\/[^/?]+(\?|$)/, "/information_schema$1"), {
    connectionLimit: 1,
  });
  try {
    const name = new URL(url).pathname.slice(1);
    const rows = await selectRows<{ n: number }>(
      pool,
      "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ?",
      [name],
    );
    return Number(rows[0]!.n);
  } finally {
    await pool.end();
  }
}

describe("backup, restore and recover on one node", { timeout: 300_000 }, () => {
  const backupFile = join(dir, "backup.snap");
  let backupIndex = 0;
  let atBackup: Record<string, { rows: number; sha256: string }> = {};
  let tasksAtBackup: string[] = [];

  before(async () => {
    root = await testMysqlUrl();
    host = new Host("h1", join(dir, "h1"));
    host.useServer(root);
    n1 = await OpsNode.define(host, "n1");
    await n1.configure({ peers: n1.peerEntry, clusterId: "tools", database: dbName("n1") });
    n1.start();
    await waitForLeader([n1]);
    token = (await signup(n1.url, "admin")).token;
    await addTasks(n1.url, 5, "before backup");
  });

  after(async () => {
    await n1?.kill();
    for (const name of databases) await dropDatabase(root, name).catch(() => {});
    if (process.env["TASKRAFT_TEST_KEEP"]) console.error(`files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  test("backup copies the newest snapshot and verifies it; refuses what it cannot do", async () => {
    const none = await cli(["backup", "--data-dir", n1.dataDir, "--out", backupFile]);
    assert.equal(none.code, 1);
    assert.match(
      none.stderr,
      /^taskraft: backup: .*holds no snapshot yet; take one with `taskraft cluster snapshot/,
    );
    assert.equal(existsSync(backupFile), false);

    const snap = await cli(["cluster", "snapshot", "--url", n1.url, "--json"], { TASKRAFT_TOKEN: token });
    assert.equal(snap.code, 0, snap.stderr);
    const snapIndex = JSON.parse(snap.stdout).index as number;
    atBackup = await checksums(n1.mysqlUrl);
    tasksAtBackup = await taskIds(n1.url);

    const ok = await cli(["backup", "--data-dir", n1.dataDir, "--out", backupFile, "--json"]);
    assert.equal(ok.code, 0, ok.stderr);
    const b = JSON.parse(ok.stdout) as Json;
    assert.equal(b.index, snapIndex);
    backupIndex = b.index;

    const again = await cli(["backup", "--data-dir", n1.dataDir, "--out", backupFile]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists; refusing to overwrite it/);
    const notDir = await cli(["backup", "--data-dir", dir, "--out", join(dir, "x.snap")]);
    assert.equal(notDir.code, 1);
    assert.match(notDir.stderr, /is not a taskraft data dir/);
    const usage = await cli(["backup", "--out", join(dir, "x.snap")]);
    assert.equal(usage.code, 2);
  });

  test("restore refuses a bad snapshot, a non-empty data dir or database, and a node not in --peers", async () => {
    const h2 = new Host("h2", join(dir, "h2"));
    h2.useServer(root);
    const r1 = await OpsNode.define(h2, "r1");
    await r1.configure({ peers: r1.peerEntry, clusterId: "restored", database: dbName("r1") });
    const run = (args: string[]) => cli(["restore", "--config", r1.configFile, ...args]);
    const unchanged = async () => {
      assert.equal(existsSync(r1.dataDir), false, "no data dir was created");
      assert.equal(await tableCount(r1.mysqlUrl), 0, "the database is untouched");
    };

    assert.equal((await run([])).code, 2);
    const missing = await run(["--snapshot", join(dir, "nope.snap")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.snap: ENOENT/);

    const corrupt = join(dir, "corrupt.snap");
    const bytes = readFileSync(backupFile);
    bytes[Math.floor(bytes.length / 3)]! ^= 0xff;
    writeFileSync(corrupt, bytes);
    const bad = await run(["--snapshot", corrupt]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^taskraft: restore: .*corrupt\.snap is not a valid taskraft snapshot: data checksum mismatch\n$/,
    );
    await unchanged();

    const occupied = join(dir, "occupied");
    mkdirSync(occupied);
    writeFileSync(join(occupied, "something"), "x");
    const full = await run(["--snapshot", backupFile, "--data-dir", occupied]);
    assert.equal(full.code, 1);
    assert.match(full.stderr, /data dir .*occupied is not empty \(something\); refusing to overwrite it/);
    assert.deepEqual(readdirSync(occupied), ["something"]);

    const used = await run(["--snapshot", backupFile, "--mysql-url", n1.mysqlUrl]);
    assert.equal(used.code, 1);
    assert.match(used.stderr, /already holds taskraft data \(table \w+\); refusing to overwrite it/);
    await unchanged();

    const stranger = await run(["--snapshot", backupFile, "--id", "r9"]);
    assert.equal(stranger.code, 2);
    assert.match(stranger.stderr, /this node 'r9' is not in the list/);
    await unchanged();
  });

  test("restore creates a node of a new cluster with the backup's data, which starts and takes writes", async () => {
    const h3 = new Host("h3", join(dir, "h3"));
    h3.useServer(root);
    const r1 = await OpsNode.define(h3, "r1");
    await r1.configure({ peers: r1.peerEntry, clusterId: "restored", database: dbName("r1") });
    const ok = await cli(["restore", "--config", r1.configFile, "--snapshot", backupFile, "--json"]);
    assert.equal(ok.code, 0, ok.stderr);
    const r = JSON.parse(ok.stdout) as Json;
    assert.equal(r.index, backupIndex);
    assert.deepEqual(r.voters, ["r1"]);

    // Every table as it was at the backup, except the member list, which is the new cluster's.
    const now = await checksums(r1.mysqlUrl);
    for (const [table, sum] of Object.entries(atBackup)) {
      if (table !== "cluster_members") assert.deepEqual(now[table], sum, table);
    }
    assert.deepEqual(await members(r1.mysqlUrl), [
      { id: "r1", raft_address: `127.0.0.1:${r1.raftPort}`, api_url: r1.url },
    ]);

    const twice = await cli(["restore", "--config", r1.configFile, "--snapshot", backupFile]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /is not empty/);

    r1.start();
    try {
      await waitForLeader([r1]);
      assert.deepEqual(await taskIds(r1.url), tasksAtBackup, "the backup's tasks, with the backup's tokens");
      await addTasks(r1.url, 1, "after restore");
      const view = (await request(r1.url, "GET", "/api/v1/cluster", { token })).body as Json;
      assert.ok(view.appliedIndex > backupIndex);
      assert.deepEqual(
        (view.members as Json[]).map((m) => m.id),
        ["r1"],
      );
    } finally {
      await r1.stop();
    }
  });

  test("recover refuses without its flag, on a running node and without Raft state; then makes a one-node cluster", async () => {
    const plain = await cli(["recover", "--config", n1.configFile]);
    assert.equal(plain.code, 2);
    assert.match(
      plain.stderr,
      /^taskraft: recover: refusing without --i-understand-data-loss: .*gone for good/,
    );

    const running = await cli(["recover", "--config", n1.configFile, "--i-understand-data-loss"]);
    assert.equal(running.code, 1);
    assert.match(running.stderr, /node n1 seems to be running; stop it first/);

    await addTasks(n1.url, 3, "after backup");
    const before = await taskIds(n1.url);
    const termBefore = ((await request(n1.url, "GET", "/api/v1/cluster", { token })).body as Json)
      .term as number;
    await n1.kill();

    const empty = await cli([
      "recover",
      "--config",
      n1.configFile,
      "--data-dir",
      join(dir, "nothing-here"),
      "--i-understand-data-loss",
    ]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /holds no Raft state/);
    assert.equal(existsSync(join(dir, "nothing-here")), false);
    const badId = await cli([
      "recover",
      "--config",
      n1.configFile,
      "--new-cluster-id",
      "a b",
      "--i-understand-data-loss",
    ]);
    assert.equal(badId.code, 2);

    const ok = await cli([
      "recover",
      "--config",
      n1.configFile,
      "--new-cluster-id",
      "tools-recovered",
      "--i-understand-data-loss",
      "--json",
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const r = JSON.parse(ok.stdout) as Json;
    assert.equal(r.clusterId, "tools-recovered");
    assert.ok(r.newTerm > termBefore);
    assert.ok(existsSync(r.oldDataDir), "the old data dir is kept");
    assert.equal(JSON.parse(readFileSync(join(n1.dataDir, "meta"), "utf8")).clusterId, "tools-recovered");

    // With the old cluster id the node refuses its own (new) data dir: the config must follow.
    n1.start();
    const refused = await new Promise<number | null>((res) => n1.proc!.once("exit", (code) => res(code)));
    assert.equal(refused, 1);
    assert.match(n1.log(), /belongs to node "n1" of cluster "tools-recovered"/);

    n1.editConfig({ "cluster-id": "tools-recovered" });
    n1.start();
    await waitForLeader([n1]);
    assert.deepEqual(await taskIds(n1.url), before);
    await addTasks(n1.url, 1, "after recover");
    const view = (await request(n1.url, "GET", "/api/v1/cluster", { token })).body as Json;
    assert.ok(view.term > r.newTerm - 1);
    assert.ok(view.appliedIndex > r.index);
  });
});
