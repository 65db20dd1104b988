/**
 * The CLI's HTTP client against scripted HTTP servers (no cluster): failover, bounded retries
 * that keep one Idempotency-Key, which failures are retried for which kind of write, and what
 * the errors look like; and the token store's file.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  clusterKey,
  credentialsPath,
  findCredentials,
  readCredentials,
  writeCredentials,
} from "../../src/cli/client/credentials.js";
import { EXIT } from "../../src/cli/client/exit-codes.js";
import { ApiCallError, ApiClient, parseUrlList } from "../../src/cli/client/http.js";
import { cell, table } from "../../src/cli/client/output.js";
import { CliError } from "../../src/cli/command.js";
import { freePorts } from "../api/harness.js";

interface Seen {
  method: string;
  url: string;
  key: string | undefined;
  ifMatch: string | undefined;
  body: string;
}

type Script = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** An HTTP server that answers its n-th request as the script says and records every request. */
async function scripted(script: Script): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => {
      body += d.toString("utf8");
    });
    req.on("end", () => {
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        key: req.headers["idempotency-key"] as string | undefined,
        ifMatch: req.headers["if-match"] as string | undefined,
        body,
      });
      script(req, res, seen.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen, server };
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", "x-taskraft-node": "n1", ...headers });
  res.end(JSON.stringify(body));
}

const unavailable = { error: { code: "unavailable", message: "No leader." } };
const fast = { baseBackoffMs: 10, maxBackoffMs: 20 };

describe("ApiClient", () => {
  test("a write retried after a dropped connection, a 504 and a 503 carries the same Idempotency-Key", async () => {
    const s = await scripted((_req, res, n) => {
      if (n === 1) res.socket?.destroy();
      else if (n === 2) send(res, 504, { error: { code: "timeout", message: "Outcome unknown." } });
      else if (n === 3) send(res, 503, unavailable, { "retry-after": "0" });
      else send(res, 201, { task: { id: "t1" } });
    });
    const client = new ApiClient({ urls: [s.url], token: "tok", ...fast });
    const r = await client.post<{ task: { id: string } }>("/api/v1/tasks", { body: { title: "x" } });
    assert.equal(r.status, 201);
    assert.equal(r.body.task.id, "t1");
    assert.equal(r.attempts, 4);
    assert.equal(s.seen.length, 4);
    const keys = new Set(s.seen.map((x) => x.key));
    assert.equal(keys.size, 1, "one key for every attempt");
    assert.match([...keys][0]!, /^[0-9a-f-]{36}$/);
    assert.ok(s.seen.every((x) => x.body === '{"title":"x"}'));
  });

  test("two calls get two keys; a given key is used as is; If-Match carries the version", async () => {
    const s = await scripted((_req, res) => send(res, 200, { ok: true }));
    const client = new ApiClient({ urls: [s.url], ...fast });
    await client.patch("/a", { body: {}, ifVersion: 3 });
    await client.patch("/a", { body: {} });
    await client.delete("/a", { idempotencyKey: "my-key" });
    assert.notEqual(s.seen[0]!.key, s.seen[1]!.key);
    assert.equal(s.seen[2]!.key, "my-key");
    assert.equal(s.seen[0]!.ifMatch, '"3"');
    assert.equal(s.seen[1]!.ifMatch, undefined);
  });

  test("fails over to the next URL when a node refuses connections, and starts there next time", async () => {
    const [deadPort] = await freePorts(1);
    const s = await scripted((_req, res) => send(res, 200, { items: [] }));
    const client = new ApiClient({ urls: [`http://127.0.0.1:${deadPort}`, s.url], ...fast });
    const r = await client.get("/api/v1/projects");
    assert.equal(r.baseUrl, s.url);
    assert.equal(r.attempts, 2);
    const again = await client.get("/api/v1/projects");
    assert.equal(again.attempts, 1, "the node that answered is asked first");
  });

  test("a 503 moves on to another node; a node that keeps answering 503 ends in exit 3 with its message", async () => {
    const busy = await scripted((_req, res) => send(res, 503, unavailable, { "retry-after": "0" }));
    const fine = await scripted((_req, res) => send(res, 200, { ok: 1 }));
    const client = new ApiClient({ urls: [busy.url, fine.url], ...fast });
    assert.equal((await client.get("/x")).baseUrl, fine.url);

    const alone = new ApiClient({ urls: [busy.url], maxAttempts: 3, ...fast });
    const before = busy.seen.length;
    await assert.rejects(alone.post("/x", { body: {} }), (e: unknown) => {
      assert.ok(e instanceof ApiCallError);
      assert.equal(e.exitCode, EXIT.unavailable);
      assert.match(e.message, /No leader\. \(gave up after 3 attempts\)/);
      return true;
    });
    assert.equal(busy.seen.length - before, 3, "bounded by maxAttempts");
  });

  test("4xx answers are not retried and map to their exit codes, with the API's message and details", async () => {
    const answers: [number, unknown, number][] = [
      [
        400,
        {
          error: {
            code: "validation_failed",
            message: "Bad.",
            details: [{ path: "title", problem: "too long" }],
          },
        },
        1,
      ],
      [401, { error: { code: "unauthorized", message: "Who?" } }, 5],
      [403, { error: { code: "forbidden", message: "No." } }, 1],
      [404, { error: { code: "not_found", message: "Task not found." } }, 1],
      [409, { error: { code: "conflict", message: "Taken." } }, 4],
      [412, { error: { code: "precondition_failed", message: "Version." } }, 4],
      [429, { error: { code: "rate_limited", message: "Slow down." } }, 3],
    ];
    for (const [status, body, exit] of answers) {
      const s = await scripted((_req, res) => send(res, status, body, { "retry-after": "60" }));
      const client = new ApiClient({ urls: [s.url], ...fast });
      await assert.rejects(client.post("/x", { body: {} }), (e: unknown) => {
        assert.ok(e instanceof ApiCallError, String(e));
        assert.equal(e.exitCode, exit, `HTTP ${status}`);
        assert.equal(e.status, status);
        return true;
      });
      assert.equal(s.seen.length, 1, `HTTP ${status} is not retried`);
    }
    const s = await scripted((_req, res) => send(res, 400, answers[0]![1]));
    await assert.rejects(
      new ApiClient({ urls: [s.url] }).get("/x"),
      /^ApiCallError: Bad\. \(title: too long\)$/,
    );
  });

  test("writes without idempotency (`once`) are retried after a 503 but not after an unknown outcome", async () => {
    const s = await scripted((_req, res, n) => {
      if (n === 1) send(res, 503, unavailable, { "retry-after": "0" });
      else send(res, 504, { error: { code: "timeout", message: "Outcome unknown." } });
    });
    const client = new ApiClient({ urls: [s.url], ...fast });
    await assert.rejects(
      client.post("/api/v1/cluster/members", { body: {}, write: "once" }),
      (e: unknown) => {
        assert.ok(e instanceof CliError);
        assert.equal(e.exitCode, EXIT.unavailable);
        assert.match(e.message, /outcome is unknown/);
        return true;
      },
    );
    assert.equal(s.seen.length, 2);
    assert.equal(s.seen[0]!.key, undefined, "no Idempotency-Key where the API ignores it");
  });

  test("no node reachable: exit 3 naming the nodes, within the deadline", async () => {
    const ports = await freePorts(2);
    const client = new ApiClient({
      urls: ports.map((p) => `http://127.0.0.1:${p}`),
      deadlineMs: 1500,
      ...fast,
    });
    const t0 = Date.now();
    await assert.rejects(client.get("/x"), (e: unknown) => {
      assert.ok(e instanceof CliError);
      assert.equal(e.exitCode, EXIT.unavailable);
      assert.match(e.message, /no node answered .*connection refused/);
      return true;
    });
    assert.ok(Date.now() - t0 < 5000);
  });

  test("URL lists are normalized and checked", () => {
    assert.deepEqual(parseUrlList("http://a:1/, http://b:2/api ,http://a:1"), ["http://a:1", "http://b:2"]);
    assert.throws(
      () => parseUrlList("ftp://x"),
      (e: unknown) => e instanceof CliError && e.exitCode === 2,
    );
    assert.throws(
      () => parseUrlList(" , "),
      (e: unknown) => e instanceof CliError && e.exitCode === 2,
    );
  });
});

describe("token store", () => {
  const dir = mkdtempSync(join(tmpdir(), "taskraft-cred-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("lives under XDG_CONFIG_HOME with mode 0600 in a 0700 directory, keyed by the URL set", () => {
    const env = { XDG_CONFIG_HOME: dir };
    const path = credentialsPath(env);
    assert.equal(path, join(dir, "taskraft", "credentials.json"));
    const key = clusterKey(["http://b:2", "http://a:1"]);
    assert.equal(key, clusterKey(["http://a:1", "http://b:2", "http://a:1"]));
    writeCredentials(
      {
        version: 1,
        current: key,
        clusters: {
          [key]: {
            urls: ["http://a:1", "http://b:2"],
            members: ["http://a:1", "http://b:2", "http://c:3"],
            token: "secret",
            user: { id: "u1", username: "ada", isAdmin: true },
            savedAt: "2026-01-01T00:00:00.000Z",
          },
        },
      },
      path,
    );
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "taskraft")).mode & 0o777, 0o700);
    const file = readCredentials(path);
    assert.equal(findCredentials(file, ["http://b:2", "http://a:1"])?.entry.token, "secret", "exact set");
    assert.equal(findCredentials(file, ["http://c:3"])?.key, key, "a member of a stored cluster");
    assert.equal(findCredentials(file, ["http://d:4"]), undefined);
  });
});

describe("output", () => {
  test("tables align columns, cut long cells and flatten control characters", () => {
    assert.equal(
      table(
        ["A", "BB"],
        [
          ["xxx", "y"],
          ["z", "w"],
        ],
      ),
      "A    BB\nxxx  y\nz    w",
    );
    assert.equal(cell("a\nb"), "a b");
    assert.equal(cell("x".repeat(70)).length, 60);
    assert.equal(cell(null), "-");
  });
});
