/**
 * Ordering of tasks within a status column and the beforeId/afterId of a move. Pure and
 * import-free: the browser tests' unit part runs it in Node.
 */

export interface Orderable {
  id: string;
  status: string;
  position: string;
}

/** The server's column order: position byte-wise (ASCII keys), then id. */
export function comparePosition(a: Orderable, b: Orderable): number {
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Tasks grouped by status, each column in server order. */
export function columnsOf<T extends Orderable>(
  tasks: Iterable<T>,
  statuses: readonly string[],
): Map<string, T[]> {
  const columns = new Map<string, T[]>(statuses.map((s) => [s, []]));
  for (const t of tasks) columns.get(t.status)?.push(t);
  for (const col of columns.values()) col.sort(comparePosition);
  return columns;
}

export interface Place {
  beforeId?: string;
  afterId?: string;
}

/**
 * Where a task goes when dropped at `index` of `column`, where `index` counts the column's tasks
 * without the moving one. Naming the task it lands before (or, at the end, the one it lands
 * after) lets the server compute the position from the state at apply time.
 */
export function placeAt(column: readonly { id: string }[], movingId: string, index: number): Place {
  const others = column.filter((t) => t.id !== movingId);
  const i = Math.max(0, Math.min(index, others.length));
  const at = others[i];
  if (at) return { beforeId: at.id };
  const last = others[others.length - 1];
  return last ? { afterId: last.id } : {};
}

/** True when dropping at `index` (counted without the task) leaves the task where it is. */
export function isSameSpot(column: readonly { id: string }[], movingId: string, index: number): boolean {
  const from = column.findIndex((t) => t.id === movingId);
  return from >= 0 && from === index;
}

/**
 * The column as it will look once a move is applied: the task removed from wherever it was and
 * inserted before `beforeId`, after `afterId`, or at the end. Used to show a move at once,
 * before the server confirms it.
 */
export function insertPlaced<T extends { id: string }>(column: readonly T[], task: T, place: Place): T[] {
  const out = column.filter((t) => t.id !== task.id);
  let i = out.length;
  if (place.beforeId !== undefined) {
    const j = out.findIndex((t) => t.id === place.beforeId);
    if (j >= 0) i = j;
  } else if (place.afterId !== undefined) {
    const j = out.findIndex((t) => t.id === place.afterId);
    if (j >= 0) i = j + 1;
  }
  out.splice(i, 0, task);
  return out;
}
