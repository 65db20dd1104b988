import * as fs from "node:fs";
import * as path from "node:path";
import { cloneConf } from "../raft/storage.js";
import type { ConfState } from "../raft/types.js";
import { StorageCorruptError, StorageMismatchError } from "./errors.js";
import { atomicReplace, type FsyncMeter, removeIfExists } from "./fsio.js";

/**
 * The `meta` file: which cluster and node a data dir belongs to, and the
 * bootstrap configuration it was created with. JSON, so an operator can read it.
 * Checking it at open stops a node from joining with another node's log (a
 * copied or mis-pointed data dir), which would break Raft's safety silently.
 */

export const META_FILE = "meta";
const FORMAT = 1;

export interface DirMeta {
  format: number;
  clusterId: string;
  nodeId: string;
  /** Configuration in force before any snapshot: the initial voters of a new cluster, or empty for a joining node. */
  bootstrap: ConfState;
}

function isIds(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/** Reads the meta file, or undefined if there is none. */
export function readMeta(dir: string): DirMeta | undefined {
  const file = path.join(dir, META_FILE);
  removeIfExists(`${file}.tmp`);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const advice = "fix or restore the file (it names the cluster id and node id of this data dir)";
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new StorageCorruptError(file, "not valid JSON", advice);
  }
  const m = v as Partial<DirMeta> | null;
  if (
    m === null ||
    typeof m !== "object" ||
    m.format !== FORMAT ||
    typeof m.clusterId !== "string" ||
    typeof m.nodeId !== "string" ||
    typeof m.bootstrap !== "object" ||
    m.bootstrap === null ||
    !isIds(m.bootstrap.voters) ||
    !isIds(m.bootstrap.learners)
  ) {
    throw new StorageCorruptError(file, "missing or unexpected fields", advice);
  }
  return { format: FORMAT, clusterId: m.clusterId, nodeId: m.nodeId, bootstrap: cloneConf(m.bootstrap) };
}

export function writeMeta(
  meter: FsyncMeter,
  dir: string,
  clusterId: string,
  nodeId: string,
  bootstrap: ConfState,
): DirMeta {
  const meta: DirMeta = { format: FORMAT, clusterId, nodeId, bootstrap: cloneConf(bootstrap) };
  atomicReplace(meter, "meta", dir, META_FILE, Buffer.from(`${JSON.stringify(meta, null, 2)}\n`));
  return meta;
}

/** Throws StorageMismatchError unless the data dir belongs to this cluster and node. */
export function checkMeta(dir: string, meta: DirMeta, clusterId: string, nodeId: string): void {
  if (meta.clusterId !== clusterId || meta.nodeId !== nodeId) {
    throw new StorageMismatchError(
      `${dir}: this data dir belongs to node "${meta.nodeId}" of cluster "${meta.clusterId}", not node "${nodeId}" of cluster "${clusterId}" — point this node at its own data dir, or remove this one to start afresh`,
    );
  }
}
