/** `taskraft project …`: projects, their members and labels (API.md §2 Projects). */
import { createHash } from "node:crypto";
import { EXIT_CODES_HELP } from "./client/exit-codes.js";
import { cell, print, printJson, table } from "./client/output.js";
import {
  checkChoice,
  checkCount,
  type Label,
  listLabels,
  listMembers,
  type Member,
  type Project,
  resolveLabels,
  resolveProject,
} from "./client/resolve.js";
import { COMMON_HELP, COMMON_OPTIONS, openSession, type Session, usageError } from "./client/session.js";
import { CliError, type Command, parseFlags } from "./command.js";

const USAGE = [
  "usage: taskraft project <action> [options]",
  "",
  "  ls",
  "  add NAME… [--description D]",
  "  rename PROJECT NEW-NAME… [--description D] [--if-version N]",
  "  rm PROJECT [--if-version N]            (deletes its tasks, labels and comments too)",
  "  members PROJECT",
  "  add-member PROJECT USERNAME [--role member|owner]   (posting a member again changes the role)",
  "  remove-member PROJECT USER",
  "  labels PROJECT",
  "  add-label PROJECT NAME [--color #rrggbb]            (default: a color picked from the name)",
  "  remove-label PROJECT LABEL",
].join("\n");

const HELP = [
  USAGE,
  "",
  "PROJECT is a project name (case-insensitive) or id; USER a username or user id; LABEL a name or id.",
  "Writes carry an Idempotency-Key (--idempotency-key, default a fresh one) kept across retries.",
  "",
  COMMON_HELP,
  "",
  EXIT_CODES_HELP,
].join("\n");

const ACTIONS = [
  "ls",
  "list",
  "add",
  "rename",
  "rm",
  "remove",
  "members",
  "add-member",
  "remove-member",
  "labels",
  "add-label",
  "remove-label",
];

const OPTIONS = {
  ...COMMON_OPTIONS,
  "idempotency-key": { type: "string" },
  description: { type: "string", short: "d" },
  "if-version": { type: "string" },
  role: { type: "string" },
  color: { type: "string" },
} as const;

/** Colors for labels created without --color: the same name always gets the same color. */
const PALETTE = ["#d73a4a", "#0075ca", "#a2eeef", "#7057ff", "#008672", "#e4e669", "#d876e3", "#f9a03f"];

function defaultColor(name: string): string {
  const h = createHash("sha256").update(name.toLowerCase()).digest();
  return PALETTE[h[0]! % PALETTE.length]!;
}

function projectPath(id: string, rest = ""): string {
  return `/api/v1/projects/${encodeURIComponent(id)}${rest}`;
}

type Values = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  return parseFlags(argv, OPTIONS, USAGE, true);
}

/** Exactly `n` positionals (the last may be several words, joined: names with spaces). */
function args(positionals: string[], names: string[]): string[] {
  if (names.length === 0) return [];
  if (positionals.length < names.length) throw usageError(`missing ${names[positionals.length]}`, USAGE);
  const fixed = positionals.slice(0, names.length - 1);
  const last = positionals.slice(names.length - 1).join(" ");
  if (last.trim() === "") throw usageError(`${names[names.length - 1]} is empty`, USAGE);
  return [...fixed, last];
}

function exact(positionals: string[], names: string[]): string[] {
  if (positionals.length > names.length)
    throw usageError(`unexpected argument '${positionals[names.length]}'`, USAGE);
  return args(positionals, names);
}

function ifVersion(values: Values): number | undefined {
  const raw = values["if-version"];
  return raw === undefined ? undefined : checkCount("if-version", raw, 1, Number.MAX_SAFE_INTEGER);
}

function printProjects(items: Project[]): void {
  if (items.length === 0) {
    print("no projects");
    return;
  }
  print(
    table(
      ["ID", "NAME", "VERSION", "UPDATED", "DESCRIPTION"],
      items.map((p) => [
        p.id,
        cell(p.name, 40),
        String(p.version),
        p.updatedAt,
        cell(p.description || "-", 40),
      ]),
    ),
  );
}

function printMembers(items: Member[]): void {
  if (items.length === 0) {
    print("no members");
    return;
  }
  print(
    table(
      ["USER ID", "USERNAME", "NAME", "ROLE", "SINCE"],
      items.map((m) => [m.userId, m.username, cell(m.displayName, 30), m.role, m.createdAt]),
    ),
  );
}

function printLabels(items: Label[]): void {
  if (items.length === 0) {
    print("no labels");
    return;
  }
  print(
    table(
      ["ID", "NAME", "COLOR"],
      items.map((l) => [l.id, cell(l.name, 50), l.color]),
    ),
  );
}

async function act(action: string, s: Session, values: Values, positionals: string[]): Promise<number> {
  const key = values["idempotency-key"];
  switch (action) {
    case "ls":
    case "list": {
      exact(positionals, []);
      const items = (await s.client.get<{ items: Project[] }>("/api/v1/projects")).body.items;
      if (s.json) printJson({ items });
      else printProjects(items);
      return 0;
    }
    case "add": {
      const [name] = args(positionals, ["NAME"]);
      const body = {
        name: name!,
        ...(values.description !== undefined ? { description: values.description } : {}),
      };
      const r = await s.client.post<{ project: Project }>("/api/v1/projects", { body, idempotencyKey: key });
      if (s.json) printJson(r.body.project);
      else print(`created project ${r.body.project.id}: ${r.body.project.name}`);
      return 0;
    }
    case "rename": {
      const [ref, name] = args(positionals, ["PROJECT", "NEW-NAME"]);
      const p = await resolveProject(s.client, ref!);
      const body = {
        name: name!,
        ...(values.description !== undefined ? { description: values.description } : {}),
      };
      const r = await s.client.patch<{ project: Project }>(projectPath(p.id), {
        body,
        ifVersion: ifVersion(values),
        idempotencyKey: key,
      });
      if (s.json) printJson(r.body.project);
      else
        print(
          `renamed project ${p.id}: ${p.name} → ${r.body.project.name} (version ${r.body.project.version})`,
        );
      return 0;
    }
    case "rm":
    case "remove": {
      const [ref] = exact(positionals, ["PROJECT"]);
      const p = await resolveProject(s.client, ref!);
      await s.client.delete(projectPath(p.id), { ifVersion: ifVersion(values), idempotencyKey: key });
      if (s.json) printJson({ id: p.id, deleted: true });
      else print(`deleted project ${p.id} (${p.name}) and its tasks`);
      return 0;
    }
    case "members": {
      const [ref] = exact(positionals, ["PROJECT"]);
      const items = await listMembers(s.client, (await resolveProject(s.client, ref!)).id);
      if (s.json) printJson({ items });
      else printMembers(items);
      return 0;
    }
    case "add-member": {
      const [ref, username] = exact(positionals, ["PROJECT", "USERNAME"]);
      const p = await resolveProject(s.client, ref!);
      const role =
        values.role === undefined
          ? undefined
          : checkChoice("role", values.role, ["member", "owner"] as const);
      const r = await s.client.post<{ member: Member }>(projectPath(p.id, "/members"), {
        body: { username: username!, ...(role ? { role } : {}) },
        idempotencyKey: key,
      });
      const m = r.body.member;
      if (s.json) printJson(m);
      else
        print(
          r.status === 201
            ? `added ${m.username} to ${p.name} as ${m.role}`
            : `${m.username} is now ${m.role} of ${p.name}`,
        );
      return 0;
    }
    case "remove-member": {
      const [ref, user] = exact(positionals, ["PROJECT", "USER"]);
      const p = await resolveProject(s.client, ref!);
      const m = (await listMembers(s.client, p.id)).find((x) => x.username === user || x.userId === user);
      if (!m) throw new CliError(`${user} is not a member of ${p.name}`, 1);
      await s.client.delete(projectPath(p.id, `/members/${encodeURIComponent(m.userId)}`), {
        idempotencyKey: key,
      });
      if (s.json) printJson({ projectId: p.id, userId: m.userId, removed: true });
      else print(`removed ${m.username} from ${p.name}`);
      return 0;
    }
    case "labels": {
      const [ref] = exact(positionals, ["PROJECT"]);
      const items = await listLabels(s.client, (await resolveProject(s.client, ref!)).id);
      if (s.json) printJson({ items });
      else printLabels(items);
      return 0;
    }
    case "add-label": {
      const [ref, name] = args(positionals, ["PROJECT", "NAME"]);
      const p = await resolveProject(s.client, ref!);
      const color = values.color ?? defaultColor(name!);
      if (!/^#[0-9a-fA-F]{6}$/.test(color))
        throw usageError(`--color must be #rrggbb, got '${color}'`, USAGE);
      const r = await s.client.post<{ label: Label }>(projectPath(p.id, "/labels"), {
        body: { name: name!, color },
        idempotencyKey: key,
      });
      if (s.json) printJson(r.body.label);
      else print(`created label ${r.body.label.id} in ${p.name}: ${r.body.label.name} ${r.body.label.color}`);
      return 0;
    }
    case "remove-label": {
      const [ref, label] = exact(positionals, ["PROJECT", "LABEL"]);
      const p = await resolveProject(s.client, ref!);
      const [id] = await resolveLabels(s.client, p.id, [label!]);
      await s.client.delete(`/api/v1/labels/${encodeURIComponent(id!)}`, { idempotencyKey: key });
      if (s.json) printJson({ id, deleted: true });
      else print(`deleted label ${id} from ${p.name} (taken off its tasks)`);
      return 0;
    }
    default:
      throw usageError(`unknown action '${action}'`, USAGE);
  }
}

export const projectCommand: Command = {
  name: "project",
  summary: "list, create, rename and delete projects; members and labels (taskraft project --help)",
  async run(argv) {
    const [action, ...rest] = argv;
    if (action === undefined) throw usageError("missing action", USAGE);
    if (action === "help" || action === "--help" || action === "-h") {
      print(HELP);
      return 0;
    }
    if (!ACTIONS.includes(action)) throw usageError(`unknown action '${action}'`, USAGE);
    const { values, positionals } = parse(rest);
    if (values.help) {
      print(HELP);
      return 0;
    }
    return act(action, openSession(values, { needToken: true }), values, positionals);
  },
};
