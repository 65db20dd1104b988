import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { getTask } from "../../src/state/queries.js";
import type { ApplyResult } from "../../src/state/results.js";
import { selectRows } from "../../src/state/sql.js";
import {
  applyOne,
  checksums,
  iso,
  Log,
  type Scratch,
  scratchStateMachine,
  signup,
  T0,
  type TestUser,
} from "./helpers.js";

const DAY = 86_400_000;

describe("idempotency and retries", () => {
  let s: Scratch;
  const log = new Log();
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    s = await scratchStateMachine("idem");
    alice = await signup(s.sm, log, "alice");
    bob = await signup(s.sm, log, "bob");
  });
  after(async () => {
    await s.close();
  });

  test("a replay with the same key returns the first result, with no events, and changes nothing", async () => {
    const idem = { userId: alice.id, key: "create-1" };
    const first = await applyOne(
      s.sm,
      log.command({ type: "task.create", actorId: alice.id, id: "t1", title: "one", idem }),
    );
    assert.equal(first.status, 201);
    const before = await checksums(s.pool);
    // The retry was proposed with a fresh id and title: the stored answer wins all the same.
    const replay = await applyOne(
      s.sm,
      log.command({ type: "task.create", actorId: alice.id, id: "t1b", title: "two", idem }),
    );
    assert.deepEqual(replay, { status: first.status, body: first.body, events: [] });
    const after = await checksums(s.pool);
    for (const table of Object.keys(before)) {
      if (table !== "raft_applied") assert.deepEqual(after[table], before[table], table);
    }
    assert.equal(await getTask(s.pool, alice.id, "t1b"), undefined);
  });

  test("refusals are stored too; keys are per user", async () => {
    const idem = { userId: alice.id, key: "delete-missing" };
    const first = await applyOne(
      s.sm,
      log.command({ type: "task.delete", actorId: alice.id, taskId: "nope", idem }),
    );
    assert.equal(first.status, 404);
    await applyOne(
      s.sm,
      log.command({ type: "task.create", actorId: alice.id, id: "nope", title: "now it exists" }),
    );
    const replay = await applyOne(
      s.sm,
      log.command({ type: "task.delete", actorId: alice.id, taskId: "nope", idem }),
    );
    assert.equal(replay.status, 404);
    assert.ok(await getTask(s.pool, alice.id, "nope"));
    const otherUser = await applyOne(
      s.sm,
      log.command({
        type: "task.create",
        actorId: bob.id,
        id: "tb",
        title: "bob's",
        idem: { userId: bob.id, key: "create-1" },
      }),
    );
    assert.equal(otherUser.status, 201);
  });

  test("a key is forgotten after 24 hours of log time, not node time", async () => {
    const idem = { userId: alice.id, key: "expiring" };
    const t = T0 + 10 * DAY;
    const first = await applyOne(
      s.sm,
      log.command({ type: "task.create", actorId: alice.id, id: "e1", title: "e", idem, at: iso(t) }),
    );
    assert.equal(first.status, 201);
    const within = await applyOne(
      s.sm,
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "e2",
        title: "e",
        idem,
        at: iso(t + DAY - 1),
      }),
    );
    assert.deepEqual(within.body, first.body);
    const afterDay = await applyOne(
      s.sm,
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "e3",
        title: "e",
        idem,
        at: iso(t + DAY + 1),
      }),
    );
    assert.equal(afterDay.status, 201);
    assert.equal((afterDay.body as { task: { id: string } }).task.id, "e3");
  });

  test("the periodic sweep deletes expired keys and sessions by log time", async () => {
    const t = T0 + 30 * DAY;
    const rows = async () =>
      (
        await selectRows<{ n: number }>(
          s.pool,
          "SELECT COUNT(*) AS n FROM idempotency WHERE created_at < ?",
          ["2026-01-30 00:00:00.000"],
        )
      )[0]!.n;
    assert.ok(Number(await rows()) > 0);
    await applyOne(
      s.sm,
      log.command({
        type: "session.create",
        actorId: alice.id,
        userId: alice.id,
        tokenHash: "e".repeat(64),
        expiresAt: iso(T0 + DAY),
      }),
    );
    const expiredSessions = async () =>
      (await selectRows(s.pool, "SELECT token_hash FROM sessions WHERE token_hash = ?", ["e".repeat(64)]))
        .length;
    assert.equal(await expiredSessions(), 1);
    const batch = [];
    for (let i = 0; i < 70; i++) {
      batch.push(
        log.command({ type: "session.revoke", actorId: alice.id, tokenHash: "0".repeat(64), at: iso(t + i) }),
      );
    }
    await s.sm.apply(batch);
    assert.equal(Number(await rows()), 0);
    const sessions = await selectRows(s.pool, "SELECT token_hash FROM sessions WHERE expires_at < ?", [
      "2026-01-31 00:00:00.000",
    ]);
    assert.equal(sessions.length, 0);
    const swept = await selectRows<{ swept_index: number }>(s.pool, "SELECT swept_index FROM raft_applied");
    assert.ok(Number(swept[0]!.swept_index) > log.index - 70);
  });

  test("a batch handed in again changes nothing and answers with the first results", async () => {
    const batch = [
      log.command({ type: "task.create", actorId: alice.id, id: "r1", title: "r1" }),
      log.noop(),
      log.command({ type: "task.update", actorId: alice.id, taskId: "r1", title: "r1b" }),
    ];
    const first = (await s.sm.apply(batch)) as (ApplyResult | undefined)[];
    const before = await checksums(s.pool);
    const stats = s.sm.stats();
    const again = await s.sm.apply(batch);
    assert.deepEqual(again, first);
    assert.deepEqual(await checksums(s.pool), before);
    assert.equal(s.sm.stats().skipped, stats.skipped + 3);
    // Partly applied: the known entries are skipped, the new one applied once.
    const next = log.command({ type: "task.update", actorId: alice.id, taskId: "r1", title: "r1c" });
    const mixed = (await s.sm.apply([batch[2]!, next])) as ApplyResult[];
    assert.equal((mixed[1]!.body as { task: { version: number } }).task.version, 3);
    assert.equal((await getTask(s.pool, alice.id, "r1"))?.version, 3);
  });

  test("stats() counts batches, entries and refusals, with a batch-size histogram", () => {
    const st = s.sm.stats();
    assert.ok(st.batches > 0 && st.entries >= st.commands && st.refusals > 0);
    assert.equal(st.batchSizeBuckets.at(-1), st.batches);
    assert.equal(st.appliedIndex, log.index);
  });
});
