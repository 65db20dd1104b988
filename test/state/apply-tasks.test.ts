import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Task } from "../../src/state/mapping.js";
import { getComment, getTask, listComments, listTasks } from "../../src/state/queries.js";
import type { ApplyResult } from "../../src/state/results.js";
import { MAX_POSITION_LENGTH } from "../../src/state/task-placement.js";
import {
  applyOne,
  bodyOf,
  codeOf,
  iso,
  Log,
  type Scratch,
  scratchStateMachine,
  signup,
  T0,
  type TestUser,
} from "./helpers.js";

function taskOf(r: ApplyResult): Task {
  assert.ok(r.status < 300, `expected success, got ${r.status} ${JSON.stringify(r.body)}`);
  return bodyOf<Task>(r, "task");
}

describe("tasks and comments", () => {
  let s: Scratch;
  const log = new Log();
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;

  async function column(projectId: string, status: Task["status"]): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listTasks(s.pool, alice.id, { projectId, status, limit: 500, cursor });
      ids.push(...page.items.map((t) => t.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return ids;
  }

  before(async () => {
    s = await scratchStateMachine("tasks");
    alice = await signup(s.sm, log, "alice");
    bob = await signup(s.sm, log, "bob");
    carol = await signup(s.sm, log, "carol");
    await applyOne(s.sm, log.command({ type: "project.create", actorId: alice.id, id: "p1", name: "P1" }));
    await applyOne(s.sm, log.command({ type: "project.create", actorId: alice.id, id: "p2", name: "P2" }));
    await applyOne(
      s.sm,
      log.command({
        type: "member.add",
        actorId: alice.id,
        projectId: "p1",
        username: "bob",
        role: "member",
      }),
    );
    await applyOne(
      s.sm,
      log.command({
        type: "label.create",
        actorId: alice.id,
        id: "l1",
        projectId: "p1",
        name: "Bug",
        color: "#ff0000",
      }),
    );
    await applyOne(
      s.sm,
      log.command({
        type: "label.create",
        actorId: alice.id,
        id: "l2",
        projectId: "p1",
        name: "UI",
        color: "#00ff00",
      }),
    );
    await applyOne(
      s.sm,
      log.command({
        type: "label.create",
        actorId: alice.id,
        id: "lp2",
        projectId: "p2",
        name: "Ops",
        color: "#0000ff",
      }),
    );
  });
  after(async () => {
    await s.close();
  });

  test("task.create with defaults goes to the Inbox, todo, medium, at the end of its column", async () => {
    const r = await applyOne(
      s.sm,
      log.command({ type: "task.create", actorId: alice.id, id: "t1", title: "  first  " }),
    );
    assert.equal(r.status, 201);
    const t = taskOf(r);
    assert.deepEqual(t, {
      id: "t1",
      projectId: alice.inbox,
      title: "first",
      description: "",
      status: "todo",
      priority: "medium",
      dueDate: null,
      assigneeId: null,
      labelIds: [],
      position: t.position,
      createdBy: alice.id,
      createdAt: iso(log.clock),
      updatedAt: iso(log.clock),
      completedAt: null,
      version: 1,
    });
    assert.deepEqual(r.events, [{ type: "task.created", projectId: alice.inbox, data: t }]);
    const second = taskOf(
      await applyOne(
        s.sm,
        log.command({ type: "task.create", actorId: alice.id, id: "t2", title: "second" }),
      ),
    );
    assert.ok(second.position > t.position);
    assert.deepEqual(await getTask(s.pool, alice.id, "t1"), t);
  });

  test("task.create with every field; done sets completedAt; labels sorted; SQL metacharacters and unicode verbatim", async () => {
    const title = `'; DROP TABLE tasks; -- \\ % _ "x" 😀 日本 \u0000 end`;
    const description = "line1\nline2\t\u{1F680} ' \" ` \\";
    const t = taskOf(
      await applyOne(
        s.sm,
        log.command({
          type: "task.create",
          actorId: alice.id,
          id: "t3",
          projectId: "p1",
          title,
          description,
          status: "done",
          priority: "urgent",
          dueDate: "2026-12-01",
          assigneeId: bob.id,
          labelIds: ["l2", "l1"],
        }),
      ),
    );
    assert.deepEqual(
      [t.title, t.description, t.status, t.priority, t.dueDate, t.assigneeId, t.labelIds, t.completedAt],
      [title.trim(), description, "done", "urgent", "2026-12-01", bob.id, ["l1", "l2"], iso(log.clock)],
    );
    assert.deepEqual(await getTask(s.pool, bob.id, "t3"), t);
    assert.equal(await getTask(s.pool, carol.id, "t3"), undefined);
  });

  test("task.create refusals: invisible project, id taken, assignee not a member, foreign label, bad neighbour, bad fields", async () => {
    const invisible = await applyOne(
      s.sm,
      log.command({ type: "task.create", actorId: carol.id, id: "tx1", projectId: "p1", title: "x" }),
    );
    assert.equal(codeOf(invisible), "not_found");
    const taken = await applyOne(
      s.sm,
      log.command({ type: "task.create", actorId: alice.id, id: "t1", title: "x" }),
    );
    assert.equal(codeOf(taken), "conflict");
    const assignee = await applyOne(
      s.sm,
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "tx2",
        projectId: "p1",
        title: "x",
        assigneeId: carol.id,
      }),
    );
    assert.equal(codeOf(assignee), "validation_failed");
    const label = await applyOne(
      s.sm,
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "tx3",
        projectId: "p1",
        title: "x",
        labelIds: ["l1", "lp2"],
      }),
    );
    assert.deepEqual((label.body as { error: { details: unknown } }).error.details, [
      { path: "labelIds[1]", message: "must be a label of the task's project" },
    ]);
    const neighbour = await applyOne(
      s.sm,
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "tx4",
        projectId: "p1",
        title: "x",
        afterId: "t1",
      }),
    );
    assert.equal(codeOf(neighbour), "validation_failed");
    const fields = await applyOne(
      s.sm,
      log.json({
        v: 1,
        type: "task.create",
        actorId: alice.id,
        at: iso(T0),
        id: "tx5",
        title: "x".repeat(201),
        description: "d".repeat(10_001),
        status: "blocked",
        priority: "low",
        dueDate: "2026-02-30",
        labelIds: ["l1", "l1"],
      }),
    );
    assert.deepEqual(
      (fields.body as { error: { details: { path: string }[] } }).error.details.map((d) => d.path).sort(),
      ["description", "dueDate", "labelIds[1]", "status", "title"],
    );
    for (const id of ["tx1", "tx2", "tx3", "tx4", "tx5"])
      assert.equal(await getTask(s.pool, alice.id, id), undefined);
  });

  test("placement: afterId, beforeId and both put the task exactly there", async () => {
    for (const id of ["a", "b", "c"]) {
      await applyOne(
        s.sm,
        log.command({ type: "task.create", actorId: alice.id, id, projectId: "p2", title: id }),
      );
    }
    await applyOne(
      s.sm,
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "x",
        projectId: "p2",
        title: "x",
        afterId: "a",
      }),
    );
    await applyOne(
      s.sm,
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "y",
        projectId: "p2",
        title: "y",
        beforeId: "a",
      }),
    );
    await applyOne(
      s.sm,
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "z",
        projectId: "p2",
        title: "z",
        afterId: "b",
        beforeId: "c",
      }),
    );
    assert.deepEqual(await column("p2", "todo"), ["y", "a", "x", "b", "z", "c"]);
    const reversed = await applyOne(
      s.sm,
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "w",
        projectId: "p2",
        title: "w",
        afterId: "c",
        beforeId: "a",
      }),
    );
    assert.equal(codeOf(reversed), "validation_failed");
  });

  test("task.update: fields, version + 1, updatedAt; completedAt follows done; moves; If-Match", async () => {
    const moved = taskOf(
      await applyOne(
        s.sm,
        log.command({
          type: "task.update",
          actorId: alice.id,
          taskId: "c",
          beforeId: "y",
          expectedVersion: 1,
        }),
      ),
    );
    assert.equal(moved.version, 2);
    assert.deepEqual(await column("p2", "todo"), ["c", "y", "a", "x", "b", "z"]);

    const done = taskOf(
      await applyOne(
        s.sm,
        log.command({ type: "task.update", actorId: alice.id, taskId: "a", status: "done", title: "A!" }),
      ),
    );
    assert.deepEqual(
      [done.status, done.title, done.completedAt, done.updatedAt, done.version],
      ["done", "A!", iso(log.clock), iso(log.clock), 2],
    );
    assert.deepEqual(await column("p2", "done"), ["a"]);
    const doneAt = done.completedAt;
    const stillDone = taskOf(
      await applyOne(
        s.sm,
        log.command({ type: "task.update", actorId: alice.id, taskId: "a", priority: "low" }),
      ),
    );
    assert.equal(stillDone.completedAt, doneAt);
    // A move to another column without neighbours goes to its end.
    const back = taskOf(
      await applyOne(
        s.sm,
        log.command({ type: "task.update", actorId: alice.id, taskId: "a", status: "todo" }),
      ),
    );
    assert.equal(back.completedAt, null);
    assert.deepEqual(await column("p2", "todo"), ["c", "y", "x", "b", "z", "a"]);
    const cleared = taskOf(
      await applyOne(
        s.sm,
        log.command({
          type: "task.update",
          actorId: alice.id,
          taskId: "a",
          dueDate: "2027-01-31",
          description: "new",
        }),
      ),
    );
    assert.deepEqual([cleared.dueDate, cleared.description], ["2027-01-31", "new"]);
    const unset = taskOf(
      await applyOne(
        s.sm,
        log.command({ type: "task.update", actorId: alice.id, taskId: "a", dueDate: null }),
      ),
    );
    assert.equal(unset.dueDate, null);

    const stale = await applyOne(
      s.sm,
      log.command({ type: "task.update", actorId: alice.id, taskId: "a", title: "nope", expectedVersion: 1 }),
    );
    assert.equal(stale.status, 412);
    assert.deepEqual(await getTask(s.pool, alice.id, "a"), unset);
    const outsider = await applyOne(
      s.sm,
      log.command({ type: "task.update", actorId: bob.id, taskId: "a", title: "x" }),
    );
    assert.equal(codeOf(outsider), "not_found");
    const missing = await applyOne(
      s.sm,
      log.command({ type: "task.update", actorId: alice.id, taskId: "zz", title: "x" }),
    );
    assert.equal(codeOf(missing), "not_found");
    const selfRef = await applyOne(
      s.sm,
      log.command({ type: "task.update", actorId: alice.id, taskId: "a", afterId: "a" }),
    );
    assert.equal(codeOf(selfRef), "validation_failed");
  });

  test("task.update across projects: labels dropped, assignee must be a member, target must be visible", async () => {
    const labelled = taskOf(
      await applyOne(
        s.sm,
        log.command({
          type: "task.create",
          actorId: alice.id,
          id: "m1",
          projectId: "p1",
          title: "m",
          labelIds: ["l1"],
          assigneeId: bob.id,
        }),
      ),
    );
    assert.deepEqual(labelled.labelIds, ["l1"]);
    const bobNotInP2 = await applyOne(
      s.sm,
      log.command({ type: "task.update", actorId: alice.id, taskId: "m1", projectId: "p2" }),
    );
    assert.equal(codeOf(bobNotInP2), "validation_failed");
    const invisibleTarget = await applyOne(
      s.sm,
      log.command({ type: "task.update", actorId: bob.id, taskId: "m1", projectId: alice.inbox }),
    );
    assert.equal(codeOf(invisibleTarget), "not_found");
    const r = await applyOne(
      s.sm,
      log.command({
        type: "task.update",
        actorId: alice.id,
        taskId: "m1",
        projectId: "p2",
        assigneeId: null,
        labelIds: ["lp2"],
      }),
    );
    const moved = taskOf(r);
    assert.deepEqual([moved.projectId, moved.labelIds, moved.assigneeId], ["p2", ["lp2"], null]);
    assert.deepEqual(
      r.events.map((e) => [e.type, e.projectId]),
      [
        ["task.updated", "p1"],
        ["task.updated", "p2"],
      ],
    );
    assert.equal((await column("p2", "todo")).at(-1), "m1");
    const dropped = taskOf(
      await applyOne(
        s.sm,
        log.command({ type: "task.update", actorId: alice.id, taskId: "m1", projectId: "p1" }),
      ),
    );
    assert.deepEqual(dropped.labelIds, []);
    const foreignLabel = await applyOne(
      s.sm,
      log.command({ type: "task.update", actorId: alice.id, taskId: "m1", labelIds: ["lp2"] }),
    );
    assert.equal(codeOf(foreignLabel), "validation_failed");
  });

  test("comment.create and comment.delete: author or admin, visible tasks only", async () => {
    const r = await applyOne(
      s.sm,
      log.command({ type: "comment.create", actorId: bob.id, id: "c1", taskId: "t3", body: " hello 😀 " }),
    );
    assert.equal(r.status, 201);
    const comment = bodyOf(r, "comment");
    assert.deepEqual(comment, {
      id: "c1",
      taskId: "t3",
      authorId: bob.id,
      body: " hello 😀 ",
      createdAt: iso(log.clock),
    });
    assert.deepEqual(r.events, [{ type: "comment.created", projectId: "p1", data: comment }]);
    assert.deepEqual(await getComment(s.pool, alice.id, "c1"), comment);
    assert.equal(await getComment(s.pool, carol.id, "c1"), undefined);
    assert.equal(
      codeOf(
        await applyOne(
          s.sm,
          log.command({ type: "comment.create", actorId: carol.id, id: "c2", taskId: "t3", body: "x" }),
        ),
      ),
      "not_found",
    );
    assert.equal(
      codeOf(
        await applyOne(
          s.sm,
          log.command({ type: "comment.create", actorId: bob.id, id: "c1", taskId: "t3", body: "x" }),
        ),
      ),
      "conflict",
    );
    assert.equal(
      codeOf(
        await applyOne(
          s.sm,
          log.command({ type: "comment.create", actorId: bob.id, id: "c3", taskId: "t3", body: "   " }),
        ),
      ),
      "validation_failed",
    );
    const tooLong = await applyOne(
      s.sm,
      log.json({
        v: 1,
        type: "comment.create",
        actorId: bob.id,
        at: iso(T0),
        id: "c4",
        taskId: "t3",
        body: "x".repeat(5001),
      }),
    );
    assert.equal(codeOf(tooLong), "validation_failed");
    await applyOne(
      s.sm,
      log.command({ type: "comment.create", actorId: alice.id, id: "c5", taskId: "t3", body: "second" }),
    );
    await applyOne(
      s.sm,
      log.command({
        type: "member.add",
        actorId: alice.id,
        projectId: "p1",
        username: "carol",
        role: "member",
      }),
    );
    const page1 = await listComments(s.pool, carol.id, "t3", { limit: 1 });
    assert.deepEqual(
      page1?.items.map((c) => c.id),
      ["c1"],
    );
    const page2 = await listComments(s.pool, carol.id, "t3", { limit: 1, cursor: page1!.nextCursor! });
    assert.deepEqual([page2?.items.map((c) => c.id), page2?.nextCursor], [["c5"], null]);

    const notAuthor = await applyOne(
      s.sm,
      log.command({ type: "comment.delete", actorId: carol.id, commentId: "c1" }),
    );
    assert.equal(codeOf(notAuthor), "forbidden");
    const byAdmin = await applyOne(
      s.sm,
      log.command({ type: "comment.delete", actorId: alice.id, commentId: "c1" }),
    );
    assert.deepEqual(byAdmin.events, [
      { type: "comment.deleted", projectId: "p1", data: { id: "c1", taskId: "t3" } },
    ]);
    const byAuthor = await applyOne(
      s.sm,
      log.command({ type: "comment.delete", actorId: alice.id, commentId: "c5" }),
    );
    assert.equal(byAuthor.status, 204);
    assert.equal(
      codeOf(
        await applyOne(s.sm, log.command({ type: "comment.delete", actorId: alice.id, commentId: "c5" })),
      ),
      "not_found",
    );
    assert.equal(await listComments(s.pool, carol.id, "nope"), undefined);
  });

  test("task.delete: If-Match, visibility, 204 then 404", async () => {
    const stale = await applyOne(
      s.sm,
      log.command({ type: "task.delete", actorId: alice.id, taskId: "t3", expectedVersion: 7 }),
    );
    assert.equal(stale.status, 412);
    const outsider = await applyOne(
      s.sm,
      log.command({ type: "task.delete", actorId: bob.id, taskId: "t1" }),
    );
    assert.equal(codeOf(outsider), "not_found");
    const r = await applyOne(
      s.sm,
      log.command({ type: "task.delete", actorId: bob.id, taskId: "t3", expectedVersion: 1 }),
    );
    assert.deepEqual(r, {
      status: 204,
      body: null,
      events: [{ type: "task.deleted", projectId: "p1", data: { id: "t3" } }],
    });
    assert.equal(await getTask(s.pool, alice.id, "t3"), undefined);
    assert.equal(
      codeOf(await applyOne(s.sm, log.command({ type: "task.delete", actorId: bob.id, taskId: "t3" }))),
      "not_found",
    );
  });

  test("keys stay bounded: many inserts alternating at one spot renumber the column, keeping its order", async () => {
    await applyOne(
      s.sm,
      log.command({ type: "project.create", actorId: alice.id, id: "pz", name: "zigzag" }),
    );
    await applyOne(
      s.sm,
      log.command({ type: "task.create", actorId: alice.id, id: "z0", projectId: "pz", title: "lo" }),
    );
    await applyOne(
      s.sm,
      log.command({ type: "task.create", actorId: alice.id, id: "z1", projectId: "pz", title: "hi" }),
    );
    const expected = ["z0", "z1"];
    let lo = "z0";
    let hi = "z1";
    let renumbered = 0;
    const batch = [];
    for (let i = 2; i < 900; i++) {
      const id = `z${i}`;
      batch.push(
        log.command({
          type: "task.create",
          actorId: alice.id,
          id,
          projectId: "pz",
          title: id,
          afterId: lo,
          beforeId: hi,
        }),
      );
      expected.splice(expected.indexOf(hi), 0, id);
      if (i % 2 === 0) lo = id;
      else hi = id;
    }
    const results = (await s.sm.apply(batch)) as ApplyResult[];
    for (const r of results) {
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.ok(taskOf(r).position.length <= MAX_POSITION_LENGTH);
      if (r.events.some((e) => e.type === "tasks.repositioned")) renumbered++;
    }
    assert.ok(renumbered > 0, "the column was never renumbered");
    assert.deepEqual(await column("pz", "todo"), expected);
  });
});
