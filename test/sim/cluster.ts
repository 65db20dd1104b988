import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  type NodeId,
  type ProposeResult,
  RaftNode,
  type Ready,
  Rng,
  type SnapshotMeta,
} from "../../src/raft/index.js";
import { SimNetwork } from "./network.js";
import { decodeValue, encodeValue, ListStateMachine } from "./state-machine.js";

export class SimViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SimViolation";
  }
}

export interface SimOptions {
  /** Initial voters. */
  ids: NodeId[];
  seed: number;
  electionTick?: number;
  heartbeatTick?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  maxSnapshotChunkBytes?: number;
  /** Ring-buffer size of the trace kept for failure reports. */
  traceLimit?: number;
  /** Print every trace line as it happens. */
  traceToConsole?: boolean;
}

/** One simulated server: durable storage and state machine, volatile Raft state. */
export class SimNode {
  raft: RaftNode | undefined;
  /** Snapshot chunks received but not yet complete (volatile: lost on crash). */
  staging: Uint8Array[] = [];
  stagingKey = "";
  /** Reads confirmed by ReadIndex, waiting for the state machine to reach their index. */
  readsWaiting = new Map<string, number>();
  /** Highest commit index seen while this incarnation runs; must never go down. */
  lastCommit = 0;
  removed = false;
  /** Fault injection: crash right after persisting the next Ready, before sending or applying it. */
  crashAfterPersist = false;

  constructor(
    readonly id: NodeId,
    readonly storage: MemoryStorage,
    readonly sm: ListStateMachine,
  ) {}

  get alive(): boolean {
    return this.raft !== undefined;
  }
}

export type OpStatus = "pending" | "ok" | "failed";

export interface WriteOp {
  kind: "write";
  value: string;
  invokedAt: number;
  ackedAt: number;
  status: OpStatus;
  node: NodeId;
  sentAtTick: number;
  attempts: number;
}

export interface ReadOp {
  kind: "read";
  context: string;
  invokedAt: number;
  status: OpStatus;
  node: NodeId;
  sentAtTick: number;
  /** The applied index of the node when it served the read. */
  servedIndex: number;
  readIndex: number;
}

/**
 * A deterministic cluster of real Raft cores on an in-memory network. Every
 * step checks the safety properties of Raft (Figure 3) and linearizability of
 * reads; a violation throws SimViolation with the trace that led to it.
 */
export class SimCluster {
  readonly rng: Rng;
  readonly net: SimNetwork;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly opts: Required<SimOptions>;
  now = 0;
  /** Logical clock for ordering client events (finer than ticks). */
  private clock = 0;
  private readonly bootstrap: ConfState;

  // --- global knowledge for invariant checks
  private leaderOfTerm = new Map<number, NodeId>();
  /** (index,term) → the entry's content key and the term of its predecessor (log matching). */
  private entryByIndexTerm = new Map<string, { key: string; prevTerm: number }>();
  /** index → key of the entry applied there (state machine safety). */
  readonly appliedAt = new Map<number, { key: string; term: number }>();
  maxApplied = 0;

  readonly writes: WriteOp[] = [];
  readonly reads: ReadOp[] = [];
  private readsByContext = new Map<string, ReadOp>();
  private writesByValue = new Map<string, WriteOp>();
  private opSeq = 0;

  private trace: string[] = [];
  /** Nodes whose clock is stopped (a long GC or VM pause): they still handle messages but do not tick. */
  readonly stoppedClocks = new Set<NodeId>();
  elections = 0;
  committedEntries = 0;

  constructor(options: SimOptions) {
    this.opts = {
      electionTick: 10,
      heartbeatTick: 1,
      preVote: true,
      checkQuorum: true,
      maxSizePerMsg: 1024,
      maxInflightMsgs: 8,
      maxSnapshotChunkBytes: 256,
      traceLimit: 400,
      traceToConsole: false,
      ...options,
    };
    this.rng = new Rng(options.seed);
    this.net = new SimNetwork(this.rng.fork());
    this.bootstrap = { voters: [...options.ids].sort(), learners: [] };
    for (const id of options.ids) {
      const storage = new MemoryStorage(this.bootstrap);
      const node = new SimNode(id, storage, new ListStateMachine(this.bootstrap));
      this.nodes.set(id, node);
      this.start(node);
    }
  }

  // ---------------------------------------------------------------- tracing

  log(line: string): void {
    const l = `t=${this.now} ${line}`;
    if (this.opts.traceToConsole) console.log(l);
    this.trace.push(l);
    if (this.trace.length > this.opts.traceLimit) this.trace.shift();
  }

  traceTail(n = 60): string {
    return this.trace.slice(-n).join("\n");
  }

  violation(what: string): never {
    throw new SimViolation(`${what}\n--- last events ---\n${this.traceTail()}`);
  }

  // ------------------------------------------------------------ node control

  private start(node: SimNode): void {
    node.raft = new RaftNode({
      id: node.id,
      storage: node.storage,
      random: this.rng.fork(),
      electionTick: this.opts.electionTick,
      heartbeatTick: this.opts.heartbeatTick,
      applied: node.sm.appliedIndex,
      preVote: this.opts.preVote,
      checkQuorum: this.opts.checkQuorum,
      maxSizePerMsg: this.opts.maxSizePerMsg,
      maxInflightMsgs: this.opts.maxInflightMsgs,
      maxSnapshotChunkBytes: this.opts.maxSnapshotChunkBytes,
    });
    node.lastCommit = node.raft.status().commitIndex;
    node.staging = [];
    node.stagingKey = "";
    node.readsWaiting.clear();
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  ids(): NodeId[] {
    return [...this.nodes.keys()];
  }

  aliveIds(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.alive).map((n) => n.id);
  }

  /** Crash: everything not persisted is lost; storage and state machine survive. */
  crash(id: NodeId): void {
    const n = this.node(id);
    if (!n.alive) return;
    n.raft = undefined;
    this.log(`${id} CRASH`);
  }

  restart(id: NodeId): void {
    const n = this.node(id);
    if (n.alive || n.removed) return;
    this.start(n);
    const st = n.raft!.status();
    this.log(
      `${id} RESTART term=${st.term} commit=${st.commitIndex} last=${st.lastIndex} applied=${st.appliedIndex}`,
    );
  }

  /** Adds a process for a new member (its log arrives from the leader). */
  spawn(id: NodeId): SimNode {
    const empty: ConfState = { voters: [], learners: [] };
    const n = new SimNode(id, new MemoryStorage(empty), new ListStateMachine(empty));
    this.nodes.set(id, n);
    this.start(n);
    this.log(`${id} SPAWN`);
    return n;
  }

  /** Stops a removed member for good. */
  retire(id: NodeId): void {
    const n = this.node(id);
    n.raft = undefined;
    n.removed = true;
    this.log(`${id} RETIRED`);
  }

  isolate(id: NodeId): void {
    this.net.isolate(id, this.ids());
    this.log(`${id} ISOLATED`);
  }

  partition(a: NodeId[], b: NodeId[]): void {
    this.net.partition(a, b);
    this.log(`PARTITION [${a}] | [${b}]`);
  }

  healNetwork(): void {
    this.net.healAll();
    this.log("HEAL network");
  }

  /** Takes a snapshot of the node's state machine and compacts its log, keeping `keep` entries. */
  snapshot(id: NodeId, keep = 0): SnapshotMeta | undefined {
    const n = this.node(id);
    if (!n.alive || n.sm.appliedIndex <= n.storage.snapshot().index) return undefined;
    const meta = n.storage.createSnapshot(n.sm.appliedIndex, n.sm.conf, n.sm.snapshotData());
    const compactTo = Math.max(meta.index - keep, n.storage.firstIndex() - 1);
    n.storage.compact(compactTo);
    this.log(`${id} SNAPSHOT index=${meta.index} term=${meta.term} size=${meta.size} compact=${compactTo}`);
    return meta;
  }

  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.nodes.values()) {
      if (!n.raft) continue;
      const st = n.raft.status();
      if (st.role === "leader" && st.term > bestTerm) {
        best = n;
        bestTerm = st.term;
      }
    }
    return best;
  }

  /** Leaders that are not deposed by a live node of a higher term. */
  leaders(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.raft?.status().role === "leader");
  }

  // ------------------------------------------------------------- client ops

  private nextClock(): number {
    return ++this.clock;
  }

  /** Starts a client write of a unique value through node `id`. */
  write(id: NodeId, value?: string): WriteOp {
    const op: WriteOp = {
      kind: "write",
      value: value ?? `v${++this.opSeq}`,
      invokedAt: this.nextClock(),
      ackedAt: 0,
      status: "pending",
      node: id,
      sentAtTick: this.now,
      attempts: 0,
    };
    this.writes.push(op);
    this.writesByValue.set(op.value, op);
    this.submitWrite(op, id);
    return op;
  }

  /** (Re)sends a pending write to node `id`; the same value is idempotent in the state machine. */
  submitWrite(op: WriteOp, id: NodeId): ProposeResult | undefined {
    op.node = id;
    op.sentAtTick = this.now;
    op.attempts++;
    const n = this.node(id);
    if (!n.raft) return undefined;
    const r = n.raft.propose(encodeValue(op.value));
    this.log(`${id} propose ${op.value} -> ${r.ok ? "ok" : r.reason}`);
    this.processReady(n);
    return r;
  }

  read(id: NodeId): ReadOp {
    const op: ReadOp = {
      kind: "read",
      context: `r${++this.opSeq}`,
      invokedAt: this.nextClock(),
      status: "pending",
      node: id,
      sentAtTick: this.now,
      servedIndex: 0,
      readIndex: 0,
    };
    this.reads.push(op);
    this.readsByContext.set(op.context, op);
    const n = this.node(id);
    if (!n.raft) {
      op.status = "failed";
      return op;
    }
    const r = n.raft.readIndex(op.context);
    this.log(`${id} readIndex ${op.context} -> ${r.ok ? "ok" : r.reason}`);
    if (!r.ok) op.status = "failed";
    this.processReady(n);
    return op;
  }

  proposeConfChange(id: NodeId, change: ConfChange): ProposeResult | undefined {
    const n = this.node(id);
    if (!n.raft) return undefined;
    const r = n.raft.proposeConfChange(change);
    this.log(`${id} confChange ${change.type} ${change.nodeId} -> ${r.ok ? "ok" : r.reason}`);
    this.processReady(n);
    return r;
  }

  transferLeadership(from: NodeId, to: NodeId): void {
    const n = this.node(from);
    if (!n.raft) return;
    this.log(`${from} transferLeadership -> ${to}`);
    n.raft.transferLeadership(to);
    this.processReady(n);
  }

  // --------------------------------------------------------------- stepping

  /** Advances time by one tick: deliver due messages, tick every live node. */
  tick(): void {
    this.now++;
    for (const m of this.net.due(this.now)) this.deliver(m);
    for (const n of this.nodes.values()) {
      if (!n.raft || this.stoppedClocks.has(n.id)) continue;
      n.raft.tick();
      this.processReady(n);
    }
    this.checkLeaders();
  }

  ticks(count: number): void {
    for (let i = 0; i < count; i++) this.tick();
  }

  /** Ticks until pred holds; returns the ticks used, or -1 if maxTicks passed. */
  runUntil(pred: () => boolean, maxTicks: number): number {
    for (let i = 0; i < maxTicks; i++) {
      if (pred()) return i;
      this.tick();
    }
    return pred() ? maxTicks : -1;
  }

  /** Delivers every message in flight at once, repeatedly, without ticking (for scripted scenarios). */
  flush(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      const due = this.net.due(Number.POSITIVE_INFINITY);
      if (due.length === 0) return;
      for (const m of due) this.deliver(m);
    }
  }

  deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (!n?.raft) return;
    this.log(`${m.from}->${m.to} ${describe(m)}`);
    n.raft.step(m);
    this.processReady(n);
  }

  /** Runs the node's Ready loop the way the real replica does: persist, send, apply, advance. */
  processReady(n: SimNode): void {
    while (n.raft?.hasReady()) {
      const raft: RaftNode = n.raft;
      const rd = raft.ready();
      this.checkReady(n, rd);
      this.persist(n, rd);
      if (n.crashAfterPersist) {
        n.crashAfterPersist = false;
        this.crash(n.id);
        return;
      }
      this.checkDurableBeforeSend(n, rd);
      for (const m of rd.messages) this.net.send(m, this.now);
      for (const e of rd.committedEntries) this.apply(n, e);
      for (const rs of rd.readStates) {
        const op = this.readsByContext.get(rs.context);
        if (op) op.readIndex = rs.index;
        n.readsWaiting.set(rs.context, rs.index);
      }
      raft.advance(rd);
      this.serveReads(n);
      const st = raft.status();
      if (st.commitIndex < n.lastCommit)
        this.violation(`${n.id}: commit index went back ${n.lastCommit} -> ${st.commitIndex}`);
      n.lastCommit = st.commitIndex;
    }
  }

  private persist(n: SimNode, rd: Ready): void {
    for (const c of rd.snapshotChunks) {
      const key = `${c.meta.index}/${c.meta.term}`;
      if (c.offset === 0 || key !== n.stagingKey) {
        n.staging = [];
        n.stagingKey = key;
      }
      n.staging.push(c.data);
    }
    if (rd.snapshot) {
      const meta = rd.snapshot;
      const size = n.staging.reduce((s, b) => s + b.length, 0);
      if (n.stagingKey !== `${meta.index}/${meta.term}` || size !== meta.size) {
        this.violation(
          `${n.id}: snapshot ${meta.index}/${meta.term} to install but staged ${size}/${meta.size} bytes`,
        );
      }
      const data = new Uint8Array(size);
      let off = 0;
      for (const b of n.staging) {
        data.set(b, off);
        off += b.length;
      }
      n.storage.applySnapshot(meta, data);
      n.sm.restore(meta, data);
      this.log(`${n.id} INSTALL snapshot index=${meta.index} term=${meta.term}`);
      n.staging = [];
      n.stagingKey = "";
    }
    n.storage.append(rd.entries);
    if (rd.hardState) {
      if (rd.hardState.term < n.storage.hardState.term) {
        this.violation(
          `${n.id}: persisted term went back ${n.storage.hardState.term} -> ${rd.hardState.term}`,
        );
      }
      n.storage.hardState = { ...rd.hardState };
    }
  }

  private apply(n: SimNode, e: Entry): void {
    const key = entryKey(e);
    const prior = this.appliedAt.get(e.index);
    if (prior && (prior.key !== key || prior.term !== e.term)) {
      this.violation(
        `state machine safety: ${n.id} applied ${key}@${e.term} at index ${e.index}, another node applied ${prior.key}@${prior.term}`,
      );
    }
    if (!prior) {
      this.appliedAt.set(e.index, { key, term: e.term });
      this.committedEntries++;
    }
    if (e.index > this.maxApplied) this.maxApplied = e.index;
    n.sm.apply(e);
    if (e.type === EntryType.Normal && e.data.length > 0) {
      const op = this.writesByValue.get(decodeValue(e.data));
      if (op && op.status === "pending" && op.node === n.id) {
        op.status = "ok";
        op.ackedAt = this.nextClock();
      }
    }
  }

  private serveReads(n: SimNode): void {
    for (const [ctx, index] of n.readsWaiting) {
      if (n.sm.appliedIndex < index) continue;
      n.readsWaiting.delete(ctx);
      const op = this.readsByContext.get(ctx);
      if (op?.status !== "pending") continue;
      op.status = "ok";
      op.servedIndex = n.sm.appliedIndex;
      this.checkRead(op, n);
    }
  }

  /** A read must see every write acknowledged before it started (linearizability). */
  private checkRead(op: ReadOp, n: SimNode): void {
    for (const w of this.writes) {
      if (w.status !== "ok" || w.ackedAt >= op.invokedAt) continue;
      const at = n.sm.firstIndexOf.get(w.value);
      if (at === undefined || at > op.servedIndex) {
        this.violation(
          `stale read: ${op.context} on ${n.id} (read index ${op.readIndex}, served at applied ${op.servedIndex}) ` +
            `misses ${w.value}, acknowledged before the read started`,
        );
      }
    }
  }

  // ------------------------------------------------------------- invariants

  /** The persistence contract: a vote granted or an entry acknowledged is already durable when the reply leaves. */
  private checkDurableBeforeSend(n: SimNode, rd: Ready): void {
    const hs = n.storage.hardState;
    for (const m of rd.messages) {
      if (m.type === "voteResp" && !m.reject && (hs.term !== m.term || hs.vote !== m.to)) {
        this.violation(
          `${n.id} grants its vote to ${m.to} for term ${m.term} but persisted term=${hs.term} vote=${hs.vote}`,
        );
      }
      if (
        m.type === "appResp" &&
        !m.reject &&
        m.index > n.storage.lastIndex() &&
        m.index > n.storage.snapshot().index
      ) {
        this.violation(
          `${n.id} acknowledges index ${m.index} but persisted only up to ${n.storage.lastIndex()}`,
        );
      }
    }
  }

  private checkReady(n: SimNode, rd: Ready): void {
    const raft = n.raft!;
    for (const e of rd.entries) {
      const id = `${e.index}/${e.term}`;
      const prevTerm = e.index === rd.entries[0]!.index ? raft.raft.log.termOrZero(e.index - 1) : -1;
      const known = this.entryByIndexTerm.get(id);
      const key = entryKey(e);
      if (known) {
        if (known.key !== key)
          this.violation(`log matching: entry ${id} is ${key} on ${n.id} but ${known.key} elsewhere`);
        if (prevTerm >= 0 && known.prevTerm >= 0 && known.prevTerm !== prevTerm) {
          this.violation(
            `log matching: entry ${id} follows term ${prevTerm} on ${n.id} but ${known.prevTerm} elsewhere`,
          );
        }
      } else {
        this.entryByIndexTerm.set(id, { key, prevTerm });
      }
    }
    if (rd.softState?.role === "leader") {
      const st = raft.status();
      this.elections++;
      this.log(`${n.id} LEADER term=${st.term} last=${st.lastIndex} commit=${st.commitIndex}`);
      this.checkLeaderCompleteness(n);
    }
  }

  private checkLeaders(): void {
    for (const n of this.nodes.values()) {
      if (!n.raft) continue;
      const st = n.raft.status();
      if (st.role !== "leader") continue;
      const known = this.leaderOfTerm.get(st.term);
      if (known === undefined) this.leaderOfTerm.set(st.term, n.id);
      else if (known !== n.id)
        this.violation(`election safety: ${known} and ${n.id} both lead term ${st.term}`);
    }
  }

  /** §5.4: a leader's log holds every entry committed before its term. */
  private checkLeaderCompleteness(n: SimNode): void {
    const log = n.raft!.raft.log;
    const first = log.firstIndex();
    for (let i = Math.max(first, 1); i <= this.maxApplied; i++) {
      const applied = this.appliedAt.get(i);
      if (!applied) continue;
      const t = log.termOrZero(i);
      if (t !== applied.term) {
        this.violation(
          `leader completeness: ${n.id} leads without committed entry ${i}@${applied.term} (has term ${t})`,
        );
      }
    }
  }

  /** Checks that every live node has applied the same entries and every acknowledged write is in them. */
  checkConverged(): void {
    const conf = this.leader()?.raft?.status().conf;
    if (!conf) this.violation("convergence check without a leader");
    const members = [...conf.voters, ...conf.learners].map((id) => this.node(id));
    for (const w of this.writes) {
      if (w.status !== "ok") continue;
      for (const n of members) {
        if (!n.sm.firstIndexOf.has(w.value))
          this.violation(`lost write: ${w.value} acknowledged but missing on ${n.id}`);
      }
    }
  }

  /** True when a leader exists and every live member has applied its commit index. */
  isSettled(): boolean {
    const l = this.leader();
    if (!l?.raft) return false;
    const st = l.raft.status();
    if (st.commitIndex < st.lastIndex) return false;
    for (const id of [...st.conf.voters, ...st.conf.learners]) {
      const n = this.nodes.get(id);
      if (!n?.raft || n.sm.appliedIndex < st.commitIndex) return false;
    }
    return true;
  }
}

export function entryKey(e: Entry): string {
  if (e.type === EntryType.Conf) return `conf:${JSON.stringify(e.conf)}`;
  return e.data.length === 0 ? "noop" : decodeValue(e.data);
}

export function describe(m: Message): string {
  switch (m.type) {
    case "app":
      return `app t=${m.term} prev=${m.index}/${m.logTerm} n=${m.entries.length} c=${m.commit}`;
    case "appResp":
      return m.reject
        ? `appResp t=${m.term} REJECT i=${m.index} hint=${m.rejectHint}/${m.logTerm}`
        : `appResp t=${m.term} i=${m.index}`;
    case "vote":
    case "preVote":
      return `${m.type} t=${m.term} last=${m.index}/${m.logTerm}${m.force ? " force" : ""}`;
    case "voteResp":
    case "preVoteResp":
      return `${m.type} t=${m.term} ${m.reject ? "REJECT" : "grant"}`;
    case "heartbeat":
      return `hb t=${m.term} c=${m.commit}${m.context ? ` ctx=${m.context}` : ""}`;
    case "heartbeatResp":
      return `hbResp t=${m.term}${m.context ? ` ctx=${m.context}` : ""}`;
    case "snap":
      return `snap t=${m.term} ${m.snapshot?.index}/${m.snapshot?.term} off=${m.snapshotOffset} len=${m.snapshotData?.length ?? 0}`;
    case "snapResp":
      return `snapResp t=${m.term} off=${m.snapshotOffset}${m.reject ? " REJECT" : ""}`;
    default:
      return `${m.type} t=${m.term}${m.context ? ` ctx=${m.context}` : ""}${m.index ? ` i=${m.index}` : ""}`;
  }
}
