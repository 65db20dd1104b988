/**
 * The vocabulary of the Raft core: entries, persistent state, messages and the
 * Ready batch the runtime must act on. Everything here is plain data so that a
 * runtime can persist it or put it on the wire with any encoder.
 */

export type NodeId = string;

/** "No node": used for an unknown leader or an unset vote. */
export const NONE: NodeId = "";

export enum EntryType {
  /** Application command; empty data is the leader's no-op of a new term. */
  Normal = 0,
  /** A membership change. `conf` holds the whole configuration it installs. */
  Conf = 1,
}

/** The cluster configuration: who votes and who only receives the log. */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export type ConfChangeType = "addLearner" | "addVoter" | "removeNode";

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
}

export interface Entry {
  index: number;
  term: number;
  type: EntryType;
  /** Opaque to the core. For Conf entries it carries the proposer's context. */
  data: Uint8Array;
  /** Conf entries only: the configuration in force once this entry is in the log (§4.1). */
  conf?: ConfState;
  /** Conf entries only: the change that produced `conf`, kept for operators and traces. */
  change?: ConfChange;
}

/** What must survive a crash besides the log (Figure 2: currentTerm, votedFor; plus commit). */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

/** A snapshot is identified by the last index and term it covers and the configuration at that index. */
export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
  /** Total size of the snapshot's data in bytes, so the receiver knows when it has all chunks. */
  size: number;
}

/** A piece of an incoming snapshot that the runtime must stage before acknowledging it. */
export interface SnapshotChunk {
  meta: SnapshotMeta;
  offset: number;
  data: Uint8Array;
  /** True when this chunk completes the snapshot (offset + data.length === meta.size). */
  last: boolean;
}

export enum MessageType {
  /** Proposal forwarded from a follower to the leader. */
  Prop = "prop",
  App = "app",
  AppResp = "appResp",
  Vote = "vote",
  VoteResp = "voteResp",
  PreVote = "preVote",
  PreVoteResp = "preVoteResp",
  Heartbeat = "heartbeat",
  HeartbeatResp = "heartbeatResp",
  /** One chunk of InstallSnapshot. */
  Snap = "snap",
  /** Acknowledges (or rejects) a snapshot chunk; a completed install is answered with AppResp. */
  SnapResp = "snapResp",
  TimeoutNow = "timeoutNow",
  ReadIndex = "readIndex",
  ReadIndexResp = "readIndexResp",
  TransferLeader = "transferLeader",
}

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** App: prevLogIndex. AppResp: the follower's last matching index (or the rejected index). */
  index: number;
  /** App: prevLogTerm. AppResp (reject): term of the follower's entry at rejectHint. */
  logTerm: number;
  commit: number;
  entries: Entry[];
  reject: boolean;
  /** AppResp (reject): the follower's hint for where the logs may agree. */
  rejectHint: number;
  /** Heartbeat / ReadIndex: the read request being confirmed. */
  context: string;
  /** Vote / PreVote sent on TimeoutNow: bypasses the leader lease (leadership transfer). */
  force: boolean;
  /** Snap: the chunk carried. SnapResp: `snapshotOffset` is the next offset expected. */
  snapshot?: SnapshotMeta;
  snapshotOffset: number;
  snapshotData?: Uint8Array;
}

export type Role = "follower" | "candidate" | "precandidate" | "leader" | "learner";

/** Volatile facts about the node worth showing to operators. */
export interface SoftState {
  leaderId: NodeId;
  role: Role;
}

/** A confirmed linearizable read: serve it once appliedIndex >= index. */
export interface ReadState {
  context: string;
  index: number;
}

/**
 * One batch of work for the runtime. Handle it in this order:
 *  1. stage `snapshotChunks`; persist `snapshot`, `entries` and `hardState` durably (one fsync);
 *  2. send `messages` (they may depend on what step 1 made durable);
 *  3. apply `committedEntries` in order (after installing `snapshot` if present);
 *  4. call `advance(ready)`.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: SnapshotMeta;
  snapshotChunks: SnapshotChunk[];
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  /** True when step 1 must fsync (new entries, a new term or vote, or a snapshot). */
  mustSync: boolean;
}

export type DropReason =
  | "no_leader"
  | "not_leader"
  | "transferring"
  | "conf_change_pending"
  | "invalid_conf_change"
  | "not_committed_in_term"
  | "overloaded";

export type ProposeResult = { ok: true } | { ok: false; reason: DropReason; leaderId: NodeId };
