/**
 * `taskraft backup`: copies the newest snapshot of a node's data dir to a file, and verifies the
 * copy. A snapshot is a consistent copy of every replicated table at one applied index, with a
 * checksum — all a restore needs. Safe while the node runs: it only reads, and a snapshot file
 * is never changed once written (the node may delete an old one; the copy then retries the next).
 */
import { closeSync, copyFileSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { SnapshotMeta } from "../raft/index.js";
import { listSnapshotFiles, verifySnapshotFile } from "../storage/index.js";
import { OpsError } from "./offline.js";

export interface BackupResult {
  file: string;
  index: number;
  term: number;
  /** Bytes of state data (compressed). */
  size: number;
  /** The node's snapshot file that was copied. */
  from: string;
}

export function backupNode(dataDir: string, out: string): BackupResult {
  if (existsSync(out)) throw new OpsError(`${out} already exists; refusing to overwrite it`);
  const snapDir = join(dataDir, "snapshots");
  if (!existsSync(join(dataDir, "meta")) || !existsSync(snapDir)) {
    throw new OpsError(`${dataDir} is not a taskraft data dir (no meta file or snapshots/)`);
  }
  const tmp = `${out}.tmp`;
  const problems: string[] = [];
  for (const from of listSnapshotFiles(snapDir)) {
    let meta: SnapshotMeta;
    try {
      copyFileSync(from, tmp);
      meta = verifySnapshotFile(tmp);
      const fd = openSync(tmp, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      rmSync(tmp, { force: true });
      problems.push((e as Error).message);
      continue;
    }
    renameSync(tmp, out);
    return { file: out, index: meta.index, term: meta.term, size: meta.size, from };
  }
  throw new OpsError(
    problems.length > 0
      ? `no usable snapshot in ${snapDir}: ${problems.join("; ")}`
      : `${snapDir} holds no snapshot yet; take one with \`taskraft cluster snapshot --node ID\``,
  );
}
