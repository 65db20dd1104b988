/**
 * A run of consecutive plain task creates applied with a few statements for the whole run instead
 * of six per create (the apply loop's cost is per SQL round trip). "Plain": appended at the end of
 * its column, no labels, no assignee. The run's outcome must be exactly what applying the entries
 * one by one would give — same rows, same positions, same answers, same idempotency records —
 * because another node may batch the same entries differently. So the fast path only handles the
 * case where every create succeeds; at the first sign of anything else (a refusal, a stored
 * idempotent answer, a position that needs a renumbering, a SQL error) it undoes its work and the
 * caller applies the run entry by entry.
 */
import type { ApplyEntry } from "../replica/state-machine.js";
import type { Command, DecodeResult, TaskCreate } from "./commands.js";
import { type Actor, loadActor } from "./handlers/context.js";
import { NEW_TASK_COLUMNS, NEW_TASK_VALUES, newTask } from "./handlers/tasks.js";
import { STATUS_CODE } from "./limits.js";
import { type ApplyResult, success } from "./results.js";
import { isDeterministicSqlError, type Param, type Queryable, runText, selectText } from "./sql.js";
import { appendKey, lastPosition } from "./task-placement.js";
import { isoToDb } from "./time.js";

/** Shortest run worth the fast path: below it the extra lookups cost what they save. */
export const MIN_BULK_RUN = 3;
/** Longest run: one create the fast path hands back sends at most this many down the slow path. */
export const MAX_BULK_RUN = 64;

export interface BulkCandidate {
  entry: Extract<ApplyEntry, { kind: "command" }>;
  cmd: TaskCreate;
}

/** The entry as a plain create the fast path can take, or undefined. */
export function bulkCandidate(
  entry: ApplyEntry,
  decoded: DecodeResult | undefined,
): BulkCandidate | undefined {
  if (entry.kind !== "command" || !decoded?.ok) return undefined;
  const cmd: Command = decoded.command;
  if (cmd.type !== "task.create") return undefined;
  if (cmd.labelIds !== undefined && cmd.labelIds.length > 0) return undefined;
  if (cmd.assigneeId !== undefined && cmd.assigneeId !== null) return undefined;
  if (cmd.beforeId !== undefined || cmd.afterId !== undefined) return undefined;
  return { entry, cmd };
}

interface Planned {
  c: BulkCandidate;
  at: string;
  row: Param[];
  result: ApplyResult;
}

const key = (...parts: string[]) => parts.join("\u0000");

/**
 * Applies `run` (consecutive entries right after the applied index, none of them due for the sweep
 * of expired rows, which the one-by-one path does at its place) as one unit, or returns undefined
 * having changed nothing, so that the caller applies them one by one.
 */
export async function applyCreateRun(
  tx: Queryable,
  run: readonly BulkCandidate[],
  actors: Map<string, Actor>,
): Promise<ApplyResult[] | undefined> {
  const ids = new Set<string>();
  const idems = new Set<string>();
  for (const { cmd } of run) {
    if (ids.has(cmd.id)) return undefined;
    ids.add(cmd.id);
    if (cmd.idem) {
      const k = key(cmd.idem.userId, cmd.idem.key);
      if (idems.has(k)) return undefined;
      idems.add(k);
    }
  }
  for (const { cmd } of run) {
    if (actors.has(cmd.actorId)) continue;
    const actor = await loadActor(tx, cmd.actorId);
    if (!actor) return undefined;
    actors.set(actor.id, actor);
  }
  const projectOf = (cmd: TaskCreate) => cmd.projectId ?? actors.get(cmd.actorId)!.inboxProjectId;
  const pairs = new Map<string, [string, string]>();
  for (const { cmd } of run) {
    const projectId = projectOf(cmd);
    if (projectId === null) return undefined;
    pairs.set(key(projectId, cmd.actorId), [projectId, cmd.actorId]);
  }
  const members = await selectText<{ project_id: string; user_id: string }>(
    tx,
    `SELECT project_id, user_id FROM project_members WHERE (project_id, user_id) IN (${[...pairs.values()]
      .map(() => "(?, ?)")
      .join(", ")})`,
    [...pairs.values()].flat(),
  );
  if (new Set(members.map((m) => key(m.project_id, m.user_id))).size !== pairs.size) return undefined;
  const taken = await selectText<{ id: string }>(
    tx,
    `SELECT id FROM tasks WHERE id IN (${[...ids].map(() => "?").join(", ")})`,
    [...ids],
  );
  if (taken.length > 0) return undefined;
  const withIdem = run.filter((c) => c.cmd.idem);
  if (withIdem.length > 0) {
    const stored = await selectText<{ user_id: string }>(
      tx,
      `SELECT user_id FROM idempotency WHERE (user_id, idem_key) IN (${withIdem.map(() => "(?, ?)").join(", ")})`,
      withIdem.flatMap((c) => [c.cmd.idem!.userId, c.cmd.idem!.key]),
    );
    if (stored.length > 0) return undefined;
  }

  // Positions: each create goes after the last task of its column, which is the one before it.
  const last = new Map<string, string | undefined>();
  const planned: Planned[] = [];
  for (const c of run) {
    const { cmd } = c;
    const projectId = projectOf(cmd)!;
    const status = cmd.status ?? "todo";
    const column = key(projectId, String(STATUS_CODE[status]));
    if (!last.has(column))
      last.set(column, await lastPosition({ tx }, { projectId, status: STATUS_CODE[status] }));
    const position = appendKey(last.get(column));
    if (position === undefined) return undefined;
    last.set(column, position);
    const at = isoToDb(cmd.at);
    const { task, row } = newTask(cmd, projectId, position, at);
    const result = success(201, { task }, [{ type: "task.created", projectId, data: task }]);
    planned.push({ c, at, row, result });
  }

  await tx.query("SAVEPOINT command");
  try {
    await runText(
      tx,
      `INSERT INTO tasks (${NEW_TASK_COLUMNS}) VALUES ${planned.map(() => NEW_TASK_VALUES).join(", ")}`,
      planned.flatMap((p) => p.row),
    );
    const idemRows = planned.filter((p) => p.c.cmd.idem);
    if (idemRows.length > 0) {
      await runText(
        tx,
        `INSERT INTO idempotency (user_id, idem_key, status, body, log_index, created_at)
         VALUES ${idemRows.map(() => "(?, ?, ?, ?, ?, ?)").join(", ")}`,
        idemRows.flatMap((p) => [
          p.c.cmd.idem!.userId,
          p.c.cmd.idem!.key,
          p.result.status,
          JSON.stringify(p.result.body ?? null),
          p.c.entry.index,
          p.at,
        ]),
      );
    }
  } catch (e) {
    if (!isDeterministicSqlError(e)) throw e;
    await tx.query("ROLLBACK TO SAVEPOINT command");
    return undefined;
  }
  return planned.map((p) => p.result);
}
