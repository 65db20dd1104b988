import { assert } from "./assert.js";
import { applyConfChange, confEquals, isVoter } from "./conf-change.js";
import { type RaftConfig, type ResolvedConfig, resolveConfig } from "./config.js";
import { RaftLog } from "./log.js";
import { Progress } from "./progress.js";
import { committedIndex, hasQuorum, tallyVotes } from "./quorum.js";
import { MAX_PENDING_READS, ReadOnlyQueue } from "./read-only.js";
import { CompactedError, cloneConf } from "./storage.js";
import {
  type ConfChange,
  type ConfState,
  type DropReason,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  type ReadState,
  type Role,
  type SnapshotChunk,
  type SnapshotMeta,
} from "./types.js";

const EMPTY = new Uint8Array(0);

/** Messages that carry no term: local requests and requests forwarded to the leader. */
const TERMLESS = new Set<MessageType>([MessageType.Prop, MessageType.ReadIndex, MessageType.TransferLeader]);

export function makeMessage(m: Partial<Message> & Pick<Message, "type" | "from" | "to">): Message {
  return {
    term: 0,
    index: 0,
    logTerm: 0,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    context: "",
    force: false,
    snapshotOffset: 0,
    ...m,
  };
}

function voteRespType(t: MessageType): MessageType {
  return t === MessageType.PreVote ? MessageType.PreVoteResp : MessageType.VoteResp;
}

function sameSnapshot(a: SnapshotMeta, b: SnapshotMeta): boolean {
  return a.index === b.index && a.term === b.term;
}

type Failure = { ok: false; reason: DropReason };

/**
 * The Raft protocol as a deterministic state machine (Ongaro's dissertation).
 * Inputs arrive through tick() and step(); outputs accumulate in `msgs`,
 * `readStates` and `snapshotChunks` and the log's unstable part, which RaftNode
 * hands to the runtime as a Ready batch.
 */
export class Raft {
  readonly id: NodeId;
  readonly cfg: ResolvedConfig;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: Exclude<Role, "learner"> = "follower";
  readonly log: RaftLog;

  /** Configuration in force: the latest in the log, committed or not (§4.1). */
  conf: ConfState;
  /** Configuration at the start of the log, and the Conf entries after it, for rollback on truncation. */
  private baseConf: ConfState;
  private confHistory: { index: number; conf: ConfState }[] = [];
  readonly prs = new Map<NodeId, Progress>();

  private votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  leadTransferee: NodeId = NONE;

  private readonly readOnly = new ReadOnlyQueue();
  /** Reads that arrived before this leader committed an entry of its term (§6.4 step 1). */
  private pendingReadIndex: Message[] = [];
  /** Follower: the snapshot being received chunk by chunk. */
  private incomingSnapshot: { meta: SnapshotMeta; offset: number } | undefined;

  /** Proposals appended since the last broadcast (see flushPendingAppends). */
  appendPending = false;
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  snapshotChunks: SnapshotChunk[] = [];

  constructor(config: RaftConfig) {
    this.cfg = resolveConfig(config);
    this.id = this.cfg.id;
    const storage = this.cfg.storage;
    this.log = new RaftLog(storage, this.cfg.applied);
    const { hardState, confState } = storage.initialState();
    this.baseConf = cloneConf(confState);
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    for (let lo = first; lo <= last; ) {
      const batch = storage.entries(lo, last + 1, 8 << 20);
      for (const e of batch)
        if (e.type === EntryType.Conf && e.conf) this.confHistory.push({ index: e.index, conf: e.conf });
      lo += batch.length;
    }
    this.conf = this.currentConfFromLog();
    this.term = hardState.term;
    this.vote = hardState.vote;
    // The state machine has applied only committed entries, so its index is a lower bound on commit.
    this.log.commitTo(Math.max(hardState.commit, this.log.applied));
    this.rebuildProgress();
    this.becomeFollower(this.term, NONE);
  }

  // ---------------------------------------------------------------- helpers

  private send(m: Partial<Message> & Pick<Message, "type" | "to">): void {
    // Every field written out once, so all messages share one shape (this is the hottest allocation).
    const msg: Message = {
      type: m.type,
      from: this.id,
      to: m.to,
      term: m.term ?? (TERMLESS.has(m.type) ? 0 : this.term),
      index: m.index ?? 0,
      logTerm: m.logTerm ?? 0,
      commit: m.commit ?? 0,
      entries: m.entries ?? [],
      reject: m.reject ?? false,
      rejectHint: m.rejectHint ?? 0,
      context: m.context ?? "",
      force: m.force ?? false,
      snapshotOffset: m.snapshotOffset ?? 0,
    };
    if (m.snapshot) msg.snapshot = m.snapshot;
    if (m.snapshotData) msg.snapshotData = m.snapshotData;
    this.msgs.push(msg);
  }

  isPromotable(): boolean {
    return isVoter(this.conf, this.id);
  }

  private currentConfFromLog(): ConfState {
    return this.confHistory[this.confHistory.length - 1]?.conf ?? this.baseConf;
  }

  private lastConfIndex(): number {
    return this.confHistory[this.confHistory.length - 1]?.index ?? 0;
  }

  private matchOf = (id: NodeId): number =>
    id === this.id ? this.log.lastIndex() : (this.prs.get(id)?.match ?? 0);

  committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  private rebuildProgress(): void {
    const members = new Set([...this.conf.voters, ...this.conf.learners]);
    for (const id of this.prs.keys()) if (!members.has(id)) this.prs.delete(id);
    for (const id of members) {
      const learner = this.conf.learners.includes(id);
      const pr = this.prs.get(id);
      if (pr) pr.isLearner = learner;
      else {
        const p = new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightMsgs, learner);
        if (id === this.id) p.match = this.log.lastIndex();
        this.prs.set(id, p);
      }
    }
  }

  /** A configuration takes effect as soon as its entry is in the log (§4.1), and is undone if the entry is. */
  private setConf(conf: ConfState): void {
    if (confEquals(conf, this.conf)) return;
    this.conf = conf;
    this.rebuildProgress();
    if (this.leadTransferee !== NONE && !isVoter(conf, this.leadTransferee)) this.leadTransferee = NONE;
    if ((this.role === "candidate" || this.role === "precandidate") && !this.isPromotable()) {
      this.becomeFollower(this.term, NONE);
    }
  }

  private onAppended(entries: readonly Entry[]): void {
    const first = entries[0];
    if (!first) return;
    // Common case: plain entries after the last configuration entry change nothing.
    if (first.index > this.lastConfIndex() && !entries.some((e) => e.type === EntryType.Conf)) return;
    while (
      this.confHistory.length > 0 &&
      this.confHistory[this.confHistory.length - 1]!.index >= first.index
    ) {
      this.confHistory.pop();
    }
    for (const e of entries)
      if (e.type === EntryType.Conf && e.conf) this.confHistory.push({ index: e.index, conf: e.conf });
    this.setConf(this.currentConfFromLog());
  }

  private onCommitted(): void {
    // Committed configurations can never be rolled back; keep only the newest of them.
    while (this.confHistory.length >= 2 && this.confHistory[1]!.index <= this.log.committed) {
      this.baseConf = this.confHistory.shift()!.conf;
    }
    if (this.role !== "leader") return;
    if (this.pendingReadIndex.length > 0 && this.committedEntryInCurrentTerm()) {
      const pending = this.pendingReadIndex;
      this.pendingReadIndex = [];
      for (const m of pending) this.handleReadIndex(m);
    }
    // §4.2.2: a leader removed from the configuration steps down once that entry commits.
    if (!this.isPromotable() && this.log.committed >= this.lastConfIndex()) {
      this.becomeFollower(this.term, NONE);
    }
  }

  // ------------------------------------------------------------ role changes

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.cfg.electionTick + this.cfg.random.int(this.cfg.electionTick);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      assert(term > this.term, `term going backwards: ${this.term} -> ${term}`);
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = NONE;
    this.votes.clear();
    this.readOnly.clear();
    this.pendingReadIndex = [];
    this.incomingSnapshot = undefined;
    for (const [id, pr] of this.prs) {
      const fresh = new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightMsgs, pr.isLearner);
      if (id === this.id) fresh.match = this.log.lastIndex();
      this.prs.set(id, fresh);
    }
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = "follower";
  }

  private becomePreCandidate(): void {
    assert(this.role !== "leader", "leader cannot become pre-candidate");
    // A pre-candidate keeps its term and vote: the pre-vote round must not disturb anyone (§9.6).
    this.votes.clear();
    this.lead = NONE;
    this.role = "precandidate";
  }

  private becomeCandidate(): void {
    assert(this.role !== "leader", "leader cannot become candidate");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
  }

  private becomeLeader(): void {
    assert(this.role === "candidate", `only a candidate becomes leader (was ${this.role})`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = "leader";
    for (const [id, pr] of this.prs) {
      if (id === this.id) pr.becomeReplicate();
    }
    // §5.4.2 / §6.4: commit a no-op of the new term so earlier entries commit and reads can be served.
    this.appendEntries([{ index: 0, term: 0, type: EntryType.Normal, data: EMPTY }]);
    this.bcastAppend();
  }

  // ------------------------------------------------------------------ ticks

  tick(): void {
    if (this.role === "leader") this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.isPromotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, NONE);
        return;
      }
      // A transfer that has not finished within an election timeout is abandoned (§3.10).
      this.leadTransferee = NONE;
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.readOnly.lastContext());
    }
  }

  private quorumActive(): boolean {
    const active = hasQuorum(
      this.conf.voters,
      (id) => id === this.id || this.prs.get(id)?.recentActive === true,
    );
    for (const [id, pr] of this.prs) if (id !== this.id) pr.recentActive = false;
    return active;
  }

  // --------------------------------------------------------------- elections

  private hup(force: boolean): void {
    if (this.role === "leader" || !this.isPromotable()) return;
    if (this.cfg.preVote && !force) this.campaign(true, false);
    else this.campaign(false, force);
  }

  private campaign(pre: boolean, force: boolean): void {
    let voteTerm: number;
    if (pre) {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (tallyVotes(this.conf.voters, this.votes) === "won") {
      if (pre) this.campaign(false, force);
      else this.becomeLeader();
      return;
    }
    const type = pre ? MessageType.PreVote : MessageType.Vote;
    for (const id of this.conf.voters) {
      if (id === this.id) continue;
      this.send({
        type,
        to: id,
        term: voteTerm,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
        force,
      });
    }
  }

  private handleVoteRequest(m: Message): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === MessageType.PreVote && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // The grant carries the requested term so a pre-candidate counts it (§9.6).
      this.send({ type: voteRespType(m.type), to: m.from, term: m.term });
      if (m.type === MessageType.Vote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true });
    }
  }

  // ------------------------------------------------------------------- step

  step(m: Message): void {
    if (m.term === 0) {
      // local or forwarded request: no term to compare
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        // §4.2.3 / §9.6: while a leader is known to be alive, ignore disruptive campaigns.
        const inLease =
          this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.cfg.electionTick;
        if (inLease && !m.force) return;
      }
      if (m.type === MessageType.PreVote) {
        // never change term for a pre-vote request
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // a granted pre-vote carries the future term we asked for
      } else if (
        m.type === MessageType.App ||
        m.type === MessageType.Heartbeat ||
        m.type === MessageType.Snap
      ) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if (
        (this.cfg.checkQuorum || this.cfg.preVote) &&
        (m.type === MessageType.Heartbeat || m.type === MessageType.App)
      ) {
        // A stale leader must learn the newer term, or with check-quorum/pre-vote it could stay leader forever.
        this.send({ type: MessageType.AppResp, to: m.from });
      } else if (m.type === MessageType.PreVote) {
        this.send({ type: MessageType.PreVoteResp, to: m.from, reject: true });
      }
      return;
    }

    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(m);
        break;
      case "candidate":
      case "precandidate":
        this.stepCandidate(m);
        break;
      case "follower":
        this.stepFollower(m);
        break;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        if (this.leadTransferee === NONE) this.acceptForwardedProposal(m.entries);
        return;
      case MessageType.ReadIndex:
        this.handleReadIndex(m);
        return;
      case MessageType.TransferLeader:
        this.handleTransferLeader(m.context);
        return;
    }
    const pr = this.prs.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case MessageType.AppResp:
        pr.recentActive = true;
        this.handleAppendResponse(m, pr);
        break;
      case MessageType.HeartbeatResp:
        pr.recentActive = true;
        this.handleHeartbeatResponse(m, pr);
        break;
      case MessageType.SnapResp:
        pr.recentActive = true;
        this.handleSnapshotResponse(m, pr);
        break;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case MessageType.App:
      case MessageType.Heartbeat:
      case MessageType.Snap:
        // §5.2: a candidate that hears from a leader of its term returns to follower.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case MessageType.PreVoteResp:
      case MessageType.VoteResp: {
        const mine = this.role === "precandidate" ? MessageType.PreVoteResp : MessageType.VoteResp;
        if (m.type !== mine) return;
        this.votes.set(m.from, !m.reject);
        const outcome = tallyVotes(this.conf.voters, this.votes);
        if (outcome === "won") {
          if (this.role === "precandidate") this.campaign(false, false);
          else {
            this.becomeLeader();
          }
        } else if (outcome === "lost") {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        if (this.lead !== NONE && !this.cfg.disableProposalForwarding) this.send({ ...m, to: this.lead });
        return;
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshotChunk(m);
        return;
      case MessageType.TransferLeader:
      case MessageType.ReadIndex:
        if (this.lead !== NONE) this.send({ type: m.type, to: this.lead, context: m.context });
        return;
      case MessageType.TimeoutNow:
        // §3.10: the leader asks us to campaign at once; skip pre-vote and bypass leases.
        this.hup(true);
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ context: m.context, index: m.index });
        return;
    }
  }

  // ----------------------------------------------------- leader: replication

  private appendEntries(entries: Entry[]): void {
    let index = this.log.lastIndex();
    for (const e of entries) {
      index++;
      e.index = index;
      e.term = this.term;
    }
    this.log.append(entries);
    this.onAppended(entries);
    this.prs.get(this.id)?.maybeUpdate(this.log.lastIndex());
    // A single voter commits on its own append.
    this.maybeCommit();
  }

  private maybeCommit(): boolean {
    const mci = committedIndex(this.conf.voters, this.matchOf);
    // §5.4.2: only entries of the current term are committed by counting replicas.
    if (mci > this.log.committed && this.log.termOrZero(mci) === this.term) {
      this.log.commitTo(mci);
      this.onCommitted();
      return true;
    }
    return false;
  }

  private bcastAppend(): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendAppend(id, true);
  }

  private bcastHeartbeat(context: string): void {
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      // Never tell a follower to commit past what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: MessageType.Heartbeat, to: id, commit, context });
    }
  }

  /** Sends one AppendEntries to `to` if its progress allows; returns whether one was sent. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let entries: Entry[];
    try {
      prevTerm = this.log.term(prevIndex);
      entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.maxSizePerMsg);
    } catch (e) {
      if (e instanceof CompactedError) return this.startSnapshot(to, pr);
      throw e;
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({
      type: MessageType.App,
      to,
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit: this.log.committed,
    });
    const last = entries[entries.length - 1];
    if (pr.state === "replicate" && last) {
      pr.next = last.index + 1;
      pr.inflights.add(last.index);
    } else if (pr.state === "probe") {
      pr.probeSent = true;
    }
    return true;
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    if (m.reject) {
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) nextProbe = this.log.findConflictByTerm(m.rejectHint, m.logTerm);
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.snapshot && pr.match >= pr.snapshot.index) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "replicate") pr.inflights.freeLE(m.index);

    if (this.maybeCommit()) {
      if (this.role !== "leader") return;
      this.bcastAppend();
    } else if (wasPaused) {
      this.sendAppend(m.from, true);
    }
    // Pipelining: keep the window full while there is more to send.
    while (this.sendAppend(m.from, false)) {}
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: MessageType.TimeoutNow, to: m.from });
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    if (m.index < pr.match && pr.state !== "snapshot") {
      // The follower's log is shorter than what it acknowledged: it lost its disk (or this reply is
      // old). Lowering match is always safe (commit only ever counts it); probe from its log's end.
      pr.match = m.index;
      pr.becomeProbe();
    }
    pr.probeSent = false;
    if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirst();
    if (pr.state === "snapshot") {
      this.resumeStalledSnapshot(m.from, pr);
    } else if (pr.match < this.log.lastIndex()) {
      this.sendAppend(m.from, true);
    }
    if (m.context === "") return;
    const acks = this.readOnly.ack(m.context, m.from);
    if (!acks || !hasQuorum(this.conf.voters, (id) => acks.has(id))) return;
    for (const read of this.readOnly.release(m.context)) this.answerRead(read.from, read.context, read.index);
  }

  // ------------------------------------------------------- leader: snapshots

  private startSnapshot(to: NodeId, pr: Progress): boolean {
    // Streaming a snapshot to a node that does not answer wastes the link; wait for a sign of life.
    if (!pr.recentActive) return false;
    const meta = this.log.storage.snapshot();
    assert(meta.index > 0, `follower ${to} needs a snapshot but none exists`);
    pr.becomeSnapshot(meta);
    this.sendSnapshotChunks(to, pr);
    return true;
  }

  private sendSnapshotChunks(to: NodeId, pr: Progress): void {
    const meta = pr.snapshot;
    if (!meta) return;
    const window = this.cfg.maxSnapshotChunkBytes * this.cfg.maxSnapshotInflightChunks;
    while (pr.snapshotSent - pr.snapshotAcked < window) {
      if (pr.snapshotSent >= meta.size && (meta.size > 0 || pr.snapshotEmptySent)) return;
      let data: Uint8Array;
      try {
        data = this.log.storage.snapshotChunk(meta, pr.snapshotSent, this.cfg.maxSnapshotChunkBytes);
      } catch {
        // The snapshot was replaced by a newer one; start over with that.
        const newer = this.log.storage.snapshot();
        if (sameSnapshot(newer, meta)) return;
        pr.becomeSnapshot(newer);
        this.sendSnapshotChunks(to, pr);
        return;
      }
      this.send({
        type: MessageType.Snap,
        to,
        snapshot: meta,
        snapshotOffset: pr.snapshotSent,
        snapshotData: data,
        commit: this.log.committed,
      });
      if (meta.size === 0) pr.snapshotEmptySent = true;
      pr.snapshotSent += data.length;
    }
  }

  private handleSnapshotResponse(m: Message, pr: Progress): void {
    if (pr.state !== "snapshot" || !pr.snapshot || !m.snapshot || !sameSnapshot(pr.snapshot, m.snapshot))
      return;
    if (m.reject) {
      pr.snapshotSent = m.snapshotOffset;
      pr.snapshotAcked = m.snapshotOffset;
      pr.snapshotEmptySent = false;
    } else if (m.snapshotOffset > pr.snapshotAcked) {
      pr.snapshotAcked = m.snapshotOffset;
    }
    pr.snapshotProgressed = true;
    this.sendSnapshotChunks(m.from, pr);
  }

  /** Called on each heartbeat reply: if no chunk was acknowledged since the last one, resend (go-back-N). */
  private resumeStalledSnapshot(to: NodeId, pr: Progress): void {
    if (pr.snapshotProgressed) {
      pr.snapshotProgressed = false;
      return;
    }
    const meta = pr.snapshot!;
    // Everything acknowledged yet no install confirmation: start over; the follower answers at once if it has it.
    const restart = pr.snapshotAcked >= meta.size;
    pr.snapshotSent = restart ? 0 : pr.snapshotAcked;
    pr.snapshotAcked = pr.snapshotSent;
    pr.snapshotEmptySent = false;
    this.sendSnapshotChunks(to, pr);
  }

  // --------------------------------------------------- follower: replication

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.committed });
      return;
    }
    if (this.log.matchTerm(m.index, m.logTerm)) {
      const lastNew = m.index + m.entries.length;
      // §5.3: only a conflicting entry truncates; a stale or duplicated message must not cut newer entries.
      const conflict = this.log.findConflict(m.entries);
      if (conflict !== 0) {
        assert(
          conflict > this.log.committed,
          `conflict at ${conflict} within committed ${this.log.committed}`,
        );
        const fresh = m.entries.slice(conflict - m.entries[0]!.index);
        this.log.append(fresh);
        this.onAppended(fresh);
      }
      this.log.commitTo(Math.min(m.commit, lastNew));
      this.onCommitted();
      this.send({ type: MessageType.AppResp, to: m.from, index: lastNew });
      return;
    }
    // Fast backtracking: tell the leader where our logs may agree, skipping a whole term at a time.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({
      type: MessageType.AppResp,
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hint,
      logTerm: this.log.termOrZero(hint),
    });
  }

  private handleHeartbeat(m: Message): void {
    // The leader never sends a commit past our acknowledged match, unless this node lost its
    // disk and restarted empty; then commit only what we hold and report our last index.
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.onCommitted();
    this.send({
      type: MessageType.HeartbeatResp,
      to: m.from,
      context: m.context,
      index: this.log.lastIndex(),
    });
  }

  private handleSnapshotChunk(m: Message): void {
    const meta = m.snapshot;
    if (!meta) return;
    if (meta.index <= this.log.committed) {
      // Already have everything it covers.
      this.incomingSnapshot = undefined;
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.committed });
      return;
    }
    if (m.snapshotOffset === 0) {
      if (this.log.matchTerm(meta.index, meta.term)) {
        // Our log already holds the snapshot's last entry: just commit up to it.
        this.log.commitTo(meta.index);
        this.onCommitted();
        this.send({ type: MessageType.AppResp, to: m.from, index: this.log.committed });
        return;
      }
      this.incomingSnapshot = { meta, offset: 0 };
    }
    const inc = this.incomingSnapshot;
    if (!inc || !sameSnapshot(inc.meta, meta) || inc.offset !== m.snapshotOffset) {
      const expected = inc && sameSnapshot(inc.meta, meta) ? inc.offset : 0;
      this.send({
        type: MessageType.SnapResp,
        to: m.from,
        snapshot: meta,
        snapshotOffset: expected,
        reject: true,
      });
      return;
    }
    const data = m.snapshotData ?? EMPTY;
    const last = m.snapshotOffset + data.length >= meta.size;
    this.snapshotChunks.push({ meta, offset: m.snapshotOffset, data, last });
    inc.offset += data.length;
    this.send({ type: MessageType.SnapResp, to: m.from, snapshot: meta, snapshotOffset: inc.offset });
    if (!last) return;
    this.incomingSnapshot = undefined;
    this.restore(meta);
    this.send({ type: MessageType.AppResp, to: m.from, index: this.log.lastIndex() });
  }

  private restore(meta: SnapshotMeta): void {
    this.log.restore(meta);
    this.baseConf = cloneConf(meta.conf);
    this.confHistory = [];
    this.setConf(this.baseConf);
  }

  // ------------------------------------------------------ proposals and reads

  private dropReason(): DropReason | undefined {
    if (this.role === "leader") {
      if (this.leadTransferee !== NONE) return "transferring";
      if (this.log.lastIndex() - this.log.committed >= this.cfg.maxUncommittedEntries) return "overloaded";
      return undefined;
    }
    if (this.lead === NONE) return "no_leader";
    if (this.cfg.disableProposalForwarding) return "not_leader";
    return undefined;
  }

  propose(data: Uint8Array): { ok: true } | Failure {
    const reason = this.dropReason();
    if (reason) return { ok: false, reason };
    const entry: Entry = { index: 0, term: 0, type: EntryType.Normal, data };
    if (this.role === "leader") {
      this.appendEntries([entry]);
      // Batching: proposals made before the next Ready share one AppendEntries per follower.
      this.appendPending = true;
    } else {
      this.send({ type: MessageType.Prop, to: this.lead, entries: [entry] });
    }
    return { ok: true };
  }

  /** Sends the AppendEntries owed for proposals batched since the last Ready. */
  flushPendingAppends(): void {
    if (!this.appendPending) return;
    this.appendPending = false;
    if (this.role === "leader") this.bcastAppend();
  }

  proposeConfChange(change: ConfChange, context: Uint8Array): { ok: true } | Failure {
    const reason = this.dropReason();
    if (reason) return { ok: false, reason };
    const entry: Entry = { index: 0, term: 0, type: EntryType.Conf, data: context, change };
    if (this.role !== "leader") {
      this.send({ type: MessageType.Prop, to: this.lead, entries: [entry] });
      return { ok: true };
    }
    const conf = this.validateConfChange(change);
    if (!conf.ok) return conf;
    entry.conf = conf.conf;
    this.appendEntries([entry]);
    this.bcastAppend();
    return { ok: true };
  }

  private validateConfChange(change: ConfChange): { ok: true; conf: ConfState } | Failure {
    // A new leader must commit an entry of its term before changing membership (the single-server-change fix, §4.1).
    if (!this.committedEntryInCurrentTerm()) return { ok: false, reason: "not_committed_in_term" };
    // §4.1: one change at a time; the next waits until the previous one is committed.
    if (this.lastConfIndex() > this.log.committed) return { ok: false, reason: "conf_change_pending" };
    const conf = applyConfChange(this.conf, change);
    if (!conf) return { ok: false, reason: "invalid_conf_change" };
    return { ok: true, conf };
  }

  private acceptForwardedProposal(entries: readonly Entry[]): void {
    if (this.dropReason()) return;
    const accepted: Entry[] = [];
    let confAccepted = false;
    for (const e of entries) {
      if (e.type === EntryType.Conf) {
        // §4.1: one change at a time within a batch too (validation sees the log, not `accepted`).
        if (!e.change || confAccepted) continue;
        const conf = this.validateConfChange(e.change);
        if (!conf.ok) continue;
        confAccepted = true;
        accepted.push({
          index: 0,
          term: 0,
          type: EntryType.Conf,
          data: e.data,
          change: e.change,
          conf: conf.conf,
        });
      } else {
        accepted.push({ index: 0, term: 0, type: EntryType.Normal, data: e.data });
      }
    }
    if (accepted.length === 0) return;
    this.appendEntries(accepted);
    this.bcastAppend();
  }

  readIndex(context: string): { ok: true } | Failure {
    if (this.role !== "leader" && this.lead === NONE) return { ok: false, reason: "no_leader" };
    if (this.role === "leader")
      this.handleReadIndex(makeMessage({ type: MessageType.ReadIndex, from: this.id, to: this.id, context }));
    else this.send({ type: MessageType.ReadIndex, to: this.lead, context });
    return { ok: true };
  }

  /** §6.4: a read is served at the commit index once a majority confirms this node still leads. */
  private handleReadIndex(m: Message): void {
    if (!this.committedEntryInCurrentTerm()) {
      if (this.pendingReadIndex.length < MAX_PENDING_READS) this.pendingReadIndex.push(m);
      return;
    }
    const index = this.log.committed;
    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {
      this.answerRead(m.from, m.context, index);
      return;
    }
    if (this.readOnly.add(m.context, index, m.from, this.id)) this.bcastHeartbeat(m.context);
  }

  private answerRead(from: NodeId, context: string, index: number): void {
    if (from === this.id) this.readStates.push({ context, index });
    else this.send({ type: MessageType.ReadIndexResp, to: from, context, index });
  }

  transferLeadership(to: NodeId): void {
    if (this.role === "leader") this.handleTransferLeader(to);
    else if (this.lead !== NONE) this.send({ type: MessageType.TransferLeader, to: this.lead, context: to });
  }

  private handleTransferLeader(to: NodeId): void {
    if (to === this.id || !isVoter(this.conf, to) || this.leadTransferee === to) return;
    this.leadTransferee = to;
    // The transfer must finish within an election timeout or it is abandoned.
    this.electionElapsed = 0;
    const pr = this.prs.get(to)!;
    if (pr.match === this.log.lastIndex()) this.send({ type: MessageType.TimeoutNow, to });
    else this.sendAppend(to, true);
  }
}
