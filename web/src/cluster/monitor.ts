import { ApiError, describeError } from "../api/client";
import type { ClusterEvent, ClusterMember, ClusterView, NodeRole } from "../api/types";
import { api } from "../app/api";
import { onClusterEvent } from "../app/data";
import { connection } from "../app/notices";
import { createStore } from "../lib/store";

/**
 * Watches every node of the cluster for the cluster view: GET /api/v1/cluster on the node that
 * served the page and, directly, on every other member's apiUrl. Cross-origin requests need the
 * other nodes to answer CORS (the bearer token makes them "non-simple"); when the browser blocks
 * them, each such node is shown as the serving node reports it, and the view says so.
 *
 * It also keeps the timeline: elections (term changes), leader changes, role changes, nodes that
 * stop or start answering, and the chaos actions the user took.
 */

/** How a node's own status was obtained. */
export type Reach =
  | "self" // the node that served this page
  | "direct" // polled on its own apiUrl
  | "cors" // it answers, but the browser blocks reading its API from this origin
  | "down" // no answer at all
  | "unknown";

export interface NodeStatus {
  id: string;
  apiUrl: string;
  voter: boolean;
  /** Its own view, when it could be asked; null otherwise. */
  view: ClusterView | null;
  reach: Reach;
  /** What the serving node says about its link to this node (null: not known). */
  reportedReachable: boolean | null;
  /** Replication progress from the leader's view, when the leader could be asked. */
  matchIndex: number | null;
  lastContactMs: number | null;
}

export interface TimelineEntry {
  id: number;
  at: number;
  kind: "election" | "leader" | "role" | "reach" | "chaos" | "info";
  text: string;
}

export interface MonitorState {
  servingNodeId: string | null;
  servingView: ClusterView | null;
  servingError: string | null;
  nodes: NodeStatus[];
  leaderId: string | null;
  term: number;
  /** The leader's own view (for replication progress), when it could be asked. */
  leaderView: ClusterView | null;
  chaosEnabled: boolean | null;
  timeline: TimelineEntry[];
  lastPollAt: number;
}

export const monitor = createStore<MonitorState>({
  servingNodeId: null,
  servingView: null,
  servingError: null,
  nodes: [],
  leaderId: null,
  term: 0,
  leaderView: null,
  chaosEnabled: null,
  timeline: [],
  lastPollAt: 0,
});

const POLL_MS = 1_000;
const REQUEST_TIMEOUT_MS = 1_500;
/** The timeline keeps this many entries, newest first. */
const TIMELINE_MAX = 200;
/** A node whose API could not be read is re-probed for "up but CORS-blocked" this often. */
const PROBE_EVERY_MS = 2_000;
/** A node whose answers CORS hides is asked directly again this often (the API may start allowing it). */
const CORS_RECHECK_MS = 15_000;

let timelineSeq = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let running = 0;
let polling = false;
let lastMembers: ClusterMember[] = [];
const lastProbe = new Map<string, { at: number; up: boolean }>();
const corsBlockedAt = new Map<string, number>();
/** Cluster-level facts already on the timeline, so polls and events do not repeat them. */
let known: { leaderId: string | null; term: number } = { leaderId: null, term: 0 };
let leaderLostAt: number | null = null;

export function addTimeline(kind: TimelineEntry["kind"], text: string): void {
  const entry: TimelineEntry = { id: ++timelineSeq, at: Date.now(), kind, text };
  monitor.set((s) => ({ timeline: [entry, ...s.timeline].slice(0, TIMELINE_MAX) }));
}

function sameOrigin(apiUrl: string): boolean {
  try {
    return new URL(apiUrl).origin === location.origin;
  } catch {
    return false;
  }
}

async function fetchView(base: string): Promise<ClusterView> {
  const res = await api.get<ClusterView>("/api/v1/cluster", {
    base,
    retry: false,
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  return res.body;
}

/**
 * A failed cross-origin read is either a node that is down or one whose answer the browser
 * hides for lack of CORS headers. A `no-cors` request tells them apart: it resolves (opaquely)
 * whenever the server answers at all.
 */
async function answersAtAll(apiUrl: string): Promise<boolean> {
  const cached = lastProbe.get(apiUrl);
  if (cached && Date.now() - cached.at < PROBE_EVERY_MS) return cached.up;
  let up = false;
  try {
    await fetch(`${apiUrl}/healthz`, {
      mode: "no-cors",
      cache: "no-store",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    up = true;
  } catch {
    up = false;
  }
  lastProbe.set(apiUrl, { at: Date.now(), up });
  return up;
}

/** The cluster-level leader and term, from whichever views could be read. */
function leaderOf(views: ClusterView[]): { leaderId: string | null; term: number } {
  let term = 0;
  for (const v of views) term = Math.max(term, v.term);
  const leader = views.find((v) => v.role === "leader" && v.term === term);
  if (leader) return { leaderId: leader.nodeId, term };
  const votes = views.filter((v) => v.term === term && v.leaderId);
  return { leaderId: votes[0]?.leaderId ?? null, term };
}

function observeCluster(
  next: { leaderId: string | null; term: number },
  source: string,
  downIds: Set<string>,
): void {
  const leaderGone = known.leaderId !== null && downIds.has(known.leaderId);
  if (leaderGone && leaderLostAt === null) leaderLostAt = Date.now();
  if (next.term > known.term && known.term > 0) {
    addTimeline("election", `Term ${next.term} began: an election was held (${source}).`);
  }
  if (next.leaderId !== known.leaderId && !(next.leaderId !== null && downIds.has(next.leaderId))) {
    if (next.leaderId === null) {
      if (leaderLostAt === null) leaderLostAt = Date.now();
      addTimeline("leader", `No leader known (${source}): the cluster is electing one.`);
    } else {
      const gapMs = leaderLostAt !== null ? Date.now() - leaderLostAt : 0;
      const gap = gapMs >= 100 ? ` after ${(gapMs / 1000).toFixed(1)} s without a leader` : "";
      const was = known.leaderId ? ` (was ${known.leaderId})` : "";
      addTimeline("leader", `${next.leaderId} is the leader in term ${next.term}${was}${gap}.`);
      leaderLostAt = null;
    }
    known = { leaderId: next.leaderId, term: Math.max(known.term, next.term) };
  } else if (next.term > known.term) {
    known = { ...known, term: next.term };
  }
}

function diffNodes(before: NodeStatus[], after: NodeStatus[]): void {
  for (const n of after) {
    const prev = before.find((p) => p.id === n.id);
    if (!prev) continue;
    const wasUp = prev.reach !== "down";
    const isUp = n.reach !== "down";
    if (wasUp && !isUp) addTimeline("reach", `${n.id} stopped answering.`);
    if (!wasUp && isUp) addTimeline("reach", `${n.id} answers again.`);
    const r1: NodeRole | undefined = prev.view?.role;
    const r2: NodeRole | undefined = n.view?.role;
    if (r1 && r2 && r1 !== r2) addTimeline("role", `${n.id}: ${r1} → ${r2} (term ${n.view?.term}).`);
  }
}

async function pollOnce(): Promise<void> {
  if (polling) return;
  polling = true;
  try {
    let serving: ClusterView | null = null;
    let servingError: string | null = null;
    try {
      serving = await fetchView("");
      lastMembers = serving.members;
      connection.set({ servingNode: serving.nodeId });
    } catch (e) {
      servingError =
        e instanceof ApiError && e.status === 0
          ? "The node that served this page does not answer (crashed or restarting)."
          : describeError(e);
    }
    const servingId = serving?.nodeId ?? monitor.get().servingNodeId;
    const nodes = await Promise.all(
      lastMembers.map(async (m): Promise<NodeStatus> => {
        const status: NodeStatus = {
          id: m.id,
          apiUrl: m.apiUrl,
          voter: m.voter,
          view: null,
          reach: "unknown",
          reportedReachable: serving ? m.reachable : null,
          matchIndex: null,
          lastContactMs: null,
        };
        if (m.id === servingId || (!servingId && sameOrigin(m.apiUrl))) {
          status.view = serving;
          status.reach = serving ? "self" : "down";
          return status;
        }
        if (!m.apiUrl) return status;
        // A node the browser will not let us read is asked again only now and then, not every second.
        const blockedAt = corsBlockedAt.get(m.id);
        if (blockedAt !== undefined && Date.now() - blockedAt < CORS_RECHECK_MS) {
          status.reach = (await answersAtAll(m.apiUrl)) ? "cors" : "down";
          return status;
        }
        corsBlockedAt.delete(m.id);
        try {
          status.view = await fetchView(m.apiUrl);
          status.reach = "direct";
        } catch (e) {
          if (e instanceof ApiError && e.status !== 0) {
            status.reach = "direct"; // it answered, with an error
          } else {
            status.reach = (await answersAtAll(m.apiUrl)) ? "cors" : "down";
            if (status.reach === "cors") corsBlockedAt.set(m.id, Date.now());
          }
        }
        return status;
      }),
    );
    const views = nodes.flatMap((n) => (n.view ? [n.view] : []));
    const cluster = leaderOf(views);
    const leaderView = views.find((v) => v.nodeId === cluster.leaderId && v.role === "leader") ?? null;
    if (leaderView) {
      for (const n of nodes) {
        const lm = leaderView.members.find((x) => x.id === n.id);
        n.matchIndex = lm?.matchIndex ?? null;
        n.lastContactMs = lm?.lastContactMs ?? null;
      }
    }
    const down = new Set(nodes.filter((n) => n.reach === "down").map((n) => n.id));
    diffNodes(monitor.get().nodes, nodes);
    observeCluster(cluster, "polling", down);
    monitor.set({
      servingNodeId: servingId ?? null,
      servingView: serving,
      servingError,
      nodes,
      leaderId: known.leaderId,
      term: known.term,
      leaderView,
      lastPollAt: Date.now(),
    });
  } finally {
    polling = false;
  }
}

async function detectChaos(): Promise<void> {
  if (monitor.get().chaosEnabled !== null) return;
  try {
    const res = await fetch("/api/v1/openapi.json", { cache: "no-store" });
    const doc = (await res.json()) as { paths?: Record<string, unknown> };
    monitor.set({ chaosEnabled: Boolean(doc.paths?.["/api/v1/chaos/crash"]) });
  } catch {
    // unknown: the buttons stay, and a 404 answer says chaos is off
  }
}

function schedule(): void {
  timer = setTimeout(async () => {
    await pollOnce();
    if (running > 0) schedule();
  }, POLL_MS);
}

/** Starts polling while at least one cluster view is on screen; returns the stop function. */
export function startMonitor(): () => void {
  running++;
  if (running === 1) {
    void detectChaos();
    void pollOnce();
    schedule();
  }
  return () => {
    running--;
    if (running === 0) clearTimeout(timer);
  };
}

/** The serving node's `event: cluster` arrives at once; the poll that follows fills in the rest. */
onClusterEvent((e: ClusterEvent) => {
  observeCluster(
    { leaderId: e.leaderId, term: e.term },
    `reported by ${connection.get().servingNode ?? "this node"}`,
    new Set(),
  );
  monitor.set({ leaderId: known.leaderId, term: known.term });
  if (running > 0) void pollOnce();
});

// ---------------------------------------------------------------- chaos and administration

function baseOf(node: NodeStatus): string {
  return node.reach === "self" || sameOrigin(node.apiUrl) ? "" : node.apiUrl;
}

/** Whether this page can send requests to `node` (its own node, or CORS allows it). */
export function canReach(node: NodeStatus): boolean {
  return node.reach === "self" || node.reach === "direct" || sameOrigin(node.apiUrl);
}

async function chaos(what: string, run: () => Promise<unknown>, done: string): Promise<boolean> {
  try {
    await run();
    addTimeline("chaos", done);
    void pollOnce();
    return true;
  } catch (e) {
    const msg =
      e instanceof ApiError && e.status === 404 && e.code === "not_found"
        ? `${describeError(e)} (are the nodes running with --chaos, under taskraft dev?)`
        : describeError(e);
    addTimeline("info", `${what} failed: ${msg}`);
    throw new Error(`${what} failed: ${msg}`);
  }
}

/** Faults the user causes to the leader start the clock of "time without a leader". */
function faultingLeader(node: NodeStatus): void {
  if (node.id === known.leaderId && leaderLostAt === null) leaderLostAt = Date.now();
}

export function crashNode(node: NodeStatus): Promise<boolean> {
  faultingLeader(node);
  return chaos(
    `Crashing ${node.id}`,
    () => api.post("/api/v1/chaos/crash", undefined, { base: baseOf(node), retry: false }),
    `You crashed ${node.id} (kill -9).`,
  );
}

export function isolateNode(node: NodeStatus): Promise<boolean> {
  faultingLeader(node);
  return chaos(
    `Isolating ${node.id}`,
    () => api.post("/api/v1/chaos/isolate", undefined, { base: baseOf(node), retry: false }),
    `You cut ${node.id} off from the other nodes' Raft traffic.`,
  );
}

export function healNode(node: NodeStatus): Promise<boolean> {
  return chaos(
    `Healing ${node.id}`,
    () => api.post("/api/v1/chaos/heal", undefined, { base: baseOf(node), retry: false }),
    `You reconnected ${node.id} to the others.`,
  );
}

/** Any live node can ask taskraft dev's supervisor to restart another: the serving one first. */
export function restartNode(nodeId: string): Promise<boolean> {
  const s = monitor.get();
  const via = s.servingView ? "" : (s.nodes.find((n) => n.reach === "direct")?.apiUrl ?? "");
  return chaos(
    `Restarting ${nodeId}`,
    () => api.post("/api/v1/chaos/restart", { nodeId }, { base: via, retry: false }),
    `You asked taskraft dev to restart ${nodeId}.`,
  );
}

export function transferLeadership(to: string): Promise<boolean> {
  return chaos(
    `Transferring leadership to ${to}`,
    () => api.post("/api/v1/cluster/transfer-leadership", { to }, { retry: false, timeoutMs: 10_000 }),
    `You handed leadership to ${to}.`,
  );
}
