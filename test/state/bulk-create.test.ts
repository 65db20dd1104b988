import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { ApplyEntry } from "../../src/replica/state-machine.js";
import { checkConsistency } from "../../src/state/consistency.js";
import { MysqlStateMachine } from "../../src/state/mysql-state-machine.js";
import { Log, type Scratch, scratchStateMachine } from "./helpers.js";

/**
 * The fast path for runs of task creates (src/state/bulk-create.ts) must leave exactly what the
 * one-by-one path leaves — rows, positions, answers, idempotency records — whatever the batching,
 * since nodes batch the same log differently. One database applies every entry alone with the
 * fast path off; the others apply batches of 5 and of 300 with it on; all must agree.
 */
function buildLog(): ApplyEntry[] {
  const log = new Log();
  const e: ApplyEntry[] = [];
  const signup = (name: string) =>
    e.push(
      log.command({
        type: "user.signup",
        actorId: `u-${name}`,
        id: `u-${name}`,
        username: name,
        displayName: name,
        passwordHash: `scrypt$${name}`,
        inboxProjectId: `inbox-${name}`,
      }),
    );
  signup("alice");
  signup("bob");
  e.push(log.command({ type: "project.create", actorId: "u-alice", id: "p1", name: "P1" }));
  e.push(
    log.command({ type: "member.add", actorId: "u-alice", projectId: "p1", username: "bob", role: "member" }),
  );
  e.push(
    log.command({
      type: "label.create",
      actorId: "u-alice",
      id: "l1",
      projectId: "p1",
      name: "Bug",
      color: "#ff0000",
    }),
  );
  const statuses = ["todo", "in_progress", "done"] as const;
  let n = 0;
  const create = (over: Record<string, unknown> = {}) => {
    n++;
    e.push(
      log.command({
        type: "task.create",
        actorId: n % 3 === 0 ? "u-bob" : "u-alice",
        id: `t${n}`,
        projectId: "p1",
        title: `task ${n}`,
        ...(n % 4 === 0 ? { description: "with a description" } : {}),
        ...(n % 5 === 0 ? { status: statuses[n % 3] } : {}),
        ...(n % 7 === 0 ? { dueDate: "2026-12-01", priority: "high" } : {}),
        ...(n % 2 === 0 ? { idem: { userId: n % 3 === 0 ? "u-bob" : "u-alice", key: `k${n}` } } : {}),
        ...over,
      } as never),
    );
  };
  // Long plain runs (one crosses the 64-entry sweep boundary), into p1 and into the Inbox.
  for (let i = 0; i < 120; i++) create();
  for (let i = 0; i < 10; i++) create({ projectId: undefined, actorId: "u-alice" });
  // Runs the fast path must hand back: an id already taken, an id twice in the run, an idempotent
  // retry of an earlier create, a project the actor is not in, a missing actor, a missing project.
  for (let i = 0; i < 4; i++) create();
  create({ id: "t3" });
  for (let i = 0; i < 4; i++) create();
  create({ id: `t${n + 2}` });
  create();
  for (let i = 0; i < 4; i++) create();
  create({ idem: { userId: "u-alice", key: "k2" }, actorId: "u-alice", id: "t-retry" });
  for (let i = 0; i < 4; i++) create();
  create({ projectId: "inbox-bob", actorId: "u-alice" });
  for (let i = 0; i < 4; i++) create();
  create({ actorId: "u-nobody" });
  create({ projectId: "nope" });
  // Creates the fast path does not take (labels, assignee, placement) between plain ones.
  for (let i = 0; i < 4; i++) create();
  create({ labelIds: ["l1"] });
  for (let i = 0; i < 4; i++) create();
  create({ assigneeId: "u-bob" });
  create({ afterId: "t1" });
  for (let i = 0; i < 6; i++) create();
  create({ beforeId: "t1" });
  for (let i = 0; i < 30; i++) create();
  // Other commands in between, then another run.
  e.push(log.command({ type: "task.update", actorId: "u-alice", taskId: "t10", title: "renamed" } as never));
  e.push(log.command({ type: "task.delete", actorId: "u-alice", taskId: "t11" } as never));
  for (let i = 0; i < 20; i++) create();
  return e;
}

const entries = buildLog();
const dbs: Scratch[] = [];
const machines: MysqlStateMachine[] = [];
const results: unknown[][] = [];

before(async () => {
  for (const [name, size, bulk] of [
    ["bulk_off_1", 1, false],
    ["bulk_on_5", 5, true],
    ["bulk_on_300", 300, true],
  ] as const) {
    const s = await scratchStateMachine(name);
    await s.sm.close();
    const sm = new MysqlStateMachine({ url: s.db.url, connectionLimit: 4, bulkCreates: bulk });
    await sm.open();
    const out: unknown[] = [];
    for (let i = 0; i < entries.length; i += size) out.push(...(await sm.apply(entries.slice(i, i + size))));
    dbs.push(s);
    machines.push(sm);
    results.push(out);
  }
});
after(async () => {
  for (const sm of machines) await sm.close().catch(() => {});
  for (const s of dbs) await s.db.drop().catch(() => {});
});

test("runs of creates applied together leave the same rows, answers and idempotency records as one by one", async () => {
  assert.equal(machines[0]!.stats().bulkRuns, 0);
  assert.ok(
    machines[1]!.stats().bulkRuns > 5,
    `fast path used ${machines[1]!.stats().bulkRuns} times in batches of 5`,
  );
  assert.ok(
    machines[2]!.stats().bulkRuns > 5,
    `fast path used ${machines[2]!.stats().bulkRuns} times in batches of 300`,
  );
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[2], results[0]);
  const codes = (results[0] as { status: number }[]).map((r) => r?.status);
  for (const status of [201, 409, 404]) assert.ok(codes.includes(status), `the log exercises ${status}`);
  const report = await checkConsistency({ urls: dbs.map((s) => s.db.url) });
  assert.ok(report.consistent, JSON.stringify(report.differences.slice(0, 3)));
  const tasks = report.tables.find((t) => t.table === "tasks");
  assert.ok(tasks && tasks.rowCounts[0]! > 200, JSON.stringify(tasks));
});
