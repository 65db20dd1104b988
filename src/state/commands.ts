/**
 * The replicated commands: versioned, self-contained, deterministic descriptions of one change.
 * Everything a node could decide differently — ids, timestamps, password hashes — is decided by
 * the proposing node and carried here; what depends on the replicated state (admin flag of the
 * first user, positions, versions, preconditions) is decided at apply from that state.
 *
 * Encoding: UTF-8 JSON. Readable in log dumps, and decoding is total: any byte string decodes to
 * either a valid command or a typed refusal, never an exception.
 */
import { FieldReader } from "./command-fields.js";
import {
  COMMENT_BODY_MAX,
  DISPLAY_NAME_MAX,
  LABEL_COLOR_PATTERN,
  LABEL_NAME_MAX,
  MEMBER_ROLES,
  type MemberRole,
  PASSWORD_HASH_MAX,
  PROJECT_DESCRIPTION_MAX,
  PROJECT_NAME_MAX,
  TASK_DESCRIPTION_MAX,
  TASK_LABELS_MAX,
  TASK_PRIORITIES,
  TASK_STATUSES,
  TASK_TITLE_MAX,
  type TaskPriority,
  type TaskStatus,
  TOKEN_HASH_PATTERN,
  USERNAME_PATTERN,
} from "./limits.js";
import { type ApplyResult, type FieldProblem, refusal } from "./results.js";

export const COMMAND_VERSION = 1;
/** A command is at most a 1 MiB request body plus what the proposer adds; larger is refused unread. */
export const MAX_COMMAND_BYTES = 2 * 1024 * 1024;

export interface Idem {
  userId: string;
  key: string;
}

interface Base {
  v: 1;
  /** The authenticated user the change is made for (the new user's id for user.signup). */
  actorId: string;
  /** ISO-8601 UTC with milliseconds, decided by the proposing node: every timestamp of the change. */
  at: string;
  idem?: Idem;
}

export interface UserSignup extends Base {
  type: "user.signup";
  id: string;
  username: string;
  displayName: string;
  passwordHash: string;
  inboxProjectId: string;
  /** The session signup answers with, so that signing up and logging in are one entry. */
  session?: { tokenHash: string; expiresAt: string };
}
export interface SessionCreate extends Base {
  type: "session.create";
  userId: string;
  tokenHash: string;
  expiresAt: string;
}
export interface SessionRevoke extends Base {
  type: "session.revoke";
  tokenHash: string;
}
export interface ProjectCreate extends Base {
  type: "project.create";
  id: string;
  name: string;
  description?: string;
}
export interface ProjectUpdate extends Base {
  type: "project.update";
  projectId: string;
  name?: string;
  description?: string;
  expectedVersion?: number;
}
export interface ProjectDelete extends Base {
  type: "project.delete";
  projectId: string;
  expectedVersion?: number;
}
export interface MemberAdd extends Base {
  type: "member.add";
  projectId: string;
  username: string;
  role: MemberRole;
}
export interface MemberRemove extends Base {
  type: "member.remove";
  projectId: string;
  userId: string;
}
export interface LabelCreate extends Base {
  type: "label.create";
  id: string;
  projectId: string;
  name: string;
  color: string;
}
export interface LabelDelete extends Base {
  type: "label.delete";
  labelId: string;
}
export interface TaskCreate extends Base {
  type: "task.create";
  id: string;
  /** Absent: the actor's Inbox. */
  projectId?: string;
  title: string;
  description?: string;
  status?: TaskStatus;
  priority?: TaskPriority;
  dueDate?: string | null;
  assigneeId?: string | null;
  labelIds?: string[];
  beforeId?: string;
  afterId?: string;
}
export interface TaskUpdate extends Base {
  type: "task.update";
  taskId: string;
  title?: string;
  description?: string;
  status?: TaskStatus;
  priority?: TaskPriority;
  dueDate?: string | null;
  assigneeId?: string | null;
  labelIds?: string[];
  projectId?: string;
  beforeId?: string;
  afterId?: string;
  expectedVersion?: number;
}
export interface TaskDelete extends Base {
  type: "task.delete";
  taskId: string;
  expectedVersion?: number;
}
export interface CommentCreate extends Base {
  type: "comment.create";
  id: string;
  taskId: string;
  body: string;
}
export interface CommentDelete extends Base {
  type: "comment.delete";
  commentId: string;
}

export type Command =
  | UserSignup
  | SessionCreate
  | SessionRevoke
  | ProjectCreate
  | ProjectUpdate
  | ProjectDelete
  | MemberAdd
  | MemberRemove
  | LabelCreate
  | LabelDelete
  | TaskCreate
  | TaskUpdate
  | TaskDelete
  | CommentCreate
  | CommentDelete;

export type CommandType = Command["type"];

/** A command as its proposer writes it: `v` is filled in by encodeCommand. */
export type CommandInput = Command extends infer C ? (C extends Command ? Omit<C, "v"> : never) : never;

type Payload<C extends Command> = Omit<C, keyof Base | "type">;
type PayloadReader<C extends Command> = (r: FieldReader) => Payload<C>;

function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

const READERS: { [T in CommandType]: PayloadReader<Extract<Command, { type: T }>> } = {
  "user.signup": (r) => {
    const out: Payload<UserSignup> = {
      id: r.id("id"),
      username: r.pattern("username", USERNAME_PATTERN, "3–32 characters of a-z 0-9 _ . -"),
      displayName: r.text("displayName", { min: 1, max: DISPLAY_NAME_MAX, trim: true }),
      passwordHash: r.pattern(
        "passwordHash",
        new RegExp(`^[\\x21-\\x7e]{1,${PASSWORD_HASH_MAX}}$`),
        "a hash",
      ),
      inboxProjectId: r.id("inboxProjectId"),
    };
    const session = readSession(r);
    if (session) out.session = session;
    return out;
  },
  "session.create": (r) => ({
    userId: r.id("userId"),
    tokenHash: r.pattern("tokenHash", TOKEN_HASH_PATTERN, "64 lowercase hex digits"),
    expiresAt: r.instant("expiresAt"),
  }),
  "session.revoke": (r) => ({
    tokenHash: r.pattern("tokenHash", TOKEN_HASH_PATTERN, "64 lowercase hex digits"),
  }),
  "project.create": (r) =>
    defined({
      id: r.id("id"),
      name: r.text("name", { min: 1, max: PROJECT_NAME_MAX, trim: true }),
      description: r.optionalText("description", { max: PROJECT_DESCRIPTION_MAX }),
    }),
  "project.update": (r) =>
    defined({
      projectId: r.id("projectId"),
      name: r.optionalText("name", { min: 1, max: PROJECT_NAME_MAX, trim: true }),
      description: r.optionalText("description", { max: PROJECT_DESCRIPTION_MAX }),
      expectedVersion: r.optionalVersion("expectedVersion"),
    }),
  "project.delete": (r) =>
    defined({ projectId: r.id("projectId"), expectedVersion: r.optionalVersion("expectedVersion") }),
  "member.add": (r) => ({
    projectId: r.id("projectId"),
    username: r.pattern("username", USERNAME_PATTERN, "3–32 characters of a-z 0-9 _ . -"),
    role: r.oneOf("role", MEMBER_ROLES),
  }),
  "member.remove": (r) => ({ projectId: r.id("projectId"), userId: r.id("userId") }),
  "label.create": (r) => ({
    id: r.id("id"),
    projectId: r.id("projectId"),
    name: r.text("name", { min: 1, max: LABEL_NAME_MAX, trim: true }),
    color: r.pattern("color", LABEL_COLOR_PATTERN, "a color #rrggbb").toLowerCase(),
  }),
  "label.delete": (r) => ({ labelId: r.id("labelId") }),
  "task.create": (r) =>
    defined({
      id: r.id("id"),
      projectId: r.optionalId("projectId"),
      title: r.text("title", { min: 1, max: TASK_TITLE_MAX, trim: true }),
      description: r.optionalText("description", { max: TASK_DESCRIPTION_MAX }),
      status: r.optionalOneOf("status", TASK_STATUSES),
      priority: r.optionalOneOf("priority", TASK_PRIORITIES),
      dueDate: r.nullableDate("dueDate"),
      assigneeId: r.nullableId("assigneeId"),
      labelIds: r.optionalIds("labelIds", TASK_LABELS_MAX),
      beforeId: r.optionalId("beforeId"),
      afterId: r.optionalId("afterId"),
    }),
  "task.update": (r) =>
    defined({
      taskId: r.id("taskId"),
      title: r.optionalText("title", { min: 1, max: TASK_TITLE_MAX, trim: true }),
      description: r.optionalText("description", { max: TASK_DESCRIPTION_MAX }),
      status: r.optionalOneOf("status", TASK_STATUSES),
      priority: r.optionalOneOf("priority", TASK_PRIORITIES),
      dueDate: r.nullableDate("dueDate"),
      assigneeId: r.nullableId("assigneeId"),
      labelIds: r.optionalIds("labelIds", TASK_LABELS_MAX),
      projectId: r.optionalId("projectId"),
      beforeId: r.optionalId("beforeId"),
      afterId: r.optionalId("afterId"),
      expectedVersion: r.optionalVersion("expectedVersion"),
    }),
  "task.delete": (r) =>
    defined({ taskId: r.id("taskId"), expectedVersion: r.optionalVersion("expectedVersion") }),
  "comment.create": (r) => ({
    id: r.id("id"),
    taskId: r.id("taskId"),
    body: r.text("body", { max: COMMENT_BODY_MAX }),
  }),
  "comment.delete": (r) => ({ commentId: r.id("commentId") }),
};

export const COMMAND_TYPES = Object.keys(READERS) as CommandType[];

function readSession(r: FieldReader): UserSignup["session"] {
  return r.optionalObject("session", "{tokenHash, expiresAt}", (inner) => ({
    tokenHash: inner.pattern("tokenHash", TOKEN_HASH_PATTERN, "64 lowercase hex digits"),
    expiresAt: inner.instant("expiresAt"),
  }));
}

export type DecodeResult =
  | { ok: true; command: Command }
  | { ok: false; refusal: ApplyResult; idem: Idem | undefined };

/** Checks a command-shaped value; returns the normalized command (trimmed texts) or the problems. */
export function readCommand(
  value: unknown,
): { command: Command } | { problems: FieldProblem[]; idem?: Idem; notACommand?: true } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { problems: [{ path: "", message: "a command must be a JSON object" }], notACommand: true };
  }
  const obj = value as Record<string, unknown>;
  const r = new FieldReader(obj);
  const v = (obj as { v?: unknown }).v;
  const type = (obj as { type?: unknown }).type;
  const reader =
    typeof type === "string" && Object.hasOwn(READERS, type) ? READERS[type as CommandType] : undefined;
  if (v !== COMMAND_VERSION) {
    return {
      problems: [{ path: "v", message: `unsupported command version (this node reads ${COMMAND_VERSION})` }],
      notACommand: true,
    };
  }
  if (reader === undefined) {
    return { problems: [{ path: "type", message: "is not a known command type" }], notACommand: true };
  }
  r.known("v");
  r.known("type");
  const actorId = r.id("actorId");
  const at = r.instant("at");
  const idem = r.idem();
  const payload = (reader as PayloadReader<Command>)(r);
  r.finish();
  if (r.problems.length > 0) return idem ? { problems: r.problems, idem } : { problems: r.problems };
  const command = { v: COMMAND_VERSION, type, actorId, at, ...(idem ? { idem } : {}), ...payload } as Command;
  return { command };
}

/** Problems of a command input, for a proposer that wants to answer 400 before proposing. */
export function validateCommand(input: CommandInput | Command): FieldProblem[] {
  const r = readCommand({ ...input, v: COMMAND_VERSION });
  return "problems" in r ? r.problems : [];
}

export class CommandError extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super(`invalid command: ${problems.map((p) => `${p.path} ${p.message}`).join("; ")}`);
    this.name = "CommandError";
  }
}

/** Encodes a command for the log; throws CommandError when it would be refused at apply anyway. */
export function encodeCommand(input: CommandInput | Command): Uint8Array {
  const r = readCommand({ ...input, v: COMMAND_VERSION });
  if ("problems" in r) throw new CommandError(r.problems);
  return new TextEncoder().encode(JSON.stringify(r.command));
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Total: every input gives a command or a refusal to record for its entry. */
export function decodeCommand(bytes: Uint8Array): DecodeResult {
  if (bytes.length > MAX_COMMAND_BYTES) {
    return { ok: false, refusal: refusal("bad_request", "the command is too large"), idem: undefined };
  }
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    return {
      ok: false,
      refusal: refusal("bad_request", "the log entry is not a JSON command"),
      idem: undefined,
    };
  }
  const r = readCommand(value);
  if ("command" in r) return { ok: true, command: r.command };
  return {
    ok: false,
    refusal: r.notACommand
      ? refusal("bad_request", "the log entry is not a command this node understands", r.problems)
      : refusal("validation_failed", "the request has invalid fields", r.problems),
    idem: r.idem,
  };
}
