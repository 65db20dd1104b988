import { TASK_COLUMNS, type Task, type TaskRow, toTask } from "../mapping.js";
import type { StateEvent } from "../results.js";
import { placeholders, runText, selectOne, selectRows, selectText } from "../sql.js";
import type { ApplyContext } from "./context.js";

/** Rows per statement when many tasks change at once (label deleted, member removed). */
const BULK_CHUNK = 500;

export async function loadTaskRow(ctx: ApplyContext, id: string): Promise<TaskRow | undefined> {
  return selectOne<TaskRow>(ctx.tx, `SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.id = ?`, [id]);
}

export async function loadTask(ctx: ApplyContext, id: string): Promise<Task> {
  const row = await loadTaskRow(ctx, id);
  if (!row) throw new Error(`task ${id} vanished inside its own transaction`);
  return toTask(row);
}

/**
 * Records that each task changed (version + 1, updatedAt) as a side effect of another command,
 * and returns their task.updated events in id order.
 */
export async function touchTasks(ctx: ApplyContext, ids: readonly string[]): Promise<StateEvent[]> {
  const events: StateEvent[] = [];
  for (let i = 0; i < ids.length; i += BULK_CHUNK) {
    const chunk = ids.slice(i, i + BULK_CHUNK);
    await runText(
      ctx.tx,
      `UPDATE tasks SET version = version + 1, updated_at = ? WHERE id IN (${placeholders(chunk.length)})`,
      [ctx.at, ...chunk],
    );
    const rows = await selectText<TaskRow>(
      ctx.tx,
      `SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.id IN (${placeholders(chunk.length)}) ORDER BY t.id`,
      chunk,
    );
    for (const r of rows) events.push({ type: "task.updated", projectId: r.project_id, data: toTask(r) });
  }
  return events;
}

export async function idsOf(ctx: ApplyContext, sql: string, params: (string | number)[]): Promise<string[]> {
  return (await selectRows<{ id: string }>(ctx.tx, sql, params)).map((r) => r.id);
}
