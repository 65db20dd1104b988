import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Task } from "../../src/state/mapping.js";
import { getTask, listProjects, listTasks, type TaskFilters } from "../../src/state/queries.js";
import { applyOne, Log, type Scratch, scratchStateMachine, signup, type TestUser } from "./helpers.js";

describe("listTasks filters and sorts", () => {
  let s: Scratch;
  let alice: TestUser;
  let bob: TestUser;
  const log = new Log();

  const ids = async (f: TaskFilters, user = alice) =>
    (await listTasks(s.pool, user.id, f)).items.map((t: Task) => t.id);

  before(async () => {
    s = await scratchStateMachine("queries");
    alice = await signup(s.sm, log, "alice");
    bob = await signup(s.sm, log, "bob");
    const cmds = [
      log.command({ type: "project.create", actorId: alice.id, id: "p", name: "P" }),
      log.command({ type: "member.add", actorId: alice.id, projectId: "p", username: "bob", role: "member" }),
      log.command({
        type: "label.create",
        actorId: alice.id,
        id: "l",
        projectId: "p",
        name: "L",
        color: "#000000",
      }),
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "a",
        projectId: "p",
        title: "Write 100% of the docs",
        priority: "low",
        dueDate: "2026-03-01",
      }),
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "b",
        projectId: "p",
        title: "Fix login_form",
        description: "The FORM breaks",
        priority: "urgent",
        assigneeId: bob.id,
        labelIds: ["l"],
        dueDate: "2026-02-01",
      }),
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "c",
        projectId: "p",
        title: "Ship it",
        status: "done",
        priority: "high",
      }),
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "d",
        projectId: "p",
        title: "Plan",
        status: "in_progress",
      }),
      log.command({ type: "task.create", actorId: alice.id, id: "e", title: "Private inbox task" }),
    ];
    for (const c of cmds) assert.ok((await applyOne(s.sm, c)).status < 300);
    await applyOne(
      s.sm,
      log.command({ type: "task.update", actorId: alice.id, taskId: "a", title: "Write 100% of the docs!" }),
    );
  });
  after(async () => {
    await s.close();
  });

  test("visibility: only tasks of the user's projects", async () => {
    assert.deepEqual(new Set(await ids({})), new Set(["a", "b", "c", "d", "e"]));
    assert.deepEqual(new Set(await ids({}, bob)), new Set(["a", "b", "c", "d"]));
    assert.equal(await getTask(s.pool, bob.id, "e"), undefined);
    assert.deepEqual(await ids({ projectId: alice.inbox }, bob), []);
    assert.deepEqual(
      (await listProjects(s.pool, bob.id)).items.map((p) => p.id).sort(),
      [bob.inbox, "p"].sort(),
    );
  });

  test("position sort is board order: todo, in progress, done; then position", async () => {
    assert.deepEqual(await ids({ projectId: "p" }), ["a", "b", "d", "c"]);
  });

  test("filters: status, priority, assignee, label, due dates", async () => {
    assert.deepEqual(await ids({ projectId: "p", status: "done" }), ["c"]);
    assert.deepEqual(await ids({ priority: "urgent" }), ["b"]);
    assert.deepEqual(await ids({ assigneeId: bob.id }), ["b"]);
    assert.deepEqual(await ids({ labelId: "l" }), ["b"]);
    assert.deepEqual(await ids({ dueBefore: "2026-02-15" }), ["b"]);
    assert.deepEqual(await ids({ dueAfter: "2026-02-15" }), ["a"]);
    assert.deepEqual(await ids({ dueAfter: "2026-01-01", dueBefore: "2026-12-31", sort: "dueDate" }), [
      "b",
      "a",
    ]);
  });

  test("q matches title and description, case-insensitively, with % and _ taken literally", async () => {
    assert.deepEqual(await ids({ q: "form" }), ["b"]);
    assert.deepEqual(await ids({ q: "100%" }), ["a"]);
    assert.deepEqual(await ids({ q: "n_f" }), ["b"]);
    assert.deepEqual(await ids({ q: "%" }), ["a"]);
    assert.deepEqual(await ids({ q: "_" }), ["b"]);
    assert.deepEqual(await ids({ q: "!" }), ["a"]);
    assert.deepEqual(await ids({ q: "zzz" }), []);
  });

  test("sorts: -updatedAt, dueDate (no date last), -priority, createdAt", async () => {
    assert.equal((await ids({ sort: "-updatedAt" }))[0], "a");
    assert.deepEqual(await ids({ projectId: "p", sort: "dueDate" }), ["b", "a", "c", "d"]);
    assert.deepEqual(await ids({ projectId: "p", sort: "-priority" }), ["b", "c", "d", "a"]);
    assert.deepEqual(await ids({ sort: "createdAt" }), ["a", "b", "c", "d", "e"]);
  });

  test("pages of one follow each other and end with a null cursor", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await listTasks(s.pool, alice.id, { limit: 1, sort: "-priority", cursor });
      seen.push(...page.items.map((t) => t.id));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    assert.deepEqual(seen, await ids({ sort: "-priority" }));
  });
});
