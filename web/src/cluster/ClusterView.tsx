import { useEffect, useState } from "preact/hooks";
import { session } from "../app/session";
import { formatClock } from "../lib/format";
import { useStore } from "../lib/store";
import {
  canReach,
  crashNode,
  healNode,
  isolateNode,
  type MonitorState,
  monitor,
  type NodeStatus,
  restartNode,
  startMonitor,
  type TimelineEntry,
  transferLeadership,
} from "./monitor";

const selectAll = (s: MonitorState) => s;

/**
 * The cluster at a glance: every node's role, term and indexes, polled each second; who leads;
 * how far each follower has replicated; a timeline of elections and leader changes; and, when
 * the nodes run with --chaos, buttons to crash, restart, isolate and heal nodes and to hand
 * leadership over — so one can watch a new leader being elected while the board keeps working.
 */
export function ClusterView() {
  const s = useStore(monitor, selectAll);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => startMonitor(), []);

  const run = async (action: () => Promise<unknown>) => {
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const blocked = s.nodes.filter((n) => n.reach === "cors");
  const leader = s.nodes.find((n) => n.id === s.leaderId);
  const serving = s.nodes.find((n) => n.reach === "self");

  return (
    <div class="cluster-view">
      <section class="cluster-summary" aria-labelledby="cluster-h">
        <h1 id="cluster-h">Cluster</h1>
        <p class="cluster-headline" aria-live="polite">
          {s.leaderId ? (
            <>
              Leader <strong class="leader-name">★ {s.leaderId}</strong> · term <strong>{s.term}</strong>
            </>
          ) : s.lastPollAt === 0 ? (
            "Asking the nodes…"
          ) : (
            <>
              <strong>No leader</strong> — an election is under way (term {s.term})
            </>
          )}
          {" · "}this page is served by <strong>{s.servingNodeId ?? "?"}</strong>
          {serving?.view ? ` (${serving.view.role})` : ""}
        </p>
        {s.servingError && (
          <p class="notice notice-error" role="alert">
            {s.servingError} Open another node to keep going:{" "}
            {s.nodes
              .filter((n) => n.reach !== "self" && n.apiUrl)
              .map((n) => (
                <a key={n.id} href={n.apiUrl} class="node-link">
                  {n.id}
                </a>
              ))}
          </p>
        )}
        {blocked.length > 0 && (
          <p class="notice notice-info">
            Your browser does not let this page read {blocked.map((n) => n.id).join(", ")} directly: those
            nodes do not send CORS headers for this page's origin. They are shown as{" "}
            {s.servingNodeId ?? "this node"} reports them, and their chaos buttons work from their own pages
            (open them:{" "}
            {blocked.map((n) => (
              <a key={n.id} href={`${n.apiUrl}/cluster`} class="node-link">
                {n.id}
              </a>
            ))}
            ).
          </p>
        )}
        {error && (
          <p class="notice notice-error" role="alert">
            {error}
          </p>
        )}
      </section>

      <section aria-label="Nodes" class="node-grid">
        {s.nodes.map((n) => (
          <NodeCard key={n.id} node={n} state={s} leader={n.id === s.leaderId} run={run} />
        ))}
        {s.nodes.length === 0 && <p class="muted">Waiting for the first answer…</p>}
      </section>

      <div class="cluster-lower">
        <Replication state={s} leader={leader} />
        <Transfer state={s} run={run} />
        <Timeline entries={s.timeline} />
      </div>
    </div>
  );
}

function roleText(n: NodeStatus, leader: boolean): string {
  if (n.reach === "down") return "down";
  if (n.view) return n.view.role;
  if (leader) return "leader (reported)";
  return n.reportedReachable === false ? "unreachable" : "follower (reported)";
}

function reachText(n: NodeStatus, servingId: string | null): string {
  switch (n.reach) {
    case "self":
      return "serves this page";
    case "direct":
      return "answers (polled directly)";
    case "cors":
      return `answers, but CORS blocks reading it here; ${servingId ?? "this node"} says: ${n.reportedReachable ? "reachable" : "unreachable"}`;
    case "down":
      return "does not answer";
    default:
      return n.reportedReachable === null ? "unknown" : n.reportedReachable ? "reachable" : "unreachable";
  }
}

function NodeCard(props: {
  node: NodeStatus;
  state: MonitorState;
  leader: boolean;
  run: (a: () => Promise<unknown>) => void;
}) {
  const { node: n, state: s, leader } = props;
  const v = n.view;
  const role = roleText(n, leader);
  const reachable = canReach(n) && n.reach !== "down";
  const chaos = s.chaosEnabled !== false;
  const self = n.reach === "self";
  const [confirmSelf, setConfirmSelf] = useState(false);
  const classes = ["node-card", `node-${n.reach}`];
  if (leader) classes.push("node-leader");
  return (
    <article class={classes.join(" ")} aria-labelledby={`node-${n.id}-h`} data-node-id={n.id}>
      <header class="node-header">
        <h2 id={`node-${n.id}-h`}>{n.id}</h2>
        <span class={`role role-${role.split(" ")[0]}`}>
          {leader && n.reach !== "down" ? "★ " : ""}
          {role}
        </span>
        {self && <span class="tag">this page</span>}
        {!n.voter && <span class="tag">learner</span>}
      </header>
      <dl class="node-stats">
        <div>
          <dt>Term</dt>
          <dd>{v ? v.term : "—"}</dd>
        </div>
        <div>
          <dt>Commit</dt>
          <dd>{v ? v.commitIndex : "—"}</dd>
        </div>
        <div>
          <dt>Applied</dt>
          <dd>{v ? v.appliedIndex : "—"}</dd>
        </div>
        <div>
          <dt>Last log</dt>
          <dd>{v ? v.lastLogIndex : "—"}</dd>
        </div>
        <div>
          <dt>Snapshot</dt>
          <dd>{v ? v.snapshotIndex : "—"}</dd>
        </div>
        <div>
          <dt>Database</dt>
          <dd>{v ? (v.database.connected ? "connected" : "DOWN") : "—"}</dd>
        </div>
      </dl>
      <p class="node-reach">
        <span
          class={`dot dot-${n.reach === "down" ? "bad" : n.reach === "cors" ? "warn" : "ok"}`}
          aria-hidden="true"
        />
        {reachText(n, s.servingNodeId)}
        {n.lastContactMs !== null && !self && ` · leader heard from it ${n.lastContactMs} ms ago`}
      </p>
      <p class="node-url muted">
        <a href={n.apiUrl}>{n.apiUrl}</a>
      </p>
      {chaos && (
        <div class="chaos">
          <ChaosButton
            label="Crash"
            danger
            disabled={!reachable}
            why={
              reachable
                ? "Kills the process at once, like kill -9: if it leads, the others elect a new leader within about a second and lose no acknowledged write."
                : n.reach === "down"
                  ? "It is down already; Restart brings it back."
                  : "Open this node's own page to crash it (this page cannot reach it)."
            }
            onClick={() => (self ? setConfirmSelf(true) : props.run(() => crashNode(n)))}
          />
          <ChaosButton
            label="Restart"
            disabled={n.reach !== "down"}
            why="Starts a crashed node again: it recovers its log from disk and catches up from the leader."
            onClick={() => props.run(() => restartNode(n.id))}
          />
          <ChaosButton
            label="Isolate"
            disabled={!reachable}
            why="Drops its Raft traffic: an isolated leader steps down, the majority elects another, and pre-vote keeps the isolated node from disrupting them."
            onClick={() => props.run(() => isolateNode(n))}
          />
          <ChaosButton
            label="Heal"
            disabled={!reachable}
            why="Reconnects an isolated node: it learns the current term and leader and catches up on what it missed."
            onClick={() => props.run(() => healNode(n))}
          />
        </div>
      )}
      {confirmSelf && (
        <div class="confirm-inline" role="alertdialog" aria-labelledby={`crash-self-${n.id}`}>
          <p id={`crash-self-${n.id}`}>
            {n.id} serves this page: once it crashes this page cannot reach the cluster until {n.id} restarts
            (restart it from another node's page). Crash it?
          </p>
          <button
            type="button"
            class="button button-danger"
            onClick={() => {
              setConfirmSelf(false);
              props.run(() => crashNode(n));
            }}
          >
            Crash {n.id}
          </button>{" "}
          <button type="button" class="button" onClick={() => setConfirmSelf(false)}>
            Cancel
          </button>
        </div>
      )}
    </article>
  );
}

function ChaosButton(props: {
  label: string;
  why: string;
  disabled: boolean;
  danger?: boolean;
  onClick: () => void;
}) {
  return (
    <div class="chaos-action">
      <button
        type="button"
        class={props.danger ? "button button-small button-danger" : "button button-small"}
        disabled={props.disabled}
        onClick={props.onClick}
      >
        {props.label}
      </button>
      <p class="chaos-why">{props.why}</p>
    </div>
  );
}

function Replication(props: { state: MonitorState; leader: NodeStatus | undefined }) {
  const lv = props.state.leaderView;
  const followers = props.state.nodes.filter((n) => n.id !== props.state.leaderId);
  return (
    <section class="panel replication" aria-labelledby="replication-h">
      <h2 id="replication-h">Replication</h2>
      {!lv ? (
        <p class="muted">
          {props.state.leaderId
            ? `Only the leader knows each follower's match index, and this page cannot read ${props.state.leaderId} directly (open its page to see the bars).`
            : "No leader, so nothing is being replicated right now."}
        </p>
      ) : (
        <>
          <p class="muted">
            Match index of each follower against the leader's last log index ({lv.lastLogIndex}); commit index{" "}
            {lv.commitIndex}.
          </p>
          <ul class="progress-list">
            {followers.map((n) => {
              const match = n.matchIndex ?? 0;
              const pct = lv.lastLogIndex > 0 ? Math.min(100, (match / lv.lastLogIndex) * 100) : 100;
              const lag = Math.max(0, lv.lastLogIndex - match);
              return (
                <li key={n.id} class="progress-row">
                  <span class="progress-label">{n.id}</span>
                  <progress
                    max={Math.max(1, lv.lastLogIndex)}
                    value={match}
                    aria-label={`${n.id} replication`}
                  >
                    {pct.toFixed(0)}%
                  </progress>
                  <span class="progress-text">
                    {match} / {lv.lastLogIndex} {lag > 0 ? `(${lag} behind)` : "(caught up)"}
                  </span>
                </li>
              );
            })}
          </ul>
        </>
      )}
    </section>
  );
}

function Transfer(props: { state: MonitorState; run: (a: () => Promise<unknown>) => void }) {
  const isAdmin = useStore(session, (s) => s.user?.isAdmin ?? false);
  const voters = props.state.nodes.filter(
    (n) => n.voter && n.id !== props.state.leaderId && n.reach !== "down",
  );
  const [to, setTo] = useState("");
  const target = voters.some((v) => v.id === to) ? to : (voters[0]?.id ?? "");
  return (
    <section class="panel" aria-labelledby="transfer-h">
      <h2 id="transfer-h">Transfer leadership</h2>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (target) props.run(() => transferLeadership(target));
        }}
      >
        <label class="visually-hidden" for="transfer-to">
          New leader
        </label>
        <select id="transfer-to" value={target} onChange={(e) => setTo(e.currentTarget.value)}>
          {voters.map((v) => (
            <option key={v.id} value={v.id}>
              {v.id}
            </option>
          ))}
        </select>
        <button type="submit" class="button" disabled={!target || !props.state.leaderId || !isAdmin}>
          Transfer
        </button>
      </form>
      <p class="chaos-why">
        Hands leadership to the chosen voter at once (TimeoutNow), without waiting for an election timeout: a
        clean leader change the board rides through.
        {!isAdmin && " Only an administrator (the first user who signed up) may do this."}
      </p>
    </section>
  );
}

const KIND_ICON: Record<TimelineEntry["kind"], string> = {
  election: "⚑",
  leader: "★",
  role: "↺",
  reach: "⚡",
  chaos: "✖",
  info: "ℹ",
};

function Timeline(props: { entries: TimelineEntry[] }) {
  return (
    <section class="panel timeline" aria-labelledby="timeline-h">
      <h2 id="timeline-h">Timeline</h2>
      {props.entries.length === 0 ? (
        <p class="muted">Elections, leader changes and node failures will appear here as they happen.</p>
      ) : (
        <ol class="timeline-list" aria-live="polite">
          {props.entries.map((e) => (
            <li key={e.id} class={`timeline-entry timeline-${e.kind}`}>
              <time class="muted">{formatClock(e.at)}</time>
              <span aria-hidden="true" class="timeline-icon">
                {KIND_ICON[e.kind]}
              </span>
              <span>{e.text}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
