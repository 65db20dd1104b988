import { randomInt } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  type NodeId,
  type ProposeResult,
  RaftNode,
  type RaftStatus,
  type RaftStorage,
  type RandomSource,
  type Ready,
  type Role,
  type SnapshotChunk,
  type SnapshotMeta,
} from "../raft/index.js";
import { decodeConfContext, decodeEnvelope, encodeConfContext, encodeEnvelope } from "./envelope.js";
import { ReplicaError } from "./errors.js";
import type { ApplyEntry, MemberInfo, StateMachine } from "./state-machine.js";

/** The write side of durable Raft storage the replica drives (DiskStorage implements it). */
export interface ReplicaStorage extends RaftStorage {
  append(entries: readonly Entry[]): void;
  setHardState(hs: { term: number; vote: string; commit: number }): void;
  sync(): { fsyncs: number; ms: number };
  stageSnapshotChunk(chunk: SnapshotChunk): SnapshotMeta | undefined;
  installSnapshot(meta: SnapshotMeta): void;
  createSnapshot(
    index: number,
    term: number,
    conf: ConfState,
    data: Uint8Array | AsyncIterable<Uint8Array>,
  ): Promise<SnapshotMeta>;
  compact(index: number): void;
  snapshotPath(meta: Pick<SnapshotMeta, "index" | "term">): string;
}

export interface ReplicaTransport {
  send(msgs: readonly Message[]): void;
  setPeers(peers: Record<NodeId, string>): void;
}

export interface ReplicaLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Hooks for metrics; all optional. */
export interface ReplicaObserver {
  onSync?(fsyncs: number, ms: number, entries: number): void;
  onApply?(entries: number, ms: number): void;
  onProposal?(outcome: "accepted" | "dropped"): void;
  onCommit?(entries: number): void;
  /** A snapshot of the state machine was written (ms from start to durable file). */
  onSnapshot?(ms: number, bytes: number): void;
  /** A snapshot received from the leader was restored into the state machine. */
  onRestore?(ms: number): void;
  onElection?(): void;
  onLeaderChange?(): void;
}

export interface ReplicaOptions {
  nodeId: NodeId;
  storage: ReplicaStorage;
  transport: ReplicaTransport;
  stateMachine: StateMachine;
  logger: ReplicaLogger;
  /** Addresses of the initial members (from --peers); the state machine's record wins for later ones. */
  members: MemberInfo[];
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** A proposal not applied within this time is answered "timeout" (outcome unknown). */
  proposalTimeoutMs?: number;
  /** A read not served within this time is answered "unavailable" (reads change nothing). */
  readTimeoutMs?: number;
  /** Snapshot once this many entries were applied since the last snapshot. */
  snapshotEntries?: number;
  /** Entries kept in the log behind a snapshot, so briefly lagging followers need no snapshot. */
  compactKeepEntries?: number;
  /** Entries per state machine transaction, at most. */
  maxApplyBatch?: number;
  /** Applied-but-not-yet-executed entries above which the core stops handing out more. */
  maxApplyBacklog?: number;
  /** Bound on queued inbound messages; beyond it messages are dropped (Raft tolerates loss). */
  maxInbox?: number;
  /** Bound on proposals waiting for an answer; beyond it new ones are refused as overloaded. */
  maxPendingProposals?: number;
  observer?: ReplicaObserver;
}

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

type ApplyItem = { kind: "entry"; entry: Entry } | { kind: "restore"; meta: SnapshotMeta };

/** Uses the OS's randomness: the core only needs election timeouts that differ between nodes. */
const cryptoRandom: RandomSource = { int: (n) => (n <= 1 ? 0 : randomInt(n)) };

export interface ReplicaStatus extends RaftStatus {
  /** Applied by the state machine (RaftStatus.appliedIndex counts entries handed to it). */
  smAppliedIndex: number;
  snapshotIndex: number;
  applyBacklog: number;
  stateMachineHealthy: boolean;
  members: MemberInfo[];
}

/**
 * Drives the Raft core: turns timer ticks, peer messages and client requests
 * into core inputs, and each Ready into durable storage writes (one fsync for
 * the batch), messages to peers, and state machine applies, in that order.
 * Proposals and reads wait here until their entry or read index is applied.
 */
export class Replica extends EventEmitter {
  readonly nodeId: NodeId;
  private readonly opts: Required<Omit<ReplicaOptions, "observer">> & { observer: ReplicaObserver };
  private node!: RaftNode;
  private readonly incarnation = `${Date.now().toString(36)}.${randomInt(1 << 30).toString(36)}`;
  private seq = 0;

  private inbox: Message[] = [];
  private pendingTicks = 0;
  private newProposals: { data: Uint8Array; seq: number }[] = [];
  private newConfChanges: { change: ConfChange; context: Uint8Array; seq: number }[] = [];
  private newReads: string[] = [];
  /** Reads sharing one ReadIndex request, by the context it was sent with. */
  private readonly readGroups = new Map<string, string[]>();
  private newTransfers: NodeId[] = [];
  /** `conf`: a membership change, whose caller cannot retry it safely, so it waits out its timeout. */
  private readonly proposals = new Map<number, Waiter<unknown> & { conf: boolean }>();
  private readonly reads = new Map<string, Waiter<number> & { index: number }>();
  private scheduled = false;
  private ticker: NodeJS.Timeout | undefined;
  private stopped = false;

  private applyQueue: ApplyItem[] = [];
  private applying = false;
  private smApplied = 0;
  private smHealthy = true;
  /** Configuration changes applied by the state machine, for the conf of a snapshot's index. */
  private appliedConfs: { index: number; conf: ConfState }[] = [];
  /** The snapshot being written, if any: one at a time. */
  private snapshotRun: Promise<void> | undefined;
  private members = new Map<NodeId, MemberInfo>();
  private lastSoft: { leaderId: NodeId; role: Role } = { leaderId: "", role: "follower" };
  /** Term and vote as last handed to storage (see drainReadies). */
  private durableTerm = { term: 0, vote: "" };

  constructor(options: ReplicaOptions) {
    super();
    this.nodeId = options.nodeId;
    this.opts = {
      tickMs: 50,
      electionTicks: 6,
      heartbeatTicks: 1,
      proposalTimeoutMs: 5000,
      readTimeoutMs: 5000,
      snapshotEntries: 10_000,
      compactKeepEntries: 1000,
      maxApplyBatch: 512,
      maxApplyBacklog: 20_000,
      maxInbox: 50_000,
      maxPendingProposals: 20_000,
      observer: {},
      ...options,
    };
  }

  // ------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    const { appliedIndex, members } = await this.opts.stateMachine.open();
    const storage = this.opts.storage;
    // The state machine may lag the log but never lead it past what storage holds.
    this.smApplied = Math.max(appliedIndex, 0);
    const snap = storage.snapshot();
    if (this.smApplied < snap.index) {
      // Crashed between installing a snapshot file and restoring the state machine from it.
      this.opts.logger.warn(
        { applied: this.smApplied, snapshot: snap.index },
        "state machine behind snapshot; restoring it",
      );
      const r = await this.opts.stateMachine.restore(snap, storage.snapshotPath(snap));
      this.smApplied = snap.index;
      for (const m of r.members) this.members.set(m.id, m);
    }
    for (const m of this.opts.members) this.members.set(m.id, m);
    for (const m of members) this.members.set(m.id, m);
    this.node = new RaftNode({
      id: this.nodeId,
      storage,
      random: cryptoRandom,
      electionTick: this.opts.electionTicks,
      heartbeatTick: this.opts.heartbeatTicks,
      applied: this.smApplied,
    });
    this.appliedConfs = [{ index: this.smApplied, conf: this.node.status().conf }];
    const hs = storage.initialState().hardState;
    this.durableTerm = { term: hs.term, vote: hs.vote };
    this.updatePeers();
    const st = this.node.status();
    this.opts.logger.info(
      {
        term: st.term,
        commit: st.commitIndex,
        lastIndex: st.lastIndex,
        applied: this.smApplied,
        snapshot: snap.index,
      },
      "replica started",
    );
    this.ticker = setInterval(() => {
      this.pendingTicks++;
      this.schedule();
    }, this.opts.tickMs);
    this.schedule();
  }

  /** Stops ticking and answers every waiting request; in-flight state machine work finishes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    const err = new ReplicaError("stopped", "the node is shutting down");
    for (const w of this.proposals.values()) {
      clearTimeout(w.timer);
      w.reject(new ReplicaError("timeout", "the node shut down before the outcome was known"));
    }
    for (const w of this.reads.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.proposals.clear();
    this.reads.clear();
    this.readGroups.clear();
    // Let a running apply batch finish so its transaction is not cut mid-way.
    while (this.applying) await new Promise((r) => setTimeout(r, 5));
  }

  // ------------------------------------------------------------- requests

  /** Replicates `command`; resolves with the state machine's result once applied on this node. */
  propose(command: Uint8Array): Promise<unknown> {
    return this.waitFor((seq) => this.newProposals.push({ data: command, seq }), false);
  }

  /** Adds or removes a member; resolves once the configuration entry is applied here. */
  proposeConfChange(change: ConfChange, member?: MemberInfo): Promise<unknown> {
    return this.waitFor(
      (seq) =>
        this.newConfChanges.push({
          change,
          context: encodeConfContext({ origin: this.incarnation, seq, member }),
          seq,
        }),
      true,
    );
  }

  private waitFor(enqueue: (seq: number) => void, conf: boolean): Promise<unknown> {
    if (this.stopped) return Promise.reject(new ReplicaError("stopped", "the node is shutting down"));
    if (this.proposals.size >= this.opts.maxPendingProposals) {
      return Promise.reject(
        new ReplicaError("overloaded", "too many writes in flight on this node; retry shortly"),
      );
    }
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.proposals.delete(seq)) {
          reject(
            new ReplicaError(
              "timeout",
              "the write was proposed but not committed in time; its outcome is unknown",
            ),
          );
        }
      }, this.opts.proposalTimeoutMs);
      this.proposals.set(seq, { resolve, reject, timer, conf });
      enqueue(seq);
      this.schedule();
    });
  }

  /**
   * Linearizable read barrier (ReadIndex, §6.4): resolves with an index once this
   * node's state machine has applied everything committed when the read began.
   */
  readBarrier(): Promise<number> {
    if (this.stopped) return Promise.reject(new ReplicaError("stopped", "the node is shutting down"));
    const ctx = `${this.incarnation}/${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.reads.delete(ctx)) {
          this.pruneReadGroups();
          reject(
            new ReplicaError("unavailable", "could not confirm the leader in time", this.lastSoft.leaderId),
          );
        }
      }, this.opts.readTimeoutMs);
      this.reads.set(ctx, { resolve, reject, timer, index: -1 });
      this.newReads.push(ctx);
      this.schedule();
    });
  }

  /** Forgets groups whose ReadIndex will not be answered (every member timed out). */
  private pruneReadGroups(): void {
    for (const [lead, group] of this.readGroups) {
      if (!group.some((ctx) => this.reads.has(ctx))) this.readGroups.delete(lead);
    }
  }

  transferLeadership(to: NodeId): void {
    this.newTransfers.push(to);
    this.schedule();
  }

  /** Takes a snapshot now (admin request); resolves with its metadata. */
  async snapshotNow(): Promise<SnapshotMeta> {
    // An automatic snapshot in progress covers an older index: let it finish, then take one of
    // the state as it is now, so the answer reflects every write acknowledged before the request.
    while (this.snapshotRun) await this.snapshotRun.catch(() => {});
    await this.takeSnapshot(true);
    return this.opts.storage.snapshot();
  }

  receive(msg: Message): void {
    if (this.stopped) return;
    if (this.inbox.length >= this.opts.maxInbox) return;
    this.inbox.push(msg);
    this.schedule();
  }

  status(): ReplicaStatus {
    const st = this.node.status();
    return {
      ...st,
      smAppliedIndex: this.smApplied,
      snapshotIndex: this.opts.storage.snapshot().index,
      applyBacklog: this.applyQueue.length,
      stateMachineHealthy: this.smHealthy,
      members: [...this.members.values()],
    };
  }

  get appliedIndex(): number {
    return this.smApplied;
  }

  /** The current Raft term (0 before start). */
  get term(): number {
    return this.node ? this.node.raft.term : 0;
  }

  get leaderId(): NodeId {
    return this.lastSoft.leaderId;
  }

  get role(): Role {
    return this.lastSoft.role;
  }

  member(id: NodeId): MemberInfo | undefined {
    return this.members.get(id);
  }

  // ------------------------------------------------------------ the loop

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    if (this.stopped) return;
    try {
      this.feed();
      this.drainReadies();
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private fail(e: Error): void {
    this.opts.logger.error({ err: e.message, stack: e.stack }, "replica stopped by a fatal error");
    void this.stop();
    this.emit("fatal", e);
  }

  private feed(): void {
    const node = this.node;
    for (; this.pendingTicks > 0; this.pendingTicks--) node.tick();
    const inbox = this.inbox;
    this.inbox = [];
    for (const m of inbox) node.step(m);
    const proposals = this.newProposals;
    this.newProposals = [];
    for (const p of proposals) {
      const env = encodeEnvelope({ origin: this.incarnation, seq: p.seq, command: p.data });
      this.settleDrop(p.seq, node.propose(env));
    }
    const confs = this.newConfChanges;
    this.newConfChanges = [];
    for (const c of confs) this.settleDrop(c.seq, node.proposeConfChange(c.change, c.context));
    const reads = this.newReads;
    this.newReads = [];
    if (reads.length > 0) {
      // Every read here began before this call, so one ReadIndex (one heartbeat round) serves
      // them all linearizably; its context is the first read's.
      const lead = reads[0]!;
      const r = node.readIndex(lead);
      if (!r.ok) {
        for (const ctx of reads) {
          const w = this.reads.get(ctx);
          if (!w) continue;
          this.reads.delete(ctx);
          clearTimeout(w.timer);
          w.reject(
            new ReplicaError(
              "unavailable",
              "no leader is known; the cluster may be electing one",
              r.leaderId,
            ),
          );
        }
      } else if (reads.length > 1) {
        this.readGroups.set(lead, reads);
      }
    }
    const transfers = this.newTransfers;
    this.newTransfers = [];
    for (const to of transfers) node.transferLeadership(to);
  }

  private settleDrop(seq: number, r: ProposeResult): void {
    this.opts.observer.onProposal?.(r.ok ? "accepted" : "dropped");
    if (r.ok) return;
    const w = this.proposals.get(seq);
    if (!w) return;
    this.proposals.delete(seq);
    clearTimeout(w.timer);
    const code =
      r.reason === "invalid_conf_change"
        ? "rejected"
        : r.reason === "overloaded"
          ? "overloaded"
          : "unavailable";
    const why: Record<string, string> = {
      no_leader: "no leader is known; the cluster may be electing one",
      not_leader: `this node is not the leader (leader: ${r.leaderId || "unknown"})`,
      transferring: "leadership is being transferred; retry shortly",
      conf_change_pending: "another membership change is still in progress",
      invalid_conf_change: "the membership change does not apply to the current configuration",
      not_committed_in_term: "the new leader has not committed its first entry yet; retry shortly",
      overloaded: "too many uncommitted entries; retry shortly",
    };
    w.reject(new ReplicaError(code, why[r.reason] ?? r.reason, r.leaderId));
  }

  private drainReadies(): void {
    const node = this.node;
    const storage = this.opts.storage;
    node.pauseApply(this.applyQueue.length >= this.opts.maxApplyBacklog);
    while (node.hasReady()) {
      const rd: Ready = node.ready();
      for (const c of rd.snapshotChunks) {
        if (c.offset === 0) {
          this.opts.logger.info(
            // snapshotTerm: `term` is the node's current term, which the logger adds to every line.
            { index: c.meta.index, snapshotTerm: c.meta.term, bytes: c.meta.size },
            "receiving a snapshot",
          );
        }
        storage.stageSnapshotChunk(c);
      }
      if (rd.snapshot) {
        storage.installSnapshot(rd.snapshot);
        this.applyQueue.push({ kind: "restore", meta: rd.snapshot });
        this.opts.logger.info(
          { index: rd.snapshot.index, term: rd.snapshot.term },
          "snapshot received and installed",
        );
      }
      if (rd.entries.length > 0) storage.append(rd.entries);
      if (rd.hardState) storage.setHardState(rd.hardState);
      // A leader's AppendEntries may go out before its own fsync (dissertation §10.2.1): the
      // followers persist in parallel, and their acks are only handled after the (synchronous)
      // sync() below returns. Not when this Ready changes the term or vote: those must be durable
      // before anything carrying them leaves.
      let rest = rd.messages;
      const termOrVoteChanged =
        rd.hardState !== undefined &&
        (rd.hardState.term !== this.durableTerm.term || rd.hardState.vote !== this.durableTerm.vote);
      if (this.lastSoft.role === "leader" && rd.mustSync && !termOrVoteChanged && !rd.snapshot) {
        const early = rest.filter((m) => m.type === MessageType.App);
        if (early.length > 0) {
          this.opts.transport.send(early);
          rest = rest.filter((m) => m.type !== MessageType.App);
        }
      }
      if (rd.hardState) this.durableTerm = { term: rd.hardState.term, vote: rd.hardState.vote };
      if (rd.mustSync) {
        const r = storage.sync();
        this.opts.observer.onSync?.(r.fsyncs, r.ms, rd.entries.length);
      }
      // Only now may messages that depend on what was just made durable go out.
      this.opts.transport.send(rest);
      for (const e of rd.committedEntries) this.applyQueue.push({ kind: "entry", entry: e });
      if (rd.committedEntries.length > 0) this.opts.observer.onCommit?.(rd.committedEntries.length);
      for (const rs of rd.readStates) {
        const group = this.readGroups.get(rs.context);
        this.readGroups.delete(rs.context);
        for (const ctx of group ?? [rs.context]) {
          const w = this.reads.get(ctx);
          if (w) w.index = rs.index;
        }
      }
      if (rd.softState) this.onSoftState(rd.softState.leaderId, rd.softState.role, rd.hardState?.term);
      node.advance(rd);
    }
    this.serveReads();
    if (this.applyQueue.length > 0) void this.applyLoop();
  }

  private onSoftState(leaderId: NodeId, role: Role, term: number | undefined): void {
    const prev = this.lastSoft;
    this.lastSoft = { leaderId, role };
    const t = term ?? this.node.status().term;
    if (role !== prev.role) {
      if (role === "candidate" || role === "precandidate") this.opts.observer.onElection?.();
      this.opts.logger.info({ term: t, from: prev.role, to: role }, "role changed");
    }
    if (leaderId !== prev.leaderId) {
      if (prev.leaderId !== "") this.abandonInFlight();
      this.opts.observer.onLeaderChange?.();
      this.opts.logger.info(
        { term: t, leader: leaderId || null },
        leaderId ? "leader elected" : "leader lost",
      );
    }
    this.emit("cluster", { role, leaderId, term: t });
  }

  /**
   * The leader that was to commit the writes waiting here is gone: they may still be committed by
   * the next one, or never. Waiting out the proposal timeout would tell the client nothing more,
   * so each answers "outcome unknown" now and a retry with the same Idempotency-Key settles it.
   */
  private abandonInFlight(): void {
    const err = new ReplicaError(
      "timeout",
      "the leader changed before this write was known to be committed; retry with the same Idempotency-Key",
    );
    for (const [seq, w] of this.proposals) {
      if (w.conf) continue;
      this.proposals.delete(seq);
      clearTimeout(w.timer);
      w.reject(err);
    }
    // Reads whose ReadIndex went to the old leader will not be confirmed; a read has no effect,
    // so "unavailable" (retry anywhere) is exact. Reads already given an index just await apply.
    for (const [ctx, w] of this.reads) {
      if (w.index >= 0) continue;
      this.reads.delete(ctx);
      clearTimeout(w.timer);
      w.reject(new ReplicaError("unavailable", "the leader changed before this read was confirmed", ""));
    }
    this.readGroups.clear();
  }

  private serveReads(): void {
    for (const [ctx, w] of this.reads) {
      if (w.index >= 0 && this.smApplied >= w.index) {
        this.reads.delete(ctx);
        clearTimeout(w.timer);
        w.resolve(this.smApplied);
      }
    }
  }

  // -------------------------------------------------------------- applying

  private async applyLoop(): Promise<void> {
    if (this.applying) return;
    this.applying = true;
    let backoff = 50;
    try {
      while (this.applyQueue.length > 0 && !this.stopped) {
        try {
          await this.applyNext();
          if (!this.smHealthy) this.opts.logger.info({}, "state machine healthy again; applying resumed");
          this.smHealthy = true;
          backoff = 50;
        } catch (e) {
          // The database went away: keep the Raft role and log, stop applying, retry until it is back.
          if (this.smHealthy)
            this.opts.logger.error({ err: (e as Error).message }, "apply failed; will retry");
          this.smHealthy = false;
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, 2000);
        }
      }
    } finally {
      this.applying = false;
    }
    if (!this.stopped) {
      this.serveReads();
      // Applying may have made room in the backlog for more committed entries.
      this.schedule();
      void this.maybeSnapshot();
    }
  }

  private async applyNext(): Promise<void> {
    const head = this.applyQueue[0]!;
    const sm = this.opts.stateMachine;
    if (head.kind === "restore") {
      const t0 = performance.now();
      const r = await sm.restore(head.meta, this.opts.storage.snapshotPath(head.meta));
      const ms = performance.now() - t0;
      this.opts.observer.onRestore?.(ms);
      this.opts.logger.info(
        { index: head.meta.index, bytes: head.meta.size, ms: Math.round(ms) },
        "snapshot restored into the state machine",
      );
      this.applyQueue.shift();
      this.smApplied = head.meta.index;
      this.appliedConfs = [{ index: head.meta.index, conf: head.meta.conf }];
      this.members.clear();
      for (const m of this.opts.members)
        if (head.meta.conf.voters.includes(m.id) || head.meta.conf.learners.includes(m.id))
          this.members.set(m.id, m);
      for (const m of r.members) this.members.set(m.id, m);
      this.updatePeers();
      this.emit("restored", head.meta);
      return;
    }
    const batch: Entry[] = [];
    for (const item of this.applyQueue) {
      if (item.kind !== "entry" || batch.length >= this.opts.maxApplyBatch) break;
      batch.push(item.entry);
    }
    const applyEntries = batch.map(toApplyEntry);
    const t0 = performance.now();
    const results = await sm.apply(applyEntries.map((a) => a.entry));
    this.opts.observer.onApply?.(batch.length, performance.now() - t0);
    this.applyQueue.splice(0, batch.length);
    this.smApplied = batch[batch.length - 1]!.index;
    let confChanged = false;
    for (const [i, a] of applyEntries.entries()) {
      if (a.entry.kind === "conf") {
        confChanged = true;
        this.appliedConfs.push({ index: a.entry.index, conf: a.entry.conf });
        const change = a.entry.change;
        if (a.entry.member) this.members.set(a.entry.member.id, a.entry.member);
        if (change?.type === "removeNode") this.members.delete(change.nodeId);
      }
      if (a.origin !== this.incarnation) continue;
      const w = this.proposals.get(a.seq);
      if (!w) continue;
      this.proposals.delete(a.seq);
      clearTimeout(w.timer);
      w.resolve(results[i]);
    }
    if (confChanged) this.updatePeers();
    this.emit(
      "applied",
      applyEntries.map((a) => a.entry),
      results,
    );
  }

  private updatePeers(): void {
    const peers: Record<NodeId, string> = {};
    for (const m of this.members.values()) if (m.id !== this.nodeId) peers[m.id] = m.raftAddress;
    this.opts.transport.setPeers(peers);
  }

  // ------------------------------------------------------------- snapshots

  private async maybeSnapshot(): Promise<void> {
    const since = this.smApplied - this.opts.storage.snapshot().index;
    if (since >= this.opts.snapshotEntries) await this.takeSnapshot(false);
  }

  private async takeSnapshot(force: boolean): Promise<void> {
    if (this.snapshotRun || this.stopped) return;
    if (!force && this.smApplied - this.opts.storage.snapshot().index < this.opts.snapshotEntries) return;
    const run = this.writeSnapshot();
    this.snapshotRun = run;
    try {
      await run;
    } catch (e) {
      this.opts.logger.error({ err: (e as Error).message }, "snapshot failed");
      if (force) throw e;
    } finally {
      this.snapshotRun = undefined;
    }
  }

  private async writeSnapshot(): Promise<void> {
    const storage = this.opts.storage;
    const t0 = performance.now();
    const { index, data } = await this.opts.stateMachine.snapshot();
    if (index <= storage.snapshot().index) return;
    const conf = this.confAt(index);
    const meta = await storage.createSnapshot(index, storage.term(index), conf, data);
    const compactTo = Math.max(0, meta.index - this.opts.compactKeepEntries);
    if (compactTo >= storage.firstIndex()) storage.compact(compactTo);
    this.appliedConfs = this.appliedConfs.filter(
      (c, i, all) => c.index > index || all[i + 1] === undefined || all[i + 1]!.index > index,
    );
    const ms = performance.now() - t0;
    this.opts.observer.onSnapshot?.(ms, meta.size);
    this.opts.logger.info(
      { index: meta.index, term: meta.term, bytes: meta.size, ms: Math.round(ms), compactedTo: compactTo },
      "snapshot taken",
    );
  }

  private confAt(index: number): ConfState {
    let conf = this.appliedConfs[0]!.conf;
    for (const c of this.appliedConfs) if (c.index <= index) conf = c.conf;
    return conf;
  }
}

function toApplyEntry(e: Entry): { entry: ApplyEntry; origin: string; seq: number } {
  if (e.type === EntryType.Conf) {
    const ctx = decodeConfContext(e.data);
    return {
      entry: {
        index: e.index,
        term: e.term,
        kind: "conf",
        conf: e.conf!,
        change: e.change,
        member: ctx?.member,
      },
      origin: ctx?.origin ?? "",
      seq: ctx?.seq ?? 0,
    };
  }
  if (e.data.length === 0)
    return { entry: { index: e.index, term: e.term, kind: "noop" }, origin: "", seq: 0 };
  const env = decodeEnvelope(e.data);
  return {
    entry: { index: e.index, term: e.term, kind: "command", command: env.command },
    origin: env.origin,
    seq: env.seq,
  };
}
