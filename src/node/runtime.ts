import pino, { type Logger } from "pino";
import { Replica, type ReplicaObserver, type StateMachine } from "../replica/index.js";
import { DiskStorage, type FsyncHook, StorageCorruptError, StorageMismatchError } from "../storage/index.js";
import { PeerTransport } from "../transport/index.js";
import type { NodeConfig } from "./config.js";

/** A fatal start-up problem with a one-line, actionable message. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

export interface NodeRuntime {
  config: NodeConfig;
  logger: Logger;
  storage: DiskStorage;
  transport: PeerTransport;
  replica: Replica;
  /** Stops the replica, the transport and the storage, in that order. */
  close(): Promise<void>;
}

/** Where a logger finds the node's current term once the replica runs (see createLogger). */
const termSources = new WeakMap<Logger, { term?: () => number }>();

/**
 * The node's logger: one JSON line per event, each with the node id and, once the
 * replica runs, its current Raft term — so peer connects and snapshots line up with elections.
 */
export function createLogger(config: Pick<NodeConfig, "id" | "logLevel">): Logger {
  const source: { term?: () => number } = {};
  const logger = pino({
    level: config.logLevel,
    base: { node: config.id },
    mixin: () => (source.term ? { term: source.term() } : {}),
  });
  termSources.set(logger, source);
  return logger;
}

/**
 * Opens a node's durable state, peer links and replica around a state machine.
 * Shared by `taskraft node` (MySQL state machine + HTTP API) and the test nodes.
 */
export async function startNodeRuntime(
  config: NodeConfig,
  stateMachine: StateMachine,
  logger: Logger,
  observer?: ReplicaObserver,
  hooks: { onFsync?: FsyncHook } = {},
): Promise<NodeRuntime> {
  if (config.insecureSecret) {
    logger.warn(
      {},
      "no cluster secret set: using an insecure default (set --cluster-secret or TASKRAFT_CLUSTER_SECRET)",
    );
  }
  const initialVoters = config.peers.map((p) => p.id);
  const joining = !initialVoters.includes(config.id);
  let storage: DiskStorage;
  try {
    storage = DiskStorage.open({
      dir: config.dataDir,
      clusterId: config.clusterId,
      nodeId: config.id,
      bootstrap: joining ? { voters: [], learners: [] } : { voters: [...initialVoters].sort(), learners: [] },
      logger,
      ...(hooks.onFsync ? { onFsync: hooks.onFsync } : {}),
    });
  } catch (e) {
    if (e instanceof StorageCorruptError || e instanceof StorageMismatchError)
      throw new StartupError(e.message);
    throw e;
  }
  let replica: Replica | undefined;
  // Peers may talk before the replica has opened its state machine (migrations take a while);
  // those messages are dropped, which Raft tolerates, rather than fed to a core not built yet.
  let accepting = false;
  const transport = new PeerTransport({
    nodeId: config.id,
    clusterId: config.clusterId,
    secret: config.clusterSecret,
    listen: config.raft,
    peers: Object.fromEntries(
      config.peers.filter((p) => p.id !== config.id).map((p) => [p.id, p.raftAddress]),
    ),
    logger,
    onMessage: (m) => {
      if (accepting) replica?.receive(m);
    },
  });
  try {
    await transport.start();
  } catch (e) {
    storage.close();
    throw new StartupError((e as Error).message);
  }
  replica = new Replica({
    nodeId: config.id,
    storage,
    transport,
    stateMachine,
    logger,
    members: config.peers,
    tickMs: config.tickMs,
    electionTicks: config.electionTicks,
    heartbeatTicks: config.heartbeatTicks,
    snapshotEntries: config.snapshotEntries,
    compactKeepEntries: config.compactKeepEntries,
    proposalTimeoutMs: config.proposalTimeoutMs,
    readTimeoutMs: config.proposalTimeoutMs,
    ...(observer ? { observer } : {}),
  });
  try {
    await replica.start();
    accepting = true;
    const source = termSources.get(logger);
    const started = replica;
    if (source) source.term = () => started.term;
  } catch (e) {
    await transport.close();
    storage.close();
    throw e;
  }
  const r = replica;
  return {
    config,
    logger,
    storage,
    transport,
    replica: r,
    async close() {
      await r.stop();
      await transport.close();
      try {
        storage.sync();
      } catch {
        // a failed storage refuses writes; closing is all that is left
      }
      storage.close();
    },
  };
}
