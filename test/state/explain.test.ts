import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ApplyEntry } from "../../src/replica/state-machine.js";
import { commentListQuery, type TaskFilters, taskListQuery } from "../../src/state/queries.js";
import { type Param, selectText } from "../../src/state/sql.js";
import { Log, type Scratch, scratchStateMachine, signup, type TestUser } from "./helpers.js";

interface PlanRow {
  table: string | null;
  type: string | null;
  key: string | null;
  Extra: string | null;
}

const PROJECTS = 20;
const TASKS = 5000;

describe("list queries use indexes (EXPLAIN)", () => {
  let s: Scratch;
  let alice: TestUser;
  const log = new Log();

  async function plan(sql: string, params: Param[]): Promise<PlanRow[]> {
    return selectText<PlanRow>(s.pool, `EXPLAIN ${sql}`, params);
  }

  async function taskPlan(filters: TaskFilters): Promise<PlanRow[]> {
    const q = taskListQuery(alice.id, filters);
    return plan(q.sql, q.params);
  }

  /** No table of the plan is read by a full scan, and the task table is reached through `keys`. */
  function assertIndexed(rows: PlanRow[], table: string, keys: string[]): void {
    const described = JSON.stringify(rows.map((r) => [r.table, r.type, r.key, r.Extra]));
    if (process.env["SHOW_PLANS"]) console.log(described);
    for (const r of rows) {
      if (r.table === null) continue;
      assert.notEqual(r.type, "ALL", `full scan of ${r.table}: ${described}`);
    }
    const row = rows.find((r) => r.table === table);
    assert.ok(row, `no ${table} in the plan: ${described}`);
    assert.ok(
      row.key !== null && keys.includes(row.key),
      `${table} read with ${row.key}, expected ${keys}: ${described}`,
    );
  }

  before(async () => {
    s = await scratchStateMachine("explain");
    alice = await signup(s.sm, log, "alice");
    const bob = await signup(s.sm, log, "bob");
    const setup: ApplyEntry[] = [];
    for (let p = 0; p < PROJECTS; p++) {
      setup.push(log.command({ type: "project.create", actorId: alice.id, id: `p${p}`, name: `P${p}` }));
      setup.push(
        log.command({
          type: "member.add",
          actorId: alice.id,
          projectId: `p${p}`,
          username: "bob",
          role: "member",
        }),
      );
      setup.push(
        log.command({
          type: "label.create",
          actorId: alice.id,
          id: `l${p}`,
          projectId: `p${p}`,
          name: "L",
          color: "#000000",
        }),
      );
    }
    await s.sm.apply(setup);
    const statuses = ["todo", "in_progress", "done"] as const;
    for (let start = 0; start < TASKS; start += 500) {
      const batch: ApplyEntry[] = [];
      for (let i = start; i < start + 500; i++) {
        const p = i % PROJECTS;
        batch.push(
          log.command({
            type: "task.create",
            actorId: alice.id,
            id: `t${i}`,
            projectId: `p${p}`,
            title: `task ${i}`,
            status: statuses[i % 3]!,
            ...(i % 7 === 0 ? { assigneeId: bob.id } : {}),
            ...(i % 2 === 0 ? { dueDate: `2026-0${1 + (i % 9)}-1${i % 10}` } : {}),
            ...(i % 11 === 0 ? { labelIds: [`l${p}`] } : {}),
          }),
        );
      }
      await s.sm.apply(batch);
    }
    const comments: ApplyEntry[] = [];
    for (let i = 0; i < 500; i++) {
      comments.push(
        log.command({
          type: "comment.create",
          actorId: alice.id,
          id: `c${i}`,
          taskId: `t${i % 50}`,
          body: "x",
        }),
      );
    }
    await s.sm.apply(comments);
    for (const table of ["tasks", "task_labels", "comments", "project_members", "labels"]) {
      await s.pool.query(`ANALYZE TABLE ${table}`);
    }
  });
  after(async () => {
    await s.close();
  });

  test("a board column: tasks by project and status in position order", async () => {
    assertIndexed(await taskPlan({ projectId: "p3", status: "in_progress" }), "t", ["idx_tasks_board"]);
    assertIndexed(await taskPlan({ projectId: "p3" }), "t", ["idx_tasks_board"]);
  });

  test("tasks by assignee", async () => {
    assertIndexed(await taskPlan({ assigneeId: "u-bob" }), "t", ["idx_tasks_assignee"]);
  });

  test("tasks by due date (sort and range)", async () => {
    assertIndexed(await taskPlan({ projectId: "p3", sort: "dueDate" }), "t", ["idx_tasks_due"]);
    assertIndexed(await taskPlan({ projectId: "p3", dueBefore: "2026-02-01", sort: "dueDate" }), "t", [
      "idx_tasks_due",
    ]);
  });

  test("the other sorts within a project", async () => {
    assertIndexed(await taskPlan({ projectId: "p3", sort: "-updatedAt" }), "t", ["idx_tasks_updated"]);
    assertIndexed(await taskPlan({ projectId: "p3", sort: "createdAt" }), "t", ["idx_tasks_created"]);
    assertIndexed(await taskPlan({ projectId: "p3", sort: "-priority" }), "t", ["idx_tasks_priority"]);
  });

  test("the label filter goes through task_labels by label", async () => {
    assertIndexed(await taskPlan({ labelId: "l3" }), "fl", ["idx_task_labels_label", "PRIMARY"]);
    assertIndexed(await taskPlan({ labelId: "l3" }), "t", ["PRIMARY", "idx_tasks_board"]);
  });

  test("a task's comments by creation time", async () => {
    const q = commentListQuery("t7");
    assertIndexed(await plan(q.sql, q.params), "c", ["idx_comments_task"]);
  });

  test("a user's projects through the members-by-user index", async () => {
    const rows = await plan(
      "SELECT p.id FROM project_members m JOIN projects p ON p.id = m.project_id WHERE m.user_id = ? ORDER BY p.created_at, p.id",
      [alice.id],
    );
    assertIndexed(rows, "m", ["idx_members_user"]);
  });
});
