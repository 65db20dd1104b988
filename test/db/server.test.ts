import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { createConnection } from "mysql2/promise";
import {
  createDatabase,
  DbServerError,
  dropDatabase,
  ensureMariadbInstalled,
  mysqlConnectionOptions,
  serverPaths,
  serverStatus,
  startServer,
  stopServer,
} from "../../src/db/index.js";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const conn = await createConnection(mysqlConnectionOptions(url));
  try {
    const [rows] = await conn.query(sql, params);
    return rows as T[];
  } finally {
    await conn.end();
  }
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "taskraft-db-test-"));
  dirs.push(d);
  return d;
}

// Whatever happens in the tests, no server may outlive them.
after(async () => {
  for (const d of dirs) {
    await stopServer({ dataDir: d, log: () => {} }).catch(() => {});
    rmSync(d, { recursive: true, force: true });
  }
});

describe("private MariaDB server", () => {
  let dataDir = "";
  let port = 0;
  let url = "";
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);

  before(async () => {
    await ensureMariadbInstalled({ log: (l) => process.stderr.write(`${l}\n`) });
    dataDir = tempDir();
    port = await freePort();
  });

  it("starts, and root can query over TCP", async () => {
    url = await startServer({ dataDir, port, log });
    assert.equal(url, `mysql://root@127.0.0.1:${port}/`);
    const rows = await query<{ one: number; v: string }>(url, "SELECT 1 AS one, VERSION() AS v");
    assert.equal(rows[0]?.one, 1);
    assert.match(rows[0]?.v ?? "", /MariaDB|^\d+\.\d+/);
    const sock = await query<{ u: string }>(
      `mysql://root@/?socket=${serverPaths(dataDir).socket}`,
      "SELECT CURRENT_USER() AS u",
    );
    assert.equal(sock[0]?.u, "root@localhost");
  });

  it("start again is idempotent and says it is already running", async () => {
    lines.length = 0;
    assert.equal(await startServer({ dataDir, port, log }), url);
    assert.ok(
      lines.some((l) => l.includes("already running")),
      lines.join("\n"),
    );
  });

  it("concurrent starts of a running server all return its URL", async () => {
    const urls = await Promise.all([1, 2, 3].map(() => startServer({ dataDir, port, log: () => {} })));
    assert.deepEqual(urls, [url, url, url]);
  });

  it("status reports running with pid, port, URL and version", async () => {
    const st = await serverStatus({ dataDir });
    assert.equal(st.state, "running");
    assert.equal(st.running, true);
    assert.equal(st.port, port);
    assert.equal(st.url, url);
    assert.ok(st.pid !== undefined && st.pid > 0);
    assert.match(st.version ?? "", /^\d+\.\d+\.\d+/);
  });

  it("a second server on the same port fails with a clear message", async () => {
    const other = tempDir();
    await assert.rejects(
      startServer({ dataDir: other, port, log: () => {} }),
      (err: unknown) =>
        err instanceof DbServerError &&
        err.message === `port ${port} is in use by another process; pass --port`,
    );
    // The check comes before initialisation, so nothing was created.
    assert.equal((await serverStatus({ dataDir: other })).initialized, false);
  });

  it("keeps data across stop and start", async () => {
    const dbUrl = await createDatabase(url, "keepme");
    await query(dbUrl, "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(50)) ENGINE=InnoDB");
    await query(dbUrl, "INSERT INTO t VALUES (?, ?)", [1, "héllo ✓"]);

    lines.length = 0;
    assert.equal(await stopServer({ dataDir, log }), true);
    const st = await serverStatus({ dataDir });
    assert.equal(st.state, "stopped");
    assert.equal(st.running, false);
    assert.equal(st.url, undefined);

    assert.equal(await stopServer({ dataDir, log }), false);
    assert.ok(lines.some((l) => l.includes("not running")));

    assert.equal(await startServer({ dataDir, port, log }), url);
    const rows = await query<{ name: string }>(dbUrl, "SELECT name FROM t WHERE id = 1");
    assert.equal(rows[0]?.name, "héllo ✓");
    await dropDatabase(url, "keepme");
    await dropDatabase(url, "keepme"); // idempotent
    const dbs = await query<{ n: number }>(
      url,
      "SELECT COUNT(*) AS n FROM information_schema.schemata WHERE schema_name = 'keepme'",
    );
    assert.equal(Number(dbs[0]?.n), 0);
  });

  it("cleans up a stale pid file and starts", async () => {
    await stopServer({ dataDir, log: () => {} });
    const dead = spawn(process.execPath, ["-e", ""]);
    const deadPid = dead.pid;
    await new Promise((r) => dead.once("exit", r));
    writeFileSync(serverPaths(dataDir).pidFile, `${deadPid}\n`);
    assert.equal((await serverStatus({ dataDir })).state, "stopped");
    lines.length = 0;
    assert.equal(await startServer({ dataDir, port, log }), url);
    assert.ok(
      lines.some((l) => l.includes("stale pid file")),
      lines.join("\n"),
    );
  });

  it("refuses a data dir initialised by another major version", async () => {
    await stopServer({ dataDir, log: () => {} });
    const stateFile = serverPaths(dataDir).stateFile;
    const original = readFileSync(stateFile, "utf8");
    const state = JSON.parse(original) as { major: string; version: string };
    writeFileSync(stateFile, JSON.stringify({ ...state, major: "10.6", version: "10.6.12-MariaDB" }));
    try {
      await assert.rejects(
        startServer({ dataDir, port, log: () => {} }),
        /initialised by MariaDB 10\.6\.12-MariaDB but the installed server is/,
      );
    } finally {
      writeFileSync(stateFile, original);
    }
    assert.equal(await startServer({ dataDir, port, log: () => {} }), url);
    assert.equal(await stopServer({ dataDir, log: () => {} }), true);
  });

  it("a port held by a non-MySQL process gives the same clear message", async () => {
    const srv = createServer();
    const busy = await new Promise<number>((resolve) =>
      srv.listen(0, "127.0.0.1", () => {
        const a = srv.address();
        resolve(typeof a === "object" && a ? a.port : 0);
      }),
    );
    try {
      await assert.rejects(
        startServer({ dataDir, port: busy, log: () => {} }),
        /port \d+ is in use by another process; pass --port/,
      );
    } finally {
      srv.close();
    }
  });
});

describe("startup failure", () => {
  it("reports the server's exit with the tail of its error log", async () => {
    await ensureMariadbInstalled({ log: () => {} });
    const dataDir = tempDir();
    await assert.rejects(
      startServer({
        dataDir,
        port: await freePort(),
        log: () => {},
        extraArgs: ["--no-such-option-for-test=1"],
      }),
      (err: unknown) =>
        err instanceof DbServerError &&
        /MariaDB server failed to start \(exit code \d+\)/.test(err.message) &&
        err.message.includes("last lines of") &&
        err.message.includes("no-such-option-for-test"),
    );
    assert.equal((await serverStatus({ dataDir })).running, false);
  });
});

describe("concurrent first start from several processes", () => {
  it("initialises once and every process gets the same URL", async () => {
    await ensureMariadbInstalled({ log: () => {} });
    const dataDir = tempDir();
    const port = await freePort();
    const script = join(dataDir, "..", `start-${process.pid}.mts`);
    const mod = pathToFileURL(join(import.meta.dirname, "../../src/db/index.ts")).href;
    writeFileSync(
      script,
      `import { startServer } from ${JSON.stringify(mod)};\n` +
        `console.log(await startServer({ dataDir: process.argv[2], port: Number(process.argv[3]), log: () => {} }));\n`,
    );
    try {
      const run = () =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ["--import", "tsx", script, dataDir, String(port)], {
            stdio: ["ignore", "pipe", "inherit"],
          });
          let out = "";
          child.stdout.on("data", (c: Buffer) => {
            out += c.toString();
          });
          child.once("error", reject);
          child.once("exit", (code) =>
            code === 0 ? resolve(out.trim()) : reject(new Error(`exit ${code}`)),
          );
        });
      const inProcess = startServer({ dataDir, port, log: () => {} });
      const urls = await Promise.all([run(), run(), run(), inProcess]);
      assert.deepEqual(new Set(urls), new Set([`mysql://root@127.0.0.1:${port}/`]));
    } finally {
      rmSync(script, { force: true });
      await stopServer({ dataDir, log: () => {} });
    }
  });
});
