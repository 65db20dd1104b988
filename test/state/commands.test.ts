import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  COMMAND_TYPES,
  CommandError,
  type CommandInput,
  decodeCommand,
  encodeCommand,
  validateCommand,
} from "../../src/state/commands.js";

const at = "2026-05-01T10:00:00.000Z";
const hash = "a".repeat(64);

/** One valid command of every type, with every optional field set where there is one. */
const SAMPLES: CommandInput[] = [
  {
    type: "user.signup",
    actorId: "u1",
    at,
    id: "u1",
    username: "alice",
    displayName: "Alice",
    passwordHash: "scrypt$1$abc",
    inboxProjectId: "p0",
    session: { tokenHash: hash, expiresAt: at },
    idem: { userId: "anon-1", key: "k" },
  },
  { type: "session.create", actorId: "u1", at, userId: "u1", tokenHash: hash, expiresAt: at },
  { type: "session.revoke", actorId: "u1", at, tokenHash: hash },
  { type: "project.create", actorId: "u1", at, id: "p1", name: "P", description: "d" },
  {
    type: "project.update",
    actorId: "u1",
    at,
    projectId: "p1",
    name: "Q",
    description: "",
    expectedVersion: 3,
  },
  { type: "project.delete", actorId: "u1", at, projectId: "p1", expectedVersion: 1 },
  { type: "member.add", actorId: "u1", at, projectId: "p1", username: "bob", role: "owner" },
  { type: "member.remove", actorId: "u1", at, projectId: "p1", userId: "u2" },
  { type: "label.create", actorId: "u1", at, id: "l1", projectId: "p1", name: "Bug", color: "#aabbcc" },
  { type: "label.delete", actorId: "u1", at, labelId: "l1" },
  {
    type: "task.create",
    actorId: "u1",
    at,
    id: "t1",
    projectId: "p1",
    title: "T",
    description: "D",
    status: "in_progress",
    priority: "high",
    dueDate: "2026-12-01",
    assigneeId: null,
    labelIds: ["l1"],
    beforeId: "t0",
    afterId: "t9",
  },
  {
    type: "task.update",
    actorId: "u1",
    at,
    taskId: "t1",
    title: "T2",
    description: "",
    status: "done",
    priority: "low",
    dueDate: null,
    assigneeId: "u2",
    labelIds: [],
    projectId: "p2",
    beforeId: "t3",
    afterId: "t4",
    expectedVersion: 2,
  },
  { type: "task.delete", actorId: "u1", at, taskId: "t1", expectedVersion: 5 },
  { type: "comment.create", actorId: "u1", at, id: "c1", taskId: "t1", body: "hello" },
  { type: "comment.delete", actorId: "u1", at, commentId: "c1" },
];

describe("commands", () => {
  test("a sample of every type encodes and decodes to itself, with v: 1", () => {
    assert.deepEqual(new Set(SAMPLES.map((c) => c.type)), new Set(COMMAND_TYPES));
    for (const c of SAMPLES) {
      const decoded = decodeCommand(encodeCommand(c));
      assert.ok(decoded.ok, c.type);
      assert.deepEqual(decoded.command, { v: 1, ...c });
      assert.deepEqual(validateCommand(c), []);
    }
  });

  test("texts are trimmed where the API trims; colors are lower-cased", () => {
    const d = decodeCommand(
      encodeCommand({
        type: "label.create",
        actorId: "u",
        at,
        id: "l",
        projectId: "p",
        name: " x ",
        color: "#ABCDEF",
      }),
    );
    assert.ok(d.ok);
    assert.deepEqual(
      [
        d.command.type === "label.create" && d.command.name,
        d.command.type === "label.create" && d.command.color,
      ],
      ["x", "#abcdef"],
    );
  });

  test("encodeCommand refuses what apply would refuse, listing every problem", () => {
    const bad = {
      type: "task.create",
      actorId: "u 1",
      at: "now",
      id: "",
      title: " ",
      extra: 1,
    } as unknown as CommandInput;
    assert.throws(
      () => encodeCommand(bad),
      (e: unknown) =>
        e instanceof CommandError &&
        JSON.stringify(e.problems.map((p) => p.path).sort()) ===
          JSON.stringify(["actorId", "at", "extra", "id", "title"]),
    );
  });

  test("limits count characters as MySQL does (code points)", () => {
    const emoji = "😀".repeat(200);
    assert.deepEqual(validateCommand({ type: "task.create", actorId: "u", at, id: "t", title: emoji }), []);
    assert.equal(
      validateCommand({ type: "task.create", actorId: "u", at, id: "t", title: `${emoji}x` }).length,
      1,
    );
    assert.equal(
      validateCommand({ type: "task.create", actorId: "u", at, id: "t", title: "\uD800" }).length,
      1,
    );
  });

  test("decodeCommand never throws, whatever the bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = decodeCommand(bytes);
        if (!r.ok) assert.equal(r.refusal.status, 400);
      }),
      { numRuns: 2000 },
    );
  });

  test("decodeCommand never throws on JSON of any shape, including near-valid commands", () => {
    const anyJson = fc.jsonValue();
    const nearCommand = fc.record(
      {
        v: fc.oneof(fc.constant(1), fc.jsonValue()),
        type: fc.oneof(fc.constantFrom(...COMMAND_TYPES), fc.string()),
        actorId: fc.oneof(fc.constant("u1"), fc.jsonValue()),
        at: fc.oneof(fc.constant(at), fc.jsonValue()),
        id: fc.oneof(fc.constant("x1"), fc.jsonValue()),
        title: fc.jsonValue(),
        labelIds: fc.jsonValue(),
        idem: fc.jsonValue(),
        session: fc.jsonValue(),
        toString: fc.jsonValue(),
        __proto__: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(anyJson, nearCommand), (value) => {
        const r = decodeCommand(new TextEncoder().encode(JSON.stringify(value)));
        if (!r.ok) assert.ok(r.refusal.status === 400, JSON.stringify(r.refusal));
      }),
      { numRuns: 3000 },
    );
  });

  test("an oversized entry is refused without being parsed", () => {
    const r = decodeCommand(new Uint8Array(3 * 1024 * 1024).fill(0x20));
    assert.equal(r.ok, false);
  });
});
