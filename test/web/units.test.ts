/**
 * The web UI's pure modules, in Node: the event-stream parser, the board's move placement and
 * the URL ⇄ view mapping. (The browser tests exercise them end to end.)
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SseParser } from "../../web/src/api/sse-parser.js";
import { columnsOf, insertPlaced, isSameSpot, placeAt } from "../../web/src/lib/board-order.js";
import { formatRoute, parseRoute, taskListQuery } from "../../web/src/lib/route.js";

describe("SseParser (WHATWG event-stream)", () => {
  test("parses id, event and multi-line data, and skips comments", () => {
    const p = new SseParser();
    const out = p.push(': ping\n\nretry: 2000\n\nid: 7\nevent: task.created\ndata: {"a":\ndata: 1}\n\n');
    assert.deepEqual(out, [{ id: "7", event: "task.created", data: '{"a":\n1}' }]);
    assert.equal(p.lastEventId, "7");
    assert.equal(p.retryMs, 2000);
  });

  test("handles chunks split anywhere, including between CR and LF", () => {
    const text = "id: 1\r\nevent: x\r\ndata: one\r\n\r\nid: 2\rdata: two\r\r";
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const out = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      assert.deepEqual(
        out,
        [
          { id: "1", event: "x", data: "one" },
          { id: "2", event: "message", data: "two" },
        ],
        `cut at ${cut}`,
      );
    }
  });

  test("ids persist across events; an event without data is not dispatched", () => {
    const p = new SseParser();
    assert.deepEqual(p.push("id: 5\n\n"), []);
    assert.equal(p.lastEventId, "5");
    assert.deepEqual(p.push("event: reset\ndata: {}\n\n"), [{ id: "5", event: "reset", data: "{}" }]);
  });

  test("a new connection drops a half-received event but keeps the id to resume from", () => {
    const p = new SseParser();
    p.push("id: 9\ndata: x\n\nid: 10\ndata: half");
    p.newConnection();
    assert.equal(p.lastEventId, "9");
    assert.deepEqual(p.push("data: y\n\n"), [{ id: "9", event: "message", data: "y" }]);
    p.resumeAfter("42");
    assert.deepEqual(p.push("data: z\n\n"), [{ id: "42", event: "message", data: "z" }]);
  });

  test("ignores a leading BOM and a field without a colon", () => {
    const p = new SseParser();
    assert.deepEqual(p.push("\ufeffdata\n\n"), [{ id: "", event: "message", data: "" }]);
  });
});

describe("board order and placement", () => {
  const col = [
    { id: "a", status: "todo", position: "a0" },
    { id: "b", status: "todo", position: "a1" },
    { id: "c", status: "todo", position: "a2" },
  ];

  test("columns sort by position, then id", () => {
    const cols = columnsOf(
      [
        { id: "y", status: "done", position: "b" },
        { id: "x", status: "done", position: "b" },
        { id: "z", status: "done", position: "a" },
        { id: "q", status: "todo", position: "c" },
      ],
      ["todo", "in_progress", "done"],
    );
    assert.deepEqual(
      cols.get("done")?.map((t) => t.id),
      ["z", "x", "y"],
    );
    assert.deepEqual(cols.get("in_progress"), []);
  });

  test("a drop names the task it lands before, or after the last one", () => {
    assert.deepEqual(placeAt(col, "c", 0), { beforeId: "a" });
    assert.deepEqual(placeAt(col, "a", 1), { beforeId: "c" });
    assert.deepEqual(placeAt(col, "a", 2), { afterId: "c" });
    assert.deepEqual(placeAt(col, "x", 99), { afterId: "c" });
    assert.deepEqual(placeAt([], "x", 0), {});
  });

  test("dropping a task on its own spot is no move", () => {
    assert.equal(isSameSpot(col, "b", 1), true);
    assert.equal(isSameSpot(col, "b", 0), false);
    assert.equal(isSameSpot(col, "x", 0), false);
  });

  test("a pending move shows where the user put the task", () => {
    const t = { id: "c", status: "todo", position: "a2" };
    assert.deepEqual(
      insertPlaced(col, t, { beforeId: "a" }).map((x) => x.id),
      ["c", "a", "b"],
    );
    assert.deepEqual(
      insertPlaced(col, { id: "a", status: "todo", position: "a0" }, { afterId: "c" }).map((x) => x.id),
      ["b", "c", "a"],
    );
    assert.deepEqual(
      insertPlaced(col, { id: "n", status: "todo", position: "" }, {}).map((x) => x.id),
      ["a", "b", "c", "n"],
    );
  });
});

describe("routes", () => {
  test("a list view with filters round-trips through the URL", () => {
    const r = parseRoute(
      "/projects/p1/list",
      "?q=report+x&status=todo&priority=urgent&dueAfter=2026-01-01&sort=-updatedAt&task=t9",
    );
    assert.deepEqual(r, {
      view: "list",
      projectId: "p1",
      taskId: "t9",
      filters: {
        q: "report x",
        status: "todo",
        priority: "urgent",
        dueAfter: "2026-01-01",
        sort: "-updatedAt",
      },
    });
    assert.deepEqual(
      parseRoute(new URL(`http://x${formatRoute(r)}`).pathname, new URL(`http://x${formatRoute(r)}`).search),
      r,
    );
  });

  test("malformed filters are dropped rather than sent to the API", () => {
    const r = parseRoute(
      "/projects/p1/list",
      "?status=bogus&dueBefore=tomorrow&labelId=../x&sort=random&q=%20",
    );
    assert.deepEqual(r.filters, {});
  });

  test("board, cluster and home", () => {
    assert.deepEqual(parseRoute("/projects/p2", ""), { view: "board", projectId: "p2", filters: {} });
    assert.deepEqual(parseRoute("/cluster", "?task=x"), { view: "cluster", filters: {} });
    assert.deepEqual(parseRoute("/", ""), { view: "home", filters: {} });
    assert.equal(
      formatRoute({ view: "board", projectId: "p2", taskId: "t1", filters: {} }),
      "/projects/p2?task=t1",
    );
  });

  test("the list's API query carries the filters, a limit and the cursor", () => {
    const qs = new URLSearchParams(taskListQuery("p1", { q: " bug ", assigneeId: "u1" }, 100, "c1"));
    assert.equal(qs.get("projectId"), "p1");
    assert.equal(qs.get("q"), "bug");
    assert.equal(qs.get("assigneeId"), "u1");
    assert.equal(qs.get("limit"), "100");
    assert.equal(qs.get("cursor"), "c1");
  });
});
