import { ApiError, describeError, newIdempotencyKey } from "../api/client";
import type { SseMessage } from "../api/sse-parser";
import {
  type ClusterEvent,
  type Comment,
  type Label,
  type Member,
  type Project,
  STATUS_LABEL,
  STATUSES,
  type Task,
  type TaskEdit,
  type TaskStatus,
} from "../api/types";
import { columnsOf, insertPlaced, type Place } from "../lib/board-order";
import { createStore } from "../lib/store";
import { api } from "./api";
import { connection, toast } from "./notices";
import { patchRoute, router } from "./router";
import { session } from "./session";

/**
 * The data the UI shows and every change the user makes to it.
 *
 * Confirmed state (what the cluster answered or streamed) is kept apart from optimistic
 * overlays (what the user just did and the cluster has not confirmed yet). The screen shows
 * confirmed state with the overlays on top; a refused write only drops its overlay, so a
 * rollback can never leave a half-applied edit behind, and events that arrive meanwhile are
 * never lost under an optimistic value.
 */

export interface Overlay {
  seq: number;
  taskId: string;
  fields: TaskEdit;
  place?: Place;
  deleted?: boolean;
}

/** A compare-and-set edit refused with 412: the user chooses between theirs and mine. */
export interface Conflict {
  edit: TaskEdit;
  base: Task;
  current: Task;
}

export interface DataState {
  projects: Project[];
  projectsLoaded: boolean;
  projectId: string | null;
  tasks: Map<string, Task>;
  tasksLoaded: boolean;
  tasksError: string | null;
  /** New tasks shown before the cluster confirms them (temporary ids). */
  creating: Task[];
  overlays: Overlay[];
  members: Member[];
  labels: Label[];
  comments: { taskId: string; items: Comment[]; loaded: boolean } | null;
  conflict: Conflict | null;
  /** Grows on every change to the current project's tasks; the list view refetches on it. */
  tasksRevision: number;
}

export const data = createStore<DataState>({
  projects: [],
  projectsLoaded: false,
  projectId: null,
  tasks: new Map(),
  tasksLoaded: false,
  tasksError: null,
  creating: [],
  overlays: [],
  members: [],
  labels: [],
  comments: null,
  conflict: null,
  tasksRevision: 0,
});

/** Bounds the board's load: 20 pages of 500 tasks. */
const PAGE_SIZE = 500;
const MAX_PAGES = 20;

/** How far node clocks may be ahead of this browser's when matching a placeholder to its task. */
const TWIN_WINDOW_MS = 60_000;

let overlaySeq = 0;
let loadSeq = 0;

// ---------------------------------------------------------------- derived views

/** A task as the user sees it: confirmed state with the pending edits on top; undefined if deleted. */
export function displayed(state: DataState, id: string): Task | undefined {
  const base = state.tasks.get(id) ?? state.creating.find((t) => t.id === id);
  if (!base) return undefined;
  let t = base;
  for (const o of state.overlays) {
    if (o.taskId !== id) continue;
    if (o.deleted) return undefined;
    t = { ...t, ...o.fields } as Task;
  }
  return t;
}

export function isPending(state: DataState, id: string): boolean {
  return state.overlays.some((o) => o.taskId === id) || state.creating.some((t) => t.id === id);
}

/** The board's columns, with pending moves shown where the user put the tasks. */
export function boardColumns(state: DataState): Map<TaskStatus, Task[]> {
  const shown: Task[] = [];
  for (const id of state.tasks.keys()) {
    const t = displayed(state, id);
    if (t && t.projectId === state.projectId) shown.push(t);
  }
  const columns = columnsOf(shown, STATUSES) as Map<TaskStatus, Task[]>;
  for (const o of state.overlays) {
    if (!o.place) continue;
    const t = displayed(state, o.taskId);
    if (!t) continue;
    for (const [status, col] of columns) {
      if (status !== t.status && col.some((x) => x.id === t.id))
        columns.set(
          status,
          col.filter((x) => x.id !== t.id),
        );
    }
    columns.set(t.status, insertPlaced(columns.get(t.status) ?? [], t, o.place));
  }
  // A new task may reach us by the event stream before the answer to our own POST (for example
  // when that answer was lost and is being retried): its placeholder then gives way to it.
  const claimed = new Set<string>();
  for (const t of state.creating) {
    if (t.projectId !== state.projectId) continue;
    const twin = shown.find(
      (x) =>
        !claimed.has(x.id) &&
        x.title === t.title &&
        x.createdBy === t.createdBy &&
        Date.parse(x.createdAt) >= Date.parse(t.createdAt) - TWIN_WINDOW_MS,
    );
    if (twin) {
      claimed.add(twin.id);
      continue;
    }
    const col = columns.get(t.status);
    if (col && !col.some((x) => x.id === t.id)) col.push(t);
  }
  return columns;
}

export function memberName(state: DataState, userId: string | null): string {
  if (!userId) return "Unassigned";
  const m = state.members.find((x) => x.userId === userId);
  if (m) return m.displayName || m.username;
  const me = session.get().user;
  if (me && me.id === userId) return me.displayName || me.username;
  return "someone outside this project";
}

// ---------------------------------------------------------------- small helpers

function addOverlay(o: Omit<Overlay, "seq">): number {
  const seq = ++overlaySeq;
  data.set((s) => ({ overlays: [...s.overlays, { ...o, seq }] }));
  return seq;
}

function dropOverlay(seq: number): void {
  data.set((s) => ({ overlays: s.overlays.filter((o) => o.seq !== seq) }));
}

/**
 * Writes to one task go out one after another, so a user's quick succession of edits (status,
 * then title) is not refused as a conflict with itself: each If-Match may skip the versions this
 * tab's own earlier writes produced, but never a version someone else made.
 */
const chains = new Map<string, Promise<unknown>>();
const ownVersions = new Map<string, Set<number>>();

function serialize<T>(taskId: string, run: () => Promise<T>): Promise<T> {
  const prev = chains.get(taskId) ?? Promise.resolve();
  const next = prev.then(run, run);
  const settled = next.catch(() => undefined);
  chains.set(taskId, settled);
  void settled.then(() => {
    if (chains.get(taskId) === settled) chains.delete(taskId);
  });
  return next;
}

function recordOwn(task: Task): void {
  let set = ownVersions.get(task.id);
  if (!set) {
    set = new Set();
    ownVersions.set(task.id, set);
  }
  set.add(task.version);
}

/** The version to send as If-Match for an edit the user made while seeing version `seen`. */
function ifMatchFor(taskId: string, seen: number): number {
  const confirmed = data.get().tasks.get(taskId)?.version ?? seen;
  const own = ownVersions.get(taskId);
  let v = seen;
  while (v < confirmed && own?.has(v + 1)) v++;
  return v;
}

function bump(): Partial<DataState> {
  return { tasksRevision: data.get().tasksRevision + 1 };
}

/** Newer versions win; an event and the answer to our own write may arrive in either order. */
function upsertTask(task: Task): void {
  const s = data.get();
  if (task.projectId !== s.projectId) {
    if (s.tasks.has(task.id)) {
      const tasks = new Map(s.tasks);
      tasks.delete(task.id);
      data.set({ tasks, ...bump() });
    }
    return;
  }
  const known = s.tasks.get(task.id);
  if (known && known.version > task.version) return;
  const tasks = new Map(s.tasks);
  tasks.set(task.id, task);
  data.set({ tasks, ...bump() });
}

function removeTask(id: string): void {
  const s = data.get();
  if (!s.tasks.has(id)) return;
  const tasks = new Map(s.tasks);
  tasks.delete(id);
  data.set({ tasks, ...bump() });
}

/**
 * Tells the user a write did not go through. When the failure was the cluster's (no leader,
 * outcome unknown, node down), "Retry" sends the SAME Idempotency-Key again: if the first
 * attempt did apply after all, the server answers its result instead of applying twice.
 */
function reportFailure(what: string, e: unknown, retry?: () => void): void {
  if (e instanceof ApiError && e.status === 401) return; // the login screen says it
  const undone = " Your change was undone on screen.";
  if (e instanceof ApiError && e.retriable && retry) {
    toast("error", `${what}: the cluster did not confirm it in time (${e.message})${undone}`, {
      label: "Retry",
      run: retry,
    });
    return;
  }
  toast("error", `${what}: ${describeError(e)}${undone}`);
}

// ---------------------------------------------------------------- loading

export async function loadProjects(): Promise<void> {
  try {
    const res = await api.get<{ items: Project[] }>("/api/v1/projects", { staleFallback: true });
    data.set({ projects: sortProjects(res.body.items), projectsLoaded: true });
  } catch (e) {
    data.set({ projectsLoaded: true });
    if (!(e instanceof ApiError && e.status === 401))
      toast("error", `Could not load projects: ${describeError(e)}`);
  }
}

function sortProjects(list: Project[]): Project[] {
  // The Inbox first, then by name: the order people scan a sidebar in.
  return [...list].sort((a, b) =>
    a.name === "Inbox" && b.name !== "Inbox"
      ? -1
      : b.name === "Inbox" && a.name !== "Inbox"
        ? 1
        : a.name.localeCompare(b.name) || a.createdAt.localeCompare(b.createdAt),
  );
}

/** Makes `projectId` the current project and loads its tasks, members and labels. */
export async function openProject(projectId: string): Promise<void> {
  if (data.get().projectId === projectId && data.get().tasksLoaded) return;
  const seq = ++loadSeq;
  data.set({
    projectId,
    tasks: new Map(),
    tasksLoaded: false,
    tasksError: null,
    overlays: [],
    creating: [],
    members: [],
    labels: [],
  });
  await Promise.all([loadTasks(seq), loadMembers(projectId), loadLabels(projectId)]);
}

export async function reloadProject(): Promise<void> {
  const id = data.get().projectId;
  if (!id) return;
  const seq = ++loadSeq;
  await Promise.all([loadTasks(seq), loadMembers(id), loadLabels(id)]);
}

async function loadTasks(seq: number): Promise<void> {
  const projectId = data.get().projectId;
  if (!projectId) return;
  try {
    const all: Task[] = [];
    let cursor: string | null = null;
    let stale = false;
    for (let page = 0; page < MAX_PAGES; page++) {
      const qs = new URLSearchParams({ projectId, sort: "position", limit: String(PAGE_SIZE) });
      if (cursor) qs.set("cursor", cursor);
      const res = await api.get<{ items: Task[]; nextCursor: string | null }>(`/api/v1/tasks?${qs}`, {
        staleFallback: true,
      });
      stale ||= res.stale;
      all.push(...res.body.items);
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }
    if (seq !== loadSeq) return;
    connection.set({ stale });
    data.set({ tasks: new Map(all.map((t) => [t.id, t])), tasksLoaded: true, tasksError: null, ...bump() });
  } catch (e) {
    if (seq !== loadSeq) return;
    data.set({ tasksLoaded: true, tasksError: describeError(e) });
  }
}

export async function loadMembers(projectId: string): Promise<void> {
  try {
    const res = await api.get<{ items: Member[] }>(`/api/v1/projects/${projectId}/members`, {
      staleFallback: true,
    });
    if (data.get().projectId === projectId) data.set({ members: res.body.items });
  } catch {
    // the sidebar shows an empty member list; the board still works
  }
}

export async function loadLabels(projectId: string): Promise<void> {
  try {
    const res = await api.get<{ items: Label[] }>(`/api/v1/projects/${projectId}/labels`, {
      staleFallback: true,
    });
    if (data.get().projectId === projectId) data.set({ labels: res.body.items });
  } catch {
    // as above
  }
}

/** A task not on the current board (a shared link): fetched on its own. */
export async function fetchTask(id: string): Promise<Task | undefined> {
  try {
    const res = await api.get<{ task: Task }>(`/api/v1/tasks/${id}`, { staleFallback: true });
    return res.body.task;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return undefined;
    throw e;
  }
}

// ---------------------------------------------------------------- tasks

export interface NewTask {
  title: string;
  status?: TaskStatus;
  priority?: Task["priority"];
  description?: string;
  dueDate?: string | null;
}

/** Creates a task at the end of its column; shown at once, confirmed or withdrawn later. */
export async function createTask(input: NewTask, key = newIdempotencyKey()): Promise<Task | undefined> {
  const s = data.get();
  const projectId = s.projectId;
  const me = session.get().user;
  if (!projectId || !me) return undefined;
  const now = new Date().toISOString();
  const temp: Task = {
    id: `pending-${key}`,
    projectId,
    title: input.title.trim(),
    description: input.description ?? "",
    status: input.status ?? "todo",
    priority: input.priority ?? "medium",
    dueDate: input.dueDate ?? null,
    assigneeId: null,
    labelIds: [],
    position: "\uffff",
    createdBy: me.id,
    createdAt: now,
    updatedAt: now,
    completedAt: null,
    version: 0,
  };
  data.set((st) => ({ creating: [...st.creating, temp] }));
  const withdraw = () => data.set((st) => ({ creating: st.creating.filter((t) => t.id !== temp.id) }));
  try {
    // One at a time per project: the server appends in commit order, so tasks typed one after
    // the other land on the board in that order.
    const res = await serialize(`create:${projectId}`, () =>
      api.post<{ task: Task }>("/api/v1/tasks", { ...input, title: temp.title, projectId }, { key }),
    );
    withdraw();
    upsertTask(res.body.task);
    return res.body.task;
  } catch (e) {
    withdraw();
    reportFailure(`Creating “${temp.title}” failed`, e, () => void createTask(input, key));
    return undefined;
  }
}

/**
 * Changes fields of a task as the user sees it. Sent with If-Match of the version the user
 * edited, so a concurrent change elsewhere is not silently overwritten: a 412 opens the
 * conflict dialog with the newer version.
 */
export function updateTask(task: Task, edit: TaskEdit, key = newIdempotencyKey()): Promise<boolean> {
  const changed = Object.fromEntries(
    Object.entries(edit).filter(([k, v]) => JSON.stringify(task[k as keyof Task]) !== JSON.stringify(v)),
  ) as TaskEdit;
  if (Object.keys(changed).length === 0) return Promise.resolve(true);
  const seq = addOverlay({ taskId: task.id, fields: changed });
  return serialize(task.id, () => sendUpdate(task, edit, changed, seq, key));
}

async function sendUpdate(
  task: Task,
  edit: TaskEdit,
  changed: TaskEdit,
  seq: number,
  key: string,
): Promise<boolean> {
  try {
    const body = await patchWithProjectChecks(task, changed);
    const ifMatch = ifMatchFor(task.id, task.version);
    const res = await api.patch<{ task: Task }>(`/api/v1/tasks/${task.id}`, body, { key, ifMatch });
    recordOwn(res.body.task);
    upsertTask(res.body.task);
    dropOverlay(seq);
    if (res.body.task.projectId !== data.get().projectId && changed.projectId) {
      const to = data.get().projects.find((p) => p.id === changed.projectId);
      toast("success", `Moved “${res.body.task.title}” to ${to?.name ?? "another project"}.`);
    }
    return true;
  } catch (e) {
    dropOverlay(seq);
    if (e instanceof ApiError && e.status === 412) {
      const current = await fetchTask(task.id).catch(() => undefined);
      if (current) {
        upsertTask(current);
        data.set({ conflict: { edit: changed, base: task, current } });
      } else {
        toast("error", "This task was deleted elsewhere before your change arrived.");
        removeTask(task.id);
      }
      return false;
    }
    reportFailure(`Saving “${task.title}” failed`, e, () => void updateTask(task, edit, key));
    return false;
  }
}

/** Moving to another project: an assignee who is not a member there is dropped (the server would refuse). */
async function patchWithProjectChecks(task: Task, edit: TaskEdit): Promise<TaskEdit> {
  if (!edit.projectId || edit.projectId === task.projectId) return edit;
  const assignee = edit.assigneeId !== undefined ? edit.assigneeId : task.assigneeId;
  if (!assignee) return edit;
  try {
    const res = await api.get<{ items: Member[] }>(`/api/v1/projects/${edit.projectId}/members`);
    if (res.body.items.some((m) => m.userId === assignee)) return edit;
  } catch {
    return edit;
  }
  toast("info", "The assignee is not a member of that project, so the task will be unassigned.");
  return { ...edit, assigneeId: null };
}

export function resolveConflict(choice: "theirs" | "mine"): void {
  const c = data.get().conflict;
  data.set({ conflict: null });
  if (!c || choice === "theirs") return;
  // A new decision by the user, so a new key; the base is now the version they have seen.
  void updateTask(c.current, c.edit);
}

/**
 * Moves a task to `status`, placed before/after a neighbour. No If-Match: a move commutes with
 * edits of other fields, and the server computes the position from the state at apply time.
 */
export function moveTask(
  task: Task,
  status: TaskStatus,
  place: Place,
  key = newIdempotencyKey(),
): Promise<void> {
  const seq = addOverlay({ taskId: task.id, fields: { status }, place });
  return serialize(task.id, () => sendMove(task, status, place, seq, key));
}

async function sendMove(
  task: Task,
  status: TaskStatus,
  place: Place,
  seq: number,
  key: string,
): Promise<void> {
  try {
    const body: Record<string, unknown> = { ...place };
    if (status !== task.status) body["status"] = status;
    if (Object.keys(body).length === 0) body["status"] = status;
    const res = await api.patch<{ task: Task }>(`/api/v1/tasks/${task.id}`, body, { key });
    recordOwn(res.body.task);
    upsertTask(res.body.task);
    dropOverlay(seq);
  } catch (e) {
    dropOverlay(seq);
    if (
      e instanceof ApiError &&
      e.code === "validation_failed" &&
      e.details.some((d) => /Id$/.test(d.path))
    ) {
      toast(
        "error",
        `The board changed while you moved “${task.title}”; it is back in its place. Try again.`,
      );
      void reloadProject();
      return;
    }
    reportFailure(
      `Moving “${task.title}” to ${STATUS_LABEL[status]} failed`,
      e,
      () => void moveTask(task, status, place, key),
    );
  }
}

export function deleteTask(task: Task, key = newIdempotencyKey()): Promise<void> {
  const seq = addOverlay({ taskId: task.id, fields: {}, deleted: true });
  if (router.get().route.taskId === task.id) patchRoute({ taskId: undefined });
  return serialize(task.id, () => sendDelete(task, seq, key));
}

async function sendDelete(task: Task, seq: number, key: string): Promise<void> {
  try {
    await api.delete(`/api/v1/tasks/${task.id}`, { key });
    removeTask(task.id);
    dropOverlay(seq);
    toast("info", `Deleted “${task.title}”.`);
  } catch (e) {
    dropOverlay(seq);
    if (e instanceof ApiError && e.status === 404) {
      removeTask(task.id);
      return;
    }
    reportFailure(`Deleting “${task.title}” failed`, e, () => void deleteTask(task, key));
  }
}

// ---------------------------------------------------------------- comments

export async function loadComments(taskId: string): Promise<void> {
  data.set({ comments: { taskId, items: [], loaded: false } });
  try {
    const res = await api.get<{ items: Comment[] }>(`/api/v1/tasks/${taskId}/comments?limit=500`, {
      staleFallback: true,
    });
    if (data.get().comments?.taskId === taskId)
      data.set({ comments: { taskId, items: res.body.items, loaded: true } });
  } catch (e) {
    if (data.get().comments?.taskId === taskId) data.set({ comments: { taskId, items: [], loaded: true } });
    if (!(e instanceof ApiError && e.status === 404))
      toast("error", `Could not load comments: ${describeError(e)}`);
  }
}

function upsertComment(c: Comment): void {
  const cur = data.get().comments;
  if (!cur || cur.taskId !== c.taskId || cur.items.some((x) => x.id === c.id)) return;
  data.set({ comments: { ...cur, items: [...cur.items, c] } });
}

export async function addComment(taskId: string, body: string, key = newIdempotencyKey()): Promise<boolean> {
  try {
    const res = await api.post<{ comment: Comment }>(`/api/v1/tasks/${taskId}/comments`, { body }, { key });
    upsertComment(res.body.comment);
    return true;
  } catch (e) {
    reportFailure("Your comment was not saved", e, () => void addComment(taskId, body, key));
    return false;
  }
}

export async function deleteComment(comment: Comment, key = newIdempotencyKey()): Promise<void> {
  try {
    await api.delete(`/api/v1/comments/${comment.id}`, { key });
    const cur = data.get().comments;
    if (cur) data.set({ comments: { ...cur, items: cur.items.filter((c) => c.id !== comment.id) } });
  } catch (e) {
    reportFailure("Deleting the comment failed", e, () => void deleteComment(comment, key));
  }
}

// ---------------------------------------------------------------- projects, members, labels

export async function createProject(name: string, key = newIdempotencyKey()): Promise<Project | undefined> {
  try {
    const res = await api.post<{ project: Project }>("/api/v1/projects", { name: name.trim() }, { key });
    upsertProject(res.body.project);
    return res.body.project;
  } catch (e) {
    reportFailure(`Creating project “${name}” failed`, e, () => void createProject(name, key));
    return undefined;
  }
}

export async function renameProject(
  project: Project,
  name: string,
  key = newIdempotencyKey(),
): Promise<boolean> {
  try {
    const res = await api.patch<{ project: Project }>(
      `/api/v1/projects/${project.id}`,
      { name: name.trim() },
      { key, ifMatch: project.version },
    );
    upsertProject(res.body.project);
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 412) {
      toast(
        "error",
        "Someone changed this project meanwhile; its current name is shown. Rename it again if you still want to.",
      );
      void loadProjects();
      return false;
    }
    reportFailure("Renaming the project failed", e, () => void renameProject(project, name, key));
    return false;
  }
}

export async function deleteProject(project: Project, key = newIdempotencyKey()): Promise<boolean> {
  try {
    await api.delete(`/api/v1/projects/${project.id}`, { key });
    removeProject(project.id);
    toast("info", `Deleted project “${project.name}” and its tasks.`);
    return true;
  } catch (e) {
    reportFailure(`Deleting “${project.name}” failed`, e, () => void deleteProject(project, key));
    return false;
  }
}

function upsertProject(p: Project): void {
  const list = data.get().projects.filter((x) => x.id !== p.id);
  data.set({ projects: sortProjects([...list, p]) });
}

function removeProject(id: string): void {
  data.set((s) => ({ projects: s.projects.filter((p) => p.id !== id) }));
  if (data.get().projectId === id || router.get().route.projectId === id) {
    const first = data.get().projects[0];
    patchRoute({ view: "board", projectId: first?.id, taskId: undefined }, { replace: true });
  }
}

export async function addMember(
  projectId: string,
  username: string,
  role: Member["role"],
  key = newIdempotencyKey(),
): Promise<boolean> {
  try {
    await api.post(`/api/v1/projects/${projectId}/members`, { username: username.trim(), role }, { key });
    await loadMembers(projectId);
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      toast("error", `There is no user “${username}” (or you cannot see that project).`);
      return false;
    }
    reportFailure(`Adding ${username} failed`, e, () => void addMember(projectId, username, role, key));
    return false;
  }
}

export async function removeMember(
  projectId: string,
  member: Member,
  key = newIdempotencyKey(),
): Promise<void> {
  try {
    await api.delete(`/api/v1/projects/${projectId}/members/${member.userId}`, { key });
    if (member.userId === session.get().user?.id) {
      removeProject(projectId);
      return;
    }
    await loadMembers(projectId);
  } catch (e) {
    reportFailure(`Removing ${member.username} failed`, e, () => void removeMember(projectId, member, key));
  }
}

export async function createLabel(
  projectId: string,
  name: string,
  color: string,
  key = newIdempotencyKey(),
): Promise<boolean> {
  try {
    const res = await api.post<{ label: Label }>(
      `/api/v1/projects/${projectId}/labels`,
      { name: name.trim(), color },
      { key },
    );
    upsertLabel(res.body.label);
    return true;
  } catch (e) {
    reportFailure(`Creating label “${name}” failed`, e, () => void createLabel(projectId, name, color, key));
    return false;
  }
}

export async function deleteLabel(label: Label, key = newIdempotencyKey()): Promise<void> {
  try {
    await api.delete(`/api/v1/labels/${label.id}`, { key });
    data.set((s) => ({ labels: s.labels.filter((l) => l.id !== label.id) }));
  } catch (e) {
    reportFailure(`Deleting label “${label.name}” failed`, e, () => void deleteLabel(label, key));
  }
}

function upsertLabel(l: Label): void {
  if (l.projectId !== data.get().projectId) return;
  data.set((s) => ({ labels: [...s.labels.filter((x) => x.id !== l.id), l] }));
}

// ---------------------------------------------------------------- live events

type ClusterListener = (e: ClusterEvent) => void;
const clusterListeners = new Set<ClusterListener>();

/** The cluster view's timeline listens to the serving node's `event: cluster`. */
export function onClusterEvent(fn: ClusterListener): () => void {
  clusterListeners.add(fn);
  return () => clusterListeners.delete(fn);
}

/** Everything a reset asks for: the stream could not resume, so load the state afresh. */
export async function reloadEverything(): Promise<void> {
  await loadProjects();
  await reloadProject();
  const c = data.get().comments;
  if (c) await loadComments(c.taskId);
}

/** Applies one server-sent event to the state. Returns the index to resume after, for `reset`. */
export function handleEvent(m: SseMessage, resumeAfter: (id: string) => void): void {
  let payload: unknown;
  try {
    payload = m.data === "" ? null : JSON.parse(m.data);
  } catch {
    return;
  }
  const s = data.get();
  const me = session.get().user;
  const obj = (payload ?? {}) as Record<string, unknown>;
  switch (m.event) {
    case "task.created":
    case "task.updated":
      upsertTask(payload as Task);
      break;
    case "task.deleted":
      removeTask(String(obj["id"]));
      break;
    case "tasks.repositioned":
      if (obj["projectId"] === s.projectId) void reloadProject();
      break;
    case "project.created":
    case "project.updated": {
      // The stream carries only projects this user is a member of.
      upsertProject(payload as Project);
      break;
    }
    case "project.deleted":
      if (s.projects.some((p) => p.id === obj["id"])) {
        toast("info", "A project you were in was deleted.");
        removeProject(String(obj["id"]));
      }
      break;
    case "member.added":
    case "member.updated":
    case "member.removed": {
      const projectId = String(obj["projectId"]);
      if (obj["userId"] === me?.id) void loadProjects();
      if (m.event === "member.removed" && obj["userId"] === me?.id) {
        removeProject(projectId);
        break;
      }
      if (projectId === s.projectId) void loadMembers(projectId);
      break;
    }
    case "label.created":
      upsertLabel(payload as Label);
      break;
    case "label.deleted":
      data.set((st) => ({ labels: st.labels.filter((l) => l.id !== obj["id"]) }));
      break;
    case "comment.created":
      upsertComment(payload as Comment);
      break;
    case "comment.deleted": {
      const cur = data.get().comments;
      if (cur) data.set({ comments: { ...cur, items: cur.items.filter((c) => c.id !== obj["id"]) } });
      break;
    }
    case "cluster": {
      const e = payload as ClusterEvent;
      connection.set({ cluster: e });
      for (const fn of clusterListeners) fn(e);
      break;
    }
    case "reset": {
      const applied = obj["appliedIndex"];
      if (typeof applied === "number") resumeAfter(String(applied));
      toast("info", "Reloading: this node could not replay every change since you were last connected.");
      void reloadEverything();
      break;
    }
    default:
      break;
  }
}
