import { LiveEvents } from "../api/event-stream";
import { handleEvent, reloadEverything } from "./data";
import { connection, toast } from "./notices";
import { session, signedOut } from "./session";

/** The app's one event stream; started when a user is signed in, stopped when they leave. */
let wasOpen = false;

export const live = new LiveEvents({
  token: () => session.get().token,
  onMessage: (m) => handleEvent(m, (id) => (live.lastEventId = id)),
  onState: (state, detail) => {
    connection.set({ stream: state, streamDetail: detail });
    if (state === "open" && wasOpen) {
      // Resumed with Last-Event-ID: the server replays what was missed, or says `reset`.
      toast("info", "Live updates reconnected.");
    }
    if (state === "open") wasOpen = true;
  },
  onUnauthorized: () => {
    if (session.get().token !== null) {
      signedOut(
        "Your session has ended (you logged out elsewhere, or it expired). Log in again to continue.",
      );
    }
  },
});

/** Keeps the stream in step with the session. */
export function bindLiveToSession(): void {
  let current: string | null = null;
  const sync = () => {
    const token = session.get().token;
    if (token === current) return;
    current = token;
    if (token) {
      wasOpen = false;
      live.start();
      void reloadEverything();
    } else {
      live.stop();
    }
  };
  session.subscribe(sync);
  sync();
}
