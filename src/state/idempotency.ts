/**
 * Stored results of writes that carried an Idempotency-Key, replicated like everything else so
 * that a retry on any node, after any leader change or restart, gets the first answer. Expiry is
 * decided by log time (the command's `at`), never by a node's clock, so every node forgets the
 * same keys at the same entry.
 */

import type { Idem } from "./commands.js";
import { IDEMPOTENCY_TTL_MS } from "./limits.js";
import type { ApplyResult } from "./results.js";
import { limitClause, type Queryable, runStatement, selectOne } from "./sql.js";
import { msToDb } from "./time.js";

/** Apply sweeps expired rows once per this many log entries... */
export const SWEEP_EVERY_ENTRIES = 64;
/** ...deleting at most this many per table, so one entry never pays for a long backlog. */
export const SWEEP_MAX_ROWS = 1000;

export function idemCutoff(atMs: number): string {
  return msToDb(atMs - IDEMPOTENCY_TTL_MS);
}

/** The stored result for the key, unless it expired by `atMs` (then it is forgotten now). */
export async function findStoredResult(
  tx: Queryable,
  idem: Idem,
  atMs: number,
): Promise<ApplyResult | undefined> {
  // The server compares the DATETIMEs: their text form varies (fractions may be omitted).
  const row = await selectOne<{ status: number; body: string; expired: number }>(
    tx,
    "SELECT status, body, created_at < ? AS expired FROM idempotency WHERE user_id = ? AND idem_key = ?",
    [idemCutoff(atMs), idem.userId, idem.key],
  );
  if (!row) return undefined;
  if (Number(row.expired) === 1) {
    await runStatement(tx, "DELETE FROM idempotency WHERE user_id = ? AND idem_key = ?", [
      idem.userId,
      idem.key,
    ]);
    return undefined;
  }
  return { status: Number(row.status), body: JSON.parse(row.body) as unknown, events: [] };
}

export async function storeResult(
  tx: Queryable,
  idem: Idem,
  result: ApplyResult,
  index: number,
  at: string,
): Promise<void> {
  await runStatement(
    tx,
    "INSERT INTO idempotency (user_id, idem_key, status, body, log_index, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    [idem.userId, idem.key, result.status, JSON.stringify(result.body ?? null), index, at],
  );
}

/**
 * Deletes expired idempotency rows and sessions, oldest first. ORDER BY on a unique key makes the
 * bounded DELETE pick the same rows on every node.
 */
export async function sweepExpired(tx: Queryable, atMs: number, at: string): Promise<void> {
  await runStatement(
    tx,
    `DELETE FROM idempotency WHERE created_at < ? ORDER BY created_at, user_id, idem_key ${limitClause(SWEEP_MAX_ROWS)}`,
    [idemCutoff(atMs)],
  );
  await runStatement(
    tx,
    `DELETE FROM sessions WHERE expires_at < ? ORDER BY expires_at, token_hash ${limitClause(SWEEP_MAX_ROWS)}`,
    [at],
  );
}
