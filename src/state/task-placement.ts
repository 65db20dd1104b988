/**
 * Where a created or moved task goes in its status column. Computed at apply from the positions
 * of its neighbours in the replicated state, which are the same on every node at that log index,
 * so every node computes the same key.
 */
import type { ApplyContext } from "./handlers/context.js";
import { PositionError, positionBetween, spreadPositions } from "./position.js";
import type { FieldProblem } from "./results.js";
import { placeholders, runText, selectOne, selectRows } from "./sql.js";

/**
 * Keys longer than this trigger a renumbering of the column. Far below the column's VARCHAR(255),
 * so a key computed right after a renumbering always fits.
 */
export const MAX_POSITION_LENGTH = 128;
/** Tasks renumbered per UPDATE statement. */
const RENUMBER_CHUNK = 500;

export interface Column {
  projectId: string;
  status: number;
}

export interface PlacementRequest {
  column: Column;
  beforeId?: string | undefined;
  afterId?: string | undefined;
  /** The task being moved: never its own neighbour. */
  movingId?: string | undefined;
}

export type Placement = { position: string; renumbered: boolean } | { problems: FieldProblem[] };

interface Neighbour {
  id: string;
  position: string;
}

async function inColumn(
  ctx: ApplyContext,
  id: string,
  req: PlacementRequest,
): Promise<Neighbour | undefined> {
  if (id === req.movingId) return undefined;
  return selectOne<Neighbour>(
    ctx.tx,
    "SELECT id, position FROM tasks WHERE id = ? AND project_id = ? AND status = ?",
    [id, req.column.projectId, req.column.status],
  );
}

/** The next (or previous) task after `from` in column order, skipping the moving task. */
async function adjacent(
  ctx: Pick<ApplyContext, "tx">,
  req: PlacementRequest,
  from: Neighbour | undefined,
  direction: "next" | "previous",
): Promise<Neighbour | undefined> {
  const { projectId, status } = req.column;
  const op = direction === "next" ? ">" : "<";
  const order = direction === "next" ? "ASC" : "DESC";
  const params: (string | number)[] = [projectId, status, req.movingId ?? ""];
  let after = "";
  if (from) {
    after = `AND (position ${op} ? OR (position = ? AND id ${op} ?))`;
    params.push(from.position, from.position, from.id);
  }
  return selectOne<Neighbour>(
    ctx.tx,
    `SELECT id, position FROM tasks WHERE project_id = ? AND status = ? AND id <> ? ${after}
     ORDER BY position ${order}, id ${order} LIMIT 1`,
    params,
  );
}

type Bounds = { lower: string | undefined; upper: string | undefined } | { problems: FieldProblem[] };

async function bounds(ctx: ApplyContext, req: PlacementRequest): Promise<Bounds> {
  const problems: FieldProblem[] = [];
  const after = req.afterId === undefined ? undefined : await inColumn(ctx, req.afterId, req);
  const before = req.beforeId === undefined ? undefined : await inColumn(ctx, req.beforeId, req);
  if (req.afterId !== undefined && !after) {
    problems.push({ path: "afterId", message: "must be another task in the target status column" });
  }
  if (req.beforeId !== undefined && !before) {
    problems.push({ path: "beforeId", message: "must be another task in the target status column" });
  }
  if (problems.length > 0) return { problems };
  if (after && before) {
    const ordered =
      after.position < before.position || (after.position === before.position && after.id < before.id);
    if (!ordered)
      return { problems: [{ path: "beforeId", message: "must come after afterId in the column" }] };
    return { lower: after.position, upper: before.position };
  }
  if (after) return { lower: after.position, upper: (await adjacent(ctx, req, after, "next"))?.position };
  if (before)
    return { lower: (await adjacent(ctx, req, before, "previous"))?.position, upper: before.position };
  return { lower: await lastPosition(ctx, req.column), upper: undefined };
}

/** The key of the column's last task, as a task appended at its end is placed after. */
export async function lastPosition(
  ctx: Pick<ApplyContext, "tx">,
  column: Column,
): Promise<string | undefined> {
  return (await adjacent(ctx, { column }, undefined, "previous"))?.position;
}

/** The key of a task appended after `lower` (the column's last), or undefined when it needs a renumbering. */
export function appendKey(lower: string | undefined): string | undefined {
  return keyBetween(lower, undefined);
}

function keyBetween(lower: string | undefined, upper: string | undefined): string | undefined {
  try {
    const key = positionBetween(lower, upper);
    return key.length <= MAX_POSITION_LENGTH ? key : undefined;
  } catch (e) {
    // Equal or unparsable neighbour keys: renumbering the column repairs both.
    if (e instanceof PositionError) return undefined;
    throw e;
  }
}

/**
 * Gives every task of the column (but the moving one) a fresh short key, keeping their order.
 * Rare (only after many inserts at one spot); not a change of the tasks, so versions stay.
 */
async function renumber(ctx: ApplyContext, req: PlacementRequest): Promise<void> {
  const ids = (
    await selectRows<{ id: string }>(
      ctx.tx,
      "SELECT id FROM tasks WHERE project_id = ? AND status = ? AND id <> ? ORDER BY position, id",
      [req.column.projectId, req.column.status, req.movingId ?? ""],
    )
  ).map((r) => r.id);
  const keys = spreadPositions(ids.length);
  for (let i = 0; i < ids.length; i += RENUMBER_CHUNK) {
    const chunk = ids.slice(i, i + RENUMBER_CHUNK);
    const cases = chunk.map(() => "WHEN ? THEN ?").join(" ");
    const params: string[] = [];
    for (const [j, id] of chunk.entries()) params.push(id, keys[i + j]!);
    await runText(
      ctx.tx,
      `UPDATE tasks SET position = CASE id ${cases} END WHERE id IN (${placeholders(chunk.length)})`,
      [...params, ...chunk],
    );
  }
}

export async function placeTask(ctx: ApplyContext, req: PlacementRequest): Promise<Placement> {
  const first = await bounds(ctx, req);
  if ("problems" in first) return first;
  const key = keyBetween(first.lower, first.upper);
  if (key !== undefined) return { position: key, renumbered: false };
  await renumber(ctx, req);
  const second = await bounds(ctx, req);
  if ("problems" in second) return second;
  const retry = keyBetween(second.lower, second.upper);
  if (retry === undefined) throw new Error("no position fits even after renumbering the column");
  return { position: retry, renumbered: true };
}
