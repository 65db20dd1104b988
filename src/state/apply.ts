/**
 * Applying committed log entries to the database: one transaction per batch, the applied index
 * stored in the same transaction, each command checked against the replicated state at its
 * position in the log. Everything here is a function of (state, entry): no clocks, no randomness,
 * no ordering left to the server.
 */
import type { ApplyEntry } from "../replica/state-machine.js";
import { type Command, type DecodeResult, decodeCommand } from "./commands.js";
import { createComment, deleteComment } from "./handlers/comments.js";
import { type Actor, type ApplyContext, loadActor } from "./handlers/context.js";
import { createLabel, deleteLabel } from "./handlers/labels.js";
import { addMember, removeMember } from "./handlers/members.js";
import { createProject, deleteProject, updateProject } from "./handlers/projects.js";
import { createTask, deleteTask, updateTask } from "./handlers/tasks.js";
import { createSession, revokeSession, signup } from "./handlers/users.js";
import { findStoredResult, SWEEP_EVERY_ENTRIES, storeResult, sweepExpired } from "./idempotency.js";
import { type ApplyResult, refusal } from "./results.js";
import { isDeterministicSqlError, isSqlError, type Queryable, runStatement, selectOne } from "./sql.js";
import { isoToDb, isoToMs } from "./time.js";

export interface AppliedState {
  index: number;
  term: number;
  sweptIndex: number;
}

export interface ApplyHooks {
  /** A command failed with an error that is not a refusal (a bug); it was answered 500. */
  onInternalError?(index: number, err: Error): void;
  /**
   * Actors already read in this transaction. Users never change once signed up, so a row read
   * earlier in the batch is still right; the cache dies with the batch (and with a rollback).
   */
  actors?: Map<string, Actor>;
  /** A session is about to be revoked: caches of who a token names must not be trusted past here. */
  onSessionRevoke?(): void;
}

export async function readAppliedForUpdate(tx: Queryable): Promise<AppliedState> {
  const row = await selectOne<{ applied_index: number; applied_term: number; swept_index: number }>(
    tx,
    "SELECT applied_index, applied_term, swept_index FROM raft_applied WHERE id = 1 FOR UPDATE",
  );
  if (!row) throw new Error("raft_applied has no row; the schema was not migrated");
  return {
    index: Number(row.applied_index),
    term: Number(row.applied_term),
    sweptIndex: Number(row.swept_index),
  };
}

export async function writeApplied(tx: Queryable, s: AppliedState): Promise<void> {
  await runStatement(
    tx,
    "UPDATE raft_applied SET applied_index = ?, applied_term = ?, swept_index = ? WHERE id = 1",
    [s.index, s.term, s.sweptIndex],
  );
}

async function dispatch(ctx: ApplyContext, cmd: Command, hooks: ApplyHooks): Promise<ApplyResult> {
  if (cmd.type === "user.signup") return signup(ctx, cmd);
  let actor: Actor | undefined = hooks.actors?.get(cmd.actorId);
  if (!actor) {
    actor = await loadActor(ctx.tx, cmd.actorId);
    if (!actor) return refusal("unauthorized", "the acting user does not exist");
    hooks.actors?.set(actor.id, actor);
  }
  switch (cmd.type) {
    case "session.create":
      return createSession(ctx, cmd);
    case "session.revoke":
      hooks.onSessionRevoke?.();
      return revokeSession(ctx, cmd);
    case "project.create":
      return createProject(ctx, cmd);
    case "project.update":
      return updateProject(ctx, cmd);
    case "project.delete":
      return deleteProject(ctx, cmd);
    case "member.add":
      return addMember(ctx, cmd);
    case "member.remove":
      return removeMember(ctx, cmd);
    case "label.create":
      return createLabel(ctx, cmd);
    case "label.delete":
      return deleteLabel(ctx, cmd);
    case "task.create":
      return createTask(ctx, cmd, actor);
    case "task.update":
      return updateTask(ctx, cmd, actor);
    case "task.delete":
      return deleteTask(ctx, cmd, actor);
    case "comment.create":
      return createComment(ctx, cmd, actor);
    case "comment.delete":
      return deleteComment(ctx, cmd, actor);
  }
}

/**
 * Runs one command inside a savepoint. A refusal writes nothing by construction (handlers check
 * before they write); an error that the data alone explains (a duplicate key, a value too long)
 * rolls back to the savepoint and becomes a refusal, and so does a bug in a handler — all nodes
 * run the same code on the same state, so all reach the same verdict and none stops applying.
 * Errors of the server or the connection propagate: the batch is retried.
 */
async function execute(ctx: ApplyContext, cmd: Command, hooks: ApplyHooks): Promise<ApplyResult> {
  await ctx.tx.query("SAVEPOINT command");
  try {
    return await dispatch(ctx, cmd, hooks);
  } catch (e) {
    if (isDeterministicSqlError(e)) {
      await ctx.tx.query("ROLLBACK TO SAVEPOINT command");
      return e.errno === 1062
        ? refusal("conflict", "the change clashes with existing data")
        : refusal("validation_failed", "a value does not fit the stored data");
    }
    if (isSqlError(e)) throw e;
    await ctx.tx.query("ROLLBACK TO SAVEPOINT command");
    hooks.onInternalError?.(ctx.index, e as Error);
    return refusal("internal", "the change could not be applied");
  }
}

async function applyCommand(
  tx: Queryable,
  entry: Extract<ApplyEntry, { kind: "command" }>,
  state: AppliedState,
  hooks: ApplyHooks,
  decodedBefore: DecodeResult | undefined,
): Promise<ApplyResult> {
  const decoded = decodedBefore ?? decodeCommand(entry.command);
  if (!decoded.ok) {
    // Without a valid `at` there is no log time to store the refusal under; it is answered, not kept.
    return decoded.refusal;
  }
  const cmd = decoded.command;
  const ctx: ApplyContext = { tx, index: entry.index, at: isoToDb(cmd.at), atMs: isoToMs(cmd.at) };
  if (entry.index - state.sweptIndex >= SWEEP_EVERY_ENTRIES) {
    await sweepExpired(tx, ctx.atMs, ctx.at);
    state.sweptIndex = entry.index;
  }
  if (cmd.idem) {
    const stored = await findStoredResult(tx, cmd.idem, ctx.atMs);
    if (stored) return stored;
  }
  const result = await execute(ctx, cmd, hooks);
  if (cmd.idem) await storeResult(tx, cmd.idem, result, entry.index, ctx.at);
  return result;
}

/** Keeps cluster_members in step with configuration entries (addresses of nodes added, removals). */
async function applyConf(tx: Queryable, entry: Extract<ApplyEntry, { kind: "conf" }>): Promise<void> {
  if (entry.member) {
    const m = entry.member;
    await runStatement(
      tx,
      `INSERT INTO cluster_members (id, raft_address, api_url, updated_index) VALUES (?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE raft_address = VALUES(raft_address), api_url = VALUES(api_url),
         updated_index = VALUES(updated_index)`,
      [m.id, m.raftAddress, m.apiUrl, entry.index],
    );
  }
  if (entry.change?.type === "removeNode") {
    await runStatement(tx, "DELETE FROM cluster_members WHERE id = ?", [entry.change.nodeId]);
  }
}

/**
 * Applies one entry (the next after `state.index`) and advances `state`. Returns the client's
 * answer for commands, undefined for no-ops and configuration entries.
 */
export async function applyEntry(
  tx: Queryable,
  entry: ApplyEntry,
  state: AppliedState,
  hooks: ApplyHooks = {},
  /** The command already decoded by the caller, if it did (it is not decoded twice). */
  decoded?: DecodeResult,
): Promise<ApplyResult | undefined> {
  if (entry.index !== state.index + 1) {
    throw new Error(`apply out of order: entry ${entry.index} after applied index ${state.index}`);
  }
  if (entry.term < state.term) {
    throw new Error(`entry ${entry.index} has term ${entry.term}, below the applied term ${state.term}`);
  }
  let result: ApplyResult | undefined;
  if (entry.kind === "command") result = await applyCommand(tx, entry, state, hooks, decoded);
  else if (entry.kind === "conf") await applyConf(tx, entry);
  state.index = entry.index;
  state.term = entry.term;
  return result;
}
