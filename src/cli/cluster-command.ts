/**
 * `taskraft cluster status|add|remove|transfer|snapshot`: cluster administration through the API
 * (API.md §2 Cluster). `status` shows what the web UI's cluster view shows: it asks every
 * member for its own view (GET /api/v1/cluster on its apiUrl) and takes the per-follower facts
 * (match index, last contact, reachability) from the leader's view, the only one that has them.
 */
import { EXIT, EXIT_CODES_HELP } from "./client/exit-codes.js";
import type { ApiClient } from "./client/http.js";
import { bytes, note, print, printJson, table } from "./client/output.js";
import { checkCount } from "./client/resolve.js";
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  openSession,
  rememberMembers,
  type Session,
  usageError,
} from "./client/session.js";
import { CliError, type Command, parseFlags } from "./command.js";

export interface ClusterMember {
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
  members: ClusterMember[];
  database: { connected: boolean; name: string };
}

/** One row of `cluster status --json`. */
export interface NodeStatus {
  id: string;
  apiUrl: string;
  raftAddress: string;
  voter: boolean;
  leader: boolean;
  /** The leader's view: its peer link to this node is up (null: no leader view, or the leader itself). */
  reachable: boolean | null;
  matchIndex: number | null;
  lastContactMs: number | null;
  /** Whether this CLI could ask the node itself. */
  api: { reachable: boolean; error: string | null };
  /** The node's own view, when it answered. */
  view: ClusterView | null;
}

const USAGE = [
  "usage: taskraft cluster <action> [options]",
  "",
  "  status                                   every member's role, term, indexes, reachability",
  "  add ID --raft HOST:PORT --api URL [--wait] [--wait-timeout S]",
  "                                           join a started node (learner, then voter once caught up)",
  "  remove ID [--wait] [--wait-timeout S]    take a node out of the configuration",
  "  transfer [ID]                            hand leadership to ID (default: the most caught-up voter)",
  "  snapshot [--node ID]                     snapshot and compact the log of one node",
].join("\n");

const HELP = [
  USAGE,
  "",
  "Changes need an admin token. Start a new node first (taskraft node --peers <current members and",
  "itself> --api HOST:PORT --raft HOST:PORT …), then `cluster add` it. One membership change runs at",
  "a time; while another is in flight the API answers 503 and the CLI retries. Cluster changes",
  "have no Idempotency-Key in the API, so they are retried only when the answer proves nothing",
  "happened (503, connection refused).",
  "",
  COMMON_HELP,
  "",
  EXIT_CODES_HELP,
].join("\n");

const OPTIONS = {
  ...COMMON_OPTIONS,
  raft: { type: "string" },
  api: { type: "string" },
  wait: { type: "boolean", default: false },
  "wait-timeout": { type: "string" },
  node: { type: "string" },
  to: { type: "string" },
} as const;

/** How long one member may take to answer `status`: a down node must not stall the table. */
const PROBE_TIMEOUT_MS = 2_000;
/** Poll period of --wait. */
const WAIT_POLL_MS = 250;

const ACTIONS = ["status", "add", "remove", "rm", "transfer", "transfer-leadership", "snapshot"];

async function view(client: ApiClient): Promise<ClusterView> {
  return (await client.get<ClusterView>("/api/v1/cluster")).body;
}

/** Every member's own view, asked directly, once, with a short timeout. */
async function probeAll(client: ApiClient, members: ClusterMember[]) {
  return Promise.all(
    members.map(async (m) => {
      try {
        const r = await client.get<ClusterView>("/api/v1/cluster", {
          at: m.apiUrl,
          attempts: 1,
          timeoutMs: PROBE_TIMEOUT_MS,
        });
        return { member: m, view: r.body, error: null };
      } catch (e) {
        return { member: m, view: null, error: (e as Error).message };
      }
    }),
  );
}

/** The leader as the members see it: the leader's own view with the highest term. */
function leaderView(views: (ClusterView | null)[]): ClusterView | undefined {
  let best: ClusterView | undefined;
  for (const v of views) if (v && v.role === "leader" && (!best || v.term > best.term)) best = v;
  return best;
}

export async function clusterStatus(client: ApiClient): Promise<{
  via: ClusterView;
  leaderId: string | null;
  term: number;
  nodes: NodeStatus[];
}> {
  const via = await view(client);
  let probes = await probeAll(client, via.members);
  // A leader knows the configuration best (the node asked first may lag behind a change).
  const leader = leaderView(probes.map((p) => p.view));
  if (leader?.members.some((m) => !via.members.some((x) => x.id === m.id))) {
    probes = await probeAll(client, leader.members);
  }
  const members = leader?.members ?? via.members;
  const nodes: NodeStatus[] = members.map((m) => {
    const probe = probes.find((p) => p.member.id === m.id);
    const isLeader = leader?.nodeId === m.id;
    return {
      id: m.id,
      apiUrl: m.apiUrl,
      raftAddress: m.raftAddress,
      voter: m.voter,
      leader: isLeader,
      reachable: leader && !isLeader ? m.reachable : null,
      matchIndex: leader ? (m.matchIndex ?? null) : null,
      lastContactMs: leader && !isLeader ? (m.lastContactMs ?? null) : null,
      api: { reachable: probe?.view != null, error: probe?.error ?? (probe ? null : "not asked") },
      view: probe?.view ?? null,
    };
  });
  const terms = nodes.map((n) => n.view?.term ?? 0);
  return {
    via,
    leaderId: leader?.nodeId ?? via.leaderId,
    term: leader?.term ?? Math.max(via.term, ...terms),
    nodes,
  };
}

function num(n: number | null | undefined): string {
  return n === null || n === undefined ? "-" : String(n);
}

function printStatus(s: Awaited<ReturnType<typeof clusterStatus>>): void {
  const voters = s.nodes.filter((n) => n.voter).length;
  const learners = s.nodes.length - voters;
  const leader = s.nodes.find((n) => n.leader);
  print(
    `${leader ? `leader ${leader.id}` : "no leader known"}, term ${s.term}; ${voters} voter${voters === 1 ? "" : "s"}` +
      `${learners > 0 ? `, ${learners} learner${learners === 1 ? "" : "s"}` : ""}; asked ${s.via.nodeId} first`,
  );
  print("");
  print(
    table(
      [
        "",
        "NODE",
        "ROLE",
        "VOTER",
        "TERM",
        "COMMIT",
        "APPLIED",
        "LAST",
        "SNAPSHOT",
        "MATCH",
        "CONTACT",
        "REACHABLE",
        "DB",
        "API",
      ],
      s.nodes.map((n) => {
        const v = n.view;
        return [
          n.leader ? "*" : "",
          n.id,
          v ? v.role : "down",
          n.voter ? "voter" : "learner",
          num(v?.term),
          num(v?.commitIndex),
          num(v?.appliedIndex),
          num(v?.lastLogIndex),
          num(v?.snapshotIndex),
          num(n.matchIndex),
          n.lastContactMs === null ? "-" : `${n.lastContactMs}ms`,
          n.leader ? "leader" : n.reachable === null ? "-" : n.reachable ? "yes" : "no",
          v ? (v.database.connected ? "ok" : "down") : "-",
          v ? n.apiUrl : `${n.apiUrl} (${n.api.error ?? "no answer"})`,
        ];
      }),
    ),
  );
  print("");
  print("* leader. MATCH, CONTACT and REACHABLE are the leader's view of each member.");
}

/** Polls GET /cluster on the members (except `skip`) until `done` holds for a view; bounded. */
async function waitFor(
  s: Session,
  what: string,
  timeoutMs: number,
  skip: string | undefined,
  done: (v: ClusterView) => boolean,
): Promise<ClusterView> {
  const deadline = Date.now() + timeoutMs;
  let urls = [...s.client.urls];
  while (Date.now() < deadline) {
    for (const url of urls) {
      try {
        const r = await s.client.get<ClusterView>("/api/v1/cluster", {
          at: url,
          attempts: 1,
          timeoutMs: 2000,
        });
        if (r.body.nodeId === skip) continue;
        urls = [...new Set([...urls, ...r.body.members.map((m) => m.apiUrl)])];
        // Only a node that knows the leader has a current configuration to judge by.
        if (r.body.leaderId !== null && done(r.body)) return r.body;
        break;
      } catch {
        // this node is down: ask the next one
      }
    }
    await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
  }
  throw new CliError(`timed out waiting for ${what}`, EXIT.unavailable);
}

function waitTimeout(raw: string | undefined): number {
  return (raw === undefined ? 60 : checkCount("wait-timeout", raw, 1, 3600)) * 1000;
}

type Values = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  return parseFlags(argv, OPTIONS, USAGE, true);
}

function exact(positionals: string[], max: number): void {
  if (positionals.length > max) throw usageError(`unexpected argument '${positionals[max]}'`, USAGE);
}

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

function nodeId(raw: string | undefined, what = "node ID"): string {
  if (raw === undefined) throw usageError(`missing ${what}`, USAGE);
  if (!NODE_ID.test(raw)) throw usageError(`'${raw}' is not a node id (letters, digits, _ and -)`, USAGE);
  return raw;
}

async function act(action: string, s: Session, values: Values, positionals: string[]): Promise<number> {
  switch (action) {
    case "status": {
      exact(positionals, 0);
      const st = await clusterStatus(s.client);
      rememberMembers(
        s,
        st.nodes.map((n) => n.apiUrl),
      );
      if (s.json) {
        printJson({ leaderId: st.leaderId, term: st.term, via: st.via.nodeId, nodes: st.nodes });
      } else printStatus(st);
      return 0;
    }
    case "add": {
      exact(positionals, 1);
      const id = nodeId(positionals[0]);
      if (values.raft === undefined || values.api === undefined) {
        throw usageError("cluster add needs --raft HOST:PORT and --api URL of the started node", USAGE);
      }
      const r = await s.client.post<{ member: ClusterMember }>("/api/v1/cluster/members", {
        body: { id, raftAddress: values.raft, apiUrl: values.api, voter: true },
        write: "once",
      });
      let member = r.body.member;
      if (values.wait) {
        if (!s.json) note(`${id} joined as a learner; waiting until it is a voter …`);
        const v = await waitFor(
          s,
          `${id} to become a voter`,
          waitTimeout(values["wait-timeout"]),
          undefined,
          (v) => v.members.some((m) => m.id === id && m.voter),
        );
        member = v.members.find((m) => m.id === id) ?? member;
      }
      if (s.json) printJson(member);
      else
        print(
          member.voter
            ? `${id} is a voter of the cluster`
            : `${id} joined as a learner; the leader promotes it to voter once it has caught up`,
        );
      return 0;
    }
    case "remove":
    case "rm": {
      exact(positionals, 1);
      const id = nodeId(positionals[0]);
      await s.client.delete(`/api/v1/cluster/members/${encodeURIComponent(id)}`, { write: "once" });
      if (values.wait) {
        await waitFor(s, `${id} to leave the configuration`, waitTimeout(values["wait-timeout"]), id, (v) =>
          v.members.every((m) => m.id !== id),
        );
      }
      if (s.json) printJson({ id, removed: true });
      else print(`removed ${id} from the cluster; stop its process now`);
      return 0;
    }
    case "transfer":
    case "transfer-leadership": {
      exact(positionals, 1);
      if (positionals[0] !== undefined && values.to !== undefined)
        throw usageError("give the target once", USAGE);
      const raw = positionals[0] ?? values.to;
      const to = raw === undefined ? undefined : nodeId(raw, "target node ID");
      const r = await s.client.post<{ leaderId: string; term: number }>(
        "/api/v1/cluster/transfer-leadership",
        {
          body: to === undefined ? {} : { to },
          write: "once",
        },
      );
      if (s.json) printJson(r.body);
      else print(`leader is now ${r.body.leaderId} (term ${r.body.term})`);
      return 0;
    }
    case "snapshot": {
      exact(positionals, 0);
      let at: string | undefined;
      if (values.node !== undefined) {
        const id = nodeId(values.node);
        const m = (await view(s.client)).members.find((x) => x.id === id);
        if (!m) throw new CliError(`node ${id} is not a member of the cluster`, EXIT.refused);
        at = m.apiUrl;
      }
      const r = await s.client.post<{ index: number; term: number; size: number }>(
        "/api/v1/cluster/snapshot",
        {
          write: "once",
          ...(at !== undefined ? { at } : {}),
        },
      );
      if (s.json) printJson({ node: r.node ?? null, ...r.body });
      else
        print(
          `${r.node ?? "?"}: snapshot at index ${r.body.index} (term ${r.body.term}, ${bytes(r.body.size)})`,
        );
      return 0;
    }
    default:
      throw usageError(`unknown action '${action}'`, USAGE);
  }
}

export const clusterCommand: Command = {
  name: "cluster",
  summary: "cluster status and membership, leadership transfer, snapshots (taskraft cluster --help)",
  async run(argv) {
    const [action, ...rest] = argv;
    if (action === undefined) throw usageError("missing action", USAGE);
    if (action === "help" || action === "--help" || action === "-h") {
      print(HELP);
      return 0;
    }
    if (!ACTIONS.includes(action)) throw usageError(`unknown action '${action}'`, USAGE);
    const { values, positionals } = parse(rest);
    if (values.help) {
      print(HELP);
      return 0;
    }
    return act(action, openSession(values, { needToken: true }), values, positionals);
  },
};
