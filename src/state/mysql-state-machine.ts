import type { Pool, PoolConnection } from "mysql2/promise";
import type { SnapshotMeta } from "../raft/index.js";
import type { ApplyEntry, MemberInfo, StateMachine } from "../replica/state-machine.js";
import { type AppliedState, applyEntry, readAppliedForUpdate, writeApplied } from "./apply.js";
import { type ApplyStats, emptyStats, recordBatch } from "./apply-stats.js";
import {
  applyCreateRun,
  type BulkCandidate,
  bulkCandidate,
  MAX_BULK_RUN,
  MIN_BULK_RUN,
} from "./bulk-create.js";
import { type DecodeResult, decodeCommand } from "./commands.js";
import type { Actor } from "./handlers/context.js";
import { SWEEP_EVERY_ENTRIES } from "./idempotency.js";
import { migrate } from "./migrate.js";
import type { ApplyResult } from "./results.js";
import { readMembers, restoreSnapshot, startSnapshot } from "./snapshot.js";
import { isSqlError, openPool, selectOne } from "./sql.js";

export interface StateLogger {
  error(obj: object, msg: string): void;
}

export interface MysqlStateMachineOptions {
  /** mysql://user:pass@host:port/dbname — the database is created if absent. */
  url: string;
  /** Connections in the pool: one applies, the others serve reads and snapshots. */
  connectionLimit?: number;
  /** Entries per transaction at most; longer batches are applied as several transactions. */
  maxBatch?: number;
  /**
   * Apply runs of plain task creates with a few statements for the whole run (bulk-create.ts).
   * Default true; off, every entry takes the one-by-one path (the tests compare the two).
   */
  bulkCreates?: boolean;
  logger?: StateLogger;
}

const DEFAULT_MAX_BATCH = 1024;

/**
 * The replicated application on MySQL/MariaDB. Each apply() batch is one transaction that also
 * moves raft_applied, so after a crash the database is exactly at some applied index: entries at or
 * below it are skipped when handed in again, and the rest are applied once.
 */
export class MysqlStateMachine implements StateMachine {
  private poolRef: Pool | undefined;
  private readonly counters: ApplyStats = emptyStats();
  /**
   * Results of the last attempted batch by log index. When a commit's outcome was unknown (the
   * connection died during COMMIT) and the replica hands the batch in again, the entries are
   * found applied: these answer their waiting clients instead of nothing.
   */
  private lastResults = new Map<number, ApplyResult | undefined>();
  private readonly maxBatch: number;
  private readonly bulk: boolean;

  constructor(private readonly options: MysqlStateMachineOptions) {
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.bulk = options.bulkCreates ?? true;
  }

  /** The pool, for queries (src/state/queries.ts) against this node's database. */
  get pool(): Pool {
    if (!this.poolRef) throw new Error("the state machine is not open");
    return this.poolRef;
  }

  async open(): Promise<{ appliedIndex: number; members: MemberInfo[] }> {
    if (!this.poolRef) {
      this.poolRef = await openPool(this.options.url, { connectionLimit: this.options.connectionLimit ?? 8 });
      await migrate(this.poolRef);
    }
    const row = await selectOne<{ applied_index: number }>(
      this.pool,
      "SELECT applied_index FROM raft_applied WHERE id = 1",
    );
    const appliedIndex = Number(row?.applied_index ?? 0);
    this.counters.appliedIndex = appliedIndex;
    return { appliedIndex, members: await readMembers(this.pool) };
  }

  async close(): Promise<void> {
    const pool = this.poolRef;
    this.poolRef = undefined;
    if (pool) await pool.end();
  }

  /**
   * Changes whenever the sessions a token may name change other than by creation (a revoke, a
   * restore). It moves before such a transaction commits and again after, so an entry read from
   * the database in between is never taken for current. Users never change once signed up and
   * expiry is checked against the clock, so nothing else can make a cached token→user stale.
   */
  get authGeneration(): number {
    return this.authGen;
  }
  private authGen = 0;

  async apply(entries: ApplyEntry[]): Promise<unknown[]> {
    const results: unknown[] = [];
    for (let i = 0; i < entries.length; i += this.maxBatch) {
      results.push(...(await this.applyBatch(entries.slice(i, i + this.maxBatch))));
    }
    return results;
  }

  private async applyBatch(entries: ApplyEntry[]): Promise<(ApplyResult | undefined)[]> {
    if (entries.length === 0) return [];
    const t0 = performance.now();
    const conn = await this.pool.getConnection();
    let healthy = true;
    try {
      await conn.query("START TRANSACTION");
      const state = await readAppliedForUpdate(conn);
      const gen = this.authGen;
      const results = await this.applyInTransaction(conn, entries, state);
      await conn.query("COMMIT");
      if (this.authGen !== gen) this.authGen++;
      this.counters.appliedIndex = state.index;
      const applied = results.filter((r) => r !== SKIPPED).length;
      if (applied > 0) recordBatch(this.counters, applied, performance.now() - t0);
      return results.map((r, i) => (r === SKIPPED ? this.lastResults.get(entries[i]!.index) : r));
    } catch (e) {
      this.counters.failedBatches++;
      await conn.query("ROLLBACK").catch(() => {
        healthy = false;
      });
      if (isSqlError(e)) healthy = false;
      throw e;
    } finally {
      // A connection that failed mid-transaction may hold half a session; never reuse it.
      if (healthy) conn.release();
      else conn.destroy();
    }
  }

  private async applyInTransaction(
    conn: PoolConnection,
    entries: ApplyEntry[],
    state: AppliedState,
  ): Promise<(ApplyResult | undefined | typeof SKIPPED)[]> {
    const results: (ApplyResult | undefined | typeof SKIPPED)[] = [];
    const attempt = new Map<number, ApplyResult | undefined>();
    const before = state.index;
    const actors = new Map<string, Actor>();
    let oneByOneUntil = 0;
    // Commands decoded while looking for runs, handed to the one-by-one path so none is decoded twice.
    const decoded = new Map<number, DecodeResult>();
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.index <= state.index) {
        this.counters.skipped++;
        results.push(SKIPPED);
        continue;
      }
      const run = this.bulk && i >= oneByOneUntil ? createRunAt(entries, i, state, decoded) : [];
      // A sweep of expired rows falls due at a fixed index: the one-by-one path does it there, so
      // the run stops short of it and the entry that is due goes alone.
      const dueAt = state.sweptIndex + SWEEP_EVERY_ENTRIES;
      while (run.length > 0 && run[run.length - 1]!.entry.index >= dueAt) run.pop();
      // Too short a run: its entries go one by one without being looked at again from each.
      if (run.length < MIN_BULK_RUN) oneByOneUntil = Math.max(oneByOneUntil, i + Math.max(1, run.length));
      else {
        const bulk = await applyCreateRun(conn, run, actors);
        // Handed back: the whole run goes one by one (not retried from each later entry).
        if (!bulk) oneByOneUntil = i + run.length;
        if (bulk) {
          for (const [j, result] of bulk.entries()) {
            const e = run[j]!.entry;
            state.index = e.index;
            state.term = e.term;
            attempt.set(e.index, result);
            results.push(result);
            this.counters.entries++;
            this.counters.commands++;
          }
          this.counters.bulkRuns++;
          i += run.length - 1;
          continue;
        }
      }
      const result = await applyEntry(
        conn,
        entry,
        state,
        {
          actors,
          onSessionRevoke: () => {
            this.authGen++;
          },
          onInternalError: (index, err) => {
            this.counters.internalErrors++;
            this.options.logger?.error(
              { index, err: err.message, stack: err.stack },
              "command failed in apply",
            );
          },
        },
        decoded.get(entry.index),
      );
      attempt.set(entry.index, result);
      results.push(result);
      this.counters.entries++;
      if (entry.kind === "command") {
        this.counters.commands++;
        if (result && result.status >= 400) this.counters.refusals++;
      }
    }
    if (state.index !== before) {
      await writeApplied(conn, state);
      this.lastResults = attempt;
    }
    return results;
  }

  /** Counters for metrics: batches, entries, refusals, and the histogram of entries per transaction. */
  stats(): ApplyStats {
    return { ...this.counters, batchSizeBuckets: [...this.counters.batchSizeBuckets] };
  }

  snapshot(): Promise<{ index: number; data: AsyncIterable<Uint8Array> }> {
    return startSnapshot(this.pool);
  }

  async restore(meta: SnapshotMeta, path: string): Promise<{ members: MemberInfo[] }> {
    this.authGen++;
    const r = await restoreSnapshot(this.pool, meta, path).finally(() => {
      this.authGen++;
    });
    this.lastResults = new Map();
    this.counters.appliedIndex = meta.index;
    return r;
  }
}

const SKIPPED = Symbol("skipped");

/**
 * The plain task creates starting at `entries[i]` that may be applied as one run: consecutive
 * indexes right after the applied one, terms never going down (what applyEntry checks one by one).
 */
function createRunAt(
  entries: readonly ApplyEntry[],
  i: number,
  state: AppliedState,
  decoded: Map<number, DecodeResult>,
): BulkCandidate[] {
  const run: BulkCandidate[] = [];
  let index = state.index;
  let term = state.term;
  for (let j = i; j < entries.length && run.length < MAX_BULK_RUN; j++) {
    const e = entries[j]!;
    if (e.index !== index + 1 || e.term < term) break;
    let d = decoded.get(e.index);
    if (!d && e.kind === "command") {
      d = decodeCommand(e.command);
      decoded.set(e.index, d);
    }
    const c = bulkCandidate(e, d);
    if (!c) break;
    run.push(c);
    index = e.index;
    term = e.term;
  }
  return run;
}
