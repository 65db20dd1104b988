import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { getLoginByUsername, getUser, getUserByTokenHash } from "../../src/state/queries.js";
import { selectRows } from "../../src/state/sql.js";
import {
  applyOne,
  codeOf,
  iso,
  Log,
  type Scratch,
  scratchStateMachine,
  signup,
  T0,
  tokenHash,
} from "./helpers.js";

describe("users and sessions", () => {
  let s: Scratch;
  const log = new Log();
  before(async () => {
    s = await scratchStateMachine("users");
  });
  after(async () => {
    await s.close();
  });

  test("user.signup: the first user is an admin, later ones are not; each gets an Inbox it owns", async () => {
    const alice = await signup(s.sm, log, "alice");
    const bob = await signup(s.sm, log, "bob");
    assert.equal((await getUser(s.pool, alice.id))?.isAdmin, true);
    assert.equal((await getUser(s.pool, bob.id))?.isAdmin, false);
    const members = await selectRows<{ project_id: string; role: string }>(
      s.pool,
      "SELECT project_id, role FROM project_members WHERE user_id = ?",
      [bob.id],
    );
    assert.deepEqual(members, [{ project_id: bob.inbox, role: "owner" }]);
    const signupResult = await applyOne(
      s.sm,
      log.command({
        type: "user.signup",
        actorId: "u-carol",
        id: "u-carol",
        username: "carol",
        displayName: "  Carol  ",
        passwordHash: "h",
        inboxProjectId: "inbox-carol",
      }),
    );
    assert.equal(signupResult.status, 201);
    assert.deepEqual(signupResult.body, {
      user: {
        id: "u-carol",
        username: "carol",
        displayName: "Carol",
        isAdmin: false,
        createdAt: iso(log.clock),
      },
    });
    assert.deepEqual(
      signupResult.events.map((e) => [e.type, e.projectId]),
      [["project.created", "inbox-carol"]],
    );
    assert.equal((await getLoginByUsername(s.pool, "carol"))?.passwordHash, "h");
  });

  test("user.signup refusals: username taken, id taken, Inbox id taken, actor not the new user, bad username", async () => {
    const base = {
      type: "user.signup" as const,
      displayName: "X",
      passwordHash: "h",
    };
    const taken = await applyOne(
      s.sm,
      log.command({ ...base, actorId: "u-x1", id: "u-x1", username: "alice", inboxProjectId: "px1" }),
    );
    assert.equal(taken.status, 409);
    assert.equal(codeOf(taken), "conflict");
    const idTaken = await applyOne(
      s.sm,
      log.command({ ...base, actorId: "u-alice", id: "u-alice", username: "alice2", inboxProjectId: "px2" }),
    );
    assert.equal(idTaken.status, 409);
    const inboxTaken = await applyOne(
      s.sm,
      log.command({
        ...base,
        actorId: "u-x3",
        id: "u-x3",
        username: "xavier",
        inboxProjectId: "inbox-alice",
      }),
    );
    assert.equal(inboxTaken.status, 409);
    const wrongActor = await applyOne(
      s.sm,
      log.command({ ...base, actorId: "u-alice", id: "u-x4", username: "xena", inboxProjectId: "px4" }),
    );
    assert.equal(codeOf(wrongActor), "validation_failed");
    const badName = await applyOne(
      s.sm,
      log.json({
        v: 1,
        ...base,
        at: iso(T0),
        actorId: "u-x5",
        id: "u-x5",
        username: "Bad Name",
        inboxProjectId: "px5",
      }),
    );
    assert.equal(badName.status, 400);
    assert.equal(codeOf(badName), "validation_failed");
    assert.deepEqual(
      (badName.body as { error: { details: { path: string }[] } }).error.details.map((d) => d.path),
      ["username"],
    );
    assert.equal(await getUser(s.pool, "u-x1"), undefined);
    assert.equal(await getUser(s.pool, "u-x4"), undefined);
  });

  test("session.create and session.revoke; tokens resolve only until they expire", async () => {
    const hash = tokenHash("alice-second");
    const created = await applyOne(
      s.sm,
      log.command({
        type: "session.create",
        actorId: "u-alice",
        userId: "u-alice",
        tokenHash: hash,
        expiresAt: iso(T0 + 2 * 86_400_000),
      }),
    );
    assert.equal(created.status, 200);
    assert.equal((created.body as { user: { id: string } }).user.id, "u-alice");
    assert.equal((await getUserByTokenHash(s.pool, hash, new Date(T0 + 1000)))?.id, "u-alice");
    assert.equal(await getUserByTokenHash(s.pool, hash, new Date(T0 + 3 * 86_400_000)), undefined);

    const again = await applyOne(
      s.sm,
      log.command({
        type: "session.create",
        actorId: "u-alice",
        userId: "u-alice",
        tokenHash: hash,
        expiresAt: iso(T0),
      }),
    );
    assert.equal(codeOf(again), "conflict");
    const forOther = await applyOne(
      s.sm,
      log.command({
        type: "session.create",
        actorId: "u-bob",
        userId: "u-alice",
        tokenHash: tokenHash("x"),
        expiresAt: iso(T0),
      }),
    );
    assert.equal(codeOf(forOther), "forbidden");

    // Another user cannot revoke alice's token.
    const foreign = await applyOne(
      s.sm,
      log.command({ type: "session.revoke", actorId: "u-bob", tokenHash: hash }),
    );
    assert.equal(foreign.status, 204);
    assert.ok(await getUserByTokenHash(s.pool, hash, new Date(T0)));
    const revoked = await applyOne(
      s.sm,
      log.command({ type: "session.revoke", actorId: "u-alice", tokenHash: hash }),
    );
    assert.deepEqual(revoked, { status: 204, body: null, events: [] });
    assert.equal(await getUserByTokenHash(s.pool, hash, new Date(T0)), undefined);
    const twice = await applyOne(
      s.sm,
      log.command({ type: "session.revoke", actorId: "u-alice", tokenHash: hash }),
    );
    assert.equal(twice.status, 204);
  });

  test("authGeneration moves across a session.revoke (before and after its commit), not for other commands", async () => {
    const hash = tokenHash("alice-gen");
    const g0 = s.sm.authGeneration;
    await applyOne(
      s.sm,
      log.command({
        type: "session.create",
        actorId: "u-alice",
        userId: "u-alice",
        tokenHash: hash,
        expiresAt: iso(T0 + 86_400_000),
      }),
    );
    await applyOne(
      s.sm,
      log.command({ type: "task.create", actorId: "u-alice", id: "gen-task", title: "x" }),
    );
    assert.equal(s.sm.authGeneration, g0, "creating sessions and tasks leaves cached tokens valid");
    await applyOne(s.sm, log.command({ type: "session.revoke", actorId: "u-alice", tokenHash: hash }));
    assert.equal(s.sm.authGeneration, g0 + 2, "once before the revoke's commit, once after");
    assert.equal(await getUserByTokenHash(s.pool, hash, new Date(T0)), undefined);
  });

  test("an unknown actor is refused as unauthorized", async () => {
    const r = await applyOne(
      s.sm,
      log.command({ type: "project.create", actorId: "u-ghost", id: "pg", name: "g" }),
    );
    assert.equal(r.status, 401);
    assert.equal(codeOf(r), "unauthorized");
  });

  test("malformed entries are typed refusals and still advance the applied index", async () => {
    const entries = [
      log.raw(new Uint8Array([0xff, 0xfe, 0xfd])),
      log.raw(new TextEncoder().encode("{nope")),
      log.json([1, 2]),
      log.json({ v: 2, type: "task.create" }),
      log.json({ v: 1, type: "task.teleport", actorId: "u-alice", at: iso(T0) }),
      log.json({ v: 1, type: "task.delete", actorId: "u-alice", at: iso(T0), taskId: "t1", extra: true }),
      log.json({ v: 1, type: "task.create", actorId: "u-alice", at: "noon", id: "t 1", title: "" }),
      log.raw(new Uint8Array(0)),
    ];
    const results = (await s.sm.apply(entries)) as { status: number; body: { error: { code: string } } }[];
    assert.deepEqual(
      results.map((r) => [r.status, r.body.error.code]),
      [
        [400, "bad_request"],
        [400, "bad_request"],
        [400, "bad_request"],
        [400, "bad_request"],
        [400, "bad_request"],
        [400, "validation_failed"],
        [400, "validation_failed"],
        [400, "bad_request"],
      ],
    );
    const details = (results[6]!.body as unknown as { error: { details: { path: string }[] } }).error.details;
    assert.deepEqual(details.map((d) => d.path).sort(), ["at", "id", "title"]);
    const applied = await selectRows<{ applied_index: number }>(
      s.pool,
      "SELECT applied_index FROM raft_applied",
    );
    assert.equal(Number(applied[0]!.applied_index), log.index);
  });

  test("configuration entries keep cluster_members; no-ops only advance the index", async () => {
    const conf = { voters: ["n1", "n2"], learners: ["n3"] };
    const results = await s.sm.apply([
      {
        index: ++log.index,
        term: 2,
        kind: "conf",
        conf,
        change: { type: "addLearner", nodeId: "n3" },
        member: { id: "n3", raftAddress: "127.0.0.1:7103", apiUrl: "http://127.0.0.1:7003" },
      },
      {
        index: ++log.index,
        term: 2,
        kind: "conf",
        conf,
        change: { type: "addVoter", nodeId: "n3" },
        member: { id: "n3", raftAddress: "127.0.0.1:7203", apiUrl: "http://127.0.0.1:7003" },
      },
      { index: ++log.index, term: 2, kind: "noop" },
    ]);
    assert.deepEqual(results, [undefined, undefined, undefined]);
    let opened = await s.sm.open();
    assert.deepEqual(opened.members, [
      { id: "n3", raftAddress: "127.0.0.1:7203", apiUrl: "http://127.0.0.1:7003" },
    ]);
    assert.equal(opened.appliedIndex, log.index);
    await s.sm.apply([
      {
        index: ++log.index,
        term: 2,
        kind: "conf",
        conf: { voters: ["n1", "n2"], learners: [] },
        change: { type: "removeNode", nodeId: "n3" },
        member: undefined,
      },
    ]);
    opened = await s.sm.open();
    assert.deepEqual(opened.members, []);
    log.term = 2;
  });

  test("entries out of order are a bug: the batch fails and nothing is applied", async () => {
    const before = (await s.sm.open()).appliedIndex;
    await assert.rejects(s.sm.apply([{ index: before + 2, term: 2, kind: "noop" }]), /out of order/);
    await assert.rejects(s.sm.apply([{ index: before + 1, term: 1, kind: "noop" }]), /term/);
    assert.equal((await s.sm.open()).appliedIndex, before);
  });
});
