import assert from "node:assert/strict";
import { after, test } from "node:test";
import { KvCluster, sleep } from "./harness.js";

/**
 * A write waiting on a follower whose leader dies: the forwarded proposal died with the leader,
 * so the follower answers "outcome unknown" (504) as soon as it sees the leader change, instead of
 * holding the client for the whole proposal timeout (set to 30 s here so the two cannot be confused).
 * Reads waiting for the dead leader's ReadIndex confirmation answer 503 at the same moment.
 */
let c: KvCluster | undefined;
after(async () => c?.close());

test("writes and reads in flight through a follower when the leader is killed are answered at the leader change (504, 503), not at the timeout", {
  timeout: 120_000,
}, async (t) => {
  c = await new KvCluster(3, ["--proposal-timeout-ms", "30000"]).init();
  c.startAll();
  const leader = await c.waitForLeader();
  const follower = ["n1", "n2", "n3"].find((x) => x !== leader)!;
  assert.equal((await c.put(follower, "warm", "up")).status, 200);
  // Freeze the leader so forwarded proposals reach nobody, start writes through the follower,
  // then kill it: the follower only learns of the loss when its election timeout fires.
  c.kill(leader, "SIGSTOP");
  const t0 = Date.now();
  const pending = Array.from({ length: 5 }, (_, i) =>
    c!.request(follower, "POST", "/put", { key: `lost-${i}`, value: "x" }, 40_000).then((r) => ({
      status: r.status,
      ms: Date.now() - t0,
    })),
  );
  const read = c
    .request(follower, "GET", "/get?key=warm", undefined, 40_000)
    .then((r) => ({ status: r.status, ms: Date.now() - t0 }));
  await sleep(100);
  c.kill(leader, "SIGKILL");
  const answers = await Promise.all(pending);
  // A linearizable read waiting for the dead leader's confirmation: 503 (retry anywhere), also early.
  const r = await read;
  assert.equal(r.status, 503, JSON.stringify(r));
  assert.ok(r.ms < 15_000, `read answered after ${r.ms} ms: waited for the 30 s read timeout`);
  const survivors = ["n1", "n2", "n3"].filter((x) => x !== leader);
  await c.waitForLeader(survivors);
  for (const a of answers) {
    assert.equal(a.status, 504, JSON.stringify(answers));
    assert.ok(
      a.ms < 15_000,
      `answered after ${a.ms} ms: waited for the 30 s proposal timeout (${JSON.stringify(answers)})`,
    );
  }
  t.diagnostic(`answered after ${answers.map((a) => a.ms).join(", ")} ms (writes) and ${r.ms} ms (read)`);
  // The cluster goes on: a write through the same follower now succeeds.
  assert.equal((await c.put(follower, "after", "ok")).status, 200);
});
