/**
 * Names people type → ids the API wants: projects by name, labels by name within a project,
 * users by username among a project's members, and the caller's Inbox. An id is always accepted
 * as is; a name that matches nothing is exit 1 (it does not exist for this user), one that
 * matches several is exit 2 (say which one with its id).
 */
import type { Label, Member, Project, Task, User } from "../../state/mapping.js";
import { CliError } from "../command.js";
import { EXIT } from "./exit-codes.js";
import type { ApiClient } from "./http.js";

export type { Label, Member, Project, Task, User };

/** API.md §2: ids are 1–64 of A-Z a-z 0-9 _ -. */
const ID = /^[A-Za-z0-9_-]{1,64}$/;

export async function listProjects(client: ApiClient): Promise<Project[]> {
  return (await client.get<{ items: Project[] }>("/api/v1/projects")).body.items;
}

export async function me(client: ApiClient): Promise<User> {
  return (await client.get<{ user: User }>("/api/v1/me")).body.user;
}

function pick<T>(what: string, ref: string, matches: T[], idOf: (t: T) => string): T {
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new CliError(`no ${what} '${ref}'`, EXIT.refused);
  throw new CliError(
    `${matches.length} ${what}s match '${ref}'; name one by its id: ${matches.map(idOf).join(", ")}`,
    EXIT.usage,
  );
}

/** A project of the caller by id, or by name (case-insensitive, exact). */
export async function resolveProject(client: ApiClient, ref: string, projects?: Project[]): Promise<Project> {
  const all = projects ?? (await listProjects(client));
  const byId = all.find((p) => p.id === ref);
  if (byId) return byId;
  const lower = ref.toLowerCase();
  return pick(
    "project",
    ref,
    all.filter((p) => p.name.toLowerCase() === lower),
    (p) => p.id,
  );
}

/**
 * The caller's Inbox. The API does not mark it, but signup creates the user and the Inbox in
 * one log entry with one timestamp, so it is the project created at the user's creation time.
 */
export async function inbox(client: ApiClient): Promise<Project> {
  const [user, projects] = await Promise.all([me(client), listProjects(client)]);
  const same = projects.filter((p) => p.createdAt === user.createdAt);
  const found = same.find((p) => p.name === "Inbox") ?? same[0];
  if (!found)
    throw new CliError("cannot find your Inbox project; name a project with --project", EXIT.refused);
  return found;
}

export async function listLabels(client: ApiClient, projectId: string): Promise<Label[]> {
  return (await client.get<{ items: Label[] }>(`/api/v1/projects/${encodeURIComponent(projectId)}/labels`))
    .body.items;
}

export async function listMembers(client: ApiClient, projectId: string): Promise<Member[]> {
  return (await client.get<{ items: Member[] }>(`/api/v1/projects/${encodeURIComponent(projectId)}/members`))
    .body.items;
}

/** Label names (or ids) of one project → label ids, in the order given. */
export async function resolveLabels(
  client: ApiClient,
  projectId: string,
  refs: readonly string[],
): Promise<string[]> {
  if (refs.length === 0) return [];
  const labels = await listLabels(client, projectId);
  return refs.map((ref) => {
    const byId = labels.find((l) => l.id === ref);
    if (byId) return byId.id;
    const lower = ref.toLowerCase();
    return pick(
      "label",
      ref,
      labels.filter((l) => l.name.toLowerCase() === lower),
      (l) => l.id,
    ).id;
  });
}

/**
 * A label name across the caller's projects, for filters without --project: it must name one
 * label (in one project); an id-shaped value that names none is passed on as an id.
 */
export async function resolveLabelAnywhere(client: ApiClient, ref: string): Promise<string> {
  const projects = await listProjects(client);
  const lists = await Promise.all(projects.map((p) => listLabels(client, p.id)));
  const labels = lists.flat();
  const byId = labels.find((l) => l.id === ref);
  if (byId) return byId.id;
  const lower = ref.toLowerCase();
  const named = labels.filter((l) => l.name.toLowerCase() === lower);
  if (named.length === 0 && ID.test(ref)) return ref;
  if (named.length > 1) {
    throw new CliError(`${named.length} labels are named '${ref}'; add --project to say which`, EXIT.usage);
  }
  return pick("label", ref, named, (l) => l.id).id;
}

/**
 * A user for --assignee: `me`, a username or a user id, looked up among the members of the
 * project (or of all the caller's projects when none is given): only members can be assignees.
 * `none` (and an empty value) means no assignee.
 */
export async function resolveUser(
  client: ApiClient,
  ref: string,
  projectId?: string,
): Promise<string | null> {
  if (ref === "" || ref === "none") return null;
  if (ref === "me") return (await me(client)).id;
  const projectIds = projectId !== undefined ? [projectId] : (await listProjects(client)).map((p) => p.id);
  // Bound: one members call per project, in sequence, stopping at the first match.
  for (const id of projectIds) {
    const found = (await listMembers(client, id)).find((m) => m.username === ref || m.userId === ref);
    if (found) return found.userId;
  }
  if (ID.test(ref) && !/^[a-z0-9_.-]{3,32}$/.test(ref)) return ref;
  throw new CliError(
    `no user '${ref}' among the members of ${projectId ? "the project" : "your projects"}`,
    EXIT.refused,
  );
}

/** `YYYY-MM-DD` that is a real date (the API refuses others, but this says which flag). */
export function checkDate(flag: string, value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const d = m ? new Date(`${value}T00:00:00Z`) : undefined;
  if (!m || !d || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) {
    throw new CliError(`--${flag} must be a date YYYY-MM-DD, got '${value}'`, EXIT.usage);
  }
  return value;
}

export const STATUSES = ["todo", "in_progress", "done"] as const;
export const PRIORITIES = ["low", "medium", "high", "urgent"] as const;

/** `in-progress`, `In_Progress` → `in_progress`; anything else not in `allowed` is a usage error. */
export function checkChoice<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  const v = value.trim().toLowerCase().replace(/-/g, "_");
  const found = allowed.find((a) => a === v);
  if (!found)
    throw new CliError(`--${flag} must be one of ${allowed.join(", ")}; got '${value}'`, EXIT.usage);
  return found;
}

export function checkCount(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError(`--${flag} must be an integer from ${min} to ${max}, got '${value}'`, EXIT.usage);
  }
  return n;
}

/** An id positional: the API would 400 on a malformed one; saying so here names the argument. */
export function checkId(what: string, value: string | undefined, usage: string): string {
  if (value === undefined || value === "") throw new CliError(`missing ${what}\n${usage}`, EXIT.usage);
  if (!ID.test(value))
    throw new CliError(`'${value}' is not a ${what} (letters, digits, _ and -)`, EXIT.usage);
  return value;
}
