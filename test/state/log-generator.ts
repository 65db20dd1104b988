/**
 * A seeded random log of commands for determinism, crash and snapshot tests. It tracks the ids it
 * created only roughly (no model of the outcomes), so the log mixes successes with every kind of
 * refusal: missing and invisible entities, stale versions, name clashes, bad references, malformed
 * entries, and idempotent replays; log time jumps past 24 h now and then so keys and sessions expire.
 */
import { Rng } from "../../src/raft/rng.js";
import type { ApplyEntry } from "../../src/replica/state-machine.js";
import { type CommandInput, encodeCommand } from "../../src/state/commands.js";
import { T0, tokenHash } from "./helpers.js";

const STATUSES = ["todo", "in_progress", "done"] as const;
const PRIORITIES = ["low", "medium", "high", "urgent"] as const;
const WORDS = [
  "alpha",
  "Beta",
  "gamma",
  "δέλτα",
  "日本",
  "emoji 😀",
  "it's",
  'quote "x"',
  "100%",
  "a_b",
  "back\\slash",
];

interface TaskRef {
  id: string;
  projectId: string;
  status: (typeof STATUSES)[number];
}

interface GenState {
  rng: Rng;
  at: number;
  users: { id: string; username: string; inbox: string }[];
  /** Project id → ids of users the generator believes are members. */
  projects: Map<string, string[]>;
  labels: { id: string; projectId: string }[];
  tasks: TaskRef[];
  comments: string[];
  sessions: { hash: string; userId: string }[];
  seq: number;
}

const MAX_USERS = 12;

function pickOr<T>(g: GenState, items: readonly T[], fallback: T): T {
  return items.length === 0 ? fallback : g.rng.pick(items);
}

function newId(g: GenState, prefix: string): string {
  g.seq++;
  return `${prefix}${g.seq.toString(36)}`;
}

function text(g: GenState): string {
  const n = 1 + g.rng.int(4);
  return Array.from({ length: n }, () => g.rng.pick(WORDS)).join(" ");
}

function date(g: GenState): string {
  const d = new Date(T0 + g.rng.int(400) * 86_400_000);
  return d.toISOString().slice(0, 10);
}

/** Any user, now and then one that does not exist (refused as unauthorized). */
function anyUser(g: GenState): string {
  if (g.rng.chance(0.02)) return "ghost";
  return pickOr(g, g.users, { id: "nobody", username: "", inbox: "" }).id;
}

function projectIds(g: GenState): string[] {
  return [...g.projects.keys()];
}

/** Mostly a member of the project (so the command can succeed), sometimes anyone. */
function actorFor(g: GenState, projectId: string): string {
  const members = g.projects.get(projectId) ?? [];
  return g.rng.chance(0.85) && members.length > 0 ? g.rng.pick(members) : anyUser(g);
}

function someTask(g: GenState): TaskRef {
  return g.rng.chance(0.95)
    ? pickOr(g, g.tasks, { id: "missing", projectId: "none", status: "todo" })
    : { id: "missing-task", projectId: "none", status: "todo" };
}

/** A neighbour for beforeId/afterId: mostly a task of the same column. */
function neighbour(g: GenState, projectId: string, status: string): string {
  const same = g.tasks.filter((t) => t.projectId === projectId && t.status === status);
  return g.rng.chance(0.85) && same.length > 0 ? g.rng.pick(same).id : someTask(g).id;
}

function nextCommand(g: GenState): CommandInput | "malformed" {
  const rng = g.rng;
  const roll = rng.int(100);
  const at = new Date(g.at).toISOString();
  if (g.users.length < 3 || (roll < 3 && g.users.length < MAX_USERS)) {
    const id = newId(g, "u");
    const username = rng.chance(0.1) && g.users.length > 0 ? rng.pick(g.users).username : `user${id}`;
    const inbox = newId(g, "p");
    if (!g.users.some((u) => u.username === username)) {
      g.users.push({ id, username, inbox });
      g.projects.set(inbox, [id]);
    }
    const session = rng.chance(0.5)
      ? { tokenHash: tokenHash(id), expiresAt: new Date(g.at + rng.int(3) * 86_400_000).toISOString() }
      : undefined;
    return {
      type: "user.signup",
      actorId: id,
      at,
      id,
      username,
      displayName: text(g).slice(0, 50) || "x",
      passwordHash: `scrypt$${id}`,
      inboxProjectId: inbox,
      ...(session ? { session } : {}),
    };
  }
  if (roll < 5) {
    const hash = tokenHash(`${g.seq++}`);
    const userId = anyUser(g);
    g.sessions.push({ hash, userId });
    return {
      type: "session.create",
      actorId: userId,
      at,
      userId,
      tokenHash: hash,
      expiresAt: new Date(g.at + rng.int(48) * 3_600_000).toISOString(),
    };
  }
  if (roll < 6) {
    const s = pickOr(g, g.sessions, { hash: tokenHash("none"), userId: anyUser(g) });
    return { type: "session.revoke", actorId: s.userId, at, tokenHash: s.hash };
  }
  if (roll < 9) {
    const id = newId(g, "p");
    const actorId = anyUser(g);
    g.projects.set(id, [actorId]);
    return {
      type: "project.create",
      actorId,
      at,
      id,
      name: text(g).slice(0, 90) || "p",
      description: text(g),
    };
  }
  if (roll < 11) {
    const projectId = pickOr(g, projectIds(g), "none");
    return {
      type: "project.update",
      actorId: actorFor(g, projectId),
      at,
      projectId,
      ...(rng.chance(0.7) ? { name: text(g).slice(0, 90) || "p" } : {}),
      ...(rng.chance(0.3) ? { description: text(g) } : {}),
      ...(rng.chance(0.3) ? { expectedVersion: 1 + rng.int(3) } : {}),
    };
  }
  if (roll < 12) {
    const projectId = pickOr(g, projectIds(g), "none");
    return { type: "project.delete", actorId: actorFor(g, projectId), at, projectId };
  }
  if (roll < 17) {
    const projectId = pickOr(g, projectIds(g), "none");
    const user = pickOr(g, g.users, { id: "", username: "nobody", inbox: "" });
    g.projects.get(projectId)?.push(user.id);
    return {
      type: "member.add",
      actorId: actorFor(g, projectId),
      at,
      projectId,
      username: user.username,
      role: rng.chance(0.2) ? "owner" : "member",
    };
  }
  if (roll < 18) {
    const projectId = pickOr(g, projectIds(g), "none");
    return { type: "member.remove", actorId: actorFor(g, projectId), at, projectId, userId: anyUser(g) };
  }
  if (roll < 22) {
    const id = newId(g, "l");
    const projectId = pickOr(g, projectIds(g), "none");
    g.labels.push({ id, projectId });
    return {
      type: "label.create",
      actorId: actorFor(g, projectId),
      at,
      id,
      projectId,
      name: rng.pick(WORDS),
      color: `#${rng.int(0xffffff).toString(16).padStart(6, "0")}`,
    };
  }
  if (roll < 23) {
    const label = pickOr(g, g.labels, { id: "none", projectId: "none" });
    return { type: "label.delete", actorId: actorFor(g, label.projectId), at, labelId: label.id };
  }
  if (roll < 50) {
    const id = newId(g, "t");
    const inInbox = rng.chance(0.2);
    const projectId = pickOr(g, projectIds(g), "none");
    const actorId = actorFor(g, projectId);
    const inbox = g.users.find((u) => u.id === actorId)?.inbox ?? "none";
    const target = inInbox ? inbox : projectId;
    const status = rng.chance(0.6) ? rng.pick(STATUSES) : "todo";
    const members = g.projects.get(target) ?? [];
    const labels = g.labels.filter((l) => l.projectId === target || rng.chance(0.01)).slice(-3);
    const cmd: CommandInput = {
      type: "task.create",
      actorId,
      at,
      id,
      ...(inInbox ? {} : { projectId }),
      title: text(g).slice(0, 190) || "t",
      ...(rng.chance(0.5) ? { description: text(g) } : {}),
      ...(status !== "todo" || rng.chance(0.5) ? { status } : {}),
      ...(rng.chance(0.5) ? { priority: rng.pick(PRIORITIES) } : {}),
      ...(rng.chance(0.4) ? { dueDate: date(g) } : {}),
      ...(rng.chance(0.3) ? { assigneeId: rng.chance(0.9) ? pickOr(g, members, actorId) : anyUser(g) } : {}),
      ...(rng.chance(0.3) ? { labelIds: labels.map((l) => l.id) } : {}),
      ...(rng.chance(0.25) ? { afterId: neighbour(g, target, status) } : {}),
      ...(rng.chance(0.15) ? { beforeId: neighbour(g, target, status) } : {}),
    };
    g.tasks.push({ id, projectId: target, status });
    return cmd;
  }
  if (roll < 78) {
    const task = someTask(g);
    const status = rng.chance(0.4) ? rng.pick(STATUSES) : task.status;
    const moveProject = rng.chance(0.04) ? pickOr(g, projectIds(g), "none") : undefined;
    const target = moveProject ?? task.projectId;
    const members = g.projects.get(target) ?? [];
    const cmd: CommandInput = {
      type: "task.update",
      actorId: actorFor(g, task.projectId),
      at,
      taskId: task.id,
      ...(rng.chance(0.3) ? { title: text(g).slice(0, 190) || "t" } : {}),
      ...(rng.chance(0.1) ? { description: text(g) } : {}),
      ...(status !== task.status ? { status } : {}),
      ...(rng.chance(0.2) ? { priority: rng.pick(PRIORITIES) } : {}),
      ...(rng.chance(0.15) ? { dueDate: rng.chance(0.3) ? null : date(g) } : {}),
      ...(rng.chance(0.15) ? { assigneeId: rng.chance(0.3) ? null : pickOr(g, members, anyUser(g)) } : {}),
      ...(rng.chance(0.1)
        ? {
            labelIds: g.labels
              .filter((l) => l.projectId === target)
              .slice(-2)
              .map((l) => l.id),
          }
        : {}),
      ...(moveProject !== undefined ? { projectId: moveProject } : {}),
      ...(rng.chance(0.3) ? { afterId: neighbour(g, target, status) } : {}),
      ...(rng.chance(0.15) ? { beforeId: neighbour(g, target, status) } : {}),
      ...(rng.chance(0.2) ? { expectedVersion: 1 + rng.int(4) } : {}),
    };
    task.status = status;
    task.projectId = target;
    return cmd;
  }
  if (roll < 82) {
    const task = someTask(g);
    return {
      type: "task.delete",
      actorId: actorFor(g, task.projectId),
      at,
      taskId: task.id,
      ...(rng.chance(0.2) ? { expectedVersion: 1 + rng.int(3) } : {}),
    };
  }
  if (roll < 93) {
    const id = newId(g, "c");
    const task = someTask(g);
    g.comments.push(id);
    return {
      type: "comment.create",
      actorId: actorFor(g, task.projectId),
      at,
      id,
      taskId: task.id,
      body: text(g),
    };
  }
  if (roll < 96) {
    return { type: "comment.delete", actorId: anyUser(g), at, commentId: pickOr(g, g.comments, "none") };
  }
  return "malformed";
}

function malformed(g: GenState): Uint8Array {
  const enc = new TextEncoder();
  switch (g.rng.int(5)) {
    case 0:
      return new Uint8Array([0xff, 0xfe, 0x00, g.rng.int(256)]);
    case 1:
      return enc.encode("{not json");
    case 2:
      return enc.encode(
        JSON.stringify({ v: 1, type: "task.create", actorId: "x", at: "yesterday", title: 5 }),
      );
    case 3:
      return enc.encode(JSON.stringify({ v: 2, type: "task.delete" }));
    default:
      return enc.encode(JSON.stringify([1, 2, 3]));
  }
}

export interface GeneratedLog {
  entries: ApplyEntry[];
}

/** `count` entries from index `startIndex + 1`, the same for the same seed. */
export function generateLog(seed: number, count: number, startIndex = 0): ApplyEntry[] {
  const g: GenState = {
    rng: new Rng(seed),
    at: T0,
    users: [],
    projects: new Map(),
    labels: [],
    tasks: [],
    comments: [],
    sessions: [],
    seq: 0,
  };
  const entries: ApplyEntry[] = [];
  const idemKeys: string[] = [];
  let term = 1;
  for (let i = 1; i <= count; i++) {
    const index = startIndex + i;
    g.at += g.rng.chance(0.003) ? 25 * 3_600_000 : g.rng.int(120_000);
    if (g.rng.chance(0.005)) term++;
    if (g.rng.chance(0.02)) {
      entries.push({ index, term, kind: "noop" });
      continue;
    }
    if (g.rng.chance(0.005)) {
      const id = `n${1 + g.rng.int(5)}`;
      const remove = g.rng.chance(0.3);
      entries.push({
        index,
        term,
        kind: "conf",
        conf: { voters: ["n1", "n2", "n3"], learners: [] },
        change: remove ? { type: "removeNode", nodeId: id } : { type: "addLearner", nodeId: id },
        member: remove
          ? undefined
          : { id, raftAddress: `127.0.0.1:${7100 + i}`, apiUrl: `http://127.0.0.1:${7000 + i}` },
      });
      continue;
    }
    const cmd = nextCommand(g);
    if (cmd === "malformed") {
      entries.push({ index, term, kind: "command", command: malformed(g) });
      continue;
    }
    if (g.rng.chance(0.15)) {
      const key = g.rng.chance(0.5) && idemKeys.length > 0 ? g.rng.pick(idemKeys) : `key-${i}`;
      idemKeys.push(key);
      cmd.idem = { userId: cmd.actorId, key };
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeCommand(cmd);
    } catch {
      // The generator produced something the encoder refuses (e.g. an over-long text): log it raw.
      bytes = new TextEncoder().encode(JSON.stringify({ v: 1, ...cmd }));
    }
    entries.push({ index, term, kind: "command", command: bytes });
  }
  return entries;
}
