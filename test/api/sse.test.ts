/** The event hub on its own: ring bounds and `reset`, slow clients, per-user visibility. */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { Writable } from "node:stream";
import { test } from "node:test";
import pino from "pino";
import { EventHub } from "../../src/api/sse.js";
import type { Replica } from "../../src/replica/index.js";
import type { Queryable } from "../../src/state/sql.js";

class FakeReplica extends EventEmitter {
  appliedIndex = 0;
  role = "follower";
  leaderId = "n1";
  status() {
    return { term: 3 };
  }
  /** Applies one command entry per event list, as the replica's 'applied' event reports it. */
  apply(...events: { type: string; projectId: string; data: unknown }[][]) {
    const entries = events.map(() => ({ index: ++this.appliedIndex, term: 3, kind: "command" }));
    this.emit(
      "applied",
      entries,
      events.map((ev) => ({ status: 200, body: null, events: ev })),
    );
  }
}

class Sink extends Writable {
  text = "";
  constructor(private readonly stall = false) {
    super({ highWaterMark: 16 });
  }
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.text += chunk.toString();
    if (!this.stall) done();
  }
  events(): { id?: string; event: string; data: string }[] {
    return this.text
      .split("\n\n")
      .filter((b) => b.includes("event: "))
      .map((b) => {
        const f = Object.fromEntries(
          b.split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]),
        );
        return { id: f["id"], event: f["event"]!, data: f["data"]! };
      });
  }
}

/** A pool that knows which projects each user is a member of. */
function membership(members: Record<string, string[]>): Queryable {
  const execute = async (_sql: string, params: unknown[]) => {
    const [userId, projectId] = params as [string, string];
    const ok = members[userId]?.includes(projectId);
    const row = {
      id: projectId,
      name: "p",
      description: "",
      created_at: "2026-01-01 00:00:00.000",
      updated_at: "2026-01-01 00:00:00.000",
      version: 1,
    };
    return [ok ? [row] : []];
  };
  return { execute, query: execute } as unknown as Queryable;
}

const logger = pino({ level: "silent" });
const tick = () => new Promise((r) => setTimeout(r, 20));
const task = (projectId: string, id: string) => ({
  type: "task.created",
  projectId,
  data: { id, projectId },
});

test("events beyond the ring's bounds are gone: an older Last-Event-ID gets `reset`, a recent one the gap", async () => {
  const replica = new FakeReplica();
  const hub = new EventHub({
    replica: replica as unknown as Replica,
    pool: membership({ u: ["p"] }),
    logger,
    ringSize: 3,
  });
  for (let i = 1; i <= 5; i++) replica.apply([task("p", `t${i}`)]);
  const old = new Sink();
  hub.subscribe(old as unknown as ServerResponse, { userId: "u", tokenHash: "h", after: 1 });
  const recent = new Sink();
  hub.subscribe(recent as unknown as ServerResponse, { userId: "u", tokenHash: "h", after: 3 });
  await tick();
  assert.deepEqual(
    old.events().map((e) => e.event),
    ["reset", "cluster"],
  );
  assert.deepEqual(
    recent.events().map((e) => [e.event, e.id]),
    [
      ["task.created", "4"],
      ["task.created", "5"],
      ["cluster", undefined],
    ],
  );
  hub.close();
});

test("a client that stops reading is disconnected once its queue is full", async () => {
  const replica = new FakeReplica();
  const hub = new EventHub({
    replica: replica as unknown as Replica,
    pool: membership({ u: ["p"] }),
    logger,
    maxQueue: 10,
    maxBufferedBytes: 64,
  });
  const slow = new Sink(true);
  hub.subscribe(slow as unknown as ServerResponse, { userId: "u", tokenHash: "h" });
  for (let i = 0; i < 50; i++) replica.apply([task("p", `t${i}`)]);
  await tick();
  assert.equal(hub.clientCount, 0);
  hub.close();
});

test("only projects the user is a member of; joining and leaving change that from the next event on", async () => {
  const replica = new FakeReplica();
  const members: Record<string, string[]> = { u: ["mine"] };
  const hub = new EventHub({ replica: replica as unknown as Replica, pool: membership(members), logger });
  const sink = new Sink();
  hub.subscribe(sink as unknown as ServerResponse, { userId: "u", tokenHash: "h" });
  replica.apply([task("mine", "a")], [task("theirs", "b")]);
  await tick();
  members["u"]!.push("theirs");
  replica.apply(
    [{ type: "member.added", projectId: "theirs", data: { userId: "u", projectId: "theirs" } }],
    [task("theirs", "c")],
  );
  await tick();
  members["u"] = ["mine"];
  replica.apply(
    [{ type: "member.removed", projectId: "theirs", data: { userId: "u", projectId: "theirs" } }],
    [task("theirs", "d")],
  );
  await tick();
  const seen = sink
    .events()
    .filter((e) => e.event !== "cluster")
    .map((e) => `${e.event} ${JSON.parse(e.data).id ?? ""}`);
  assert.deepEqual(seen, ["task.created a", "member.added ", "task.created c", "member.removed "]);
  hub.close();
});
