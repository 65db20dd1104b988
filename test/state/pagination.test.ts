import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Rng } from "../../src/raft/rng.js";
import type { ApplyEntry } from "../../src/replica/state-machine.js";
import type { Task } from "../../src/state/mapping.js";
import { listTasks, QueryError, type TaskSort } from "../../src/state/queries.js";
import { Log, type Scratch, scratchStateMachine, signup, type TestUser } from "./helpers.js";

const TASKS = 1000;
const PAGE = 37;

describe("stable pagination under concurrent moves", () => {
  let s: Scratch;
  let alice: TestUser;
  const log = new Log();
  const ids: string[] = [];

  before(async () => {
    s = await scratchStateMachine("pages");
    alice = await signup(s.sm, log, "alice");
    await s.sm.apply([log.command({ type: "project.create", actorId: alice.id, id: "p", name: "P" })]);
    const statuses = ["todo", "in_progress", "done"] as const;
    for (let start = 0; start < TASKS; start += 250) {
      const batch: ApplyEntry[] = [];
      for (let i = start; i < start + 250; i++) {
        const id = `t${String(i).padStart(4, "0")}`;
        ids.push(id);
        batch.push(
          log.command({
            type: "task.create",
            actorId: alice.id,
            id,
            projectId: "p",
            title: id,
            status: statuses[i % 3]!,
            ...(i % 4 === 0 ? { dueDate: `2026-03-${String(1 + (i % 28)).padStart(2, "0")}` } : {}),
            priority: (["low", "medium", "high", "urgent"] as const)[i % 4]!,
          }),
        );
      }
      await s.sm.apply(batch);
    }
  });
  after(async () => {
    await s.close();
  });

  for (const sort of ["position", "-updatedAt", "dueDate", "createdAt", "-priority"] as TaskSort[]) {
    test(`sort=${sort}: every task that kept its sort key is returned exactly once`, async () => {
      const rng = new Rng(sort.length * 7919);
      const moved = new Set<string>();
      // Moves tasks (within and across columns, new due dates and priorities) between page reads:
      // the writes land while the client is part-way through its cursor, deterministically.
      const moveSome = async () => {
        const batch: ApplyEntry[] = [];
        for (let i = 0; i < 5; i++) {
          const id = rng.pick(ids);
          const other = rng.pick(ids);
          moved.add(id);
          batch.push(
            log.command({
              type: "task.update",
              actorId: alice.id,
              taskId: id,
              ...(rng.chance(0.5) ? { status: rng.pick(["todo", "in_progress", "done"] as const) } : {}),
              ...(rng.chance(0.3) ? { dueDate: rng.chance(0.5) ? null : "2026-03-15" } : {}),
              ...(rng.chance(0.3) ? { priority: rng.pick(["low", "urgent"] as const) } : {}),
              ...(rng.chance(0.5) && other !== id ? { afterId: other } : {}),
            }),
          );
        }
        await s.sm.apply(batch);
      };
      const seen = new Map<string, number>();
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await listTasks(s.pool, alice.id, { projectId: "p", sort, limit: PAGE, cursor });
        for (const t of page.items as Task[]) seen.set(t.id, (seen.get(t.id) ?? 0) + 1);
        cursor = page.nextCursor ?? undefined;
        pages++;
        await moveSome();
      } while (cursor !== undefined && pages < 1000);
      const unmoved = ids.filter((id) => !moved.has(id));
      assert.ok(moved.size > 20, `only ${moved.size} tasks moved while paging`);
      assert.ok(unmoved.length > 100);
      for (const id of unmoved)
        assert.equal(seen.get(id), 1, `${id} was returned ${seen.get(id) ?? 0} times`);
      // Rows that moved may be seen again or missed (that is what moving means); nothing else is duplicated.
      for (const [id, n] of seen)
        if (n > 1) assert.ok(moved.has(id), `${id} returned ${n} times without moving`);
    });
  }

  test("a cursor is bound to its sort, and bad limits and filters are refused", async () => {
    const page = await listTasks(s.pool, alice.id, { projectId: "p", limit: 2 });
    assert.ok(page.nextCursor);
    await assert.rejects(
      listTasks(s.pool, alice.id, { projectId: "p", sort: "createdAt", cursor: page.nextCursor }),
      QueryError,
    );
    for (const bad of [
      { limit: 0 },
      { limit: 501 },
      { cursor: "%%%" },
      { status: "blocked" },
      { dueBefore: "2026-13-01" },
    ]) {
      await assert.rejects(listTasks(s.pool, alice.id, bad as never), QueryError, JSON.stringify(bad));
    }
  });
});
