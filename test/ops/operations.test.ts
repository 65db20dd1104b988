/**
 * docs/OPERATIONS.md, run for real. Separate processes play separate hosts: every host has its own
 * directory and its own private MariaDB server, and every node is started as an operator starts it,
 * `taskraft node --config <host>/<id>.json`. Each procedure of the doc is one test below, in the
 * doc's order, each on the state the previous one left (like one cluster's life):
 *
 *   deploy 3 hosts → add n4 and n5, remove n3 → replace n2 whose disk is lost (new id n6) →
 *   backup → restore into a new cluster and compare → rolling restart under writes →
 *   lose a majority for good → recover the survivor → add fresh nodes.
 *
 * Every multi-node phase ends with checkConsistency (src/state/consistency.ts). Figures (catch-up,
 * restart, recover times) are printed as `ops-figure:` lines; the doc quotes them.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { checkConsistency, tableChecksums } from "../../src/state/consistency.js";
import { createStatePool } from "../../src/state/sql.js";
import { type Json, request, signup, sleep } from "../api/harness.js";
import { runCli } from "../cli/run.js";
import { Host, OpsNode, waitForLeader } from "./hosts.js";

const dir = mkdtempSync(join(tmpdir(), "taskraft-ops-"));
const hosts = new Map<string, Host>();
const nodes = new Map<string, OpsNode>();
let token = "";

/**
 * Small snapshot thresholds, so that the nodes added below catch up by snapshot (as they would on a
 * cluster with a long history) rather than by replaying a short log.
 */
const TUNING = { "snapshot-entries": 200, "compact-keep-entries": 20 };

function figure(name: string, value: string): void {
  console.log(`ops-figure: ${name}: ${value}`);
}

function node(id: string): OpsNode {
  const n = nodes.get(id);
  if (!n) throw new Error(`no node ${id}`);
  return n;
}

function members(...ids: string[]): OpsNode[] {
  return ids.map(node);
}

/** The CLI as an operator runs it: no TASKRAFT_* of the test run, the admin token, any node's URL. */
async function cli(args: string[], urls: OpsNode[] = []): Promise<string> {
  const env: Record<string, string | undefined> = {};
  for (const k of Object.keys(process.env)) if (k.startsWith("TASKRAFT_")) env[k] = undefined;
  env["TASKRAFT_TOKEN"] = token;
  if (urls.length > 0) env["TASKRAFT_URL"] = urls.map((n) => n.url).join(",");
  const r = await runCli(args, { env, timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`taskraft ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function cliJson(args: string[], urls: OpsNode[]): Promise<Json> {
  return JSON.parse(await cli([...args, "--json"], urls));
}

/**
 * Creates tasks through `via`, each retried with its Idempotency-Key on 503/504 as a client does
 * (a step may have just killed the leader: the cluster answers 503 until it has elected another).
 */
async function addTasks(via: OpsNode, n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = randomUUID();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await request(via.url, "POST", "/api/v1/tasks", {
        token,
        body: { title: `${prefix} ${i}` },
        headers: { "idempotency-key": key },
        timeoutMs: 10_000,
      });
      if (r.status === 201) {
        ids.push(r.body.task.id);
        break;
      }
      assert.ok([503, 504].includes(r.status) && Date.now() < deadline, `${r.status} ${r.text}`);
      await sleep(200);
    }
  }
  return ids;
}

async function allTasks(via: OpsNode): Promise<Json[]> {
  const out: Json[] = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const r = await request(via.url, "GET", `/api/v1/tasks?limit=500${q}`, { token, timeoutMs: 30_000 });
    assert.equal(r.status, 200, r.text);
    out.push(...r.body.items);
    cursor = r.body.nextCursor;
  } while (cursor);
  return out;
}

async function clusterView(n: OpsNode): Promise<Json> {
  const r = await request(n.url, "GET", "/api/v1/cluster", { token, timeoutMs: 5000 });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

/** Until `n` has applied everything the leader had committed when the wait began. */
async function waitCaughtUp(n: OpsNode, leader: OpsNode, timeoutMs = 60_000): Promise<void> {
  const target = (await clusterView(leader)).commitIndex as number;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await clusterView(n).catch(() => undefined);
    if (v && v.appliedIndex >= target) return;
    await sleep(100);
  }
  throw new Error(`${n.id} did not reach index ${target} within ${timeoutMs} ms`);
}

async function consistent(ids: string[]): Promise<number> {
  const report = await checkConsistency({ urls: members(...ids).map((n) => n.mysqlUrl), timeoutMs: 60_000 });
  assert.ok(
    report.consistent,
    `databases of ${ids.join(",")} differ: ${JSON.stringify(report.differences.slice(0, 3))}`,
  );
  return report.appliedIndex;
}

async function checksums(url: string) {
  const pool = createStatePool(url, { connectionLimit: 1 });
  try {
    return await tableChecksums(pool);
  } finally {
    await pool.end();
  }
}

/** Runs `fn` over items, at most `limit` at a time (MariaDB installs are heavy on 2 cores). */
async function limited<T>(limit: number, items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

/**
 * A light write load: one client creating tasks on random live nodes, each write retried with its
 * Idempotency-Key until it is acknowledged (as the CLI does). Records every acknowledged task.
 */
class WriteLoad {
  readonly acked = new Map<string, string>();
  readonly unknown: string[] = [];
  private stopped = false;
  private done: Promise<void> = Promise.resolve();
  retries = 0;

  start(targets: () => OpsNode[]): void {
    this.done = (async () => {
      for (let i = 0; !this.stopped; i++) {
        await this.write(`load ${i}`, targets);
        await sleep(50);
      }
    })();
  }

  private async write(title: string, targets: () => OpsNode[]): Promise<void> {
    const key = randomUUID();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const live = targets().filter((n) => n.running());
      const via = live[Math.floor(Math.random() * live.length)];
      if (via) {
        try {
          const r = await request(via.url, "POST", "/api/v1/tasks", {
            token,
            body: { title },
            headers: { "idempotency-key": key },
            timeoutMs: 10_000,
          });
          if (r.status === 201) {
            this.acked.set(title, r.body.task.id);
            return;
          }
          if (r.status !== 503 && r.status !== 504) throw new Error(`write ${title}: ${r.status} ${r.text}`);
        } catch (e) {
          if ((e as Error).message.startsWith("write ")) throw e;
        }
      }
      this.retries++;
      await sleep(200);
    }
    this.unknown.push(title);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

describe("operations: docs/OPERATIONS.md walked through on five 'hosts'", { timeout: 600_000 }, () => {
  before(async () => {
    for (const name of ["h1", "h2", "h3", "h4", "h5"]) hosts.set(name, new Host(name, join(dir, name)));
    const t0 = Date.now();
    await limited(2, [...hosts.values()], (h) => h.startDb());
    figure("five MariaDB servers installed and started", `${Date.now() - t0} ms`);
  });

  after(async () => {
    await Promise.all([...nodes.values()].map((n) => n.kill()));
    await Promise.all([...hosts.values()].map((h) => h.stopDb()));
    if (process.env["TASKRAFT_TEST_KEEP"]) console.error(`files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  test("deploy: three hosts, one MariaDB each, one config file per node", async () => {
    // A config file with a mistake stops the node at once, naming the key.
    const bad = join(dir, "bad.json");
    writeFileSync(
      bad,
      JSON.stringify({
        id: "n1",
        peers: "n1=127.0.0.1:1@http://127.0.0.1:2",
        "data-dir": join(dir, "unused"),
        "mysql-url": "mysql://root@127.0.0.1:1/taskraft",
        "tick-ms": "x",
      }),
    );
    const r = await runCli(["node", "--config", bad]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      "taskraft: node: config key 'tick-ms': expected an integer from 1 to 10000, got 'x'\n",
    );

    for (const [id, h] of [
      ["n1", "h1"],
      ["n2", "h2"],
      ["n3", "h3"],
    ] as const) {
      nodes.set(id, await OpsNode.define(hosts.get(h)!, id));
    }
    const peers = members("n1", "n2", "n3")
      .map((n) => n.peerEntry)
      .join(",");
    for (const n of members("n1", "n2", "n3")) {
      await n.configure({ peers, clusterId: "prod", database: "taskraft", extra: TUNING });
    }
    const t0 = Date.now();
    for (const n of members("n1", "n2", "n3")) n.start();
    await waitForLeader(members("n1", "n2", "n3"));
    figure("3-node cluster from start to a leader on every node", `${Date.now() - t0} ms`);
    token = (await signup(node("n1").url, "admin")).token;
    await addTasks(node("n2"), 30, "deploy");
    const status = await cliJson(["cluster", "status"], members("n1"));
    assert.deepEqual(status.nodes.map((x: Json) => x.id).sort(), ["n1", "n2", "n3"]);
    assert.ok(status.nodes.every((x: Json) => x.voter && x.api.reachable && x.view.database.connected));
    await consistent(["n1", "n2", "n3"]);
  });

  test("add n4 and n5 through the CLI, remove n3", async () => {
    await addTasks(node("n1"), 250, "history"); // past snapshot-entries: joiners get a snapshot
    for (const [id, h] of [
      ["n4", "h4"],
      ["n5", "h5"],
    ] as const) {
      const n = await OpsNode.define(hosts.get(h)!, id);
      nodes.set(id, n);
      const current = (await cliJson(["cluster", "status"], members("n1"))).nodes.map((x: Json) =>
        node(x.id),
      );
      await n.configure({
        peers: [...current, n].map((x) => x.peerEntry).join(","),
        clusterId: "prod",
        database: "taskraft",
        joining: true,
        extra: TUNING,
      });
      n.start();
      const t0 = Date.now();
      const added = await cliJson(
        ["cluster", "add", id, "--raft", `127.0.0.1:${n.raftPort}`, "--api", n.url, "--wait"],
        members("n1", "n2"),
      );
      assert.equal(added.voter, true);
      figure(
        `${id} added: learner to voter (caught up by snapshot), cluster add --wait`,
        `${Date.now() - t0} ms`,
      );
      await n.waitReady();
    }
    assert.deepEqual(await cliJson(["cluster", "remove", "n3", "--wait"], members("n1", "n2")), {
      id: "n3",
      removed: true,
    });
    assert.equal(await node("n3").stop(), 0);
    const status = await cliJson(["cluster", "status"], members("n1"));
    assert.deepEqual(status.nodes.map((x: Json) => x.id).sort(), ["n1", "n2", "n4", "n5"]);
    assert.ok((await clusterView(node("n4"))).snapshotIndex > 0, "n4 was installed from a snapshot");
    await addTasks(node("n5"), 5, "after membership");
    await consistent(["n1", "n2", "n4", "n5"]);
  });

  test("replace n2 whose disk is lost: remove it, add a new node n6 with an empty disk", async () => {
    const n2 = node("n2");
    const h2 = hosts.get("h2")!;
    await n2.kill();
    n2.wipeDataDir();
    await h2.loseDisk();
    // The cluster (3 of 4 voters alive) keeps taking writes while n2 is gone.
    await addTasks(node("n1"), 5, "n2 down");
    await cli(["cluster", "remove", "n2", "--wait"], members("n1", "n4"));

    const t0 = Date.now();
    await h2.startDb(); // the new disk: a freshly installed MariaDB
    const n6 = await OpsNode.define(h2, "n6");
    nodes.set("n6", n6);
    await n6.configure({
      peers: [...members("n1", "n4", "n5"), n6].map((x) => x.peerEntry).join(","),
      clusterId: "prod",
      database: "taskraft",
      joining: true,
      extra: TUNING,
    });
    n6.start();
    const added = await cliJson(
      ["cluster", "add", "n6", "--raft", `127.0.0.1:${n6.raftPort}`, "--api", n6.url, "--wait"],
      members("n1", "n4"),
    );
    assert.equal(added.voter, true);
    figure("n2 replaced by n6 (fresh MariaDB + join + catch-up)", `${Date.now() - t0} ms`);
    const status = await cliJson(["cluster", "status"], members("n1"));
    assert.deepEqual(status.nodes.map((x: Json) => x.id).sort(), ["n1", "n4", "n5", "n6"]);
    await addTasks(node("n6"), 5, "after replace");
    await consistent(["n1", "n4", "n5", "n6"]);
  });

  let backupFile = "";
  let atBackup: Awaited<ReturnType<typeof checksums>> = {};
  let tasksAtBackup: string[] = [];
  let backupIndex = 0;

  test("backup: a fresh snapshot of n1, copied off its data dir and verified", async () => {
    const snap = await cliJson(["cluster", "snapshot", "--node", "n1"], members("n4"));
    assert.equal(snap.node, "n1");
    atBackup = await checksums(node("n1").mysqlUrl);
    tasksAtBackup = (await allTasks(node("n1"))).map((t) => t.id).sort();
    backupFile = join(hosts.get("h1")!.dir, "taskraft-backup.snap");
    const b = await cliJson(["backup", "--data-dir", node("n1").dataDir, "--out", backupFile], []);
    assert.equal(b.index, snap.index);
    backupIndex = b.index;
    figure("backup file", `index ${b.index}, ${b.size} bytes for ${tasksAtBackup.length} tasks`);
  });

  test("restore into a new three-node cluster on other hosts; its data equals the backup", async () => {
    const placement = [
      ["r1", "h3"],
      ["r2", "h4"],
      ["r3", "h5"],
    ] as const;
    for (const [id, h] of placement) nodes.set(id, await OpsNode.define(hosts.get(h)!, id));
    const rs = members("r1", "r2", "r3");
    const peers = rs.map((n) => n.peerEntry).join(",");
    const t0 = Date.now();
    await Promise.all(
      rs.map(async (n) => {
        const copy = join(n.host.dir, "taskraft-backup.snap"); // scp to each host
        copyFileSync(backupFile, copy);
        await n.configure({
          peers,
          clusterId: "prod-restored",
          database: "taskraft_restored",
          extra: TUNING,
        });
        const r = await cliJson(["restore", "--config", n.configFile, "--snapshot", copy], []);
        assert.equal(r.index, backupIndex);
      }),
    );
    figure("restore of three nodes (in parallel, one per host)", `${Date.now() - t0} ms`);
    for (const n of rs) {
      const sums = await checksums(n.mysqlUrl);
      for (const [table, sum] of Object.entries(atBackup)) {
        if (table !== "cluster_members") assert.deepEqual(sums[table], sum, `${n.id}: ${table}`);
      }
    }
    for (const n of rs) n.start();
    await waitForLeader(rs);
    figure("restored cluster from start to a leader", `${Date.now() - t0} ms including the restores`);
    assert.deepEqual((await allTasks(node("r2"))).map((t) => t.id).sort(), tasksAtBackup);
    await addTasks(node("r3"), 3, "restored cluster");
    await consistent(["r1", "r2", "r3"]);
    await Promise.all(rs.map(async (n) => assert.equal(await n.stop(), 0)));
  });

  let load: WriteLoad;

  test("rolling restart of every node under a light write load; no acknowledged write lost", async () => {
    const cluster = members("n1", "n4", "n5", "n6");
    load = new WriteLoad();
    load.start(() => cluster);
    await sleep(1000);
    const t0 = Date.now();
    const leaderId = await waitForLeader(cluster);
    const order = [...cluster.filter((n) => n.id !== leaderId), node(leaderId)];
    for (const n of order) {
      const t1 = Date.now();
      const status = await cliJson(["cluster", "status"], cluster);
      if (status.leaderId === n.id) {
        const moved = await cliJson(["cluster", "transfer"], cluster);
        assert.notEqual(moved.leaderId, n.id);
      }
      assert.equal(await n.stop(), 0, `${n.id} stops cleanly on SIGTERM`);
      // (here the operator installs the new build)
      n.start();
      await n.waitReady();
      const others = cluster.filter((x) => x !== n);
      const leader = node(await waitForLeader(others));
      await waitCaughtUp(n, leader);
      figure(`rolling restart: ${n.id} stop → ready → caught up`, `${Date.now() - t1} ms`);
    }
    figure("rolling restart of 4 nodes, leader last", `${Date.now() - t0} ms`);
    await sleep(1000);
    await load.stop();
    figure("writes during the rolling restart", `${load.acked.size} acknowledged, ${load.retries} retries`);
    assert.deepEqual(load.unknown, []);
    const tasks = await allTasks(node("n4"));
    const ids = new Set(tasks.map((t) => t.id));
    for (const [title, id] of load.acked) assert.ok(ids.has(id), `acknowledged ${title} (${id}) is there`);
    const loadTitles = tasks.filter((t) => t.title.startsWith("load ")).map((t) => t.title);
    assert.equal(new Set(loadTitles).size, loadTitles.length, "no write applied twice");
    await consistent(["n1", "n4", "n5", "n6"]);
  });

  test("majority lost for good: recover the survivor, add fresh nodes, old data is there", async () => {
    // Three voters, so that losing two is losing the majority.
    await cli(["cluster", "remove", "n6", "--wait"], members("n1", "n4"));
    assert.equal(await node("n6").stop(), 0);
    const before = (await allTasks(node("n1"))).map((t) => t.id);
    await consistent(["n1", "n4", "n5"]);

    await node("n4").kill();
    await node("n5").kill();
    const stuck = await request(node("n1").url, "POST", "/api/v1/tasks", {
      token,
      body: { title: "during the outage" },
      headers: { "idempotency-key": randomUUID() },
      timeoutMs: 20_000,
    });
    assert.ok([503, 504].includes(stuck.status), `no quorum: ${stuck.status} ${stuck.text}`);

    const n1 = node("n1");
    assert.equal(await n1.stop(), 0);
    const refused = await runCli(["recover", "--config", n1.configFile]);
    assert.equal(refused.code, 2);
    const t0 = Date.now();
    const r = await cliJson(
      ["recover", "--config", n1.configFile, "--new-cluster-id", "prod-2", "--i-understand-data-loss"],
      [],
    );
    figure(
      "recover (offline tool run)",
      `${Date.now() - t0} ms; applied ${r.appliedBefore} → ${r.index}, ${r.pastCommit} entries past the known commit`,
    );
    n1.editConfig({ "cluster-id": "prod-2", peers: n1.peerEntry });
    n1.start();
    await waitForLeader([n1]);
    figure("recovered survivor: tool + start to leader", `${Date.now() - t0} ms`);
    const after = new Set((await allTasks(n1)).map((t) => t.id));
    for (const id of before) assert.ok(after.has(id), `task ${id} survived the recovery`);
    for (const id of load.acked.values()) assert.ok(after.has(id));
    await addTasks(n1, 3, "after recover");

    // The lost hosts come back as new machines: empty data dir and database, new ids.
    for (const [id, old, h] of [
      ["n7", "n4", "h4"],
      ["n8", "n5", "h5"],
    ] as const) {
      node(old).wipeDataDir();
      await hosts.get(h)!.dropDatabase("taskraft");
      const n = await OpsNode.define(hosts.get(h)!, id);
      nodes.set(id, n);
      await n.configure({
        peers: [n1, n].map((x) => x.peerEntry).join(","),
        clusterId: "prod-2",
        database: "taskraft",
        joining: true,
        extra: TUNING,
      });
      n.start();
      const t1 = Date.now();
      await cli(["cluster", "add", id, "--raft", `127.0.0.1:${n.raftPort}`, "--api", n.url, "--wait"], [n1]);
      figure(`${id} added to the recovered cluster`, `${Date.now() - t1} ms`);
    }
    await addTasks(node("n7"), 3, "three nodes again");
    const status = await cliJson(["cluster", "status"], [n1]);
    assert.deepEqual(status.nodes.map((x: Json) => x.id).sort(), ["n1", "n7", "n8"]);
    await consistent(["n1", "n7", "n8"]);
  });
});
