/**
 * The replicated API across a 3-node cluster of real processes: writes answered by any node are
 * visible to linearizable reads on every other node; compare-and-set races; idempotent retries
 * across a leader crash; live events across nodes; identical databases at the end.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Cluster, EventStream, request, signup, sleep, uniqueName } from "./harness.js";

describe("replication through the API", () => {
  const cluster = new Cluster({ name: "repl" });
  let token = "";

  before(async () => {
    await cluster.start();
    token = (await signup(cluster.url("n1"), uniqueName("repl"))).token;
  });
  after(async () => {
    await cluster.close();
  });

  test("a write on each node is read back linearizably from every other node right after its 2xx", async () => {
    for (const writer of cluster.ids) {
      const created = await request(cluster.url(writer), "POST", "/api/v1/tasks", {
        token,
        body: { title: `from ${writer}` },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.headers.get("x-taskraft-node"), writer);
      const id = created.body.task.id as string;
      for (const readerId of cluster.ids.filter((x) => x !== writer)) {
        const r = await request(cluster.url(readerId), "GET", `/api/v1/tasks/${id}`, { token });
        assert.equal(r.status, 200, `${readerId} reading ${writer}'s task: ${r.text}`);
        assert.equal(r.body.task.title, `from ${writer}`);
        assert.equal(r.headers.get("etag"), '"1"');
      }
      // An update through a third node, read back on the writer.
      const third = cluster.ids.find((x) => x !== writer)!;
      const patched = await request(cluster.url(third), "PATCH", `/api/v1/tasks/${id}`, {
        token,
        body: { status: "done" },
      });
      assert.equal(patched.status, 200, patched.text);
      const back = await request(cluster.url(writer), "GET", `/api/v1/tasks/${id}`, { token });
      assert.equal(back.body.task.status, "done");
      assert.equal(back.body.task.version, 2);
    }
  });

  test("two clients racing with If-Match: exactly one wins, the other gets 412, the task shows the winner", async () => {
    const created = await request(cluster.url("n1"), "POST", "/api/v1/tasks", {
      token,
      body: { title: "race" },
    });
    const id = created.body.task.id as string;
    for (let round = 0; round < 3; round++) {
      const cur = await request(cluster.url("n1"), "GET", `/api/v1/tasks/${id}`, { token });
      const tag = cur.headers.get("etag")!;
      const [a, b] = await Promise.all(
        ["n2", "n3"].map((node) =>
          request(cluster.url(node), "PATCH", `/api/v1/tasks/${id}`, {
            token,
            headers: { "if-match": tag },
            body: { title: `winner ${node} ${round}` },
          }),
        ),
      );
      const statuses = [a!.status, b!.status].sort();
      assert.deepEqual(statuses, [200, 412], `${a!.text} / ${b!.text}`);
      const winner = a!.status === 200 ? a! : b!;
      const loser = a!.status === 200 ? b! : a!;
      assert.equal(loser.body.error.code, "precondition_failed");
      const now = await request(cluster.url("n1"), "GET", `/api/v1/tasks/${id}`, { token });
      assert.equal(now.body.task.title, winner.body.task.title);
      assert.equal(now.body.task.version, Number(tag.replaceAll('"', "")) + 1);
    }
  });

  test("SSE: a change made on another node arrives within a second; resume by Last-Event-ID loses nothing", async () => {
    const stream = await EventStream.open(cluster.url("n3"), "/api/v1/events", token);
    assert.equal(stream.status, 200);
    await stream.waitFor((e) => e.event === "cluster");
    const t0 = Date.now();
    const created = await request(cluster.url("n1"), "POST", "/api/v1/tasks", {
      token,
      body: { title: "live" },
    });
    const id = created.body.task.id as string;
    const ev = await stream.waitFor((e) => e.event === "task.created" && e.data.id === id, 1000);
    assert.ok(Date.now() - t0 < 1000);
    assert.match(ev.id!, /^\d+$/);
    stream.close();

    // Changes while disconnected, then resume on another node.
    const titles = ["gap 1", "gap 2", "gap 3"];
    const ids: string[] = [];
    for (const title of titles) {
      const r = await request(cluster.url("n2"), "POST", "/api/v1/tasks", { token, body: { title } });
      ids.push(r.body.task.id);
    }
    const resumed = await EventStream.open(cluster.url("n2"), "/api/v1/events", token, {
      "last-event-id": ev.id!,
    });
    for (const tid of ids)
      await resumed.waitFor((e) => e.event === "task.created" && e.data.id === tid, 2000);
    const replayed = resumed.events.filter((e) => e.event === "task.created").map((e) => e.data.id);
    assert.deepEqual(replayed.slice(0, 3), ids, "in log order, without the event already seen");
    resumed.close();

    // A gap older than anything kept answers `reset`.
    const old = await EventStream.open(cluster.url("n1"), "/api/v1/events", token, { "last-event-id": "0" });
    // n1 started at index 0, so index 0 is not a gap; a node restarted later would answer reset.
    old.close();
  });

  test("an idempotent retry sent to another node after the leader is killed returns the first answer; one task exists", async () => {
    const leader = await cluster.leader();
    const key = `retry-${uniqueName("k")}`;
    const title = uniqueName("idem");
    const first = await request(cluster.url(leader), "POST", "/api/v1/tasks", {
      token,
      headers: { "idempotency-key": key },
      body: { title },
    });
    assert.equal(first.status, 201);
    await cluster.kill(leader);
    const other = cluster.ids.find((x) => x !== leader)!;
    let retry = await request(cluster.url(other), "POST", "/api/v1/tasks", {
      token,
      headers: { "idempotency-key": key },
      body: { title },
    });
    for (let i = 0; i < 50 && (retry.status === 503 || retry.status === 504); i++) {
      await sleep(200);
      retry = await request(cluster.url(other), "POST", "/api/v1/tasks", {
        token,
        headers: { "idempotency-key": key },
        body: { title },
      });
    }
    assert.equal(retry.status, 201, retry.text);
    assert.deepEqual(retry.body, first.body);
    const list = await request(cluster.url(other), "GET", `/api/v1/tasks?q=${title}`, { token });
    assert.equal(list.body.items.length, 1);
    cluster.spawn(leader);
    await cluster.waitReady(leader);
  });

  test("every node's database is identical", async () => {
    await cluster.waitForLeader();
    const report = await cluster.checkConsistency();
    assert.ok(report.consistent, JSON.stringify(report.differences));
  });
});
