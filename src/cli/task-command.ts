/** `taskraft task add|ls|show|edit|rm|move`: tasks through any node's API (API.md §2 Tasks). */
import { EXIT_CODES_HELP } from "./client/exit-codes.js";
import type { ApiClient } from "./client/http.js";
import { cell, fields, note, print, printJson, table } from "./client/output.js";
import {
  checkChoice,
  checkCount,
  checkDate,
  checkId,
  inbox,
  type Label,
  listLabels,
  listMembers,
  listProjects,
  type Member,
  PRIORITIES,
  type Project,
  resolveLabelAnywhere,
  resolveLabels,
  resolveProject,
  resolveUser,
  STATUSES,
  type Task,
} from "./client/resolve.js";
import { COMMON_HELP, COMMON_OPTIONS, openSession, type Session, usageError } from "./client/session.js";
import { CliError, type Command, parseFlags } from "./command.js";

const USAGE = [
  "usage: taskraft task <action> [options]",
  "",
  "  add TITLE… [--project P] [--status S] [--priority P] [--due YYYY-MM-DD] [--assignee USER]",
  "             [--label NAME]… [--description D] [--idempotency-key K]",
  "  ls [--project P] [--status S] [--priority P] [--assignee USER] [--label NAME] [--q TEXT]",
  "     [--due-before D] [--due-after D] [--sort position|updated|due|priority|created]",
  "     [--limit N] [--cursor C] [--all] [--stale]",
  "  show ID",
  "  edit ID [--title T] [--description D] [--status S] [--priority P] [--due D|none]",
  "          [--assignee USER|none] [--label NAME]… [--no-labels] [--project P] [--if-version N]",
  "  rm ID [--if-version N]",
  "  move ID [--status S] [--before ID | --after ID] [--if-version N]",
].join("\n");

const HELP = [
  USAGE,
  "",
  "P is a project name or id (default: your Inbox); USER a username, a user id or `me`;",
  "S one of todo, in_progress, done; priority one of low, medium, high, urgent.",
  "--label NAME may be repeated; on edit it replaces the task's labels.",
  "--if-version N applies the change only if the task is still at version N (else exit 4).",
  "--sort: position (default: project, column, position), updated (newest first), due (no date last),",
  "priority (most urgent first), created (oldest first); the API's names (-updatedAt …) work too.",
  "--all follows nextCursor through every page (--limit is then the page size).",
  "Writes carry an Idempotency-Key (--idempotency-key, default a fresh one) kept across retries.",
  "",
  COMMON_HELP,
  "",
  EXIT_CODES_HELP,
].join("\n");

/** Bound on the pages `task ls --all` follows: 10 000 pages of 500 is beyond any real project. */
const MAX_PAGES = 10_000;

const WRITE_OPTIONS = { "idempotency-key": { type: "string" } } as const;

function ifVersion(raw: string | undefined): number | undefined {
  return raw === undefined ? undefined : checkCount("if-version", raw, 1, Number.MAX_SAFE_INTEGER);
}

function taskPath(id: string): string {
  return `/api/v1/tasks/${encodeURIComponent(id)}`;
}

function oneId(positionals: string[], usage: string): string {
  if (positionals.length > 1)
    throw usageError(`expected one task id, got ${positionals.length} arguments`, usage);
  return checkId("task id", positionals[0], usage);
}

function summaryLine(verb: string, t: Task): string {
  return `${verb} ${t.id} (version ${t.version}, ${t.status}): ${cell(t.title)}`;
}

async function add(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      ...COMMON_OPTIONS,
      ...WRITE_OPTIONS,
      project: { type: "string", short: "p" },
      status: { type: "string", short: "s" },
      priority: { type: "string" },
      due: { type: "string" },
      assignee: { type: "string" },
      label: { type: "string", multiple: true },
      description: { type: "string", short: "d" },
    },
    USAGE,
    true,
  );
  if (values.help) return help();
  const title = positionals.join(" ").trim();
  if (title === "") throw usageError("missing TITLE", USAGE);
  const s = openSession(values, { needToken: true });
  const body: Record<string, unknown> = { title };
  if (values.description !== undefined) body["description"] = values.description;
  if (values.status !== undefined) body["status"] = checkChoice("status", values.status, STATUSES);
  if (values.priority !== undefined) body["priority"] = checkChoice("priority", values.priority, PRIORITIES);
  if (values.due !== undefined) body["dueDate"] = checkDate("due", values.due);
  let projectId: string | undefined;
  if (values.project !== undefined) projectId = (await resolveProject(s.client, values.project)).id;
  if (projectId !== undefined) body["projectId"] = projectId;
  const labels = values.label ?? [];
  if (labels.length > 0 || values.assignee !== undefined) {
    // Names are looked up in the project the task goes to: labels and assignees belong to it.
    const target = projectId ?? (await inbox(s.client)).id;
    if (labels.length > 0) body["labelIds"] = await resolveLabels(s.client, target, labels);
    if (values.assignee !== undefined)
      body["assigneeId"] = await resolveUser(s.client, values.assignee, target);
  }
  const r = await s.client.post<{ task: Task }>("/api/v1/tasks", {
    body,
    idempotencyKey: values["idempotency-key"],
  });
  if (s.json) printJson(r.body.task);
  else print(summaryLine("created", r.body.task));
  return 0;
}

async function list(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      ...COMMON_OPTIONS,
      project: { type: "string", short: "p" },
      status: { type: "string", short: "s" },
      priority: { type: "string" },
      assignee: { type: "string" },
      label: { type: "string" },
      q: { type: "string" },
      "due-before": { type: "string" },
      "due-after": { type: "string" },
      sort: { type: "string" },
      limit: { type: "string" },
      cursor: { type: "string" },
      all: { type: "boolean", default: false },
      stale: { type: "boolean", default: false },
    },
    USAGE,
    true,
  );
  if (values.help) return help();
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`, USAGE);
  const s = openSession(values, { needToken: true });
  const query: Record<string, string | undefined> = {
    status: values.status === undefined ? undefined : checkChoice("status", values.status, STATUSES),
    priority:
      values.priority === undefined ? undefined : checkChoice("priority", values.priority, PRIORITIES),
    q: values.q,
    dueBefore: values["due-before"] === undefined ? undefined : checkDate("due-before", values["due-before"]),
    dueAfter: values["due-after"] === undefined ? undefined : checkDate("due-after", values["due-after"]),
    sort: values.sort === undefined ? undefined : checkSort(values.sort),
    limit:
      values.limit === undefined
        ? values.all
          ? "500"
          : undefined
        : String(checkCount("limit", values.limit, 1, 500)),
    cursor: values.cursor,
    consistency: values.stale ? "stale" : undefined,
  };
  // Project names are needed to resolve --project and for the table; a script's JSON needs neither.
  const projects = values.project !== undefined || !s.json ? await listProjects(s.client) : [];
  if (values.project !== undefined)
    query["projectId"] = (await resolveProject(s.client, values.project, projects)).id;
  if (values.assignee !== undefined) {
    const id = await resolveUser(s.client, values.assignee, query["projectId"]);
    if (id === null)
      throw usageError("--assignee needs a user (tasks without an assignee cannot be filtered)", USAGE);
    query["assigneeId"] = id;
  }
  if (values.label !== undefined) {
    query["labelId"] =
      query["projectId"] !== undefined
        ? (await resolveLabels(s.client, query["projectId"], [values.label]))[0]
        : await resolveLabelAnywhere(s.client, values.label);
  }
  const items: Task[] = [];
  let nextCursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const r: { body: { items: Task[]; nextCursor: string | null } } = await s.client.get("/api/v1/tasks", {
      query,
    });
    items.push(...r.body.items);
    nextCursor = r.body.nextCursor;
    if (!values.all || nextCursor === null) break;
    query["cursor"] = nextCursor;
  }
  if (s.json) {
    printJson({ items, nextCursor });
    return 0;
  }
  printTasks(items, projects);
  if (nextCursor !== null) note(`more tasks: add --all, or --cursor ${nextCursor}`);
  return 0;
}

/**
 * The API's sort names, and the same without the leading dash (`--sort -updatedAt` reads as a
 * flag to parseArgs; `--sort=-updatedAt` works too): each sort has one direction only.
 */
const SORTS: Record<string, string> = {
  position: "position",
  "-updatedAt": "-updatedAt",
  updatedAt: "-updatedAt",
  updated: "-updatedAt",
  dueDate: "dueDate",
  due: "dueDate",
  "-priority": "-priority",
  priority: "-priority",
  createdAt: "createdAt",
  created: "createdAt",
};

function checkSort(value: string): string {
  const sort = SORTS[value];
  if (sort === undefined) {
    throw new CliError(`--sort must be one of ${Object.keys(SORTS).join(", ")}; got '${value}'`, 2);
  }
  return sort;
}

function printTasks(items: Task[], projects: Project[]): void {
  if (items.length === 0) {
    print("no tasks");
    return;
  }
  const names = new Map(projects.map((p) => [p.id, p.name]));
  print(
    table(
      ["ID", "STATUS", "PRIORITY", "DUE", "PROJECT", "TITLE"],
      items.map((t) => [
        t.id,
        t.status,
        t.priority,
        t.dueDate ?? "-",
        cell(names.get(t.projectId) ?? t.projectId, 24),
        cell(t.title),
      ]),
    ),
  );
}

async function show(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { ...COMMON_OPTIONS, stale: { type: "boolean", default: false } },
    USAGE,
    true,
  );
  if (values.help) return help();
  const id = oneId(positionals, USAGE);
  const s = openSession(values, { needToken: true });
  const r = await s.client.get<{ task: Task }>(taskPath(id), {
    query: { consistency: values.stale ? "stale" : undefined },
  });
  const t = r.body.task;
  if (s.json) {
    printJson(t);
    return 0;
  }
  // Names for people; a failure here only costs the names, never the task.
  const [project, members, labels] = await Promise.all([
    s.client.get<{ project: Project }>(`/api/v1/projects/${encodeURIComponent(t.projectId)}`).then(
      (x) => x.body.project,
      () => undefined,
    ),
    listMembers(s.client, t.projectId).catch((): Member[] => []),
    listLabels(s.client, t.projectId).catch((): Label[] => []),
  ]);
  const userName = (userId: string | null) =>
    userId === null ? "-" : (members.find((m) => m.userId === userId)?.username ?? userId);
  const labelNames = t.labelIds.map((l) => labels.find((x) => x.id === l)?.name ?? l);
  print(
    fields([
      ["id", t.id],
      ["title", t.title],
      ["project", project ? `${project.name} (${t.projectId})` : t.projectId],
      ["status", t.status],
      ["priority", t.priority],
      ["due", t.dueDate ?? "-"],
      ["assignee", userName(t.assigneeId)],
      ["labels", labelNames.length > 0 ? labelNames.join(", ") : "-"],
      ["version", String(t.version)],
      ["position", t.position],
      ["created", `${t.createdAt} by ${userName(t.createdBy)}`],
      ["updated", t.updatedAt],
      ["completed", t.completedAt ?? "-"],
      ["description", t.description === "" ? "-" : t.description],
    ]),
  );
  return 0;
}

async function edit(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      ...COMMON_OPTIONS,
      ...WRITE_OPTIONS,
      title: { type: "string", short: "t" },
      description: { type: "string", short: "d" },
      status: { type: "string", short: "s" },
      priority: { type: "string" },
      due: { type: "string" },
      assignee: { type: "string" },
      label: { type: "string", multiple: true },
      "no-labels": { type: "boolean", default: false },
      project: { type: "string", short: "p" },
      "if-version": { type: "string" },
    },
    USAGE,
    true,
  );
  if (values.help) return help();
  const id = oneId(positionals, USAGE);
  const s = openSession(values, { needToken: true });
  const body: Record<string, unknown> = {};
  if (values.title !== undefined) {
    if (values.title.trim() === "") throw usageError("--title is empty", USAGE);
    body["title"] = values.title;
  }
  if (values.description !== undefined) body["description"] = values.description;
  if (values.status !== undefined) body["status"] = checkChoice("status", values.status, STATUSES);
  if (values.priority !== undefined) body["priority"] = checkChoice("priority", values.priority, PRIORITIES);
  if (values.due !== undefined)
    body["dueDate"] = values.due === "none" || values.due === "" ? null : checkDate("due", values.due);
  if (values["no-labels"] && values.label !== undefined)
    throw usageError("--label and --no-labels exclude each other", USAGE);
  if (values["no-labels"]) body["labelIds"] = [];
  if (values.project !== undefined) body["projectId"] = (await resolveProject(s.client, values.project)).id;
  if (values.label !== undefined || values.assignee !== undefined) {
    const projectId = (body["projectId"] as string | undefined) ?? (await currentProject(s.client, id));
    if (values.label !== undefined) body["labelIds"] = await resolveLabels(s.client, projectId, values.label);
    if (values.assignee !== undefined)
      body["assigneeId"] = await resolveUser(s.client, values.assignee, projectId);
  }
  if (Object.keys(body).length === 0) throw usageError("nothing to change: give at least one field", USAGE);
  return patch(s, id, body, values["if-version"], values["idempotency-key"], "updated");
}

async function currentProject(client: ApiClient, id: string): Promise<string> {
  return (await client.get<{ task: Task }>(taskPath(id))).body.task.projectId;
}

async function patch(
  s: Session,
  id: string,
  body: Record<string, unknown>,
  version: string | undefined,
  key: string | undefined,
  verb: string,
): Promise<number> {
  const r = await s.client.patch<{ task: Task }>(taskPath(id), {
    body,
    ifVersion: ifVersion(version),
    idempotencyKey: key,
  });
  if (s.json) printJson(r.body.task);
  else print(summaryLine(verb, r.body.task));
  return 0;
}

async function remove(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { ...COMMON_OPTIONS, ...WRITE_OPTIONS, "if-version": { type: "string" } },
    USAGE,
    true,
  );
  if (values.help) return help();
  const id = oneId(positionals, USAGE);
  const s = openSession(values, { needToken: true });
  await s.client.delete(taskPath(id), {
    ifVersion: ifVersion(values["if-version"]),
    idempotencyKey: values["idempotency-key"],
  });
  if (s.json) printJson({ id, deleted: true });
  else print(`deleted ${id}`);
  return 0;
}

async function move(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      ...COMMON_OPTIONS,
      ...WRITE_OPTIONS,
      status: { type: "string", short: "s" },
      before: { type: "string" },
      after: { type: "string" },
      "if-version": { type: "string" },
    },
    USAGE,
    true,
  );
  if (values.help) return help();
  const id = oneId(positionals, USAGE);
  if (values.before !== undefined && values.after !== undefined) {
    throw usageError("--before and --after exclude each other", USAGE);
  }
  const body: Record<string, unknown> = {};
  if (values.status !== undefined) body["status"] = checkChoice("status", values.status, STATUSES);
  if (values.before !== undefined) body["beforeId"] = checkId("task id (--before)", values.before, USAGE);
  if (values.after !== undefined) body["afterId"] = checkId("task id (--after)", values.after, USAGE);
  if (Object.keys(body).length === 0) throw usageError("move needs --status, --before or --after", USAGE);
  const s = openSession(values, { needToken: true });
  return patch(s, id, body, values["if-version"], values["idempotency-key"], "moved");
}

function help(): number {
  print(HELP);
  return 0;
}

export const taskCommand: Command = {
  name: "task",
  summary: "add, list, show, edit, remove and move tasks (taskraft task --help)",
  async run(argv) {
    const [action, ...rest] = argv;
    switch (action) {
      case "add":
        return add(rest);
      case "ls":
      case "list":
        return list(rest);
      case "show":
        return show(rest);
      case "edit":
        return edit(rest);
      case "rm":
      case "remove":
        return remove(rest);
      case "move":
        return move(rest);
      case undefined:
        throw usageError("missing action", USAGE);
      case "help":
      case "--help":
      case "-h":
        return help();
      default:
        throw usageError(`unknown action '${action}'`, USAGE);
    }
  },
};
