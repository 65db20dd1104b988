import type { ConfChange, ConfState, NodeId, SnapshotMeta } from "../raft/index.js";

/** Where a member can be reached; replicated with the Conf entry that adds it. */
export interface MemberInfo {
  id: NodeId;
  /** host:port of its Raft transport. */
  raftAddress: string;
  /** Base URL of its HTTP API, e.g. http://127.0.0.1:7001 */
  apiUrl: string;
}

/** One committed log entry as the state machine sees it. */
export type ApplyEntry =
  | { index: number; term: number; kind: "noop" }
  | { index: number; term: number; kind: "command"; command: Uint8Array }
  | {
      index: number;
      term: number;
      kind: "conf";
      conf: ConfState;
      change: ConfChange | undefined;
      /** Address of the member a change adds, when its proposer supplied one. */
      member: MemberInfo | undefined;
    };

/**
 * The replicated application behind a replica. It must be deterministic: the
 * same entries in the same order give the same state on every node. It is
 * durable on its own (e.g. MySQL) and stores its applied index atomically with
 * each change, so after a crash it neither loses nor repeats an entry.
 */
export interface StateMachine {
  /** Opens the state and reports how far it has applied, and the member addresses it knows. */
  open(): Promise<{ appliedIndex: number; members: MemberInfo[] }>;
  /**
   * Applies a batch of consecutive entries, skipping any at or below its applied
   * index (a retry after an ambiguous failure). Returns one result per entry
   * (undefined for no-ops and conf entries); the result answers the client.
   */
  apply(entries: ApplyEntry[]): Promise<unknown[]>;
  /** Starts a consistent snapshot at the current applied index; data may stream. */
  snapshot(): Promise<{ index: number; data: Uint8Array | AsyncIterable<Uint8Array> }>;
  /** Replaces the whole state with the snapshot whose data is in the file at `path`. */
  restore(meta: SnapshotMeta, path: string): Promise<{ members: MemberInfo[] }>;
}
