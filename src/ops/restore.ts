/**
 * `taskraft restore`: one node of a NEW cluster built from a backup (a snapshot file).
 *
 * Run it on every host of the new cluster with the same snapshot file and the same --peers list.
 * Each node then starts with identical state: the backup's tables in its MySQL database and, in
 * its data dir, a snapshot at the backup's index and term whose configuration is the new list,
 * an empty log after it, and a hard state at that term with no vote. Any of them can win the
 * first election, and they agree on everything up to the backup's index.
 *
 * Why not restore one node and start the others empty with the same --peers: two empty voters
 * form a majority of three, could elect one of themselves with an empty log, and would then try to
 * overwrite the restored node's committed entries. (To grow from one restored node, restore it with
 * a one-node list and add the others with `taskraft cluster add`; they join as learners.)
 */
import { mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import type { SnapshotMeta } from "../raft/index.js";
import type { MemberInfo } from "../replica/index.js";
import { MysqlStateMachine } from "../state/mysql-state-machine.js";
import { verifySnapshotFile } from "../storage/index.js";
import {
  buildDataDir,
  OpsError,
  replaceMembers,
  requireEmptyDatabase,
  requireEmptyDataDir,
  scratchFile,
  snapshotDatabaseToFile,
} from "./offline.js";

export interface RestoreOptions {
  snapshotFile: string;
  nodeId: string;
  /** The new cluster's voters, this node included. */
  peers: MemberInfo[];
  dataDir: string;
  mysqlUrl: string;
  clusterId: string;
}

export interface RestoreResult {
  index: number;
  term: number;
  voters: string[];
  /** Size of the backup's state data (compressed). */
  bytes: number;
  ms: number;
}

export async function restoreNode(opts: RestoreOptions): Promise<RestoreResult> {
  const t0 = performance.now();
  let backup: SnapshotMeta;
  try {
    backup = verifySnapshotFile(opts.snapshotFile);
  } catch (e) {
    throw new OpsError((e as Error).message);
  }
  if (backup.index === 0 || backup.size === 0) throw new OpsError(`${opts.snapshotFile} holds no state`);
  if (!opts.peers.some((p) => p.id === opts.nodeId)) {
    throw new OpsError(`peers: this node '${opts.nodeId}' is not in the new cluster's list`);
  }
  requireEmptyDataDir(opts.dataDir);
  await requireEmptyDatabase(opts.mysqlUrl);

  mkdirSync(dirname(opts.dataDir), { recursive: true });
  const voters = opts.peers.map((p) => p.id).sort();
  const sm = new MysqlStateMachine({ url: opts.mysqlUrl, connectionLimit: 2 });
  const fresh = scratchFile(opts.dataDir, "restore");
  try {
    await sm.open();
    try {
      await sm.restore(backup, opts.snapshotFile);
    } catch (e) {
      throw new OpsError(`${opts.snapshotFile}: cannot load it into MySQL: ${(e as Error).message}`);
    }
    // The backup's member table names the old cluster's nodes; this one is made of --peers.
    await replaceMembers(sm.pool, opts.peers, backup.index);
    // The data dir gets a snapshot of the database as it is now (same index, new member table),
    // so a node that later joins and installs it from the leader ends up with identical tables.
    const snap = await snapshotDatabaseToFile(sm.pool, fresh);
    if (snap.index !== backup.index) {
      throw new OpsError(`the restored database is at index ${snap.index}, expected ${backup.index}`);
    }
    await buildDataDir({
      dir: opts.dataDir,
      clusterId: opts.clusterId,
      nodeId: opts.nodeId,
      index: backup.index,
      term: backup.term,
      conf: { voters, learners: [] },
      dataFile: fresh,
      size: snap.size,
      hardTerm: backup.term,
    });
  } finally {
    rmSync(fresh, { force: true });
    await sm.close().catch(() => {});
  }
  return {
    index: backup.index,
    term: backup.term,
    voters,
    bytes: backup.size,
    ms: Math.round(performance.now() - t0),
  };
}
