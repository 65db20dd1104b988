import type { User } from "../api/types";
import { createStore } from "../lib/store";

/**
 * The signed-in user and their bearer token.
 *
 * The token lives in sessionStorage, not localStorage: it is a bearer credential that works on
 * every node, and sessionStorage keeps it to this tab and drops it when the tab closes, so a
 * forgotten tab on a shared machine does not leave a live session on disk for weeks. Reloads
 * keep it. Any script on the page could read either storage, so the UI runs no third-party
 * code at all (no CDN, no external fonts). No cookie is used, so there is nothing for a
 * cross-site request to ride on (no CSRF).
 */

const TOKEN_KEY = "taskraft.token";
const USER_KEY = "taskraft.user";

export interface SessionState {
  token: string | null;
  user: User | null;
  /** Why the user was sent back to the login screen (a 401), shown there. */
  endedBecause: string | null;
}

function read(key: string): string | null {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function restoredUser(): User | null {
  const raw = read(USER_KEY);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as User;
  } catch {
    return null;
  }
}

export const session = createStore<SessionState>({
  token: read(TOKEN_KEY),
  user: restoredUser(),
  endedBecause: null,
});

export function signedIn(token: string, user: User): void {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(user));
  } catch {
    // storage full or disabled: the session lasts until reload
  }
  session.set({ token, user, endedBecause: null });
}

export function updateUser(user: User): void {
  try {
    sessionStorage.setItem(USER_KEY, JSON.stringify(user));
  } catch {
    // as above
  }
  session.set({ user });
}

/** Forgets the token; `because` is shown on the login screen. */
export function signedOut(because: string | null): void {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  } catch {
    // nothing stored
  }
  session.set({ token: null, user: null, endedBecause: because });
}
