/**
 * Every endpoint of API.md §2, success and failure paths, against a 3-node cluster of real
 * processes. Requests are spread over the nodes on purpose: any node must answer any request.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Compile } from "typebox/compile";
import { ClusterAnswer } from "../../src/api/schemas/cluster.js";
import { ErrorBody } from "../../src/api/schemas/common.js";
import { Comment, Label, Member, Project, Task, User } from "../../src/api/schemas/entities.js";
import { repoRoot } from "../../src/db/index.js";
import { type Answer, Cluster, EventStream, request, signup, uniqueName } from "./harness.js";

const checks = {
  user: Compile(User),
  project: Compile(Project),
  member: Compile(Member),
  label: Compile(Label),
  task: Compile(Task),
  comment: Compile(Comment),
  error: Compile(ErrorBody),
  cluster: Compile(ClusterAnswer),
};

/** The answer has the documented status and, for errors, the documented shape and code. */
function expect(r: Answer, status: number, code?: string): void {
  assert.equal(
    r.status,
    status,
    `expected ${status}${code ? ` ${code}` : ""}, got ${r.status}: ${r.text.slice(0, 500)}`,
  );
  assert.ok(r.headers.get("x-taskraft-node"), "X-Taskraft-Node on every response");
  if (status >= 400) {
    assert.ok(checks.error.Check(r.body), `error shape: ${r.text.slice(0, 300)}`);
    if (code) assert.equal(r.body.error.code, code);
  }
}

describe("API endpoints", () => {
  const cluster = new Cluster({ name: "ep" });
  let n1 = "";
  let n2 = "";
  let n3 = "";
  let admin = { token: "", user: { id: "", username: "", isAdmin: false } };
  let alice = { token: "", user: { id: "", username: "", isAdmin: false } };
  let bob = { token: "", user: { id: "", username: "", isAdmin: false } };

  before(async () => {
    await cluster.start();
    [n1, n2, n3] = cluster.ids.map((id) => cluster.url(id)) as [string, string, string];
    admin = await signup(n1, uniqueName("admin"));
    alice = await signup(n2, uniqueName("alice"));
    bob = await signup(n3, uniqueName("bob"));
  });
  after(async () => {
    await cluster.close();
  });

  describe("cross-origin", () => {
    test("a page served by one node may call every node: CORS preflight and exposed headers", async () => {
      const pre = await request(n2, "OPTIONS", "/api/v1/tasks", {
        headers: { origin: n1, "access-control-request-method": "POST" },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get("access-control-allow-origin"), "*");
      assert.match(pre.headers.get("access-control-allow-headers") ?? "", /Authorization/);
      assert.match(pre.headers.get("access-control-allow-headers") ?? "", /Idempotency-Key/);
      const r = await request(n2, "GET", "/api/v1/me", { token: alice.token, headers: { origin: n1 } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("access-control-allow-origin"), "*");
      assert.match(r.headers.get("access-control-expose-headers") ?? "", /X-Taskraft-Node/);
      const denied = await request(n2, "GET", "/api/v1/me", { headers: { origin: n1 } });
      assert.equal(denied.status, 401);
      assert.equal(denied.headers.get("access-control-allow-origin"), "*", "errors are readable too");
    });
  });

  describe("auth", () => {
    test("the first user ever is an admin, later ones are not", () => {
      assert.equal(admin.user.isAdmin, true);
      assert.equal(alice.user.isAdmin, false);
      assert.ok(checks.user.Check(alice.user));
    });

    test("signup: 201 with a token that works on every node; taken username 409; bad fields 400", async () => {
      const name = uniqueName("carol");
      const r = await request(n1, "POST", "/api/v1/auth/signup", {
        body: { username: name, password: "password 1", displayName: "Carol 🌼" },
      });
      expect(r, 201);
      assert.match(r.body.token, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(r.body.user.displayName, "Carol 🌼");
      for (const base of [n1, n2, n3]) {
        const me = await request(base, "GET", "/api/v1/me", { token: r.body.token });
        expect(me, 200);
        assert.equal(me.body.user.username, name);
      }
      expect(
        await request(n2, "POST", "/api/v1/auth/signup", {
          body: { username: name, password: "password 2" },
        }),
        409,
        "conflict",
      );
      const bad = await request(n3, "POST", "/api/v1/auth/signup", {
        body: { username: "A!", password: "short" },
      });
      expect(bad, 400, "validation_failed");
      assert.deepEqual(bad.body.error.details.map((d: { path: string }) => d.path).sort(), [
        "password",
        "username",
      ]);
    });

    test("signup creates the user's Inbox", async () => {
      const r = await request(n1, "GET", "/api/v1/projects", { token: alice.token });
      expect(r, 200);
      assert.deepEqual(
        r.body.items.map((p: { name: string }) => p.name),
        ["Inbox"],
      );
    });

    test("login: 200 with a new token; wrong password or unknown user 401 with the same message", async () => {
      const ok = await request(n3, "POST", "/api/v1/auth/login", {
        body: { username: alice.user.username, password: "correct horse battery" },
      });
      expect(ok, 200);
      assert.notEqual(ok.body.token, alice.token);
      const wrong = await request(n3, "POST", "/api/v1/auth/login", {
        body: { username: alice.user.username, password: "wrong password" },
      });
      expect(wrong, 401, "unauthorized");
      const unknown = await request(n3, "POST", "/api/v1/auth/login", {
        body: { username: "nobody-here", password: "wrong password" },
      });
      expect(unknown, 401, "unauthorized");
      assert.equal(wrong.body.error.message, unknown.body.error.message);
    });

    test("failed logins are rate limited per username: 429 with Retry-After", async () => {
      const victim = await signup(n1, uniqueName("victim"));
      const attempt = () =>
        request(n2, "POST", "/api/v1/auth/login", {
          body: { username: victim.user.username, password: "not the password" },
          headers: { "x-forwarded-for": "1.2.3.4" },
        });
      for (let i = 0; i < 5; i++) expect(await attempt(), 401, "unauthorized");
      const limited = await attempt();
      expect(limited, 429, "rate_limited");
      assert.ok(Number(limited.headers.get("retry-after")) >= 1);
      // Even the right password waits: the limit is on the name, not the guess.
      const right = await request(n2, "POST", "/api/v1/auth/login", {
        body: { username: victim.user.username, password: "correct horse battery" },
      });
      expect(right, 429, "rate_limited");
      // Other nodes keep their own count (documented): the account is usable there.
      expect(
        await request(n1, "POST", "/api/v1/auth/login", {
          body: { username: victim.user.username, password: "correct horse battery" },
        }),
        200,
      );
    });

    test("logout revokes the token on every node; a second logout is 401", async () => {
      const login = await request(n1, "POST", "/api/v1/auth/login", {
        body: { username: bob.user.username, password: "correct horse battery" },
      });
      const token = login.body.token as string;
      // Every node has resolved (and may remember) the token before it is revoked.
      for (const base of [n1, n2, n3]) expect(await request(base, "GET", "/api/v1/me", { token }), 200);
      expect(await request(n2, "POST", "/api/v1/auth/logout", { token }), 204);
      for (const base of [n1, n2, n3])
        expect(await request(base, "GET", "/api/v1/me", { token }), 401, "unauthorized");
      expect(
        await request(n3, "POST", "/api/v1/tasks", { token, body: { title: "after logout" } }),
        401,
        "unauthorized",
      );
      expect(await request(n1, "POST", "/api/v1/auth/logout", { token }), 401, "unauthorized");
    });

    test("an idempotent signup retried on another node answers the same user and a working token", async () => {
      const name = uniqueName("idem");
      const body = { username: name, password: "password 123" };
      const headers = { "idempotency-key": "signup-1" };
      const a = await request(n1, "POST", "/api/v1/auth/signup", { body, headers });
      const b = await request(n3, "POST", "/api/v1/auth/signup", { body, headers });
      expect(a, 201);
      expect(b, 201);
      assert.deepEqual(b.body, a.body);
      expect(await request(n2, "GET", "/api/v1/me", { token: b.body.token }), 200);
    });

    test("missing, malformed, unknown and forged tokens are 401", async () => {
      expect(await request(n1, "GET", "/api/v1/projects"), 401, "unauthorized");
      expect(
        await request(n1, "GET", "/api/v1/projects", { headers: { authorization: "Basic abc" } }),
        401,
        "unauthorized",
      );
      expect(await request(n1, "GET", "/api/v1/projects", { token: "x".repeat(43) }), 401, "unauthorized");
      expect(
        await request(n1, "GET", "/api/v1/me", {
          token: `${alice.token.slice(0, -1)}${alice.token.endsWith("A") ? "B" : "A"}`,
        }),
        401,
        "unauthorized",
      );
    });
  });

  describe("projects, members, labels", () => {
    test("create (Location, ETag), get, list, patch with If-Match (412 on a stale version)", async () => {
      const c = await request(n1, "POST", "/api/v1/projects", {
        token: alice.token,
        body: { name: "Garden", description: "veg" },
      });
      expect(c, 201);
      assert.ok(checks.project.Check(c.body.project));
      const id = c.body.project.id as string;
      assert.equal(c.headers.get("location"), `/api/v1/projects/${id}`);
      assert.equal(c.headers.get("etag"), '"1"');
      const g = await request(n2, "GET", `/api/v1/projects/${id}`, { token: alice.token });
      expect(g, 200);
      assert.deepEqual(g.body.project, c.body.project);
      const list = await request(n3, "GET", "/api/v1/projects", { token: alice.token });
      assert.ok(list.body.items.some((p: { id: string }) => p.id === id));
      const p = await request(n3, "PATCH", `/api/v1/projects/${id}`, {
        token: alice.token,
        headers: { "if-match": '"1"' },
        body: { name: "Garden 2" },
      });
      expect(p, 200);
      assert.equal(p.body.project.version, 2);
      assert.equal(p.headers.get("etag"), '"2"');
      expect(
        await request(n1, "PATCH", `/api/v1/projects/${id}`, {
          token: alice.token,
          headers: { "if-match": '"1"' },
          body: { name: "x" },
        }),
        412,
        "precondition_failed",
      );
      expect(
        await request(n1, "PATCH", `/api/v1/projects/${id}`, { token: alice.token, body: {} }),
        400,
        "validation_failed",
      );
    });

    test("delete removes the project and its tasks; the Inbox cannot be deleted; absent is 404", async () => {
      const c = await request(n2, "POST", "/api/v1/projects", { token: alice.token, body: { name: "Temp" } });
      const pid = c.body.project.id as string;
      const t = await request(n3, "POST", "/api/v1/tasks", {
        token: alice.token,
        body: { title: "doomed", projectId: pid },
      });
      expect(t, 201);
      expect(await request(n1, "DELETE", `/api/v1/projects/${pid}`, { token: alice.token }), 204);
      expect(await request(n2, "GET", `/api/v1/projects/${pid}`, { token: alice.token }), 404, "not_found");
      expect(
        await request(n3, "GET", `/api/v1/tasks/${t.body.task.id}`, { token: alice.token }),
        404,
        "not_found",
      );
      expect(
        await request(n1, "DELETE", `/api/v1/projects/${pid}`, { token: alice.token }),
        404,
        "not_found",
      );
      const inbox = (await request(n1, "GET", "/api/v1/projects", { token: alice.token })).body.items.find(
        (p: { name: string }) => p.name === "Inbox",
      );
      expect(
        await request(n1, "DELETE", `/api/v1/projects/${inbox.id}`, { token: alice.token }),
        409,
        "conflict",
      );
    });

    test("members: add by username (201), change role (200), list, remove (204); unknown user 404", async () => {
      const c = await request(n1, "POST", "/api/v1/projects", {
        token: alice.token,
        body: { name: "Shared" },
      });
      const pid = c.body.project.id as string;
      const add = await request(n2, "POST", `/api/v1/projects/${pid}/members`, {
        token: alice.token,
        body: { username: bob.user.username, role: "member" },
      });
      expect(add, 201);
      assert.ok(checks.member.Check(add.body.member));
      const role = await request(n3, "POST", `/api/v1/projects/${pid}/members`, {
        token: alice.token,
        body: { username: bob.user.username, role: "owner" },
      });
      expect(role, 200);
      assert.equal(role.body.member.role, "owner");
      const list = await request(n1, "GET", `/api/v1/projects/${pid}/members`, { token: bob.token });
      expect(list, 200);
      assert.equal(list.body.items.length, 2);
      // bob now sees the project and its tasks
      expect(await request(n2, "GET", `/api/v1/projects/${pid}`, { token: bob.token }), 200);
      expect(
        await request(n3, "POST", `/api/v1/projects/${pid}/members`, {
          token: alice.token,
          body: { username: "no-such-user" },
        }),
        404,
        "not_found",
      );
      expect(
        await request(n1, "DELETE", `/api/v1/projects/${pid}/members/${bob.user.id}`, { token: alice.token }),
        204,
      );
      expect(await request(n2, "GET", `/api/v1/projects/${pid}`, { token: bob.token }), 404, "not_found");
      expect(
        await request(n1, "DELETE", `/api/v1/projects/${pid}/members/${bob.user.id}`, { token: alice.token }),
        404,
        "not_found",
      );
    });

    test("labels: create (201), duplicate name 409, bad color 400, list, delete (204, taken off tasks)", async () => {
      const c = await request(n1, "POST", "/api/v1/projects", {
        token: alice.token,
        body: { name: "Labelled" },
      });
      const pid = c.body.project.id as string;
      const l = await request(n2, "POST", `/api/v1/projects/${pid}/labels`, {
        token: alice.token,
        body: { name: "bug", color: "#FF0000" },
      });
      expect(l, 201);
      assert.ok(checks.label.Check(l.body.label));
      assert.equal(l.body.label.color, "#ff0000");
      expect(
        await request(n3, "POST", `/api/v1/projects/${pid}/labels`, {
          token: alice.token,
          body: { name: "bug", color: "#00ff00" },
        }),
        409,
        "conflict",
      );
      expect(
        await request(n3, "POST", `/api/v1/projects/${pid}/labels`, {
          token: alice.token,
          body: { name: "x", color: "red" },
        }),
        400,
        "validation_failed",
      );
      const t = await request(n1, "POST", "/api/v1/tasks", {
        token: alice.token,
        body: { title: "labelled", projectId: pid, labelIds: [l.body.label.id] },
      });
      expect(t, 201);
      assert.deepEqual(t.body.task.labelIds, [l.body.label.id]);
      const byLabel = await request(n2, "GET", `/api/v1/tasks?labelId=${l.body.label.id}`, {
        token: alice.token,
      });
      assert.deepEqual(
        byLabel.body.items.map((x: { id: string }) => x.id),
        [t.body.task.id],
      );
      const list = await request(n3, "GET", `/api/v1/projects/${pid}/labels`, { token: alice.token });
      assert.equal(list.body.items.length, 1);
      expect(await request(n1, "DELETE", `/api/v1/labels/${l.body.label.id}`, { token: alice.token }), 204);
      const after = await request(n2, "GET", `/api/v1/tasks/${t.body.task.id}`, { token: alice.token });
      assert.deepEqual(after.body.task.labelIds, []);
      expect(
        await request(n1, "DELETE", `/api/v1/labels/${l.body.label.id}`, { token: alice.token }),
        404,
        "not_found",
      );
    });
  });

  describe("tasks and comments", () => {
    let pid = "";
    before(async () => {
      pid = (await request(n1, "POST", "/api/v1/projects", { token: alice.token, body: { name: "Board" } }))
        .body.project.id;
    });

    test("create with defaults (the Inbox), Location and ETag; get; delete with If-Match", async () => {
      const c = await request(n2, "POST", "/api/v1/tasks", {
        token: alice.token,
        body: { title: "  buy milk  " },
      });
      expect(c, 201);
      const task = c.body.task;
      assert.ok(checks.task.Check(task), JSON.stringify(task));
      assert.equal(task.title, "buy milk");
      assert.equal(task.status, "todo");
      assert.equal(task.priority, "medium");
      assert.equal(task.version, 1);
      assert.equal(task.completedAt, null);
      assert.equal(c.headers.get("location"), `/api/v1/tasks/${task.id}`);
      assert.equal(c.headers.get("etag"), '"1"');
      const g = await request(n3, "GET", `/api/v1/tasks/${task.id}`, { token: alice.token });
      expect(g, 200);
      assert.deepEqual(g.body.task, task);
      expect(
        await request(n1, "DELETE", `/api/v1/tasks/${task.id}`, {
          token: alice.token,
          headers: { "if-match": '"7"' },
        }),
        412,
        "precondition_failed",
      );
      expect(
        await request(n1, "DELETE", `/api/v1/tasks/${task.id}`, {
          token: alice.token,
          headers: { "if-match": '"1"' },
        }),
        204,
      );
      expect(await request(n2, "GET", `/api/v1/tasks/${task.id}`, { token: alice.token }), 404, "not_found");
      expect(
        await request(n3, "DELETE", `/api/v1/tasks/${task.id}`, { token: alice.token }),
        404,
        "not_found",
      );
      expect(
        await request(n3, "PATCH", `/api/v1/tasks/${task.id}`, { token: alice.token, body: { title: "x" } }),
        404,
        "not_found",
      );
    });

    test("patch: fields, done sets completedAt, version grows by one per change", async () => {
      const c = await request(n1, "POST", "/api/v1/tasks", {
        token: alice.token,
        body: {
          title: "write report",
          projectId: pid,
          priority: "high",
          dueDate: "2026-12-01",
          assigneeId: alice.user.id,
        },
      });
      expect(c, 201);
      const id = c.body.task.id;
      const p = await request(n2, "PATCH", `/api/v1/tasks/${id}`, {
        token: alice.token,
        body: { status: "done", description: "with charts", dueDate: null, assigneeId: null },
      });
      expect(p, 200);
      assert.equal(p.body.task.version, 2);
      assert.equal(p.body.task.dueDate, null);
      assert.equal(p.body.task.assigneeId, null);
      assert.ok(p.body.task.completedAt);
      assert.equal(p.headers.get("etag"), '"2"');
      const bad = await request(n3, "PATCH", `/api/v1/tasks/${id}`, {
        token: alice.token,
        body: { assigneeId: bob.user.id },
      });
      expect(bad, 400, "validation_failed");
      assert.equal(bad.body.error.details[0].path, "assigneeId");
    });

    test("moves with beforeId/afterId order the column by position", async () => {
      const make = async (title: string) =>
        (
          await request(n1, "POST", "/api/v1/tasks", {
            token: alice.token,
            body: { title, projectId: pid, status: "in_progress" },
          })
        ).body.task;
      const a = await make("A");
      const b = await make("B");
      const c = await make("C");
      const order = async () =>
        (
          await request(n3, "GET", `/api/v1/tasks?projectId=${pid}&status=in_progress`, {
            token: alice.token,
          })
        ).body.items.map((t: { title: string }) => t.title);
      assert.deepEqual(await order(), ["A", "B", "C"]);
      expect(
        await request(n2, "PATCH", `/api/v1/tasks/${c.id}`, { token: alice.token, body: { beforeId: a.id } }),
        200,
      );
      assert.deepEqual(await order(), ["C", "A", "B"]);
      expect(
        await request(n2, "PATCH", `/api/v1/tasks/${c.id}`, { token: alice.token, body: { afterId: a.id } }),
        200,
      );
      assert.deepEqual(await order(), ["A", "C", "B"]);
      // across columns
      expect(
        await request(n1, "PATCH", `/api/v1/tasks/${b.id}`, { token: alice.token, body: { status: "todo" } }),
        200,
      );
      assert.deepEqual(await order(), ["A", "C"]);
      const bad = await request(n1, "PATCH", `/api/v1/tasks/${a.id}`, {
        token: alice.token,
        body: { beforeId: "no-such-task" },
      });
      expect(bad, 400, "validation_failed");
    });

    test("list: filters, q, sort, limit and a cursor that is stable under concurrent writes", async () => {
      const p2 = (
        await request(n1, "POST", "/api/v1/projects", { token: alice.token, body: { name: "Paging" } })
      ).body.project.id;
      for (let i = 0; i < 7; i++) {
        expect(
          await request([n1, n2, n3][i % 3]!, "POST", "/api/v1/tasks", {
            token: alice.token,
            body: {
              title: `page ${i}`,
              projectId: p2,
              priority: i % 2 ? "urgent" : "low",
              dueDate: `2027-01-0${i + 1}`,
            },
          }),
          201,
        );
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q = `/api/v1/tasks?projectId=${p2}&sort=createdAt&limit=3${cursor ? `&cursor=${cursor}` : ""}`;
        const r = await request(n2, "GET", q, { token: alice.token });
        expect(r, 200);
        seen.push(...r.body.items.map((t: { title: string }) => t.title));
        cursor = r.body.nextCursor;
        if (pages === 0) {
          // A write between pages must not shift the rest of the listing.
          await request(n3, "POST", "/api/v1/tasks", {
            token: alice.token,
            body: { title: "page late", projectId: p2 },
          });
        }
        pages++;
      } while (cursor);
      assert.deepEqual(seen, [...Array.from({ length: 7 }, (_, i) => `page ${i}`), "page late"]);
      const urgent = await request(n1, "GET", `/api/v1/tasks?projectId=${p2}&priority=urgent`, {
        token: alice.token,
      });
      assert.equal(urgent.body.items.length, 3);
      const due = await request(
        n1,
        "GET",
        `/api/v1/tasks?projectId=${p2}&dueBefore=2027-01-03&sort=dueDate`,
        { token: alice.token },
      );
      assert.deepEqual(
        due.body.items.map((t: { title: string }) => t.title),
        ["page 0", "page 1"],
      );
      const after = await request(n1, "GET", `/api/v1/tasks?projectId=${p2}&dueAfter=2027-01-06`, {
        token: alice.token,
      });
      assert.deepEqual(
        after.body.items.map((t: { title: string }) => t.title),
        ["page 6"],
      );
      const byPrio = await request(n2, "GET", `/api/v1/tasks?projectId=${p2}&sort=-priority&limit=1`, {
        token: alice.token,
      });
      assert.equal(byPrio.body.items[0].priority, "urgent");
      const recent = await request(n3, "GET", `/api/v1/tasks?projectId=${p2}&sort=-updatedAt&limit=1`, {
        token: alice.token,
      });
      assert.equal(recent.body.items[0].title, "page late");
      const q = await request(n3, "GET", `/api/v1/tasks?projectId=${p2}&q=${encodeURIComponent("PAGE 3")}`, {
        token: alice.token,
      });
      assert.deepEqual(
        q.body.items.map((t: { title: string }) => t.title),
        ["page 3"],
      );
      // a cursor of another sort is refused
      const other = await request(n1, "GET", `/api/v1/tasks?projectId=${p2}&limit=1`, { token: alice.token });
      expect(
        await request(n1, "GET", `/api/v1/tasks?sort=dueDate&cursor=${other.body.nextCursor}`, {
          token: alice.token,
        }),
        400,
        "validation_failed",
      );
    });

    test("comments: create (201), list, delete by author (204) and not by another member (403)", async () => {
      const t = (
        await request(n1, "POST", "/api/v1/tasks", {
          token: alice.token,
          body: { title: "discuss", projectId: pid },
        })
      ).body.task;
      const c = await request(n2, "POST", `/api/v1/tasks/${t.id}/comments`, {
        token: alice.token,
        body: { body: "first!\nline two" },
      });
      expect(c, 201);
      assert.ok(checks.comment.Check(c.body.comment));
      assert.equal(c.body.comment.body, "first!\nline two");
      const one = await request(n3, "GET", `/api/v1/comments/${c.body.comment.id}`, { token: alice.token });
      expect(one, 200);
      const list = await request(n3, "GET", `/api/v1/tasks/${t.id}/comments`, { token: alice.token });
      expect(list, 200);
      assert.equal(list.body.items.length, 1);
      expect(
        await request(n1, "POST", `/api/v1/tasks/${t.id}/comments`, {
          token: alice.token,
          body: { body: "" },
        }),
        400,
        "validation_failed",
      );
      await request(n1, "POST", `/api/v1/projects/${pid}/members`, {
        token: alice.token,
        body: { username: bob.user.username },
      });
      expect(
        await request(n1, "DELETE", `/api/v1/comments/${c.body.comment.id}`, { token: bob.token }),
        403,
        "forbidden",
      );
      expect(
        await request(n1, "DELETE", `/api/v1/comments/${c.body.comment.id}`, { token: alice.token }),
        204,
      );
      expect(
        await request(n2, "DELETE", `/api/v1/comments/${c.body.comment.id}`, { token: alice.token }),
        404,
        "not_found",
      );
      expect(
        await request(n2, "GET", "/api/v1/tasks/no-such/comments", { token: alice.token }),
        404,
        "not_found",
      );
      await request(n1, "DELETE", `/api/v1/projects/${pid}/members/${bob.user.id}`, { token: alice.token });
    });

    test("stale reads answer from local state with X-Taskraft-Applied-Index", async () => {
      const r = await request(n3, "GET", "/api/v1/tasks?consistency=stale&limit=1", { token: alice.token });
      expect(r, 200);
      assert.match(r.headers.get("x-taskraft-applied-index") ?? "", /^\d+$/);
      expect(
        await request(n3, "GET", "/api/v1/tasks?consistency=eventual", { token: alice.token }),
        400,
        "validation_failed",
      );
    });
  });

  describe("isolation between users", () => {
    test("another user's project and task are 404 to read, change, join, comment or watch", async () => {
      const pid = (
        await request(n1, "POST", "/api/v1/projects", { token: alice.token, body: { name: "Private" } })
      ).body.project.id;
      const tid = (
        await request(n2, "POST", "/api/v1/tasks", {
          token: alice.token,
          body: { title: "secret", projectId: pid },
        })
      ).body.task.id;
      const lid = (
        await request(n3, "POST", `/api/v1/projects/${pid}/labels`, {
          token: alice.token,
          body: { name: "l", color: "#123456" },
        })
      ).body.label.id;
      const cid = (
        await request(n1, "POST", `/api/v1/tasks/${tid}/comments`, {
          token: alice.token,
          body: { body: "hi" },
        })
      ).body.comment.id;
      const t = bob.token;
      const tries: [string, string, unknown?][] = [
        ["GET", `/api/v1/projects/${pid}`],
        ["PATCH", `/api/v1/projects/${pid}`, { name: "mine" }],
        ["DELETE", `/api/v1/projects/${pid}`],
        ["GET", `/api/v1/projects/${pid}/members`],
        ["POST", `/api/v1/projects/${pid}/members`, { username: bob.user.username, role: "owner" }],
        ["DELETE", `/api/v1/projects/${pid}/members/${alice.user.id}`],
        ["GET", `/api/v1/projects/${pid}/labels`],
        ["POST", `/api/v1/projects/${pid}/labels`, { name: "x", color: "#000000" }],
        ["DELETE", `/api/v1/labels/${lid}`],
        ["GET", `/api/v1/tasks/${tid}`],
        ["PATCH", `/api/v1/tasks/${tid}`, { title: "mine" }],
        ["DELETE", `/api/v1/tasks/${tid}`],
        ["GET", `/api/v1/tasks/${tid}/comments`],
        ["POST", `/api/v1/tasks/${tid}/comments`, { body: "hello" }],
        ["GET", `/api/v1/comments/${cid}`],
        ["DELETE", `/api/v1/comments/${cid}`],
        ["POST", "/api/v1/tasks", { title: "into yours", projectId: pid }],
        ["GET", `/api/v1/events?projectId=${pid}`],
      ];
      for (const [method, path, body] of tries) {
        const r = await request([n1, n2, n3][Math.floor(Math.random() * 3)]!, method, path, {
          token: t,
          body,
        });
        expect(r, 404, "not_found");
      }
      const list = await request(n1, "GET", `/api/v1/tasks?projectId=${pid}`, { token: t });
      expect(list, 200);
      assert.equal(list.body.items.length, 0);
      // Nothing changed for alice.
      const still = await request(n2, "GET", `/api/v1/tasks/${tid}`, { token: alice.token });
      assert.equal(still.body.task.title, "secret");
      assert.equal(still.body.task.version, 1);
      const members = await request(n3, "GET", `/api/v1/projects/${pid}/members`, { token: alice.token });
      assert.equal(members.body.items.length, 1);
    });

    test("the unfiltered event stream carries only the user's own projects", async () => {
      const bobStream = await EventStream.open(n1, "/api/v1/events", bob.token);
      const aliceStream = await EventStream.open(n2, "/api/v1/events", alice.token);
      const aliceTask = (
        await request(n3, "POST", "/api/v1/tasks", { token: alice.token, body: { title: "alice only" } })
      ).body.task;
      const bobTask = (
        await request(n3, "POST", "/api/v1/tasks", { token: bob.token, body: { title: "bob only" } })
      ).body.task;
      await bobStream.waitFor((e) => e.event === "task.created" && e.data.id === bobTask.id);
      await aliceStream.waitFor((e) => e.event === "task.created" && e.data.id === aliceTask.id);
      assert.ok(!bobStream.events.some((e) => e.data?.id === aliceTask.id), "bob must not see alice's task");
      assert.ok(!aliceStream.events.some((e) => e.data?.id === bobTask.id), "alice must not see bob's task");
      bobStream.close();
      aliceStream.close();
    });

    test("a project-filtered stream gets only that project's events", async () => {
      const pid = (
        await request(n1, "POST", "/api/v1/projects", { token: alice.token, body: { name: "Watched" } })
      ).body.project.id;
      const s = await EventStream.open(n3, `/api/v1/events?projectId=${pid}`, alice.token);
      assert.equal(s.status, 200);
      await request(n2, "POST", "/api/v1/tasks", { token: alice.token, body: { title: "elsewhere" } });
      const mine = (
        await request(n2, "POST", "/api/v1/tasks", {
          token: alice.token,
          body: { title: "here", projectId: pid },
        })
      ).body.task;
      await s.waitFor((e) => e.event === "task.created" && e.data.id === mine.id);
      assert.ok(s.events.filter((e) => e.event.startsWith("task.")).every((e) => e.data.projectId === pid));
      s.close();
    });
  });

  describe("hostile and malformed requests", () => {
    test("each gets its documented 4xx and changes nothing", async () => {
      const t = alice.token;
      const tid = (await request(n1, "POST", "/api/v1/tasks", { token: t, body: { title: "target" } })).body
        .task.id;
      const before = await request(n1, "GET", "/api/v1/tasks?limit=500", { token: t });
      const beforeProjects = await request(n1, "GET", "/api/v1/projects", { token: t });
      const J = { "content-type": "application/json" };
      type Case = [string, string, string, RequestOptions2, number, string];
      type RequestOptions2 = {
        body?: unknown;
        raw?: string;
        headers?: Record<string, string>;
        token?: string | undefined;
      };
      const cases: Case[] = [
        ["broken JSON", "POST", "/api/v1/tasks", { raw: '{"title": "a"', headers: J }, 400, "bad_request"],
        [
          "trailing garbage",
          "POST",
          "/api/v1/tasks",
          { raw: '{"title":"a"} x', headers: J },
          400,
          "bad_request",
        ],
        ["single quotes", "POST", "/api/v1/tasks", { raw: "{'title':'a'}", headers: J }, 400, "bad_request"],
        ["NaN literal", "POST", "/api/v1/tasks", { raw: '{"title":NaN}', headers: J }, 400, "bad_request"],
        ["just a comma", "POST", "/api/v1/tasks", { raw: ",", headers: J }, 400, "bad_request"],
        [
          "lone surrogate",
          "POST",
          "/api/v1/tasks",
          { raw: '{"title":"\\udc00"}', headers: J },
          400,
          "validation_failed",
        ],
        [
          "__proto__ key",
          "POST",
          "/api/v1/tasks",
          { raw: '{"title":"a","__proto__":{"isAdmin":true}}', headers: J },
          400,
          "bad_request",
        ],
        [
          "constructor key",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", constructor: { prototype: {} } } },
          400,
          "validation_failed",
        ],
        ["array body", "POST", "/api/v1/tasks", { body: [] }, 400, "validation_failed"],
        ["string body", "POST", "/api/v1/tasks", { body: "title" }, 400, "validation_failed"],
        ["null body", "POST", "/api/v1/tasks", { raw: "null", headers: J }, 400, "validation_failed"],
        ["number body", "POST", "/api/v1/tasks", { raw: "42", headers: J }, 400, "validation_failed"],
        ["empty object", "POST", "/api/v1/tasks", { body: {} }, 400, "validation_failed"],
        [
          "unknown field",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", owner: "me" } },
          400,
          "validation_failed",
        ],
        [
          "isAdmin smuggled",
          "POST",
          "/api/v1/auth/signup",
          { body: { username: "sneaky", password: "password1", isAdmin: true } },
          400,
          "validation_failed",
        ],
        ["title number", "POST", "/api/v1/tasks", { body: { title: 12 } }, 400, "validation_failed"],
        ["title array", "POST", "/api/v1/tasks", { body: { title: ["a"] } }, 400, "validation_failed"],
        ["title object", "POST", "/api/v1/tasks", { body: { title: { $gt: "" } } }, 400, "validation_failed"],
        ["title null", "POST", "/api/v1/tasks", { body: { title: null } }, 400, "validation_failed"],
        ["title blank", "POST", "/api/v1/tasks", { body: { title: "   \t " } }, 400, "validation_failed"],
        [
          "title 201 chars",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a".repeat(201) } },
          400,
          "validation_failed",
        ],
        [
          "title 201 emoji",
          "POST",
          "/api/v1/tasks",
          { body: { title: "😀".repeat(201) } },
          400,
          "validation_failed",
        ],
        ["title NUL", "POST", "/api/v1/tasks", { body: { title: "a\u0000b" } }, 400, "validation_failed"],
        ["title newline", "POST", "/api/v1/tasks", { body: { title: "a\nb" } }, 400, "validation_failed"],
        [
          "title escape seq",
          "POST",
          "/api/v1/tasks",
          { body: { title: "\u001b[31mred" } },
          400,
          "validation_failed",
        ],
        [
          "description 10001",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", description: "d".repeat(10_001) } },
          400,
          "validation_failed",
        ],
        [
          "description bell",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", description: "\u0007" } },
          400,
          "validation_failed",
        ],
        [
          "status bogus",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", status: "doing" } },
          400,
          "validation_failed",
        ],
        [
          "status case",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", status: "TODO" } },
          400,
          "validation_failed",
        ],
        [
          "priority number",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", priority: 3 } },
          400,
          "validation_failed",
        ],
        [
          "due date impossible",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", dueDate: "2026-02-30" } },
          400,
          "validation_failed",
        ],
        [
          "due date format",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", dueDate: "01/12/2026" } },
          400,
          "validation_failed",
        ],
        [
          "due date timestamp",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", dueDate: 1767225600000 } },
          400,
          "validation_failed",
        ],
        [
          "labelIds not array",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", labelIds: "x" } },
          400,
          "validation_failed",
        ],
        [
          "labelIds 51",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", labelIds: Array.from({ length: 51 }, (_, i) => `l${i}`) } },
          400,
          "validation_failed",
        ],
        [
          "labelIds dup",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", labelIds: ["x", "x"] } },
          400,
          "validation_failed",
        ],
        [
          "projectId SQL",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", projectId: "1' OR '1'='1" } },
          400,
          "validation_failed",
        ],
        [
          "assignee SQL",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", assigneeId: "x; DROP TABLE users" } },
          400,
          "validation_failed",
        ],
        [
          "projectId too long",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", projectId: "p".repeat(65) } },
          400,
          "validation_failed",
        ],
        [
          "projectId absent",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a", projectId: "does-not-exist" } },
          404,
          "not_found",
        ],
        [
          "huge number",
          "POST",
          "/api/v1/projects/x/members",
          { body: { username: "abc", role: 1e308 } },
          400,
          "validation_failed",
        ],
        [
          "deep nesting",
          "POST",
          "/api/v1/tasks",
          { raw: `{"title":${"[".repeat(5000)}${"]".repeat(5000)}}`, headers: J },
          400,
          "bad_request",
        ],
        [
          "body too large",
          "POST",
          "/api/v1/tasks",
          { raw: JSON.stringify({ title: "a", description: "x".repeat(1_100_000) }), headers: J },
          413,
          "payload_too_large",
        ],
        [
          "text/plain body",
          "POST",
          "/api/v1/tasks",
          { raw: "title=a", headers: { "content-type": "text/plain" } },
          415,
          "unsupported_media_type",
        ],
        [
          "form body",
          "POST",
          "/api/v1/tasks",
          { raw: "title=a", headers: { "content-type": "application/x-www-form-urlencoded" } },
          415,
          "unsupported_media_type",
        ],
        [
          "xml body",
          "POST",
          "/api/v1/tasks",
          { raw: "<title>a</title>", headers: { "content-type": "application/xml" } },
          415,
          "unsupported_media_type",
        ],
        ["no content type", "POST", "/api/v1/tasks", { raw: '{"title":"a"}' }, 415, "unsupported_media_type"],
        ["patch empty", "PATCH", `/api/v1/tasks/${tid}`, { body: {} }, 400, "validation_failed"],
        [
          "patch version field",
          "PATCH",
          `/api/v1/tasks/${tid}`,
          { body: { version: 99 } },
          400,
          "validation_failed",
        ],
        [
          "patch id field",
          "PATCH",
          `/api/v1/tasks/${tid}`,
          { body: { id: "other" } },
          400,
          "validation_failed",
        ],
        [
          "if-match garbage",
          "PATCH",
          `/api/v1/tasks/${tid}`,
          { body: { title: "b" }, headers: { "if-match": "banana" } },
          400,
          "validation_failed",
        ],
        [
          "if-match negative",
          "PATCH",
          `/api/v1/tasks/${tid}`,
          { body: { title: "b" }, headers: { "if-match": '"-1"' } },
          400,
          "validation_failed",
        ],
        [
          "if-match list",
          "PATCH",
          `/api/v1/tasks/${tid}`,
          { body: { title: "b" }, headers: { "if-match": '"1", "2"' } },
          400,
          "validation_failed",
        ],
        [
          "if-match stale",
          "PATCH",
          `/api/v1/tasks/${tid}`,
          { body: { title: "b" }, headers: { "if-match": '"99"' } },
          412,
          "precondition_failed",
        ],
        [
          "idempotency key too long",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a" }, headers: { "idempotency-key": "k".repeat(129) } },
          400,
          "validation_failed",
        ],
        [
          "idempotency key non-ascii",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a" }, headers: { "idempotency-key": "clé\u00ff" } },
          400,
          "validation_failed",
        ],
        [
          "idempotency key empty",
          "POST",
          "/api/v1/tasks",
          { body: { title: "a" }, headers: { "idempotency-key": "" } },
          400,
          "validation_failed",
        ],
        ["path id SQL", "GET", "/api/v1/tasks/1'%20OR%201=1--", {}, 400, "validation_failed"],
        ["path traversal", "GET", "/api/v1/tasks/..%2F..%2Fetc%2Fpasswd", {}, 400, "validation_failed"],
        ["bad percent encoding", "GET", "/api/v1/tasks/%E0%A4%A", {}, 400, "bad_request"],
        ["path unicode id", "GET", "/api/v1/tasks/%F0%9F%98%80", {}, 400, "validation_failed"],
        ["unknown route", "GET", "/api/v1/tasks/x/y/z", {}, 404, "not_found"],
        ["unknown api root", "GET", "/api/v2/tasks", {}, 404, "not_found"],
        ["wrong method", "PUT", `/api/v1/tasks/${tid}`, { body: { title: "a" } }, 404, "not_found"],
        ["query limit 0", "GET", "/api/v1/tasks?limit=0", {}, 400, "validation_failed"],
        ["query limit 501", "GET", "/api/v1/tasks?limit=501", {}, 400, "validation_failed"],
        ["query limit text", "GET", "/api/v1/tasks?limit=ten", {}, 400, "validation_failed"],
        ["query limit float", "GET", "/api/v1/tasks?limit=1.5", {}, 400, "validation_failed"],
        ["query sort bogus", "GET", "/api/v1/tasks?sort=title;DROP", {}, 400, "validation_failed"],
        ["query unknown", "GET", "/api/v1/tasks?admin=1", {}, 400, "validation_failed"],
        ["query repeated", "GET", "/api/v1/tasks?status=todo&status=done", {}, 400, "validation_failed"],
        [
          "query cursor forged",
          "GET",
          `/api/v1/tasks?cursor=${Buffer.from('{"s":"position","k":["x\\u0027"]}').toString("base64url")}`,
          {},
          400,
          "validation_failed",
        ],
        ["query cursor junk", "GET", "/api/v1/tasks?cursor=%00%00", {}, 400, "validation_failed"],
        ["query q too long", "GET", `/api/v1/tasks?q=${"q".repeat(201)}`, {}, 400, "validation_failed"],
        ["query date bogus", "GET", "/api/v1/tasks?dueBefore=tomorrow", {}, 400, "validation_failed"],
        ["forged token", "GET", "/api/v1/me", { token: "A".repeat(43) }, 401, "unauthorized"],
        [
          "token in wrong scheme",
          "GET",
          "/api/v1/me",
          { headers: { authorization: `Token ${t}` } },
          401,
          "unauthorized",
        ],
        [
          "token with newline trick",
          "GET",
          "/api/v1/me",
          { headers: { authorization: `Bearer ${t.slice(0, 20)}` } },
          401,
          "unauthorized",
        ],
        [
          "two bearer tokens",
          "GET",
          "/api/v1/me",
          { headers: { authorization: `Bearer ${t} ${t}` } },
          401,
          "unauthorized",
        ],
        [
          "SQL in token",
          "GET",
          "/api/v1/me",
          { headers: { authorization: "Bearer ' OR 1=1 --" } },
          401,
          "unauthorized",
        ],
        [
          "login with SQL",
          "POST",
          "/api/v1/auth/login",
          { body: { username: "' OR '1'='1", password: "' OR '1'='1" } },
          401,
          "unauthorized",
        ],
        [
          "login with object",
          "POST",
          "/api/v1/auth/login",
          { body: { username: { $ne: null }, password: "x" } },
          400,
          "validation_failed",
        ],
        [
          "signup password 201",
          "POST",
          "/api/v1/auth/signup",
          { body: { username: "longpw", password: "p".repeat(201) } },
          400,
          "validation_failed",
        ],
        [
          "signup username unicode",
          "POST",
          "/api/v1/auth/signup",
          { body: { username: "алиса", password: "password1" } },
          400,
          "validation_failed",
        ],
        [
          "signup username uppercase",
          "POST",
          "/api/v1/auth/signup",
          { body: { username: "Alice", password: "password1" } },
          400,
          "validation_failed",
        ],
        [
          "signup username SQL",
          "POST",
          "/api/v1/auth/signup",
          { body: { username: "a';--", password: "password1" } },
          400,
          "validation_failed",
        ],
        [
          "member role bogus",
          "POST",
          `/api/v1/projects/x/members`,
          { body: { username: "abc", role: "admin" } },
          400,
          "validation_failed",
        ],
        [
          "label color SQL",
          "POST",
          "/api/v1/projects/x/labels",
          { body: { name: "l", color: "#fff'--" } },
          400,
          "validation_failed",
        ],
        [
          "comment too long",
          "POST",
          `/api/v1/tasks/${tid}/comments`,
          { body: { body: "c".repeat(5001) } },
          400,
          "validation_failed",
        ],
        [
          "comment number",
          "POST",
          `/api/v1/tasks/${tid}/comments`,
          { body: { body: 5 } },
          400,
          "validation_failed",
        ],
        ["cluster as non-admin", "POST", "/api/v1/cluster/snapshot", {}, 403, "forbidden"],
        ["chaos without --chaos", "POST", "/api/v1/chaos/crash", {}, 404, "not_found"],
        [
          "events bad last-event-id",
          "GET",
          "/api/v1/events",
          { headers: { "last-event-id": "abc" } },
          400,
          "validation_failed",
        ],
      ];
      assert.ok(cases.length >= 60, `${cases.length} cases`);
      const nodes = [n1, n2, n3];
      for (const [i, [name, method, path, opts, status, code]] of cases.entries()) {
        const token = "token" in opts ? opts.token : opts.headers?.["authorization"] ? undefined : t;
        const r = await request(nodes[i % 3]!, method, path, { ...opts, token });
        assert.equal(
          r.status,
          status,
          `${name}: expected ${status}, got ${r.status} ${r.text.slice(0, 300)}`,
        );
        assert.ok(checks.error.Check(r.body), `${name}: error shape ${r.text.slice(0, 200)}`);
        assert.equal(r.body.error.code, code, `${name}: ${r.text.slice(0, 300)}`);
        assert.ok(r.headers.get("x-taskraft-node"), `${name}: X-Taskraft-Node`);
        if (code === "validation_failed" && r.body.error.details) {
          for (const d of r.body.error.details) assert.equal(typeof d.problem, "string", name);
        }
      }
      const afterList = await request(n2, "GET", "/api/v1/tasks?limit=500", { token: t });
      assert.deepEqual(afterList.body.items, before.body.items, "no task changed");
      assert.deepEqual(
        (await request(n3, "GET", "/api/v1/projects", { token: t })).body,
        beforeProjects.body,
      );
      for (const base of nodes) expect(await request(base, "GET", "/healthz"), 200);
    });

    test("SQL metacharacters and unicode in valid fields are stored and returned verbatim", async () => {
      const values = [
        "'; DROP TABLE tasks; --",
        'Robert"); DELETE FROM users WHERE ("1"="1',
        "100% _done_ \\ back\\slash",
        "emoji 😀👩‍👩‍👧‍👦 and flags 🇫🇷",
        "RTL עברית العربية",
        "combining é vs é",
        "zero\u200bwidth",
        "😀".repeat(200),
        "<script>alert(1)</script>",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j-style payload, stored as text
        "${jndi:ldap://x}",
      ];
      for (const [i, title] of values.entries()) {
        const c = await request([n1, n2, n3][i % 3]!, "POST", "/api/v1/tasks", {
          token: alice.token,
          body: { title, description: `${title}\n\ttab` },
        });
        expect(c, 201);
        const g = await request([n2, n3, n1][i % 3]!, "GET", `/api/v1/tasks/${c.body.task.id}`, {
          token: alice.token,
        });
        assert.equal(g.body.task.title, title);
        assert.equal(g.body.task.description, `${title}\n\ttab`);
      }
      const pct = await request(n1, "GET", `/api/v1/tasks?q=${encodeURIComponent("100%")}`, {
        token: alice.token,
      });
      assert.deepEqual(
        pct.body.items.map((x: { title: string }) => x.title),
        ["100% _done_ \\ back\\slash"],
      );
      const under = await request(n1, "GET", `/api/v1/tasks?q=${encodeURIComponent("_done_")}`, {
        token: alice.token,
      });
      assert.equal(under.body.items.length, 1);
      const p = await request(n2, "POST", "/api/v1/projects", {
        token: alice.token,
        body: { name: "Projekt ü' OR 1=1 --" },
      });
      expect(p, 201);
      assert.equal(p.body.project.name, "Projekt ü' OR 1=1 --");
    });
  });

  describe("probes, metrics, OpenAPI, cluster view", () => {
    test("healthz, readyz and metrics need no token", async () => {
      const h = await request(n1, "GET", "/healthz");
      expect(h, 200);
      const r = await request(n2, "GET", "/readyz");
      expect(r, 200);
      assert.equal(r.body.ready, true);
      const m = await request(n3, "GET", "/metrics");
      expect(m, 200);
      for (const name of [
        "taskraft_raft_term",
        "taskraft_raft_role",
        "taskraft_raft_commit_index",
        "taskraft_raft_applied_index",
        "taskraft_raft_last_index",
        "taskraft_raft_proposals_total",
        "taskraft_raft_committed_entries_total",
        "taskraft_raft_elections_total",
        "taskraft_raft_append_seconds",
        "taskraft_storage_fsync_seconds_bucket",
        "taskraft_apply_seconds",
        "taskraft_http_request_seconds_bucket",
        "taskraft_mysql_pool_connections",
      ]) {
        assert.ok(m.text.includes(name), `metrics has ${name}`);
      }
      assert.match(
        m.text,
        /taskraft_http_request_seconds_count\{method="GET",route="\/api\/v1\/tasks\/:id",status="200"\}/,
      );
      assert.ok(!m.text.includes(alice.token), "no token in metrics");
    });

    test("non-API paths: the web UI when built, else 404 JSON", async () => {
      const built = existsSync(join(repoRoot(), "dist", "web", "index.html"));
      const r = await request(n1, "GET", "/");
      if (built) {
        assert.equal(r.status, 200);
        assert.equal(r.headers.get("cache-control"), "no-cache");
      } else {
        expect(r, 404, "not_found");
      }
      expect(await request(n1, "GET", "/api/v1/does-not-exist"), 404, "not_found");
    });

    test("the OpenAPI 3.1 document describes every route with its schemas", async () => {
      const r = await request(n1, "GET", "/api/v1/openapi.json");
      expect(r, 200);
      assert.equal(r.body.openapi, "3.1.0");
      const paths = Object.keys(r.body.paths);
      for (const p of [
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/projects",
        "/api/v1/projects/{id}",
        "/api/v1/projects/{id}/members",
        "/api/v1/projects/{id}/members/{userId}",
        "/api/v1/projects/{id}/labels",
        "/api/v1/labels/{id}",
        "/api/v1/tasks",
        "/api/v1/tasks/{id}",
        "/api/v1/tasks/{id}/comments",
        "/api/v1/comments/{id}",
        "/api/v1/events",
        "/api/v1/cluster",
        "/api/v1/cluster/members",
        "/api/v1/cluster/members/{id}",
        "/api/v1/cluster/transfer-leadership",
        "/api/v1/cluster/snapshot",
        "/healthz",
        "/readyz",
        "/metrics",
      ]) {
        assert.ok(paths.includes(p), `openapi has ${p}`);
      }
      const post = r.body.paths["/api/v1/tasks"].post;
      assert.equal(post.requestBody.content["application/json"].schema.properties.title.maxLength, 200);
      assert.ok(post.responses["201"]);
      assert.ok(
        post.parameters.some(
          (x: { name: string; in: string }) => x.name === "idempotency-key" && x.in === "header",
        ),
      );
      const list = r.body.paths["/api/v1/tasks"].get;
      assert.ok(list.parameters.some((x: { name: string }) => x.name === "cursor"));
    });

    test("GET /cluster shows every member; cluster changes are admin-only", async () => {
      const r = await request(n2, "GET", "/api/v1/cluster", { token: alice.token });
      expect(r, 200);
      assert.ok(checks.cluster.Check(r.body), r.text);
      assert.equal(r.body.nodeId, "n2");
      assert.deepEqual(r.body.members.map((m: { id: string }) => m.id).sort(), ["n1", "n2", "n3"]);
      assert.ok(r.body.members.every((m: { voter: boolean; reachable: boolean }) => m.voter && m.reachable));
      assert.equal(r.body.database.connected, true);
      expect(await request(n2, "GET", "/api/v1/cluster"), 401, "unauthorized");
      expect(
        await request(n1, "POST", "/api/v1/cluster/members", {
          token: alice.token,
          body: { id: "n9", raftAddress: "127.0.0.1:1", apiUrl: "http://127.0.0.1:2", voter: true },
        }),
        403,
        "forbidden",
      );
      expect(
        await request(n1, "DELETE", "/api/v1/cluster/members/n3", { token: alice.token }),
        403,
        "forbidden",
      );
      expect(
        await request(n1, "POST", "/api/v1/cluster/transfer-leadership", { token: alice.token, body: {} }),
        403,
        "forbidden",
      );
      expect(
        await request(n1, "DELETE", "/api/v1/cluster/members/n9", { token: admin.token }),
        404,
        "not_found",
      );
      expect(
        await request(n1, "POST", "/api/v1/cluster/members", {
          token: admin.token,
          body: { id: "n1", raftAddress: "127.0.0.1:1", apiUrl: "http://127.0.0.1:2", voter: true },
        }),
        409,
        "conflict",
      );
      expect(
        await request(n1, "POST", "/api/v1/cluster/members", {
          token: admin.token,
          body: { id: "n 9", raftAddress: "nowhere", apiUrl: "ftp://x", voter: false },
        }),
        400,
        "validation_failed",
      );
    });
  });

  test("every node's database is identical", async () => {
    const report = await cluster.checkConsistency();
    assert.ok(report.consistent, JSON.stringify(report.differences));
  });
});
