import { useState } from "preact/hooks";
import type { Project } from "../api/types";
import { createProject, type DataState, data } from "../app/data";
import { navigate, router } from "../app/router";
import type { Route } from "../lib/route";
import { useStore } from "../lib/store";
import { Link } from "./Link";
import { ProjectSettings } from "./ProjectSettings";

const selectProjects = (s: DataState) => s.projects;
const selectLoaded = (s: DataState) => s.projectsLoaded;
const selectRoute = (s: { route: Route }) => s.route;

/** The projects: switch, create, and open a project's settings (rename, members, labels, delete). */
export function Sidebar(props: { open: boolean; onNavigate: () => void }) {
  const projects = useStore(data, selectProjects);
  const loaded = useStore(data, selectLoaded);
  const route = useStore(router, selectRoute);
  const currentId = useStore(data, (s) => s.projectId);
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [settingsFor, setSettingsFor] = useState<Project | null>(null);
  const view = route.view === "list" ? "list" : "board";

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!name.trim()) return;
    setBusy(true);
    const p = await createProject(name);
    setBusy(false);
    if (p) {
      setName("");
      navigate({ view: "board", projectId: p.id, filters: {} });
      props.onNavigate();
    }
  };

  return (
    <nav id="sidebar" class={props.open ? "sidebar sidebar-open" : "sidebar"} aria-label="Projects">
      <h2 class="sidebar-title">Projects</h2>
      {!loaded && <p class="muted sidebar-note">Loading…</p>}
      <ul class="project-list">
        {projects.map((p) => (
          <li key={p.id} class="project-item">
            <Link
              to={{ view, projectId: p.id, filters: {} }}
              class="project-link"
              current={p.id === currentId && route.view !== "cluster"}
              onNavigate={props.onNavigate}
            >
              {p.name}
            </Link>
            <button
              type="button"
              class="icon-button project-settings"
              aria-label={`Settings of ${p.name}`}
              title="Rename, members, labels, delete"
              onClick={() => setSettingsFor(p)}
            >
              ⚙
            </button>
          </li>
        ))}
      </ul>
      <form class="new-project" onSubmit={submit}>
        <label class="visually-hidden" for="new-project-name">
          New project name
        </label>
        <input
          id="new-project-name"
          placeholder="New project…"
          maxLength={100}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <button type="submit" class="button button-small" disabled={busy || !name.trim()}>
          Add
        </button>
      </form>
      {settingsFor && (
        <ProjectSettings
          project={projects.find((p) => p.id === settingsFor.id) ?? settingsFor}
          onClose={() => setSettingsFor(null)}
        />
      )}
    </nav>
  );
}
