import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { KvCluster, sleep } from "./harness.js";

/**
 * Real node processes (the production runtime around a test key-value state
 * machine) on 127.0.0.1, with real fsync and real faults: kill -9, SIGSTOP,
 * wiped disks, a wrong cluster secret.
 */

describe("3 node processes", { timeout: 180_000 }, () => {
  let c: KvCluster;
  after(async () => c?.close());

  test("elect one leader and replicate writes that every node reads back linearizably", async () => {
    c = await new KvCluster(3, ["--snapshot-entries", "200", "--compact-keep-entries", "20"]).init();
    c.startAll();
    const leader = await c.waitForLeader();
    assert.ok(["n1", "n2", "n3"].includes(leader));
    for (const [i, id] of ["n1", "n2", "n3"].entries()) {
      const r = await c.put(id, `k${i}`, `v${i}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      // A read that starts after the write's answer sees it, on every node.
      for (const other of ["n1", "n2", "n3"]) assert.equal(await c.get(other, `k${i}`), `v${i}`);
    }
  });

  test("kill -9 of the leader: a new leader is elected and no acknowledged write is lost", async () => {
    const old = await c.waitForLeader();
    const acked: string[] = [];
    let stop = false;
    const writers = ["n1", "n2", "n3"].map(async (via, w) => {
      for (let i = 0; !stop; i++) {
        const key = `w${w}-${i}`;
        try {
          const r = await c.put(via, key, key);
          if (r.status === 200) acked.push(key);
        } catch {
          // the node we wrote through may be the one killed
        }
        await sleep(5);
      }
    });
    await sleep(500);
    c.kill(old);
    const survivors = ["n1", "n2", "n3"].filter((x) => x !== old);
    const next = await c.waitForLeader(survivors);
    assert.notEqual(next, old);
    await sleep(500);
    stop = true;
    await Promise.all(writers);
    assert.ok(acked.length > 20, `only ${acked.length} writes acknowledged`);
    for (const key of acked.filter((k) => !k.startsWith(`w${Number(old.slice(1)) - 1}-`))) {
      assert.equal(await c.get(next, key), key, `acknowledged ${key} lost`);
    }
    // The old leader restarts from its disk and catches up.
    c.start(old);
    await c.waitFor(`${old} to catch up`, async () => {
      const [a, b] = await Promise.all([c.status(old), c.status(next)]);
      return !!a && !!b && a.smAppliedIndex >= b.commitIndex && a.term === b.term;
    });
    for (const key of acked) assert.equal(await c.get(old, key), key);
  });

  test("SIGSTOP of the leader past the election timeout, then SIGCONT: it steps down and commits nothing of its own", async () => {
    const old = await c.waitForLeader();
    const before = (await c.status(old))!;
    c.kill(old, "SIGSTOP");
    const survivors = ["n1", "n2", "n3"].filter((x) => x !== old);
    const next = await c.waitForLeader(survivors);
    assert.equal((await c.put(next, "during-pause", "yes")).status, 200);
    c.kill(old, "SIGCONT");
    // A write sent to the old leader right after it wakes must not be acknowledged in its stale term.
    const stale = await c.put(old, "stale-write", "x").catch(() => ({ status: 0, body: {} }));
    await c.waitFor(`${old} to step down`, async () => {
      const s = await c.status(old);
      return !!s && s.role === "follower" && s.term > before.term;
    });
    const seen = await c.get(next, "stale-write");
    if (stale.status === 200) assert.equal(seen, "x", "acknowledged write missing");
    assert.equal(await c.get(old, "during-pause"), "yes");
    const leaderNow = await c.waitForLeader();
    const st = (await c.status(leaderNow))!;
    assert.ok(st.term > before.term);
  });

  test("restart of all nodes from disk keeps the log and the data", async () => {
    const l = await c.waitForLeader();
    for (let i = 0; i < 30; i++) assert.equal((await c.put(l, `r${i}`, `${i}`)).status, 200);
    const commit = (await c.status(l))!.commitIndex;
    await Promise.all(["n1", "n2", "n3"].map((id) => c.killAndWait(id)));
    c.startAll();
    const l2 = await c.waitForLeader();
    const st = (await c.status(l2))!;
    assert.ok(st.commitIndex >= commit, `commit ${st.commitIndex} < ${commit} before the restart`);
    for (let i = 0; i < 30; i++) assert.equal(await c.get(l2, `r${i}`), `${i}`);
  });

  test("a node whose data dir was wiped rejoins through a snapshot", async () => {
    const l = await c.waitForLeader();
    const victim = ["n1", "n2", "n3"].find((x) => x !== l)!;
    await c.killAndWait(victim);
    c.wipe(victim);
    for (let i = 0; i < 300; i++) assert.equal((await c.put(l, `s${i}`, `${i}`)).status, 200);
    const ls = (await c.status(l))!;
    assert.ok(ls.snapshotIndex > 0 && ls.firstIndex > 1, "the leader should have compacted its log");
    c.start(victim);
    await c.waitFor(`${victim} to catch up by snapshot`, async () => {
      const s = await c.status(victim);
      return !!s && s.snapshotIndex > 0 && s.smAppliedIndex >= ls.commitIndex;
    });
    assert.equal(await c.get(victim, "s299"), "299");
    assert.equal(await c.get(victim, "k0"), "v0");
    const log = readFileSync(join(c.dir, `${victim}.log`), "utf8");
    assert.match(log, /snapshot received and installed/);
  });

  test("SIGTERM stops a node cleanly within 5 s", async () => {
    const id = "n1";
    const t0 = Date.now();
    const code = await c.stop(id);
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 5000);
    c.start(id);
    await c.waitForLeader();
  });
});

describe("5 node processes", { timeout: 120_000 }, () => {
  let c: KvCluster;
  after(async () => c?.close());

  test("survive the loss of two nodes, including the leader", async () => {
    c = await new KvCluster(5).init();
    c.startAll();
    const l = await c.waitForLeader();
    assert.equal((await c.put(l, "a", "1")).status, 200);
    const other = c.specs.map((s) => s.id).find((x) => x !== l)!;
    c.kill(l);
    c.kill(other);
    const rest = c.specs.map((s) => s.id).filter((x) => x !== l && x !== other);
    const l2 = await c.waitForLeader(rest);
    assert.equal((await c.put(l2, "b", "2")).status, 200);
    for (const id of rest) {
      assert.equal(await c.get(id, "a"), "1");
      assert.equal(await c.get(id, "b"), "2");
    }
  });
});

describe("cluster secret", { timeout: 60_000 }, () => {
  let c: KvCluster;
  after(async () => c?.close());

  test("a node with the wrong cluster secret is rejected and receives nothing", async () => {
    c = await new KvCluster(3).init();
    c.extraArgs.n3 = ["--cluster-secret", "wrong-secret"];
    c.startAll();
    const l = await c.waitForLeader(["n1", "n2"]);
    assert.equal((await c.put(l, "x", "1")).status, 200);
    await sleep(500);
    const s3 = await c.status("n3");
    assert.ok(s3, "n3 should still be running");
    assert.equal(s3.smAppliedIndex, 0);
    assert.notEqual(s3.role, "leader");
    const logs = ["n1", "n2", "n3"].map((id) => readFileSync(join(c.dir, `${id}.log`), "utf8")).join("\n");
    assert.match(logs, /handshake/i);
  });
});
