/**
 * Pieces shared by the offline operator tools (`taskraft restore`, `taskraft recover`): checks that
 * a data dir and a database are really empty, the member table of a new configuration, a snapshot
 * of a node's MySQL state written to a file, and a data dir built around one snapshot.
 *
 * These tools never run next to a live node: they work on storage (src/storage) and the state
 * machine (src/state) directly, the way the node itself would at start.
 */
import { createWriteStream, existsSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Pool } from "mysql2/promise";
import { connectServer, parseMysqlUrl, redactMysqlUrl } from "../db/index.js";
import type { ConfState, SnapshotMeta } from "../raft/index.js";
import type { MemberInfo } from "../replica/index.js";
import { startSnapshot } from "../state/snapshot.js";
import { runStatement } from "../state/sql.js";
import { REPLICATED_TABLES } from "../state/tables.js";
import { DiskStorage } from "../storage/index.js";

/** A refusal or failure the operator can act on: one line, nothing changed (or said what was). */
export class OpsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OpsError";
  }
}

/** Bytes per staged chunk when a snapshot file is copied into a data dir. */
const STAGE_CHUNK_BYTES = 1024 * 1024;

/** Refuses a data dir that exists and holds anything: these tools never overwrite Raft state. */
export function requireEmptyDataDir(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new OpsError(`data dir ${dir} exists and is not a directory`);
  const names = readdirSync(dir);
  if (names.length > 0) {
    throw new OpsError(
      `data dir ${dir} is not empty (${names.slice(0, 3).join(", ")}${names.length > 3 ? ", …" : ""}); refusing to overwrite it — give a new or empty directory`,
    );
  }
}

/**
 * Refuses a database that holds taskraft data (any replicated row, or an applied index above 0).
 * A missing database, or one with no tables (CREATE DATABASE only), is fine.
 */
export async function requireEmptyDatabase(url: string): Promise<void> {
  const name = parseMysqlUrl(url).database;
  if (!name) throw new OpsError(`mysql-url ${redactMysqlUrl(url)} must name a database`);
  let conn: Awaited<ReturnType<typeof connectServer>>;
  try {
    conn = await connectServer(url);
  } catch (e) {
    throw new OpsError(
      `MySQL at ${redactMysqlUrl(url)} is unreachable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  try {
    const [rows] = await conn.query(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ?",
      [name],
    );
    const present = new Set((rows as { t: string }[]).map((r) => r.t));
    for (const spec of REPLICATED_TABLES) {
      if (!present.has(spec.name)) continue;
      const where = spec.name === "raft_applied" ? " WHERE applied_index > 0" : "";
      const [found] = await conn.query(`SELECT 1 FROM \`${name}\`.\`${spec.name}\`${where} LIMIT 1`);
      if ((found as unknown[]).length > 0) {
        throw new OpsError(
          `database ${name} at ${redactMysqlUrl(url)} already holds taskraft data (table ${spec.name}); refusing to overwrite it — drop it or name a new database`,
        );
      }
    }
  } finally {
    await conn.end().catch(() => {});
  }
}

/** True when something listens on host:port (a node that is still running). */
export function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "EADDRINUSE" || e.code === "EACCES"));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(false)));
  });
}

/**
 * Makes cluster_members name exactly `members` (recorded at `index`), in one transaction. The
 * replica prefers this table over --peers, so a restored or recovered state must not keep the
 * addresses of the cluster it came from.
 */
export async function replaceMembers(pool: Pool, members: MemberInfo[], index: number): Promise<void> {
  const conn = await pool.getConnection();
  try {
    await conn.query("START TRANSACTION");
    try {
      await runStatement(conn, "DELETE FROM cluster_members");
      for (const m of members) {
        await runStatement(
          conn,
          "INSERT INTO cluster_members (id, raft_address, api_url, updated_index) VALUES (?, ?, ?, ?)",
          [m.id, m.raftAddress, m.apiUrl, index],
        );
      }
      await conn.query("COMMIT");
    } catch (e) {
      await conn.query("ROLLBACK").catch(() => {});
      throw e;
    }
  } finally {
    conn.release();
  }
}

/** Writes a state snapshot of the database (gzip JSON lines, src/state/snapshot.ts) to `file`; returns its index. */
export async function snapshotDatabaseToFile(
  pool: Pool,
  file: string,
): Promise<{ index: number; size: number }> {
  const { index, data } = await startSnapshot(pool);
  await pipeline(data, createWriteStream(file));
  return { index, size: statSync(file).size };
}

export interface DataDirPlan {
  dir: string;
  clusterId: string;
  nodeId: string;
  /** Index and term of the snapshot: the last entry it covers. */
  index: number;
  term: number;
  conf: ConfState;
  /** File whose first `size` bytes are the state snapshot's data. */
  dataFile: string;
  size: number;
  /** Term of the hard state, at least `term`. */
  hardTerm: number;
}

/**
 * Builds a data dir whose whole state is one snapshot: meta (cluster id, node id), the snapshot file
 * with `conf`, an empty log after it, and a hard state at `hardTerm` with commit = the snapshot's
 * index and no vote. Built under `<dir>.partial` and renamed into place, so a crash leaves either no
 * data dir or a complete one.
 */
export async function buildDataDir(plan: DataDirPlan): Promise<SnapshotMeta> {
  if (plan.hardTerm < plan.term)
    throw new OpsError(`hard state term ${plan.hardTerm} below the snapshot's ${plan.term}`);
  const partial = `${plan.dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  const storage = DiskStorage.open({
    dir: partial,
    clusterId: plan.clusterId,
    nodeId: plan.nodeId,
    bootstrap: plan.conf,
  });
  let meta: SnapshotMeta | undefined;
  try {
    const announced: SnapshotMeta = { index: plan.index, term: plan.term, conf: plan.conf, size: plan.size };
    const fh = await open(plan.dataFile, "r");
    try {
      const buf = Buffer.alloc(STAGE_CHUNK_BYTES);
      for (let offset = 0; offset < plan.size || offset === 0; ) {
        const want = Math.min(buf.length, plan.size - offset);
        const { bytesRead } = await fh.read(buf, 0, want, offset);
        if (bytesRead !== want)
          throw new OpsError(`${plan.dataFile} ends at ${offset + bytesRead}, expected ${plan.size} bytes`);
        const last = offset + bytesRead >= plan.size;
        meta = storage.stageSnapshotChunk({
          meta: announced,
          offset,
          data: buf.subarray(0, bytesRead),
          last,
        });
        offset += bytesRead;
        if (last) break;
      }
    } finally {
      await fh.close();
    }
    if (!meta) throw new OpsError("the snapshot was not staged completely");
    storage.installSnapshot(meta);
    storage.setHardState({ term: plan.hardTerm, vote: "", commit: plan.index });
    storage.sync();
  } finally {
    storage.close();
  }
  renameSync(partial, plan.dir);
  return meta;
}

/** A path next to `dir` for temporary files of a tool run (removed by the caller). */
export function scratchFile(dir: string, what: string): string {
  return join(dirname(dir), `.taskraft-${what}-${process.pid}-${Date.now()}.tmp`);
}
