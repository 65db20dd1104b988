/**
 * `taskraft dev`, the one-command local cluster: it starts, prints the UI's URL, its nodes
 * answer /healthz and /readyz, and Ctrl-C (SIGINT) stops every node process and exits 0.
 * It runs against the suite's test MariaDB (TASKRAFT_MYSQL_URL = testMysqlUrl()) so it does not
 * start a second server; --fresh gives its databases (taskraft_n1…n3) a clean start, and they
 * are dropped at the end.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { dropDatabase, testMysqlUrl } from "../../src/db/index.js";
import { portFree } from "../../src/dev/ports.js";
import { freePorts, sleep } from "../api/harness.js";
import { CLI, ROOT } from "./run.js";

const NODES = 3;

/** A base port whose API ports (base+k), Raft ports (base+100+k) and control port (base) are free. */
async function freeBasePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const ports = [base, ...Array.from({ length: NODES }, (_, i) => [base + 1 + i, base + 101 + i]).flat()];
    if ((await Promise.all(ports.map((p) => portFree(p)))).every(Boolean)) return base;
  }
  throw new Error("no free base port found");
}

/** The promise's value, or undefined after `ms` (the timer does not keep the process alive). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function get(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const dir = mkdtempSync(join(tmpdir(), "taskraft-dev-"));
let dev: ChildProcess | undefined;
let pids: number[] = [];
let rootUrl = "";

after(async () => {
  if (dev && dev.exitCode === null && dev.signalCode === null) {
    const exited = new Promise((r) => dev!.once("exit", r));
    dev.kill("SIGINT");
    await within(exited, 15_000);
    if (dev.exitCode === null) dev.kill("SIGKILL");
  }
  // The nodes this test started, by pid, in case the dev process could not stop them.
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
  if (rootUrl) for (let k = 1; k <= NODES; k++) await dropDatabase(rootUrl, `taskraft_n${k}`).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

test("taskraft dev starts a cluster, prints its URL, and Ctrl-C stops every node and exits 0", async () => {
  rootUrl = await testMysqlUrl();
  const base = await freeBasePort();
  const [dbPort] = await freePorts(1);
  const proc = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      CLI,
      "dev",
      "--base-port",
      String(base),
      "--db-port",
      String(dbPort),
      "--dir",
      dir,
      "--fresh",
    ],
    { cwd: ROOT, env: { ...process.env, TASKRAFT_MYSQL_URL: rootUrl }, stdio: ["ignore", "pipe", "pipe"] },
  );
  dev = proc;
  let out = "";
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  const exit = new Promise<{ code: number | null; signal: string | null }>((r) =>
    proc.once("exit", (code, signal) => r({ code, signal })),
  );

  const deadline = Date.now() + 120_000;
  while (!out.includes("Press Ctrl-C")) {
    assert.equal(proc.exitCode, null, `taskraft dev exited early:\n${out}`);
    assert.ok(Date.now() < deadline, `taskraft dev not ready within 120 s:\n${out}`);
    await sleep(100);
  }
  const ui = /open the web UI: +(http:\/\/\S+)/.exec(out)?.[1];
  assert.equal(ui, `http://127.0.0.1:${base + 1}/`, out);

  const health = await get(`${ui}healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(health.body, { status: "ok", nodeId: "n1" });
  for (let k = 1; k <= NODES; k++) {
    const url = `http://127.0.0.1:${base + k}/readyz`;
    let ready = await get(url);
    for (let i = 0; i < 50 && ready.status !== 200; i++) {
      await sleep(100);
      ready = await get(url);
    }
    assert.equal(ready.status, 200, `node n${k} ready: ${JSON.stringify(ready.body)}`);
  }

  // The supervisor's control endpoint (base port) names the node processes.
  const nodes = (await get(`http://127.0.0.1:${base}/nodes`)).body as {
    id: string;
    running: boolean;
    pid: number;
  }[];
  assert.deepEqual(
    nodes.map((n) => [n.id, n.running]),
    [
      ["n1", true],
      ["n2", true],
      ["n3", true],
    ],
  );
  pids = nodes.map((n) => n.pid);
  assert.ok(pids.every(alive));

  proc.kill("SIGINT");
  const ended = await within(exit, 30_000);
  assert.ok(ended, `taskraft dev did not exit within 30 s of SIGINT:\n${out}`);
  assert.deepEqual(ended, { code: 0, signal: null }, out);
  assert.match(out, /stopping the cluster/);
  assert.deepEqual(pids.filter(alive), [], "every node process has exited");
  for (let k = 1; k <= NODES; k++) {
    await assert.rejects(
      fetch(`http://127.0.0.1:${base + k}/healthz`, { signal: AbortSignal.timeout(2000) }),
    );
  }
});
