import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { SnapshotMeta } from "../raft/index.js";
import type { Replica } from "../replica/index.js";
import type { ApplyEntry } from "../replica/state-machine.js";
import { getProject, getUserByTokenHash } from "../state/queries.js";
import type { ApplyResult, StateEvent } from "../state/results.js";
import type { Queryable } from "../state/sql.js";

/** One state change as subscribers see it: the log index of the entry that made it. */
export interface HubEvent {
  index: number;
  type: string;
  projectId: string;
  data: unknown;
  /** `data` serialized once, for every subscriber. */
  json: string;
}

export interface ClusterState {
  role: string;
  leaderId: string | null;
  term: number;
}

export interface EventHubOptions {
  replica: Replica;
  pool: Queryable;
  logger: Logger;
  /** Recent events kept for Last-Event-ID resumes; older gaps answer `event: reset`. */
  ringSize?: number;
  /** ...and at most this many bytes of their JSON, since one event may carry a 10 KB description. */
  ringBytes?: number;
  heartbeatMs?: number;
  /** Items a connection may have waiting; a client that falls this far behind is disconnected. */
  maxQueue?: number;
  /** Bytes the socket may hold unsent before the client counts as too slow. */
  maxBufferedBytes?: number;
  maxClients?: number;
  /** Projects whose visibility a connection remembers (each way), so checks rarely hit MySQL. */
  maxVisibilityCache?: number;
}

type Item =
  | { kind: "events"; events: HubEvent[] }
  | { kind: "cluster"; state: ClusterState }
  | { kind: "reset"; appliedIndex: number };

export function apiRole(role: string): "leader" | "follower" | "candidate" | "learner" {
  if (role === "leader" || role === "follower" || role === "learner") return role;
  return "candidate";
}

function isApplyResult(v: unknown): v is ApplyResult {
  return typeof v === "object" && v !== null && Array.isArray((v as ApplyResult).events);
}

/**
 * Server-sent events built from the entries this node applies. Every node applies the same
 * entries in the same order, so an event's id — its entry's log index — means the same on every
 * node, and a client can resume on any node with Last-Event-ID. A bounded ring of recent events
 * serves resumes; when the gap is older than the ring (or a snapshot replaced the state), the
 * client is told to reload with `event: reset`.
 */
export class EventHub {
  private readonly ring: HubEvent[] = [];
  private ringBytesUsed = 0;
  /** Every event of an entry with index > floor is in the ring. */
  private floor: number;
  private readonly clients = new Set<SseClient>();
  private lastCluster: ClusterState | undefined;
  private closed = false;
  readonly opts: Required<Omit<EventHubOptions, "replica" | "pool" | "logger">> & EventHubOptions;
  private readonly onApplied = (entries: ApplyEntry[], results: unknown[]) => this.applied(entries, results);
  private readonly onCluster = (s: { role: string; leaderId: string; term: number }) => this.cluster(s);
  private readonly onRestored = (meta: SnapshotMeta) => this.restored(meta);

  constructor(options: EventHubOptions) {
    this.opts = {
      ringSize: 10_000,
      ringBytes: 16 * 1024 * 1024,
      heartbeatMs: 15_000,
      maxQueue: 5_000,
      maxBufferedBytes: 4 * 1024 * 1024,
      maxClients: 1_000,
      maxVisibilityCache: 10_000,
      ...options,
    };
    this.floor = options.replica.appliedIndex;
    options.replica.on("applied", this.onApplied);
    options.replica.on("cluster", this.onCluster);
    options.replica.on("restored", this.onRestored);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get full(): boolean {
    return this.clients.size >= this.opts.maxClients;
  }

  clusterState(): ClusterState {
    const r = this.opts.replica;
    return { role: apiRole(r.role), leaderId: r.leaderId || null, term: r.status().term };
  }

  /** Starts a stream; `after` is the Last-Event-ID the client already has, if any. */
  subscribe(
    res: ServerResponse,
    sub: { userId: string; tokenHash: string; projectId?: string; after?: number },
  ): void {
    const client = new SseClient(this, res, sub);
    this.clients.add(client);
    res.on("close", () => this.drop(client));
    client.send("retry: 2000\n\n");
    const applied = this.opts.replica.appliedIndex;
    if (sub.after !== undefined && sub.after < this.floor) {
      client.push({ kind: "reset", appliedIndex: applied });
    } else if (sub.after !== undefined) {
      const missed = this.ring.filter((e) => e.index > sub.after!);
      if (missed.length > 0) client.push({ kind: "events", events: missed });
    }
    client.push({ kind: "cluster", state: this.clusterState() });
  }

  drop(client: SseClient): void {
    if (!this.clients.delete(client)) return;
    client.stop();
  }

  close(): void {
    this.closed = true;
    const r = this.opts.replica;
    r.off("applied", this.onApplied);
    r.off("cluster", this.onCluster);
    r.off("restored", this.onRestored);
    for (const c of [...this.clients]) {
      this.drop(c);
      c.end();
    }
  }

  private applied(entries: ApplyEntry[], results: unknown[]): void {
    if (this.closed) return;
    const events: HubEvent[] = [];
    for (const [i, entry] of entries.entries()) {
      const r = results[i];
      if (entry.kind !== "command" || !isApplyResult(r)) continue;
      for (const e of r.events as StateEvent[]) {
        const json = JSON.stringify(e.data ?? null);
        events.push({ index: entry.index, type: e.type, projectId: e.projectId, data: e.data, json });
      }
    }
    if (events.length === 0) return;
    for (const e of events) {
      this.ring.push(e);
      this.ringBytesUsed += e.json.length;
    }
    let evict = 0;
    let freed = 0;
    while (
      evict < this.ring.length &&
      (this.ring.length - evict > this.opts.ringSize || this.ringBytesUsed - freed > this.opts.ringBytes)
    ) {
      freed += this.ring[evict]!.json.length;
      evict++;
    }
    if (evict > 0) {
      const evicted = this.ring.splice(0, evict);
      this.ringBytesUsed -= freed;
      this.floor = Math.max(this.floor, evicted[evicted.length - 1]!.index);
    }
    for (const c of this.clients) c.push({ kind: "events", events });
  }

  private cluster(s: { role: string; leaderId: string; term: number }): void {
    const state: ClusterState = { role: apiRole(s.role), leaderId: s.leaderId || null, term: s.term };
    const last = this.lastCluster;
    if (last && last.role === state.role && last.leaderId === state.leaderId && last.term === state.term)
      return;
    this.lastCluster = state;
    for (const c of this.clients) c.push({ kind: "cluster", state });
  }

  /** A snapshot replaced the state: events between the clients' last ones and it are unknown here. */
  private restored(meta: SnapshotMeta): void {
    this.ring.length = 0;
    this.ringBytesUsed = 0;
    this.floor = Math.max(this.floor, meta.index);
    for (const c of this.clients) c.push({ kind: "reset", appliedIndex: meta.index });
  }
}

class SseClient {
  private readonly queue: Item[] = [];
  private queued = 0;
  private pumping = false;
  private stopped = false;
  private readonly visible = new Set<string>();
  private readonly hidden = new Set<string>();
  private readonly heartbeat: NodeJS.Timeout;
  /** Events at or below this index were delivered before (a resume) or are the client's already. */
  private after: number;

  constructor(
    private readonly hub: EventHub,
    private readonly res: ServerResponse,
    private readonly sub: { userId: string; tokenHash: string; projectId?: string; after?: number },
  ) {
    this.after = sub.after ?? 0;
    this.heartbeat = setInterval(() => void this.beat(), hub.opts.heartbeatMs);
    this.heartbeat.unref();
  }

  push(item: Item): void {
    if (this.stopped) return;
    const size = item.kind === "events" ? item.events.length : 1;
    if (
      this.queued + size > this.hub.opts.maxQueue ||
      this.res.writableLength > this.hub.opts.maxBufferedBytes
    ) {
      this.hub.opts.logger.warn(
        { userId: this.sub.userId, queued: this.queued },
        "sse client too slow; disconnecting",
      );
      this.hub.drop(this);
      this.end();
      return;
    }
    this.queue.push(item);
    this.queued += size;
    void this.pump();
  }

  send(text: string): void {
    if (!this.stopped && !this.res.writableEnded) this.res.write(text);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
  }

  end(): void {
    this.stop();
    if (!this.res.writableEnded) this.res.end();
  }

  /** A comment line keeps proxies from closing the idle stream; a revoked session ends it. */
  private async beat(): Promise<void> {
    if (this.stopped) return;
    try {
      const user = await getUserByTokenHash(this.hub.opts.pool, this.sub.tokenHash, new Date());
      if (!user) {
        this.hub.drop(this);
        this.end();
        return;
      }
    } catch {
      // the database is away; the stream stays, events wait in the replica
    }
    this.send(`: ping ${new Date().toISOString()}\n\n`);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const item = this.queue.shift()!;
        this.queued -= item.kind === "events" ? item.events.length : 1;
        if (item.kind === "cluster") {
          this.send(`event: cluster\ndata: ${JSON.stringify(item.state)}\n\n`);
        } else if (item.kind === "reset") {
          this.after = item.appliedIndex;
          this.send(`event: reset\ndata: ${JSON.stringify({ appliedIndex: item.appliedIndex })}\n\n`);
        } else {
          let out = "";
          for (const e of item.events) {
            if (e.index <= this.after) continue;
            if (await this.canSee(e)) out += `id: ${e.index}\nevent: ${e.type}\ndata: ${e.json}\n\n`;
            this.afterEvent(e);
          }
          const last = item.events[item.events.length - 1];
          if (last && last.index > this.after) this.after = last.index;
          if (out !== "") this.send(out);
        }
      }
    } catch (e) {
      // Visibility could not be checked (database away): better a reconnect with Last-Event-ID than a gap.
      this.hub.opts.logger.warn({ err: (e as Error).message }, "sse stream ended: visibility check failed");
      this.hub.drop(this);
      this.end();
    } finally {
      this.pumping = false;
    }
  }

  private remember(set: Set<string>, projectId: string): void {
    if (set.size >= this.hub.opts.maxVisibilityCache) set.clear();
    set.add(projectId);
  }

  private async canSee(e: HubEvent): Promise<boolean> {
    const pid = e.projectId;
    if (this.sub.projectId !== undefined && pid !== this.sub.projectId) return false;
    const data = e.data as { userId?: unknown } | null;
    if (e.type === "member.added" && data?.userId === this.sub.userId) {
      this.hidden.delete(pid);
      this.remember(this.visible, pid);
    }
    if (this.visible.has(pid)) return true;
    if (this.hidden.has(pid)) return false;
    const member = (await getProject(this.hub.opts.pool, this.sub.userId, pid)) !== undefined;
    this.remember(member ? this.visible : this.hidden, pid);
    return member;
  }

  /** Who may see a project changes with these events; later events of it follow the new answer. */
  private afterEvent(e: HubEvent): void {
    const data = e.data as { userId?: unknown } | null;
    if (e.type === "project.deleted" || (e.type === "member.removed" && data?.userId === this.sub.userId)) {
      this.visible.delete(e.projectId);
      this.remember(this.hidden, e.projectId);
    }
  }
}
