import type { Logger } from "pino";
import type { Replica } from "../replica/index.js";
import { ReplicaError } from "../replica/index.js";
import type { ApiTransport } from "./context.js";
import { apiRole } from "./sse.js";

export interface ClusterMemberView {
  id: string;
  raftAddress: string;
  apiUrl: string;
  voter: boolean;
  matchIndex?: number;
  lastContactMs?: number;
  reachable: boolean;
}

export interface ClusterView {
  nodeId: string;
  role: "leader" | "follower" | "candidate" | "learner";
  term: number;
  leaderId: string | null;
  commitIndex: number;
  appliedIndex: number;
  lastLogIndex: number;
  snapshotIndex: number;
  members: ClusterMemberView[];
  database: { connected: boolean; name: string };
}

export interface ClusterMonitorOptions {
  replica: Replica;
  transport: ApiTransport;
  logger: Logger;
  /** Election timeout: a peer silent for a few of these counts as unreachable. */
  electionTimeoutMs: number;
  sampleMs?: number;
  /** A learner this close to the commit index is caught up enough to vote. */
  promoteMargin?: number;
}

/**
 * Watches the peers (when each was last heard from) and, on whichever node leads, promotes
 * learners to voters once they have caught up — Raft §4.2.1: a new server joins without a vote
 * until its log is current, so adding it cannot stall commits while it copies the log.
 */
export class ClusterMonitor {
  private readonly lastHeard = new Map<string, { frames: number; at: number }>();
  private timer: NodeJS.Timeout | undefined;
  private promoting = false;
  /** Set by the chaos endpoints: an isolated node reaches nobody, whatever its sockets say. */
  isolated = false;
  private readonly sampleMs: number;
  private readonly margin: number;

  constructor(private readonly opts: ClusterMonitorOptions) {
    this.sampleMs = opts.sampleMs ?? 200;
    this.margin = opts.promoteMargin ?? 16;
  }

  start(): void {
    this.timer = setInterval(() => this.sample(), this.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(): void {
    const now = Date.now();
    let stats: ReturnType<ApiTransport["stats"]>;
    try {
      stats = this.opts.transport.stats();
    } catch {
      return;
    }
    for (const [id, p] of Object.entries(stats.peers)) {
      const prev = this.lastHeard.get(id);
      if (!prev || p.framesReceived > prev.frames)
        this.lastHeard.set(id, { frames: p.framesReceived, at: now });
    }
    void this.promote();
  }

  /** Milliseconds since a frame last arrived from `id`, if ever seen. */
  lastContactMs(id: string): number | undefined {
    const h = this.lastHeard.get(id);
    if (!h || h.frames === 0) return undefined;
    return Date.now() - h.at;
  }

  /**
   * A peer is reachable when its link is up and, if Raft makes it talk to us (a leader hears
   * from every member, a follower from its leader), it spoke recently. Followers do not talk to
   * each other, so between them an open link is all there is to go by.
   */
  private reachable(id: string, connected: boolean, st: { role: string; leaderId: string }): boolean {
    if (this.isolated || !connected) return false;
    const talks = st.role === "leader" || id === st.leaderId;
    if (!talks) return true;
    const last = this.lastContactMs(id);
    return last !== undefined && last <= Math.max(1000, 4 * this.opts.electionTimeoutMs);
  }

  private async promote(): Promise<void> {
    if (this.promoting) return;
    const st = this.opts.replica.status();
    if (st.role !== "leader") return;
    const ready = st.conf.learners.find((id) => {
      const pr = st.progress[id];
      return pr?.recentActive === true && pr.match >= st.commitIndex - this.margin;
    });
    if (!ready) return;
    this.promoting = true;
    try {
      this.opts.logger.info(
        { learner: ready, commit: st.commitIndex },
        "learner caught up; promoting it to voter",
      );
      await this.opts.replica.proposeConfChange({ type: "addVoter", nodeId: ready });
    } catch (e) {
      const code = e instanceof ReplicaError ? e.code : "error";
      this.opts.logger.warn(
        { learner: ready, code, err: (e as Error).message },
        "promotion not done; will retry",
      );
    } finally {
      this.promoting = false;
    }
  }

  view(database: { connected: boolean; name: string }): ClusterView {
    const r = this.opts.replica;
    const st = r.status();
    const stats = this.opts.transport.stats();
    const connected = new Set(stats.connectedPeers);
    const byId = new Map(st.members.map((m) => [m.id, m]));
    const ids = [...st.conf.voters, ...st.conf.learners];
    const members = ids.map((id): ClusterMemberView => {
      const info = byId.get(id);
      const self = id === st.id;
      const m: ClusterMemberView = {
        id,
        raftAddress: info?.raftAddress ?? "",
        apiUrl: info?.apiUrl ?? "",
        voter: st.conf.voters.includes(id),
        reachable: true,
      };
      const pr = st.progress[id];
      if (pr) m.matchIndex = pr.match;
      if (!self) {
        const last = this.lastContactMs(id);
        if (last !== undefined) m.lastContactMs = last;
        m.reachable = this.reachable(id, connected.has(id), st);
      }
      return m;
    });
    return {
      nodeId: st.id,
      role: apiRole(st.role),
      term: st.term,
      leaderId: st.leaderId || null,
      commitIndex: st.commitIndex,
      appliedIndex: st.smAppliedIndex,
      lastLogIndex: st.lastIndex,
      snapshotIndex: st.snapshotIndex,
      members,
      database,
    };
  }

  /** The voter other than the leader with the longest log, for a transfer without a target. */
  bestTransferTarget(): string | undefined {
    const st = this.opts.replica.status();
    const candidates = st.conf.voters.filter((id) => id !== st.leaderId);
    if (st.role === "leader") {
      let best: string | undefined;
      let bestMatch = -1;
      for (const id of candidates) {
        const pr = st.progress[id];
        const contact = this.lastContactMs(id);
        if (!pr || contact === undefined || contact > 4 * this.opts.electionTimeoutMs) continue;
        if (pr.match > bestMatch) {
          best = id;
          bestMatch = pr.match;
        }
      }
      return best;
    }
    // Only the leader knows match indexes; a voter serving this request is alive and close behind.
    return candidates.includes(st.id) ? st.id : candidates[0];
  }
}
