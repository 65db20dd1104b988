/**
 * Cluster administration and demonstration faults through the API, on a 3-node cluster that
 * snapshots and compacts its log often: leadership transfer, snapshots, a node added through
 * the API that must catch up by snapshot, removal, isolation, crash, and `event: reset`.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { Cluster, EventStream, request, signup, sleep, uniqueName } from "./harness.js";

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Stands in for `taskraft dev`'s supervisor: records restart requests, knows nodes n1–n3. */
const restarts: string[] = [];
const supervisor: Server = createServer((req, res) => {
  const m = /^\/nodes\/([^/]+)\/restart$/.exec(req.url ?? "");
  const known = m !== null && ["n1", "n2", "n3"].includes(m[1]!);
  if (req.method === "POST" && known) restarts.push(m[1]!);
  res.writeHead(known ? 202 : 404, { "content-type": "application/json" });
  res.end(JSON.stringify(known ? { restarting: m[1] } : { error: "no such node" }));
});
await new Promise<void>((r) => supervisor.listen(0, "127.0.0.1", () => r()));
const supervisorUrl = `http://127.0.0.1:${(supervisor.address() as { port: number }).port}`;

describe("cluster administration", () => {
  const cluster = new Cluster({
    env: { TASKRAFT_DEV_SUPERVISOR: supervisorUrl },
    name: "adm",
    chaos: true,
    flags: ["--snapshot-entries", "20", "--compact-keep-entries", "0", "--proposal-timeout-ms", "2000"],
  });
  let admin = "";
  let user = "";

  before(async () => {
    await cluster.start();
    admin = (await signup(cluster.url("n1"), uniqueName("root"))).token;
    user = (await signup(cluster.url("n2"), uniqueName("user"))).token;
  });
  after(async () => {
    await cluster.close();
    supervisor.close();
  });

  test("transfer-leadership moves the leader (to a named voter, or the most caught-up one) and streams `event: cluster`", async () => {
    const leader = await cluster.leader();
    const target = cluster.ids.find((id) => id !== leader)!;
    const watcher = cluster.ids.find((id) => id !== leader && id !== target)!;
    const stream = await EventStream.open(cluster.url(watcher), "/api/v1/events", user);
    await stream.waitFor((e) => e.event === "cluster");
    const r = await request(cluster.url(watcher), "POST", "/api/v1/cluster/transfer-leadership", {
      token: admin,
      body: { to: target },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.leaderId, target);
    await stream.waitFor((e) => e.event === "cluster" && e.data.leaderId === target, 3000);
    stream.close();
    assert.equal(await cluster.waitForLeader(), target);
    const auto = await request(cluster.url(target), "POST", "/api/v1/cluster/transfer-leadership", {
      token: admin,
    });
    assert.equal(auto.status, 200, auto.text);
    assert.notEqual(auto.body.leaderId, target);
    const bad = await request(cluster.url(target), "POST", "/api/v1/cluster/transfer-leadership", {
      token: admin,
      body: { to: "n9" },
    });
    assert.equal(bad.status, 400);
    await cluster.waitForLeader();
  });

  test("a node added through the API catches up by snapshot, becomes a voter and serves reads", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await request(cluster.url(cluster.ids[i % 3]!), "POST", "/api/v1/tasks", {
        token: user,
        body: { title: `before join ${i}` },
      });
      assert.equal(r.status, 201, r.text);
      ids.push(r.body.task.id);
    }
    const leader = await cluster.leader();
    const snap = await request(cluster.url(leader), "POST", "/api/v1/cluster/snapshot", { token: admin });
    assert.equal(snap.status, 200, snap.text);
    assert.ok(snap.body.index > 30);
    const view = await request(cluster.url(leader), "GET", "/api/v1/cluster", { token: admin });
    assert.ok(view.body.snapshotIndex >= snap.body.index);

    const n4 = await cluster.defineJoiner("n4");
    cluster.spawn("n4");
    const join = await request(cluster.url("n2"), "POST", "/api/v1/cluster/members", {
      token: admin,
      body: {
        id: "n4",
        raftAddress: `127.0.0.1:${n4.raftPort}`,
        apiUrl: `http://127.0.0.1:${n4.apiPort}`,
        voter: true,
      },
    });
    assert.equal(join.status, 202, join.text);
    assert.equal(join.body.member.id, "n4");
    await until("n4 to be a voter", async () => {
      const v = await request(cluster.url("n1"), "GET", "/api/v1/cluster", { token: admin });
      const m = v.body.members.find((x: { id: string }) => x.id === "n4");
      return m?.voter ? m : undefined;
    });
    await cluster.waitReady("n4");
    const own = await request(cluster.url("n4"), "GET", "/api/v1/cluster", { token: admin });
    assert.equal(own.status, 200);
    assert.ok(own.body.snapshotIndex >= snap.body.index, `n4 installed a snapshot: ${own.text}`);
    assert.equal(own.body.members.length, 4);
    for (const id of [ids[0]!, ids[29]!]) {
      const r = await request(cluster.url("n4"), "GET", `/api/v1/tasks/${id}`, { token: user });
      assert.equal(r.status, 200, r.text);
    }
    // A write through the new node, read back elsewhere.
    const w = await request(cluster.url("n4"), "POST", "/api/v1/tasks", {
      token: user,
      body: { title: "from n4" },
    });
    assert.equal(w.status, 201, w.text);
    assert.equal(
      (await request(cluster.url("n1"), "GET", `/api/v1/tasks/${w.body.task.id}`, { token: user })).status,
      200,
    );
    const report = await cluster.checkConsistency();
    assert.ok(report.consistent, JSON.stringify(report.differences));
    assert.equal(report.databases.length, 4);

    const removed = await request(cluster.url("n3"), "DELETE", "/api/v1/cluster/members/n4", {
      token: admin,
    });
    assert.equal(removed.status, 204, removed.text);
    await until("n4 to leave the configuration", async () => {
      const v = await request(cluster.url("n1"), "GET", "/api/v1/cluster", { token: admin });
      return v.body.members.length === 3 ? true : undefined;
    });
    await cluster.kill("n4");
    cluster.nodes.delete("n4");
    await n4.db.drop();
  });

  test("chaos: an isolated node cannot write, heals and catches up; crash kills at once; restart goes to the dev supervisor", async () => {
    const leader = await cluster.leader();
    const victim = cluster.ids.find((id) => id !== leader)!;
    const iso = await request(cluster.url(victim), "POST", "/api/v1/chaos/isolate", { token: user });
    assert.equal(iso.status, 200, iso.text);
    const view = await until("the isolated node to see no peer", async () => {
      const v = await request(cluster.url(victim), "GET", "/api/v1/cluster", { token: user });
      return v.body.members.every((m: { id: string; reachable: boolean }) => m.id === victim || !m.reachable)
        ? v
        : undefined;
    });
    assert.equal(view.status, 200);
    const during = await request(cluster.url(leader), "POST", "/api/v1/tasks", {
      token: user,
      body: { title: "while isolated" },
    });
    assert.equal(during.status, 201);
    const blocked = await request(cluster.url(victim), "POST", "/api/v1/tasks", {
      token: user,
      body: { title: "through the island" },
      timeoutMs: 15_000,
    });
    assert.ok([503, 504].includes(blocked.status), blocked.text);
    if (blocked.status === 503) assert.ok(blocked.headers.get("retry-after"));
    const stale = await request(cluster.url(victim), "GET", "/api/v1/tasks?consistency=stale&limit=1", {
      token: user,
    });
    assert.equal(stale.status, 200, "stale reads work without a leader");
    assert.equal(
      (await request(cluster.url(victim), "POST", "/api/v1/chaos/heal", { token: user })).status,
      200,
    );
    await until("the healed node to read the write made while it was isolated", async () => {
      const r = await request(cluster.url(victim), "GET", `/api/v1/tasks/${during.body.task.id}`, {
        token: user,
      });
      return r.status === 200 ? r : undefined;
    });

    const restart = await request(cluster.url(victim), "POST", "/api/v1/chaos/restart", {
      token: user,
      body: { nodeId: leader },
    });
    assert.equal(restart.status, 202, restart.text);
    assert.deepEqual(restarts, [leader]);
    const unknown = await request(cluster.url(victim), "POST", "/api/v1/chaos/restart", {
      token: user,
      body: { nodeId: "n9" },
    });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "not_found");

    const proc = cluster.nodes.get(victim)!.proc!;
    const exited = new Promise<string | null>((r) => proc.once("exit", (_c, sig) => r(sig)));
    const crash = await request(cluster.url(victim), "POST", "/api/v1/chaos/crash", { token: user });
    assert.equal(crash.status, 202);
    assert.equal(await exited, "SIGKILL");
    cluster.spawn(victim);
    await cluster.waitReady(victim);

    // The restarted node keeps no events from before its start: an old Last-Event-ID gets `reset`.
    const s = await EventStream.open(cluster.url(victim), "/api/v1/events", user, { "last-event-id": "1" });
    await s.waitFor((e) => e.event === "reset");
    s.close();
  });

  test("every node's database is identical", async () => {
    await cluster.waitForLeader();
    const report = await cluster.checkConsistency();
    assert.ok(report.consistent, JSON.stringify(report.differences));
  });
});
