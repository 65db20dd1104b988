import { join } from "node:path";

/** Where `taskraft dev` keeps its state, all under one directory (default `.taskraft/`). */
export interface DevLayout {
  root: string;
  db: string;
  secretFile: string;
  lockFile: string;
  nodeDir(id: string): string;
  logFile(id: string): string;
}

export function devLayout(root: string): DevLayout {
  return {
    root,
    db: join(root, "db"),
    secretFile: join(root, "cluster-secret"),
    lockFile: join(root, "dev.lock"),
    nodeDir: (id) => join(root, "nodes", id),
    logFile: (id) => join(root, "logs", `${id}.log`),
  };
}

export interface DevNode {
  id: string;
  apiPort: number;
  raftPort: number;
  database: string;
}

/** API.md §1: node k serves its API on basePort+k and Raft on basePort+100+k. */
export function devNodes(count: number, basePort: number): DevNode[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `n${i + 1}`,
    apiPort: basePort + i + 1,
    raftPort: basePort + 100 + i + 1,
    database: `taskraft_n${i + 1}`,
  }));
}

export function peerList(nodes: DevNode[]): string {
  return nodes.map((n) => `${n.id}=127.0.0.1:${n.raftPort}@http://127.0.0.1:${n.apiPort}`).join(",");
}
