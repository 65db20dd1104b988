import { newIdempotencyKey } from "../api/client";
import { api } from "../app/api";
import { data } from "../app/data";
import { router } from "../app/router";
import { session, signedOut } from "../app/session";
import type { Route } from "../lib/route";
import { useStore } from "../lib/store";
import { theme, toggleTheme } from "../lib/theme";
import { ConnectionStatus } from "./ConnectionStatus";
import { Link } from "./Link";
import { Menu } from "./Menu";

const selectRoute = (s: { route: Route }) => s.route;
const selectProjectId = (s: { projectId: string | null }) => s.projectId;

export async function logOut(): Promise<void> {
  try {
    // Revokes the token on every node; a failure still signs this tab out.
    await api.post("/api/v1/auth/logout", undefined, { key: newIdempotencyKey() });
  } catch {
    // the token is forgotten below either way
  }
  signedOut(null);
}

export function Header(props: { sidebarOpen: boolean; onToggleSidebar: () => void; onHelp: () => void }) {
  const route = useStore(router, selectRoute);
  const projectId = useStore(data, selectProjectId) ?? route.projectId;
  const user = useStore(session, (s) => s.user);
  const dark = useStore(theme, (s) => s.effective === "dark");
  const view = route.view === "home" ? "board" : route.view;
  const projectView = (v: "board" | "list"): Route =>
    projectId
      ? { view: v, projectId, filters: v === "list" ? route.filters : {} }
      : { view: "home", filters: {} };

  return (
    <header class="topbar">
      <button
        type="button"
        class="icon-button only-narrow"
        aria-label="Projects"
        aria-expanded={props.sidebarOpen}
        aria-controls="sidebar"
        onClick={props.onToggleSidebar}
      >
        ☰
      </button>
      <Link to={{ view: "home", filters: {} }} class="brand" label="taskraft home">
        <span aria-hidden="true" class="brand-mark">
          ◆
        </span>
        <span class="brand-name">taskraft</span>
      </Link>
      <nav aria-label="Views" class="view-tabs">
        <Link to={projectView("board")} class="view-tab" current={view === "board"}>
          Board
        </Link>
        <Link to={projectView("list")} class="view-tab" current={view === "list"}>
          List
        </Link>
        <Link to={{ view: "cluster", filters: {} }} class="view-tab" current={view === "cluster"}>
          Cluster
        </Link>
      </nav>
      <ConnectionStatus />
      <div class="topbar-actions">
        <button
          type="button"
          class="icon-button"
          aria-label={dark ? "Switch to light theme" : "Switch to dark theme"}
          title="Toggle theme (t)"
          onClick={toggleTheme}
        >
          {dark ? "☀" : "☾"}
        </button>
        <button
          type="button"
          class="icon-button"
          aria-label="Keyboard shortcuts"
          title="Shortcuts (?)"
          onClick={props.onHelp}
        >
          ?
        </button>
        <Menu
          label={`Account: ${user?.displayName ?? user?.username ?? ""}`}
          buttonClass="button button-small user-button"
          buttonText={user?.username ?? "account"}
          items={[{ label: "Log out", onSelect: () => void logOut() }]}
        />
      </div>
    </header>
  );
}
