import { createHash } from "node:crypto";
import type { Pool } from "mysql2/promise";
import { type ScratchDatabase, testDatabase } from "../../src/db/index.js";
import type { ApplyEntry } from "../../src/replica/state-machine.js";
import { type CommandInput, encodeCommand } from "../../src/state/commands.js";
import { tableChecksums } from "../../src/state/consistency.js";
import { MysqlStateMachine } from "../../src/state/mysql-state-machine.js";
import type { ApplyResult } from "../../src/state/results.js";

export interface Scratch {
  db: ScratchDatabase;
  sm: MysqlStateMachine;
  pool: Pool;
  close(): Promise<void>;
}

/** A state machine on a fresh scratch database; close() drops the database. */
export async function scratchStateMachine(
  prefix: string,
  opts: { maxBatch?: number } = {},
): Promise<Scratch> {
  const db = await testDatabase(prefix);
  const sm = new MysqlStateMachine({ url: db.url, connectionLimit: 4, ...opts });
  await sm.open();
  return {
    db,
    sm,
    pool: sm.pool,
    async close() {
      await sm.close().catch(() => {});
      await db.drop();
    },
  };
}

export const T0 = Date.parse("2026-01-01T00:00:00.000Z");

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function tokenHash(seed: string): string {
  return createHash("sha256").update(seed).digest("hex");
}

/** A command input whose `at` may be left to the log clock. */
export type CommandDraft = CommandInput extends infer C
  ? C extends CommandInput
    ? Omit<C, "at"> & { at?: string }
    : never
  : never;

/** Builds consecutive log entries; `at` advances one second per command unless set. */
export class Log {
  index: number;
  term = 1;
  clock = T0;

  constructor(startIndex = 0) {
    this.index = startIndex;
  }

  /** A command entry. `input` omits actorId/at defaults: pass them or get the log clock. */
  command(input: CommandDraft): ApplyEntry {
    this.clock += 1000;
    const full = { at: iso(this.clock), ...input } as CommandInput;
    return { index: ++this.index, term: this.term, kind: "command", command: encodeCommand(full) };
  }

  raw(bytes: Uint8Array): ApplyEntry {
    return { index: ++this.index, term: this.term, kind: "command", command: bytes };
  }

  json(value: unknown): ApplyEntry {
    return this.raw(new TextEncoder().encode(JSON.stringify(value)));
  }

  noop(): ApplyEntry {
    return { index: ++this.index, term: this.term, kind: "noop" };
  }
}

/** Applies entries one transaction and returns the single command result. */
export async function applyOne(sm: MysqlStateMachine, entry: ApplyEntry): Promise<ApplyResult> {
  const [r] = await sm.apply([entry]);
  return r as ApplyResult;
}

export async function checksums(pool: Pool): Promise<Record<string, { rows: number; sha256: string }>> {
  return tableChecksums(pool);
}

/** Error code of a refusal body. */
export function codeOf(r: ApplyResult): string | undefined {
  return (r.body as { error?: { code?: string } } | null)?.error?.code;
}

export interface TestUser {
  id: string;
  username: string;
  inbox: string;
  token: string;
}

/** Signs a user up (with a session whose token hash is tokenHash(username)). */
export async function signup(sm: MysqlStateMachine, log: Log, username: string): Promise<TestUser> {
  const id = `u-${username}`;
  const inbox = `inbox-${username}`;
  const r = await applyOne(
    sm,
    log.command({
      type: "user.signup",
      actorId: id,
      id,
      username,
      displayName: username,
      passwordHash: `scrypt$${username}`,
      inboxProjectId: inbox,
      session: { tokenHash: tokenHash(username), expiresAt: iso(T0 + 365 * 86_400_000) },
    }),
  );
  if (r.status !== 201) throw new Error(`signup ${username} failed: ${JSON.stringify(r.body)}`);
  return { id, username, inbox, token: tokenHash(username) };
}

/** The body's entity under `key`, typed loosely for assertions. */
export function bodyOf<T = Record<string, unknown>>(r: ApplyResult, key: string): T {
  return (r.body as Record<string, T>)[key]!;
}
