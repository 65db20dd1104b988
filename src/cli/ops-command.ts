import { resolve } from "node:path";
import { ConfigError, loadNodeConfig, type NodeConfig } from "../node/config.js";
import { CliError, type Command, parseFlags } from "./command.js";

/**
 * Offline operator tools: `taskraft backup`, `taskraft restore`, `taskraft recover`
 * (docs/OPERATIONS.md). restore and recover read the node's own settings the way `taskraft node`
 * does — `--config FILE`, TASKRAFT_* variables or flags — so they act on exactly its data dir and
 * database.
 */

const NODE_FLAGS = {
  config: { type: "string" },
  id: { type: "string" },
  peers: { type: "string" },
  "data-dir": { type: "string" },
  "mysql-url": { type: "string" },
  "cluster-id": { type: "string" },
  api: { type: "string" },
  raft: { type: "string" },
} as const;

function nodeConfigOf(name: string, values: Record<string, unknown>): NodeConfig {
  const flags: Record<string, string | undefined> = {};
  for (const k of Object.keys(NODE_FLAGS)) flags[k] = values[k] as string | undefined;
  try {
    return loadNodeConfig(flags);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`${name}: ${e.message}`, 2);
    throw e;
  }
}

async function refusalsAsCliErrors<T>(name: string, work: () => Promise<T>): Promise<T> {
  const { OpsError } = await import("../ops/offline.js");
  try {
    return await work();
  } catch (e) {
    if (e instanceof OpsError) throw new CliError(`${name}: ${e.message}`, 1);
    // Anything else (a MySQL or file system error mid-way) is still one line for the operator.
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`${name}: failed: ${(e as Error).message}${code ? ` (${code})` : ""}`, 1);
  }
}

const BACKUP_USAGE = `usage: taskraft backup --data-dir DIR --out FILE [--json]

Copies the newest snapshot of a node's data dir to FILE and verifies the copy's checksum. Safe
while the node runs. Take a fresh snapshot first with \`taskraft cluster snapshot --node ID\`.
Refuses to overwrite FILE. Exit 1 when there is no usable snapshot.`;

export const backupCommand: Command = {
  name: "backup",
  summary: "copy a node's newest snapshot (all tables at one index) to a verified backup file",
  async run(argv) {
    const { values } = parseFlags(
      argv,
      {
        "data-dir": { type: "string" },
        out: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      BACKUP_USAGE,
    );
    if (values.help) {
      console.log(BACKUP_USAGE);
      return 0;
    }
    if (!values["data-dir"] || !values.out)
      throw new CliError(`backup: --data-dir and --out are required\n${BACKUP_USAGE}`, 2);
    const { backupNode } = await import("../ops/backup.js");
    const r = await refusalsAsCliErrors("backup", async () =>
      backupNode(resolve(values["data-dir"]!), resolve(values.out!)),
    );
    if (values.json) console.log(JSON.stringify(r));
    else console.log(`backup ${r.file}: index ${r.index}, term ${r.term}, ${r.size} bytes (from ${r.from})`);
    return 0;
  },
};

const RESTORE_USAGE = `usage: taskraft restore --snapshot FILE (--config FILE | --id ID --peers LIST --data-dir DIR --mysql-url URL) [--cluster-id ID] [--json]

Creates one node of a NEW cluster from a backup: loads FILE's tables into the (empty) database,
and writes a new data dir holding the backup as a snapshot whose configuration is --peers, at the
backup's index and term. Run it on every host of the new cluster with the same FILE and --peers,
then start the nodes. Refuses a non-empty data dir or a database that holds taskraft data.
The node options are read as \`taskraft node\` reads them (--config, TASKRAFT_*, flags).`;

export const restoreCommand: Command = {
  name: "restore",
  summary: "create a node of a new cluster from a backup file (empty data dir and database only)",
  async run(argv) {
    const { values } = parseFlags(
      argv,
      {
        ...NODE_FLAGS,
        snapshot: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      RESTORE_USAGE,
    );
    if (values.help) {
      console.log(RESTORE_USAGE);
      return 0;
    }
    if (!values.snapshot) throw new CliError(`restore: --snapshot is required\n${RESTORE_USAGE}`, 2);
    const config = nodeConfigOf("restore", values);
    if (!config.peers.some((p) => p.id === config.id)) {
      throw new CliError(`restore: peers: this node '${config.id}' is not in the new cluster's list`, 2);
    }
    const { restoreNode } = await import("../ops/restore.js");
    const r = await refusalsAsCliErrors("restore", () =>
      restoreNode({
        snapshotFile: resolve(values.snapshot!),
        nodeId: config.id,
        peers: config.peers,
        dataDir: config.dataDir,
        mysqlUrl: config.mysqlUrl,
        clusterId: config.clusterId,
      }),
    );
    if (values.json) console.log(JSON.stringify({ node: config.id, dataDir: config.dataDir, ...r }));
    else {
      console.log(
        `restored ${config.id}: index ${r.index}, term ${r.term}, voters ${r.voters.join(",")}, in ${r.ms} ms; start it with the same settings`,
      );
    }
    return 0;
  },
};

const RECOVER_USAGE = `usage: taskraft recover --i-understand-data-loss (--config FILE | --id ID --peers LIST --data-dir DIR --mysql-url URL) [--new-cluster-id ID] [--json]

UNSAFE. For a cluster that has lost a majority of its voters for good. Run on a STOPPED
surviving node: brings its database up to the last entry of its own log, keeps the old data dir
aside (DIR.before-recover-TIME), and writes a new one whose only voter is this node, one term
above anything it has seen. Start the node (with --peers naming only itself, and the new cluster
id if given), then add new nodes with \`taskraft cluster add\`. Writes the lost nodes committed
but this node never received are lost. The lost nodes must never be started again with their
old data: wipe them; --new-cluster-id makes their peer handshake fail.`;

export const recoverCommand: Command = {
  name: "recover",
  summary: "UNSAFE: make a stopped survivor a one-node cluster after losing a majority for good",
  async run(argv) {
    const { values } = parseFlags(
      argv,
      {
        ...NODE_FLAGS,
        "new-cluster-id": { type: "string" },
        "i-understand-data-loss": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      RECOVER_USAGE,
    );
    if (values.help) {
      console.log(RECOVER_USAGE);
      return 0;
    }
    if (!values["i-understand-data-loss"]) {
      throw new CliError(
        "recover: refusing without --i-understand-data-loss: it makes this node a one-node cluster on its own copy of the data, so writes the lost majority committed but this node never received are gone for good (see docs/OPERATIONS.md)",
        2,
      );
    }
    const config = nodeConfigOf("recover", values);
    const newClusterId = values["new-cluster-id"];
    if (newClusterId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(newClusterId)) {
      throw new CliError(
        `recover: --new-cluster-id '${newClusterId}' may only use letters, digits, - and _`,
        2,
      );
    }
    const listed = config.peers.find((p) => p.id === config.id);
    const self = listed ?? {
      id: config.id,
      raftAddress: `${config.raft.host}:${config.raft.port}`,
      apiUrl: `http://${config.api.host}:${config.api.port}`,
    };
    const { recoverNode } = await import("../ops/recover.js");
    const r = await refusalsAsCliErrors("recover", () =>
      recoverNode({
        nodeId: config.id,
        dataDir: config.dataDir,
        mysqlUrl: config.mysqlUrl,
        clusterId: config.clusterId,
        ...(newClusterId ? { newClusterId } : {}),
        self,
        listens: [config.api, config.raft],
      }),
    );
    if (values.json) console.log(JSON.stringify({ node: config.id, ...r }));
    else {
      console.log(
        [
          `recovered ${config.id} as a one-node cluster "${r.clusterId}" at index ${r.index} (term ${r.term}; it elects itself in term ${r.newTerm + 1} or later)`,
          `  before: applied ${r.appliedBefore}, known commit ${r.commitBefore}, last log index ${r.lastIndex}; ${r.pastCommit} entries past the known commit index were applied`,
          `  old data dir kept in ${r.oldDataDir}`,
          `  next: set peers to "${self.id}=${self.raftAddress}@${self.apiUrl}"${newClusterId ? ` and cluster-id to "${newClusterId}"` : ""} in its config, start it, then \`taskraft cluster add\` new nodes`,
        ].join("\n"),
      );
    }
    return 0;
  },
};
