import { useEffect, useState } from "preact/hooks";
import { type DataState, data, openProject } from "../app/data";
import { navigate, patchRoute, router } from "../app/router";
import { session } from "../app/session";
import { ClusterView } from "../cluster/ClusterView";
import type { Route } from "../lib/route";
import { useStore } from "../lib/store";
import { toggleTheme } from "../lib/theme";
import { AuthScreen } from "./AuthScreen";
import { Board } from "./Board";
import { ConflictDialog } from "./ConflictDialog";
import { ConnectionBanner } from "./ConnectionStatus";
import { Header } from "./Header";
import { HelpDialog } from "./HelpDialog";
import { ListView } from "./ListView";
import { Sidebar } from "./Sidebar";
import { TaskDetail } from "./TaskDetail";
import { Toasts } from "./Toasts";

const selectRoute = (s: { route: Route }) => s.route;
const selectToken = (s: { token: string | null }) => s.token;
const selectProjects = (s: DataState) => s.projects;
const selectLoaded = (s: DataState) => s.projectsLoaded;

function typingIn(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

function focusSoon(selector: string): void {
  setTimeout(() => document.querySelector<HTMLElement>(selector)?.focus(), 50);
}

export function App() {
  const token = useStore(session, selectToken);
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      {token ? <Workspace /> : <AuthScreen />}
      <Toasts />
    </>
  );
}

function Workspace() {
  const route = useStore(router, selectRoute);
  const projects = useStore(data, selectProjects);
  const projectsLoaded = useStore(data, selectLoaded);
  const [help, setHelp] = useState(false);
  const [sidebarOpen, setSidebarOpen] = useState(false);

  // The route names the project; without one (or an unknown one), the first project it is.
  useEffect(() => {
    if (route.view === "cluster" || !projectsLoaded) return;
    const wanted = route.projectId;
    if (wanted && (projects.some((p) => p.id === wanted) || projects.length === 0)) {
      void openProject(wanted);
      return;
    }
    const first = projects[0];
    if (first)
      navigate(
        { ...route, view: route.view === "list" ? "list" : "board", projectId: first.id },
        { replace: true },
      );
  }, [route.projectId, route.view, projectsLoaded, projects]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
      if (document.querySelector("dialog[open]")) return;
      if (e.key === "Escape" && document.querySelector(".sidebar-open")) {
        setSidebarOpen(false);
        return;
      }
      if (e.key === "Escape" && router.get().route.taskId) {
        patchRoute({ taskId: undefined });
        return;
      }
      if (typingIn(e.target)) return;
      const r = router.get().route;
      const projectId = r.projectId ?? data.get().projectId ?? undefined;
      switch (e.key) {
        case "?":
          setHelp(true);
          break;
        case "n":
          if (r.view !== "board" && r.view !== "home") navigate({ view: "board", projectId, filters: {} });
          focusSoon("#quick-add-title");
          break;
        case "/":
          if (r.view !== "list") navigate({ view: "list", projectId, filters: {} });
          focusSoon("#filter-q");
          break;
        case "b":
          navigate({ view: "board", projectId, filters: {} });
          break;
        case "l":
          navigate({ view: "list", projectId, filters: r.view === "list" ? r.filters : {} });
          break;
        case "c":
          navigate({ view: "cluster", filters: {} });
          break;
        case "t":
          toggleTheme();
          break;
        default:
          return;
      }
      e.preventDefault();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  const showDetail = route.taskId && route.view !== "cluster";
  const project = projects.find((p) => p.id === route.projectId);
  return (
    <div class={showDetail ? "layout layout-detail" : "layout"}>
      <Header
        sidebarOpen={sidebarOpen}
        onToggleSidebar={() => setSidebarOpen(!sidebarOpen)}
        onHelp={() => setHelp(true)}
      />
      <ConnectionBanner />
      <Sidebar open={sidebarOpen} onNavigate={() => setSidebarOpen(false)} />
      {sidebarOpen && (
        <button
          type="button"
          class="scrim only-narrow"
          aria-label="Close the projects menu"
          onClick={() => setSidebarOpen(false)}
        />
      )}
      <main id="main" class="content" tabIndex={-1}>
        {route.view === "cluster" ? (
          <ClusterView />
        ) : (
          <>
            <h1 class="project-title">{project?.name ?? (projectsLoaded ? "No project" : "Loading…")}</h1>
            {route.view === "list" ? <ListView /> : <Board />}
          </>
        )}
      </main>
      {showDetail && route.taskId && <TaskDetail taskId={route.taskId} />}
      <HelpDialog open={help} onClose={() => setHelp(false)} />
      <ConflictDialog />
    </div>
  );
}
