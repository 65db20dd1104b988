import { useEffect, useState } from "preact/hooks";
import type { Label, Member, MemberRole, Project } from "../api/types";
import {
  addMember,
  createLabel,
  type DataState,
  data,
  deleteLabel,
  deleteProject,
  loadLabels,
  loadMembers,
  openProject,
  removeMember,
  renameProject,
} from "../app/data";
import { navigate, router } from "../app/router";
import { session } from "../app/session";
import { textOn } from "../lib/format";
import { useStore } from "../lib/store";
import { ConfirmDialog } from "./ConfirmDialog";
import { Dialog } from "./Dialog";

const PRESET_COLORS = [
  "#d73a49",
  "#e36209",
  "#b08800",
  "#22863a",
  "#0366d6",
  "#6f42c1",
  "#ea4aaa",
  "#586069",
];
const selectMembers = (s: DataState) => s.members;
const selectLabels = (s: DataState) => s.labels;

export function LabelChip(props: { label: Label }) {
  return (
    <span class="label-chip" style={{ background: props.label.color, color: textOn(props.label.color) }}>
      {props.label.name}
    </span>
  );
}

/** Rename, members with roles, labels with colors, delete (with confirmation). */
export function ProjectSettings(props: { project: Project; onClose: () => void }) {
  const { project } = props;
  const members = useStore(data, selectMembers);
  const labels = useStore(data, selectLabels);
  const me = useStore(session, (s) => s.user);
  const [name, setName] = useState(project.name);
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<MemberRole>("member");
  const [labelName, setLabelName] = useState("");
  const [labelColor, setLabelColor] = useState(PRESET_COLORS[4]!);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [removing, setRemoving] = useState<Member | null>(null);

  // Settings are for one project at a time: make it the current one so members and labels load.
  useEffect(() => {
    if (data.get().projectId !== project.id) {
      const r = router.get().route;
      navigate({ view: r.view === "list" ? "list" : "board", projectId: project.id, filters: {} });
      void openProject(project.id);
    } else {
      void loadMembers(project.id);
      void loadLabels(project.id);
    }
  }, [project.id]);

  const myRole = members.find((m) => m.userId === me?.id)?.role;
  const owner = myRole === "owner";

  return (
    <Dialog open title={`Project settings — ${project.name}`} onClose={props.onClose} wide>
      <section class="settings-section" aria-labelledby="rename-h">
        <h3 id="rename-h">Name</h3>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (name.trim() && name.trim() !== project.name) void renameProject(project, name);
          }}
        >
          <label class="visually-hidden" for="project-name">
            Project name
          </label>
          <input
            id="project-name"
            value={name}
            maxLength={100}
            onInput={(e) => setName(e.currentTarget.value)}
          />
          <button type="submit" class="button" disabled={!name.trim() || name.trim() === project.name}>
            Rename
          </button>
        </form>
        {!owner && myRole && <p class="muted">Only owners can rename or delete this project.</p>}
      </section>

      <section class="settings-section" aria-labelledby="members-h">
        <h3 id="members-h">Members</h3>
        <ul class="member-list">
          {members.map((m) => (
            <li key={m.userId} class="member-row">
              <span class="member-name">
                {m.displayName || m.username} <span class="muted">@{m.username}</span>
                {m.userId === me?.id && <span class="muted"> (you)</span>}
              </span>
              <label class="visually-hidden" for={`role-${m.userId}`}>
                Role of {m.username}
              </label>
              <select
                id={`role-${m.userId}`}
                value={m.role}
                disabled={!owner}
                onChange={(e) => void addMember(project.id, m.username, e.currentTarget.value as MemberRole)}
              >
                <option value="owner">Owner</option>
                <option value="member">Member</option>
              </select>
              <button
                type="button"
                class="button button-small"
                disabled={!owner && m.userId !== me?.id}
                onClick={() => setRemoving(m)}
              >
                {m.userId === me?.id ? "Leave" : "Remove"}
              </button>
            </li>
          ))}
        </ul>
        <form
          class="inline-form"
          onSubmit={async (e) => {
            e.preventDefault();
            if (username.trim() && (await addMember(project.id, username, role))) setUsername("");
          }}
        >
          <label class="visually-hidden" for="member-username">
            Username to add
          </label>
          <input
            id="member-username"
            placeholder="username"
            value={username}
            autoComplete="off"
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
          <label class="visually-hidden" for="member-role">
            Role
          </label>
          <select
            id="member-role"
            value={role}
            onChange={(e) => setRole(e.currentTarget.value as MemberRole)}
          >
            <option value="member">Member</option>
            <option value="owner">Owner</option>
          </select>
          <button type="submit" class="button" disabled={!owner || !username.trim()}>
            Add member
          </button>
        </form>
      </section>

      <section class="settings-section" aria-labelledby="labels-h">
        <h3 id="labels-h">Labels</h3>
        <ul class="label-list">
          {labels.map((l) => (
            <li key={l.id} class="label-row">
              <LabelChip label={l} />
              <button
                type="button"
                class="icon-button"
                aria-label={`Delete label ${l.name}`}
                onClick={() => void deleteLabel(l)}
              >
                ✕
              </button>
            </li>
          ))}
          {labels.length === 0 && <li class="muted">No labels yet.</li>}
        </ul>
        <form
          class="inline-form"
          onSubmit={async (e) => {
            e.preventDefault();
            if (labelName.trim() && (await createLabel(project.id, labelName, labelColor))) setLabelName("");
          }}
        >
          <label class="visually-hidden" for="label-name">
            New label name
          </label>
          <input
            id="label-name"
            placeholder="Label name"
            maxLength={50}
            value={labelName}
            onInput={(e) => setLabelName(e.currentTarget.value)}
          />
          <fieldset class="swatches">
            <legend class="visually-hidden">Label color</legend>
            {PRESET_COLORS.map((c) => (
              <label key={c} class="swatch" style={{ background: c }} title={c}>
                <input
                  type="radio"
                  name="label-color"
                  value={c}
                  checked={labelColor === c}
                  onChange={() => setLabelColor(c)}
                  aria-label={`Color ${c}`}
                />
              </label>
            ))}
            <label class="swatch swatch-custom" title="Another color">
              <input
                type="color"
                value={labelColor}
                aria-label="Another color"
                onInput={(e) => setLabelColor(e.currentTarget.value)}
              />
            </label>
          </fieldset>
          <button type="submit" class="button" disabled={!labelName.trim()}>
            Add label
          </button>
        </form>
      </section>

      <section class="settings-section danger-zone" aria-labelledby="danger-h">
        <h3 id="danger-h">Delete</h3>
        <p class="muted">Deleting a project deletes all of its tasks, labels and comments, on every node.</p>
        <button
          type="button"
          class="button button-danger"
          disabled={!owner}
          onClick={() => setConfirmDelete(true)}
        >
          Delete project…
        </button>
      </section>

      <ConfirmDialog
        open={confirmDelete}
        title={`Delete “${project.name}”?`}
        message="Its tasks, labels and comments are deleted too. This cannot be undone."
        confirmLabel="Delete project"
        danger
        onCancel={() => setConfirmDelete(false)}
        onConfirm={async () => {
          setConfirmDelete(false);
          if (await deleteProject(project)) props.onClose();
        }}
      />
      <ConfirmDialog
        open={removing !== null}
        title={removing?.userId === me?.id ? "Leave this project?" : `Remove ${removing?.username}?`}
        message={
          removing?.userId === me?.id
            ? "You will no longer see this project or its tasks."
            : "They will no longer see this project; their tasks here become unassigned."
        }
        confirmLabel={removing?.userId === me?.id ? "Leave" : "Remove"}
        danger
        onCancel={() => setRemoving(null)}
        onConfirm={() => {
          const m = removing;
          setRemoving(null);
          if (m) void removeMember(project.id, m);
          if (m?.userId === me?.id) props.onClose();
        }}
      />
    </Dialog>
  );
}
