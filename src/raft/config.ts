import type { RaftStorage } from "./storage.js";
import type { NodeId } from "./types.js";

/** The only source of randomness the core accepts (seeded in tests, so runs replay). */
export interface RandomSource {
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

export interface RaftConfig {
  id: NodeId;
  storage: RaftStorage;
  random: RandomSource;
  /** Ticks without hearing from a leader before campaigning; randomized in [electionTick, 2*electionTick). */
  electionTick: number;
  /** Ticks between leader heartbeats; must be well below electionTick. */
  heartbeatTick: number;
  /** The state machine's applied index at start, so entries are not applied twice. */
  applied?: number;
  /** Bound on the entry bytes in one AppendEntries (batching). */
  maxSizePerMsg?: number;
  /** Bound on pipelined AppendEntries per follower. */
  maxInflightMsgs?: number;
  /** Bound on the entry bytes handed to the state machine in one Ready. */
  maxCommittedSizePerReady?: number;
  /** Bound on uncommitted entries at the leader; past it proposals are refused (flow control). */
  maxUncommittedEntries?: number;
  /** Size of one InstallSnapshot chunk. */
  maxSnapshotChunkBytes?: number;
  /** Snapshot chunks in flight per follower. */
  maxSnapshotInflightChunks?: number;
  /** A leader that has not heard from a majority within an election timeout steps down (§6.2). */
  checkQuorum?: boolean;
  /** Campaign only after a pre-vote round shows a majority would vote (§9.6). */
  preVote?: boolean;
  /** Refuse proposals on followers instead of forwarding them to the leader. */
  disableProposalForwarding?: boolean;
}

export interface ResolvedConfig extends Required<RaftConfig> {}

export function resolveConfig(c: RaftConfig): ResolvedConfig {
  const r: ResolvedConfig = {
    applied: 0,
    maxSizePerMsg: 1 << 20,
    maxInflightMsgs: 256,
    maxCommittedSizePerReady: 8 << 20,
    maxUncommittedEntries: 50_000,
    maxSnapshotChunkBytes: 1 << 20,
    maxSnapshotInflightChunks: 4,
    checkQuorum: true,
    preVote: true,
    disableProposalForwarding: false,
    ...c,
  };
  if (!r.id) throw new Error("raft config: id must be a non-empty string");
  if (r.heartbeatTick < 1) throw new Error("raft config: heartbeatTick must be >= 1");
  if (r.electionTick <= r.heartbeatTick)
    throw new Error("raft config: electionTick must exceed heartbeatTick");
  if (r.maxInflightMsgs < 1) throw new Error("raft config: maxInflightMsgs must be >= 1");
  if (r.maxSnapshotChunkBytes < 1) throw new Error("raft config: maxSnapshotChunkBytes must be >= 1");
  return r;
}
