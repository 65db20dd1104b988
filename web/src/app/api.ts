import { ApiClient } from "../api/client";
import { connection, retryEnded, retryStarted, toast } from "./notices";
import { session, signedOut } from "./session";

/** The one API client of the app, wired to the session and the connection status. */
export const api = new ApiClient({
  token: () => session.get().token,
  onUnauthorized: () => {
    if (session.get().token === null) return;
    signedOut("Your session has ended (you logged out elsewhere, or it expired). Log in again to continue.");
  },
  onRetry: (n) => retryStarted(n),
  onServedBy: (nodeId) => {
    if (connection.get().servingNode !== nodeId) connection.set({ servingNode: nodeId });
  },
  onSettled: (id, ok) => {
    const was = connection.get().retrying.find((r) => r.id === id);
    retryEnded(id);
    if (ok && was && was.method !== "GET")
      toast("success", "The cluster is answering again; your change was saved once.");
  },
});
