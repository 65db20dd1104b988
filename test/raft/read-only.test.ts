import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_PENDING_READS, ReadOnlyQueue } from "../../src/raft/read-only.js";

test("§6.4 a new read records the commit index and the leader's own acknowledgement", () => {
  const q = new ReadOnlyQueue();
  assert.equal(q.add("r1", 7, "b", "a"), true);
  assert.equal(q.size, 1);
  const acks = q.ack("r1", "c");
  assert.deepEqual([...(acks ?? [])].sort(), ["a", "c"]);
});

test("a context already queued is refused (each read is confirmed once)", () => {
  const q = new ReadOnlyQueue();
  assert.equal(q.add("r1", 7, "a", "a"), true);
  assert.equal(q.add("r1", 9, "a", "a"), false);
  assert.equal(q.size, 1);
});

test("an acknowledgement for an unknown context is ignored", () => {
  const q = new ReadOnlyQueue();
  assert.equal(q.ack("nope", "b"), undefined);
});

test("§6.4 release confirms the read and every read queued before it, in arrival order", () => {
  const q = new ReadOnlyQueue();
  q.add("r1", 1, "a", "a");
  q.add("r2", 2, "b", "a");
  q.add("r3", 3, "c", "a");
  const done = q.release("r2");
  assert.deepEqual(
    done.map((r) => [r.context, r.index, r.from]),
    [
      ["r1", 1, "a"],
      ["r2", 2, "b"],
    ],
  );
  assert.equal(q.size, 1);
  assert.equal(q.ack("r1", "b"), undefined, "released reads are forgotten");
  assert.deepEqual(q.release("r1"), []);
  assert.equal(q.lastContext(), "r3");
});

test("lastContext names the newest read; clear drops them all", () => {
  const q = new ReadOnlyQueue();
  assert.equal(q.lastContext(), "");
  q.add("r1", 1, "a", "a");
  q.add("r2", 1, "a", "a");
  assert.equal(q.lastContext(), "r2");
  q.clear();
  assert.equal(q.size, 0);
  assert.equal(q.lastContext(), "");
  assert.equal(q.add("r1", 1, "a", "a"), true, "a cleared context may be used again");
});

test("the queue is bounded: past MAX_PENDING_READS new reads are refused", () => {
  const q = new ReadOnlyQueue();
  for (let i = 0; i < MAX_PENDING_READS; i++) assert.equal(q.add(`r${i}`, i, "a", "a"), true);
  assert.equal(q.add("one-more", 0, "a", "a"), false);
  assert.equal(q.size, MAX_PENDING_READS);
});
