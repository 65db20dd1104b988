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
import { type Command, decodeCommand, type TaskCreate } from "./commands.js";
import { type Actor, loadActor } from "./handlers/context.js";
import { SWEEP_EVERY_ENTRIES } from "./idempotency.js";
import { PRIORITY_CODE, STATUS_CODE } from "./limits.js";
import { NO_DUE_DATE_SORT, type Task } from "./mapping.js";
import { type ApplyResult, success } from "./results.js";
import { isDeterministicSqlError, type Queryable, runText, selectOne, selectText } from "./sql.js";
import { appendKey } from "./task-placement.js";
import { dbToIso, isoToDb } from "./time.js";

/** Shortest run worth the fast path: below it the extra lookups cost what they save. */
export const MIN_BULK_RUN = 3;
/** Longest run: one create the fast path hands back sends at most this many down the slow path. */
export const MAX_BULK_RUN = 64;

export interface BulkCandidate {
  entry: Extract<ApplyEntry, { kind: "command" }>;
  cmd: TaskCreate;
}

/** The entry as a plain create the fast path can take, or undefined. */
export function bulkCandidate(entry: ApplyEntry): BulkCandidate | undefined {
  if (entry.kind !== "command") return undefined;
  const decoded = decodeCommand(entry.command);
  if (!decoded.ok) return undefined;
  const cmd: Command = decoded.command;
  if (cmd.type !== "task.create") return undefined;
  if (cmd.labelIds !== undefined && cmd.labelIds.length > 0) return undefined;
  if (cmd.assigneeId !== undefined && cmd.assigneeId !== null) return undefined;
  if (cmd.beforeId !== undefined || cmd.afterId !== undefined) return undefined;
  return { entry, cmd };
}

interface Planned {
  c: BulkCandidate;
  projectId: string;
  status: NonNullable<TaskCreate["status"]>;
  at: string;
  position: string;
  result: ApplyResult;
}

const key = (...parts: string[]) => parts.join("\u0000");

/**
 * Applies `run` (consecutive entries right after `appliedIndex`) as one unit, or returns undefined
 * having changed nothing, so that the caller applies them one by one.
 */
export async function applyCreateRun(
  tx: Queryable,
  run: readonly BulkCandidate[],
  sweptIndex: number,
  actors: Map<string, Actor>,
): Promise<ApplyResult[] | undefined> {
  // A sweep of expired rows falls due inside the run: the one-by-one path does it at its place.
  if (run[run.length - 1]!.entry.index - sweptIndex >= SWEEP_EVERY_ENTRIES) return undefined;
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
    if (!last.has(column)) {
      const row = await selectOne<{ position: string }>(
        tx,
        `SELECT id, position FROM tasks WHERE project_id = ? AND status = ? AND id <> ?
         ORDER BY position DESC, id DESC LIMIT 1`,
        [projectId, STATUS_CODE[status], ""],
      );
      last.set(column, row?.position);
    }
    const position = appendKey(last.get(column));
    if (position === undefined) return undefined;
    last.set(column, position);
    const at = isoToDb(cmd.at);
    const dueDate = cmd.dueDate ?? null;
    const task: Task = {
      id: cmd.id,
      projectId,
      title: cmd.title,
      description: cmd.description ?? "",
      status,
      priority: cmd.priority ?? "medium",
      dueDate,
      assigneeId: null,
      labelIds: [],
      position,
      createdBy: cmd.actorId,
      createdAt: dbToIso(at),
      updatedAt: dbToIso(at),
      completedAt: status === "done" ? dbToIso(at) : null,
      version: 1,
    };
    const result = success(201, { task }, [{ type: "task.created", projectId, data: task }]);
    planned.push({ c, projectId, status, at, position, result });
  }

  await tx.query("SAVEPOINT command");
  try {
    await runText(
      tx,
      `INSERT INTO tasks (id, project_id, title, description, status, priority, due_date, due_sort, assignee_id,
         position, created_by, created_at, updated_at, completed_at, version)
       VALUES ${planned.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)").join(", ")}`,
      planned.flatMap((p) => {
        const cmd = p.c.cmd;
        const dueDate = cmd.dueDate ?? null;
        return [
          cmd.id,
          p.projectId,
          cmd.title,
          cmd.description ?? "",
          STATUS_CODE[p.status],
          PRIORITY_CODE[cmd.priority ?? "medium"],
          dueDate,
          dueDate ?? NO_DUE_DATE_SORT,
          null,
          p.position,
          cmd.actorId,
          p.at,
          p.at,
          p.status === "done" ? p.at : null,
        ];
      }),
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
