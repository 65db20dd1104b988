/**
 * State machine snapshots: a consistent read of every replicated table at one applied index,
 * streamed as gzip-compressed JSON lines, and the restore that replaces the tables with one.
 *
 * Format (after gunzip), one JSON value per line:
 *   {"format":"taskraft-snapshot","version":1,"index":N,"term":T,"schema":S}
 *   then per table: {"table":name,"columns":[...]}, one array per row in primary-key order,
 *   {"end":name,"rows":count}
 *   and last {"end":"snapshot","tables":count}.
 * Row counts and the closing line let restore tell a complete snapshot from a truncated one.
 */
import { createReadStream } from "node:fs";
import { pipeline, Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { createGunzip, createGzip } from "node:zlib";
import type { Pool, PoolConnection } from "mysql2/promise";
import type { MemberInfo } from "../replica/state-machine.js";
import { MIGRATIONS } from "./migrations/index.js";
import { type Param, placeholders, quoteId, runText, selectRows } from "./sql.js";
import { readTable } from "./table-reader.js";
import { REPLICATED_TABLES, type TableSpec, tableSpec } from "./tables.js";

const FORMAT = "taskraft-snapshot";
const FORMAT_VERSION = 1;
/** Bytes of JSON text gathered before handing a piece to the compressor. */
const TEXT_CHUNK_BYTES = 256 * 1024;
/** A multi-row INSERT of a restore stays below both row and byte bounds (max_allowed_packet is 16 MiB by default). */
const RESTORE_BATCH_ROWS = 500;
const RESTORE_BATCH_BYTES = 4 * 1024 * 1024;
const GZIP_LEVEL = 3;
/** A snapshot stream not read within this time releases its transaction. */
export const SNAPSHOT_START_TIMEOUT_MS = 120_000;

interface Header {
  format: string;
  version: number;
  index: number;
  term: number;
  schema: number;
}

async function* snapshotText(conn: PoolConnection, header: Header): AsyncGenerator<Buffer> {
  let parts: string[] = [`${JSON.stringify(header)}\n`];
  let size = 0;
  const push = function* (line: string): Generator<Buffer> {
    parts.push(line);
    size += line.length;
    if (size >= TEXT_CHUNK_BYTES) {
      yield Buffer.from(parts.join(""), "utf8");
      parts = [];
      size = 0;
    }
  };
  for (const spec of REPLICATED_TABLES) {
    yield* push(`${JSON.stringify({ table: spec.name, columns: spec.columns })}\n`);
    let rows = 0;
    for await (const row of readTable(conn, spec)) {
      rows++;
      yield* push(`${JSON.stringify(row)}\n`);
    }
    yield* push(`${JSON.stringify({ end: spec.name, rows })}\n`);
  }
  parts.push(`${JSON.stringify({ end: "snapshot", tables: REPLICATED_TABLES.length })}\n`);
  yield Buffer.from(parts.join(""), "utf8");
}

/**
 * Starts a snapshot: opens a consistent-snapshot transaction, reads the applied index in it, and
 * returns that index with a lazy stream of the data. The connection is held until the stream is
 * consumed or abandoned; a stream nobody starts reading within SNAPSHOT_START_TIMEOUT_MS gives its
 * connection back, so a forgotten snapshot cannot pin a pool connection (and old row versions).
 */
export async function startSnapshot(pool: Pool): Promise<{ index: number; data: AsyncIterable<Uint8Array> }> {
  const conn = await pool.getConnection();
  let handedOver = false;
  try {
    await conn.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    const rows = await selectRows<{ applied_index: number; applied_term: number }>(
      conn,
      "SELECT applied_index, applied_term FROM raft_applied WHERE id = 1",
    );
    const index = Number(rows[0]?.applied_index ?? 0);
    const header: Header = {
      format: FORMAT,
      version: FORMAT_VERSION,
      index,
      term: Number(rows[0]?.applied_term ?? 0),
      schema: MIGRATIONS.at(-1)?.version ?? 0,
    };
    let state: "waiting" | "reading" | "released" = "waiting";
    const release = async (): Promise<void> => {
      if (state === "released") return;
      state = "released";
      await conn.query("COMMIT").catch(() => {});
      conn.release();
    };
    const idle = setTimeout(() => void release(), SNAPSHOT_START_TIMEOUT_MS);
    idle.unref();
    const data = (async function* () {
      clearTimeout(idle);
      if (state !== "waiting") throw new Error("the snapshot was abandoned before it was read");
      state = "reading";
      try {
        const gzip = createGzip({ level: GZIP_LEVEL });
        pipeline(Readable.from(snapshotText(conn, header)), gzip, () => {});
        for await (const chunk of gzip) yield chunk as Uint8Array;
      } finally {
        await release();
      }
    })();
    handedOver = true;
    return { index, data };
  } finally {
    if (!handedOver) {
      await conn.query("ROLLBACK").catch(() => {});
      conn.release();
    }
  }
}

/** JSON lines of the first `size` bytes of a gzip file, streamed with backpressure. */
async function* snapshotLines(path: string, size: number): AsyncGenerator<unknown> {
  if (size <= 0) throw new Error("the snapshot is empty");
  const gunzip = createGunzip();
  pipeline(createReadStream(path, { start: 0, end: size - 1 }), gunzip, () => {});
  // A chunk may end inside a multi-byte character; the decoder carries it over to the next.
  const utf8 = new StringDecoder("utf8");
  let pending = "";
  for await (const chunk of gunzip) {
    pending += utf8.write(chunk as Buffer);
    let nl = pending.indexOf("\n");
    while (nl >= 0) {
      yield JSON.parse(pending.slice(0, nl)) as unknown;
      pending = pending.slice(nl + 1);
      nl = pending.indexOf("\n");
    }
  }
  pending += utf8.end();
  if (pending !== "") throw new Error("the snapshot ends in the middle of a line");
}

function sameColumns(a: readonly string[], b: unknown): boolean {
  return Array.isArray(b) && b.length === a.length && a.every((c, i) => b[i] === c);
}

class RowBatch {
  private rows: Param[][] = [];
  private bytes = 0;

  constructor(
    private readonly conn: PoolConnection,
    private readonly spec: TableSpec,
  ) {}

  async add(row: Param[]): Promise<void> {
    this.rows.push(row);
    for (const v of row) this.bytes += typeof v === "string" ? v.length * 4 : 8;
    if (this.rows.length >= RESTORE_BATCH_ROWS || this.bytes >= RESTORE_BATCH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.rows.length === 0) return;
    const one = `(${placeholders(this.spec.columns.length)})`;
    await runText(
      this.conn,
      `INSERT INTO ${quoteId(this.spec.name)} (${this.spec.columns.map(quoteId).join(", ")}) VALUES ${this.rows
        .map(() => one)
        .join(", ")}`,
      this.rows.flat(),
    );
    this.rows = [];
    this.bytes = 0;
  }
}

async function loadTables(
  conn: PoolConnection,
  lines: AsyncGenerator<unknown>,
  expected: { index: number },
): Promise<void> {
  const first = await lines.next();
  const header = first.value as Partial<Header> | undefined;
  if (first.done || header?.format !== FORMAT || header.version !== FORMAT_VERSION) {
    throw new Error("not a taskraft state snapshot");
  }
  if (header.index !== expected.index) {
    throw new Error(`the snapshot holds index ${header.index}, expected ${expected.index}`);
  }
  let spec: TableSpec | undefined;
  let batch: RowBatch | undefined;
  let rows = 0;
  let tables = 0;
  for await (const line of lines) {
    if (Array.isArray(line)) {
      if (!spec || !batch || line.length !== spec.columns.length) throw new Error("malformed snapshot row");
      await batch.add(line as Param[]);
      rows++;
      continue;
    }
    const rec = line as { table?: string; columns?: unknown; end?: string; rows?: number; tables?: number };
    if (rec.table !== undefined) {
      spec = tableSpec(rec.table);
      if (!spec || !sameColumns(spec.columns, rec.columns)) {
        throw new Error(`the snapshot's table ${rec.table} does not match this schema`);
      }
      batch = new RowBatch(conn, spec);
      rows = 0;
    } else if (rec.end === "snapshot") {
      if (rec.tables !== tables) throw new Error("the snapshot is missing tables");
      return;
    } else if (spec && batch && rec.end === spec.name) {
      await batch.flush();
      if (rec.rows !== rows) throw new Error(`the snapshot's table ${spec.name} is incomplete`);
      tables++;
      spec = undefined;
      batch = undefined;
    } else {
      throw new Error("malformed snapshot record");
    }
  }
  throw new Error("the snapshot is truncated");
}

/**
 * Replaces every replicated table with the snapshot's rows in one transaction, so a crash leaves
 * either the old state or the new one. DELETE rather than TRUNCATE: TRUNCATE commits implicitly.
 * Foreign key checks are off for this session while the tables are briefly inconsistent.
 */
export async function restoreSnapshot(
  pool: Pool,
  meta: { index: number; term: number; size: number },
  path: string,
): Promise<{ members: MemberInfo[] }> {
  const conn = await pool.getConnection();
  let broken = false;
  try {
    await conn.query("SET SESSION FOREIGN_KEY_CHECKS = 0");
    await conn.query("START TRANSACTION");
    try {
      for (const spec of REPLICATED_TABLES) await conn.query(`DELETE FROM ${quoteId(spec.name)}`);
      await loadTables(conn, snapshotLines(path, meta.size), meta);
      await conn.execute("UPDATE raft_applied SET applied_index = ?, applied_term = ? WHERE id = 1", [
        meta.index,
        meta.term,
      ]);
      await conn.query("COMMIT");
    } catch (e) {
      await conn.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw e;
    } finally {
      await conn.query("SET SESSION FOREIGN_KEY_CHECKS = 1").catch(() => {
        broken = true;
      });
    }
    return { members: await readMembers(conn) };
  } finally {
    if (broken) conn.destroy();
    else conn.release();
  }
}

export async function readMembers(db: Pool | PoolConnection): Promise<MemberInfo[]> {
  const rows = await selectRows<{ id: string; raft_address: string; api_url: string }>(
    db,
    "SELECT id, raft_address, api_url FROM cluster_members ORDER BY id",
  );
  return rows.map((r) => ({ id: r.id, raftAddress: r.raft_address, apiUrl: r.api_url }));
}
