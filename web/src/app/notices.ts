import type { RetryNotice } from "../api/client";
import type { StreamState } from "../api/event-stream";
import type { ClusterEvent } from "../api/types";
import { createStore } from "../lib/store";

/** Messages for the user: toasts (short-lived) and the live connection status (always shown). */

export interface Toast {
  id: number;
  kind: "error" | "info" | "success";
  text: string;
  action?: { label: string; run: () => void };
}

export interface ConnectionState {
  stream: StreamState;
  streamDetail: string;
  /** Requests being retried right now (503/504/network), by request id. */
  retrying: RetryNotice[];
  /** What the serving node last said about itself (event: cluster). */
  cluster: ClusterEvent | null;
  /** The id of the node that serves this page (X-Taskraft-Node / GET /cluster). */
  servingNode: string | null;
  /** The board shows this node's own copy because no linearizable read was possible. */
  stale: boolean;
}

export const notices = createStore<{ toasts: Toast[] }>({ toasts: [] });

export const connection = createStore<ConnectionState>({
  stream: "stopped",
  streamDetail: "",
  retrying: [],
  cluster: null,
  servingNode: null,
  stale: false,
});

/** At most this many toasts stay on screen; older ones give way. */
const MAX_TOASTS = 4;
let toastSeq = 0;

export function toast(kind: Toast["kind"], text: string, action?: Toast["action"]): number {
  const id = ++toastSeq;
  const item: Toast = action ? { id, kind, text, action } : { id, kind, text };
  notices.set((s) => ({ toasts: [...s.toasts, item].slice(-MAX_TOASTS) }));
  // Errors with an action wait for the user; the rest fade after a while.
  if (!(kind === "error" && action)) setTimeout(() => dismiss(id), kind === "error" ? 10_000 : 4_000);
  return id;
}

export function dismiss(id: number): void {
  notices.set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
}

export function retryStarted(n: RetryNotice): void {
  connection.set((s) => ({ retrying: [...s.retrying.filter((r) => r.id !== n.id), n] }));
}

export function retryEnded(id: number): void {
  connection.set((s) => ({ retrying: s.retrying.filter((r) => r.id !== id) }));
}
