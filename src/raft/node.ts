import { assert } from "./assert.js";
import type { RaftConfig } from "./config.js";
import { Raft } from "./raft.js";
import type {
  ConfChange,
  ConfState,
  HardState,
  Message,
  NodeId,
  ProposeResult,
  Ready,
  Role,
  SoftState,
} from "./types.js";

export interface ProgressStatus {
  match: number;
  next: number;
  state: string;
  recentActive: boolean;
  learner: boolean;
}

export interface RaftStatus {
  id: NodeId;
  role: Role;
  term: number;
  vote: NodeId;
  leaderId: NodeId;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  firstIndex: number;
  conf: ConfState;
  leadTransferee: NodeId;
  /** Leader only: replication progress per member. */
  progress: Record<NodeId, ProgressStatus>;
}

/**
 * The runtime's handle on the core, in the style of etcd's RawNode: feed it
 * ticks, messages and requests; take a Ready; act on it; advance().
 * Between ready() and advance() no other input is accepted, which keeps the
 * persistence contract simple: what a Ready asks to persist is exactly what
 * its messages may depend on.
 */
export class RaftNode {
  readonly raft: Raft;
  private prevHard: HardState;
  private prevSoft: SoftState;
  private readyPending = false;
  /** While set, Ready batches carry no committed entries: the application's apply backlog is full. */
  private applyPaused = false;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevHard = this.hardState();
    this.prevSoft = this.softState();
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.log.committed };
  }

  private softState(): SoftState {
    return { leaderId: this.raft.lead, role: this.role() };
  }

  role(): Role {
    const r = this.raft;
    if (r.role === "follower" && r.conf.learners.includes(r.id)) return "learner";
    return r.role;
  }

  private guard(): void {
    assert(!this.readyPending, "input between ready() and advance()");
  }

  tick(): void {
    this.guard();
    this.raft.tick();
  }

  step(m: Message): void {
    this.guard();
    // Local-only message types never come off the wire.
    this.raft.step(m);
  }

  propose(data: Uint8Array): ProposeResult {
    this.guard();
    const r = this.raft.propose(data);
    return r.ok ? r : { ...r, leaderId: this.raft.lead };
  }

  proposeConfChange(change: ConfChange, context: Uint8Array = new Uint8Array()): ProposeResult {
    this.guard();
    const r = this.raft.proposeConfChange(change, context);
    return r.ok ? r : { ...r, leaderId: this.raft.lead };
  }

  readIndex(context: string): ProposeResult {
    this.guard();
    const r = this.raft.readIndex(context);
    return r.ok ? r : { ...r, leaderId: this.raft.lead };
  }

  transferLeadership(to: NodeId): void {
    this.guard();
    this.raft.transferLeadership(to);
  }

  /**
   * Backpressure from the state machine: while paused, committed entries stay
   * in the log instead of piling up in the application's apply queue.
   */
  pauseApply(paused: boolean): void {
    this.applyPaused = paused;
  }

  hasReady(): boolean {
    const r = this.raft;
    const hs = this.hardState();
    const ss = this.softState();
    return (
      r.appendPending ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.snapshotChunks.length > 0 ||
      r.log.unstable.length > 0 ||
      r.log.unstableSnapshot !== undefined ||
      (!this.applyPaused && r.log.hasNextCommittedEntries()) ||
      !hardStateEqual(hs, this.prevHard) ||
      ss.leaderId !== this.prevSoft.leaderId ||
      ss.role !== this.prevSoft.role
    );
  }

  ready(): Ready {
    this.guard();
    const r = this.raft;
    r.flushPendingAppends();
    const hs = this.hardState();
    const ss = this.softState();
    const rd: Ready = {
      entries: [...r.log.unstable],
      snapshotChunks: r.snapshotChunks,
      committedEntries: this.applyPaused ? [] : r.log.nextCommittedEntries(r.cfg.maxCommittedSizePerReady),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: false,
    };
    if (r.log.unstableSnapshot) rd.snapshot = r.log.unstableSnapshot;
    if (!hardStateEqual(hs, this.prevHard)) rd.hardState = hs;
    if (ss.leaderId !== this.prevSoft.leaderId || ss.role !== this.prevSoft.role) rd.softState = ss;
    rd.mustSync =
      rd.entries.length > 0 ||
      rd.snapshot !== undefined ||
      hs.term !== this.prevHard.term ||
      hs.vote !== this.prevHard.vote;
    r.msgs = [];
    r.readStates = [];
    r.snapshotChunks = [];
    this.readyPending = true;
    return rd;
  }

  /** The runtime has persisted, sent and applied everything in `rd`. */
  advance(rd: Ready): void {
    assert(this.readyPending, "advance() without ready()");
    this.readyPending = false;
    const log = this.raft.log;
    if (rd.hardState) this.prevHard = rd.hardState;
    if (rd.softState) this.prevSoft = rd.softState;
    if (rd.snapshot) {
      log.stableSnapTo(rd.snapshot.index);
      if (log.applied < rd.snapshot.index) log.applied = rd.snapshot.index;
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry) log.stableTo(lastEntry.index, lastEntry.term);
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied) log.appliedTo(lastApplied.index);
  }

  status(): RaftStatus {
    const r = this.raft;
    const progress: Record<NodeId, ProgressStatus> = {};
    if (r.role === "leader") {
      for (const [id, pr] of r.prs) {
        progress[id] = {
          match: id === r.id ? r.log.lastIndex() : pr.match,
          next: pr.next,
          state: pr.state,
          recentActive: id === r.id || pr.recentActive,
          learner: pr.isLearner,
        };
      }
    }
    return {
      id: r.id,
      role: this.role(),
      term: r.term,
      vote: r.vote,
      leaderId: r.lead,
      commitIndex: r.log.committed,
      appliedIndex: r.log.applied,
      lastIndex: r.log.lastIndex(),
      firstIndex: r.log.firstIndex(),
      conf: { voters: [...r.conf.voters], learners: [...r.conf.learners] },
      leadTransferee: r.leadTransferee,
      progress,
    };
  }
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
