/**
 * `taskraft recover`: turns a stopped surviving node into a one-node cluster when a majority of
 * the cluster is lost for good. UNSAFE by design, like etcd's --force-new-cluster: Raft's
 * guarantees rest on a majority, and this tool steps outside them on purpose.
 *
 * What it keeps: everything in this node's own log. The node's MySQL state is brought up to the
 * last entry of its log (committed entries it had not applied yet, and also entries past its known
 * commit index — those may or may not have been committed by the lost majority; they are the
 * writes whose clients got "outcome unknown", and applying them is what a new Raft leader holding
 * them would do too). What is lost: entries the lost nodes committed that never reached this node
 * — acknowledged writes among them.
 *
 * What it writes: the old data dir is kept aside (`<dir>.before-recover-<time>`); a new one holds a
 * snapshot of the database at the log's last index, whose configuration is this node alone, and a
 * hard state one term above anything the node has seen, with no vote. cluster_members names only
 * this node. The node then elects itself at start; new nodes are added with `taskraft cluster add`.
 * The lost nodes must never come back with their old data (wipe them; a new cluster id makes the
 * peer handshake refuse them).
 */
import { existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Entry, EntryType } from "../raft/index.js";
import { decodeConfContext, decodeEnvelope } from "../replica/envelope.js";
import type { ApplyEntry, MemberInfo } from "../replica/index.js";
import { MysqlStateMachine } from "../state/mysql-state-machine.js";
import { DiskStorage } from "../storage/index.js";
import {
  buildDataDir,
  OpsError,
  portInUse,
  replaceMembers,
  scratchFile,
  snapshotDatabaseToFile,
} from "./offline.js";

/** Bytes of log read per apply batch while catching the database up. */
const APPLY_READ_BYTES = 4 * 1024 * 1024;

export interface RecoverOptions {
  nodeId: string;
  dataDir: string;
  mysqlUrl: string;
  clusterId: string;
  /** Cluster id of the recovered data dir (default: unchanged). */
  newClusterId?: string;
  /** This node's addresses, recorded as the only member. */
  self: MemberInfo;
  /** Ports the node listens on: if one is taken, the node is probably still running. */
  listens: { host: string; port: number }[];
  /** Suffix of the directory the old data dir is moved to (default: the current time). */
  stamp?: string;
}

export interface RecoverResult {
  /** What the node had before: its database's applied index, known commit index and last log index. */
  appliedBefore: number;
  commitBefore: number;
  lastIndex: number;
  /** Entries applied now that the node did not know to be committed (last - max(commit, applied)). */
  pastCommit: number;
  /** Index and term of the new snapshot; the node's new term (it elects itself at term + 1). */
  index: number;
  term: number;
  newTerm: number;
  clusterId: string;
  /** Where the old data dir was moved. */
  oldDataDir: string;
  ms: number;
}

/** One log entry as the state machine applies it (the replica's envelope and conf context decoded). */
export function applyEntryOf(e: Entry): ApplyEntry {
  if (e.type === EntryType.Conf) {
    return {
      index: e.index,
      term: e.term,
      kind: "conf",
      conf: e.conf!,
      change: e.change,
      member: decodeConfContext(e.data)?.member,
    };
  }
  if (e.data.length === 0) return { index: e.index, term: e.term, kind: "noop" };
  return { index: e.index, term: e.term, kind: "command", command: decodeEnvelope(e.data).command };
}

export async function recoverNode(opts: RecoverOptions): Promise<RecoverResult> {
  const t0 = performance.now();
  for (const hp of opts.listens) {
    if (await portInUse(hp.host, hp.port)) {
      throw new OpsError(
        `${hp.host}:${hp.port} is in use: node ${opts.nodeId} seems to be running; stop it first (recover works on a stopped node)`,
      );
    }
  }
  if (!existsSync(join(opts.dataDir, "meta"))) {
    throw new OpsError(
      `${opts.dataDir} holds no Raft state (no meta file); recover needs the survivor's data dir`,
    );
  }
  let storage: DiskStorage;
  try {
    storage = DiskStorage.open({ dir: opts.dataDir, clusterId: opts.clusterId, nodeId: opts.nodeId });
  } catch (e) {
    throw new OpsError((e as Error).message);
  }
  let storageOpen = true;
  const closeStorage = () => {
    if (storageOpen) storage.close();
    storageOpen = false;
  };
  const sm = new MysqlStateMachine({ url: opts.mysqlUrl, connectionLimit: 2 });
  const fresh = scratchFile(opts.dataDir, "recover");
  try {
    const hs = storage.initialState().hardState;
    const snap = storage.snapshot();
    const last = storage.lastIndex();
    let { appliedIndex: applied } = await sm.open();
    const appliedBefore = applied;
    if (applied > last) {
      throw new OpsError(
        `the database is at index ${applied} but the log ends at ${last}: is --mysql-url this node's database?`,
      );
    }
    if (applied < snap.index) {
      await sm.restore(snap, storage.snapshotPath(snap));
      applied = snap.index;
    }
    while (applied < last) {
      const batch = storage.entries(applied + 1, last + 1, APPLY_READ_BYTES);
      await sm.apply(batch.map(applyEntryOf));
      applied = batch.at(-1)!.index;
    }
    const term = storage.term(last);
    closeStorage();
    await replaceMembers(sm.pool, [opts.self], last);
    const taken = await snapshotDatabaseToFile(sm.pool, fresh);
    if (taken.index !== last) throw new OpsError(`the database is at index ${taken.index}, expected ${last}`);

    const stamp = opts.stamp ?? new Date().toISOString().replace(/[:.]/g, "-");
    const oldDataDir = `${opts.dataDir}.before-recover-${stamp}`;
    if (existsSync(oldDataDir)) throw new OpsError(`${oldDataDir} already exists`);
    renameSync(opts.dataDir, oldDataDir);
    const newTerm = Math.max(hs.term, term) + 1;
    const clusterId = opts.newClusterId ?? opts.clusterId;
    try {
      await buildDataDir({
        dir: opts.dataDir,
        clusterId,
        nodeId: opts.nodeId,
        index: last,
        term,
        conf: { voters: [opts.nodeId], learners: [] },
        dataFile: fresh,
        size: taken.size,
        hardTerm: newTerm,
      });
    } catch (e) {
      // Put the old state back so the tool can be run again.
      rmSync(opts.dataDir, { recursive: true, force: true });
      renameSync(oldDataDir, opts.dataDir);
      throw e;
    }
    return {
      appliedBefore,
      commitBefore: hs.commit,
      lastIndex: last,
      pastCommit: Math.max(0, last - Math.max(hs.commit, appliedBefore)),
      index: last,
      term,
      newTerm,
      clusterId,
      oldDataDir,
      ms: Math.round(performance.now() - t0),
    };
  } finally {
    closeStorage();
    rmSync(fresh, { force: true });
    await sm.close().catch(() => {});
  }
}
