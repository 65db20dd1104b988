import { type ConnectionState, connection } from "../app/notices";
import { useStore } from "../lib/store";

const select = (s: ConnectionState) => s;

function retryText(s: ConnectionState): string | null {
  const r = s.retrying[s.retrying.length - 1];
  if (!r) return null;
  const what = r.method === "GET" ? "Loading" : "Saving your change";
  const why =
    r.status === 503
      ? "the cluster has no leader right now (an election is under way)"
      : r.status === 504
        ? "the cluster has not confirmed the write yet (outcome unknown; retrying with the same key is safe)"
        : "this node does not answer (it may be restarting)";
  return `${what}: ${why}. Retrying (attempt ${r.attempt + 1})…`;
}

/** The live state of the connection, in the header; the serving node, its role, the leader, the term. */
export function ConnectionStatus() {
  const s = useStore(connection, select);
  const live = s.stream === "open";
  const c = s.cluster;
  const dot = s.retrying.length > 0 ? "warn" : live ? (c?.leaderId ? "ok" : "warn") : "bad";
  const text = live
    ? c
      ? c.leaderId
        ? `Live · ${s.servingNode ?? "this node"} ${c.role} · leader ${c.leaderId} · term ${c.term}`
        : `Live · no leader (term ${c.term}) — electing`
      : "Live"
    : s.stream === "stopped"
      ? "Offline"
      : "Reconnecting…";
  return (
    <output class="conn" aria-live="polite" title={s.streamDetail || undefined}>
      <span class={`dot dot-${dot}`} aria-hidden="true" />
      <span class="conn-text">{text}</span>
    </output>
  );
}

/** A bar over the content while something is being retried or the board may lag; it overlays, never pushes. */
export function ConnectionBanner() {
  const s = useStore(connection, select);
  const retry = retryText(s);
  const msg =
    retry ??
    (s.stream === "reconnecting"
      ? `Live updates paused (${s.streamDetail || "connection lost"}); reconnecting and resuming where they stopped…`
      : s.stale
        ? "Showing this node's own copy: no leader could confirm it is current. It refreshes once a leader is elected."
        : null);
  return (
    <div class={msg ? "banner banner-visible" : "banner"} role="status" aria-live="polite">
      {msg}
    </div>
  );
}
