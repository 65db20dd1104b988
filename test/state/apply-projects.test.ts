import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { getProject, getTask, listLabels, listMembers, listProjects } from "../../src/state/queries.js";
import { selectRows } from "../../src/state/sql.js";
import {
  applyOne,
  bodyOf,
  codeOf,
  iso,
  Log,
  type Scratch,
  scratchStateMachine,
  signup,
  type TestUser,
} from "./helpers.js";

describe("projects, members and labels", () => {
  let s: Scratch;
  const log = new Log();
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  before(async () => {
    s = await scratchStateMachine("projects");
    alice = await signup(s.sm, log, "alice");
    bob = await signup(s.sm, log, "bob");
    carol = await signup(s.sm, log, "carol");
  });
  after(async () => {
    await s.close();
  });

  test("project.create: 201, the creator owns it, and only members see it", async () => {
    const r = await applyOne(
      s.sm,
      log.command({
        type: "project.create",
        actorId: alice.id,
        id: "p1",
        name: "  Launch  ",
        description: "d",
      }),
    );
    assert.equal(r.status, 201);
    assert.deepEqual(r.body, {
      project: {
        id: "p1",
        name: "Launch",
        description: "d",
        createdAt: iso(log.clock),
        updatedAt: iso(log.clock),
        version: 1,
      },
    });
    assert.deepEqual(r.events, [{ type: "project.created", projectId: "p1", data: bodyOf(r, "project") }]);
    assert.deepEqual(
      (await listProjects(s.pool, alice.id)).items.map((p) => p.id),
      [alice.inbox, "p1"],
    );
    assert.equal(await getProject(s.pool, bob.id, "p1"), undefined);
    const dup = await applyOne(
      s.sm,
      log.command({ type: "project.create", actorId: bob.id, id: "p1", name: "x" }),
    );
    assert.equal(codeOf(dup), "conflict");
    const blank = await applyOne(
      s.sm,
      log.json({ v: 1, type: "project.create", actorId: bob.id, at: iso(0), id: "p9", name: "   " }),
    );
    assert.equal(codeOf(blank), "validation_failed");
  });

  test("member.add: 201 for a new member, 200 when unchanged or a role change; refusals", async () => {
    const added = await applyOne(
      s.sm,
      log.command({
        type: "member.add",
        actorId: alice.id,
        projectId: "p1",
        username: "bob",
        role: "member",
      }),
    );
    assert.equal(added.status, 201);
    assert.deepEqual(bodyOf(added, "member"), {
      projectId: "p1",
      userId: bob.id,
      username: "bob",
      displayName: "bob",
      role: "member",
      createdAt: iso(log.clock),
    });
    assert.equal(added.events[0]?.type, "member.added");
    const same = await applyOne(
      s.sm,
      log.command({
        type: "member.add",
        actorId: alice.id,
        projectId: "p1",
        username: "bob",
        role: "member",
      }),
    );
    assert.equal(same.status, 200);
    assert.deepEqual(same.events, []);
    assert.ok(await getProject(s.pool, bob.id, "p1"));

    const byMember = await applyOne(
      s.sm,
      log.command({
        type: "member.add",
        actorId: bob.id,
        projectId: "p1",
        username: "carol",
        role: "member",
      }),
    );
    assert.equal(codeOf(byMember), "forbidden");
    const byOutsider = await applyOne(
      s.sm,
      log.command({
        type: "member.add",
        actorId: carol.id,
        projectId: "p1",
        username: "carol",
        role: "owner",
      }),
    );
    assert.equal(codeOf(byOutsider), "not_found");
    const unknownUser = await applyOne(
      s.sm,
      log.command({
        type: "member.add",
        actorId: alice.id,
        projectId: "p1",
        username: "nobody",
        role: "member",
      }),
    );
    assert.equal(codeOf(unknownUser), "not_found");
    const demoteLast = await applyOne(
      s.sm,
      log.command({
        type: "member.add",
        actorId: alice.id,
        projectId: "p1",
        username: "alice",
        role: "member",
      }),
    );
    assert.equal(codeOf(demoteLast), "conflict");
    const promote = await applyOne(
      s.sm,
      log.command({ type: "member.add", actorId: alice.id, projectId: "p1", username: "bob", role: "owner" }),
    );
    assert.equal(promote.status, 200);
    assert.equal(promote.events[0]?.type, "member.updated");
    assert.equal(bodyOf<{ role: string }>(promote, "member").role, "owner");
    const demoteBob = await applyOne(
      s.sm,
      log.command({
        type: "member.add",
        actorId: alice.id,
        projectId: "p1",
        username: "bob",
        role: "member",
      }),
    );
    assert.equal(demoteBob.status, 200);
    const members = await listMembers(s.pool, bob.id, "p1");
    assert.deepEqual(
      members?.items.map((m) => [m.username, m.role]),
      [
        ["alice", "owner"],
        ["bob", "member"],
      ],
    );
    assert.equal(await listMembers(s.pool, carol.id, "p1"), undefined);
  });

  test("project.update: owners only, If-Match version, invisible to non-members", async () => {
    const ok = await applyOne(
      s.sm,
      log.command({
        type: "project.update",
        actorId: alice.id,
        projectId: "p1",
        name: "Launch v2",
        expectedVersion: 1,
      }),
    );
    assert.equal(ok.status, 200);
    const project = bodyOf<{ version: number; name: string; description: string; updatedAt: string }>(
      ok,
      "project",
    );
    assert.deepEqual(
      [project.version, project.name, project.description, project.updatedAt],
      [2, "Launch v2", "d", iso(log.clock)],
    );
    assert.equal(ok.events[0]?.type, "project.updated");
    const stale = await applyOne(
      s.sm,
      log.command({
        type: "project.update",
        actorId: alice.id,
        projectId: "p1",
        name: "x",
        expectedVersion: 1,
      }),
    );
    assert.equal(stale.status, 412);
    assert.equal(codeOf(stale), "precondition_failed");
    const member = await applyOne(
      s.sm,
      log.command({ type: "project.update", actorId: bob.id, projectId: "p1", name: "x" }),
    );
    assert.equal(codeOf(member), "forbidden");
    const outsider = await applyOne(
      s.sm,
      log.command({ type: "project.update", actorId: carol.id, projectId: "p1", name: "x" }),
    );
    assert.equal(codeOf(outsider), "not_found");
    const missing = await applyOne(
      s.sm,
      log.command({ type: "project.update", actorId: alice.id, projectId: "nope", name: "x" }),
    );
    assert.equal(codeOf(missing), "not_found");
    assert.equal((await getProject(s.pool, alice.id, "p1"))?.name, "Launch v2");
  });

  test("label.create: 201; names are unique per project, case-insensitively; refusals", async () => {
    const r = await applyOne(
      s.sm,
      log.command({
        type: "label.create",
        actorId: bob.id,
        id: "l1",
        projectId: "p1",
        name: "Bug",
        color: "#FF0000",
      }),
    );
    assert.equal(r.status, 201);
    assert.deepEqual(bodyOf(r, "label"), {
      id: "l1",
      projectId: "p1",
      name: "Bug",
      color: "#ff0000",
      createdAt: iso(log.clock),
    });
    assert.equal(r.events[0]?.type, "label.created");
    const clash = await applyOne(
      s.sm,
      log.command({
        type: "label.create",
        actorId: alice.id,
        id: "l2",
        projectId: "p1",
        name: "bug",
        color: "#00ff00",
      }),
    );
    assert.equal(codeOf(clash), "conflict");
    const dupId = await applyOne(
      s.sm,
      log.command({
        type: "label.create",
        actorId: alice.id,
        id: "l1",
        projectId: "p1",
        name: "Other",
        color: "#00ff00",
      }),
    );
    assert.equal(codeOf(dupId), "conflict");
    const outsider = await applyOne(
      s.sm,
      log.command({
        type: "label.create",
        actorId: carol.id,
        id: "l3",
        projectId: "p1",
        name: "Mine",
        color: "#00ff00",
      }),
    );
    assert.equal(codeOf(outsider), "not_found");
    const badColor = await applyOne(
      s.sm,
      log.json({
        v: 1,
        type: "label.create",
        actorId: alice.id,
        at: iso(0),
        id: "l4",
        projectId: "p1",
        name: "x",
        color: "red",
      }),
    );
    assert.equal(codeOf(badColor), "validation_failed");
    assert.deepEqual(
      (await listLabels(s.pool, alice.id, "p1"))?.items.map((l) => l.id),
      ["l1"],
    );
    assert.equal(await listLabels(s.pool, carol.id, "p1"), undefined);
  });

  test("label.delete takes the label off its tasks (a change of each); refusals", async () => {
    const created = await applyOne(
      s.sm,
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "tl",
        projectId: "p1",
        title: "labelled",
        labelIds: ["l1"],
      }),
    );
    assert.deepEqual(bodyOf<{ labelIds: string[] }>(created, "task").labelIds, ["l1"]);
    const outsider = await applyOne(
      s.sm,
      log.command({ type: "label.delete", actorId: carol.id, labelId: "l1" }),
    );
    assert.equal(codeOf(outsider), "not_found");
    const r = await applyOne(s.sm, log.command({ type: "label.delete", actorId: bob.id, labelId: "l1" }));
    assert.equal(r.status, 204);
    assert.deepEqual(
      r.events.map((e) => e.type),
      ["label.deleted", "task.updated"],
    );
    const task = await getTask(s.pool, alice.id, "tl");
    assert.deepEqual([task?.labelIds, task?.version], [[], 2]);
    const again = await applyOne(s.sm, log.command({ type: "label.delete", actorId: bob.id, labelId: "l1" }));
    assert.equal(codeOf(again), "not_found");
  });

  test("member.remove: owners remove anyone, members only themselves; the last owner stays; tasks are unassigned", async () => {
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
    await applyOne(
      s.sm,
      log.command({
        type: "task.create",
        actorId: alice.id,
        id: "tc",
        projectId: "p1",
        title: "for carol",
        assigneeId: carol.id,
      }),
    );
    const byMember = await applyOne(
      s.sm,
      log.command({ type: "member.remove", actorId: bob.id, projectId: "p1", userId: carol.id }),
    );
    assert.equal(codeOf(byMember), "forbidden");
    const lastOwner = await applyOne(
      s.sm,
      log.command({ type: "member.remove", actorId: alice.id, projectId: "p1", userId: alice.id }),
    );
    assert.equal(codeOf(lastOwner), "conflict");
    const removed = await applyOne(
      s.sm,
      log.command({ type: "member.remove", actorId: alice.id, projectId: "p1", userId: carol.id }),
    );
    assert.equal(removed.status, 204);
    assert.deepEqual(
      removed.events.map((e) => e.type),
      ["member.removed", "task.updated"],
    );
    const task = await getTask(s.pool, alice.id, "tc");
    assert.deepEqual([task?.assigneeId, task?.version], [null, 2]);
    assert.equal(await getTask(s.pool, carol.id, "tc"), undefined);
    const notMember = await applyOne(
      s.sm,
      log.command({ type: "member.remove", actorId: alice.id, projectId: "p1", userId: carol.id }),
    );
    assert.equal(codeOf(notMember), "not_found");
    const leave = await applyOne(
      s.sm,
      log.command({ type: "member.remove", actorId: bob.id, projectId: "p1", userId: bob.id }),
    );
    assert.equal(leave.status, 204);
    assert.equal(await getProject(s.pool, bob.id, "p1"), undefined);
    const outsider = await applyOne(
      s.sm,
      log.command({ type: "member.remove", actorId: bob.id, projectId: "p1", userId: alice.id }),
    );
    assert.equal(codeOf(outsider), "not_found");
  });

  test("project.delete: owners only, If-Match, never an Inbox; removes tasks, labels, comments, members", async () => {
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
        id: "l9",
        projectId: "p1",
        name: "Later",
        color: "#123456",
      }),
    );
    await applyOne(
      s.sm,
      log.command({ type: "comment.create", actorId: bob.id, id: "c1", taskId: "tl", body: "hi" }),
    );
    const byMember = await applyOne(
      s.sm,
      log.command({ type: "project.delete", actorId: bob.id, projectId: "p1" }),
    );
    assert.equal(codeOf(byMember), "forbidden");
    const stale = await applyOne(
      s.sm,
      log.command({ type: "project.delete", actorId: alice.id, projectId: "p1", expectedVersion: 1 }),
    );
    assert.equal(codeOf(stale), "precondition_failed");
    const inbox = await applyOne(
      s.sm,
      log.command({ type: "project.delete", actorId: alice.id, projectId: alice.inbox }),
    );
    assert.equal(codeOf(inbox), "conflict");
    const r = await applyOne(
      s.sm,
      log.command({ type: "project.delete", actorId: alice.id, projectId: "p1", expectedVersion: 2 }),
    );
    assert.deepEqual(r, {
      status: 204,
      body: null,
      events: [{ type: "project.deleted", projectId: "p1", data: { id: "p1" } }],
    });
    for (const table of ["tasks", "labels", "project_members"]) {
      const rows = await selectRows(s.pool, `SELECT * FROM ${table} WHERE project_id = ?`, ["p1"]);
      assert.equal(rows.length, 0, table);
    }
    assert.equal((await selectRows(s.pool, "SELECT * FROM comments")).length, 0);
    assert.equal((await selectRows(s.pool, "SELECT * FROM task_labels")).length, 0);
    const gone = await applyOne(
      s.sm,
      log.command({ type: "project.delete", actorId: alice.id, projectId: "p1" }),
    );
    assert.equal(codeOf(gone), "not_found");
  });
});
