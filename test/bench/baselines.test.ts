/**
 * The benchmark's baselines against real servers, driven through the real load generator (a forked
 * src/bench/load/worker.ts): one MariaDB always; Galera and etcd when their binaries are installed
 * (the test never installs anything — `npm run bench` does, as root).
 */
import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createConnection } from "mysql2/promise";
import type {
  ClosedLoopResult,
  DriverParams,
  LoadResult,
  LoadSpec,
  WorkerReply,
} from "../../src/bench/load/types.js";
import { findEtcd, seedEtcd, startEtcd } from "../../src/bench/systems/etcd.js";
import { findGaleraProvider, startGalera } from "../../src/bench/systems/galera.js";
import { prepareBenchTable, startMariadbBaseline } from "../../src/bench/systems/mariadb.js";
import { findMariadbBinaries } from "../../src/db/binaries.js";
import { mysqlConnectionOptions } from "../../src/db/url.js";

const WORKER = fileURLToPath(new URL("../../src/bench/load/worker.ts", import.meta.url));
const quiet = () => {};

let worker: ChildProcess | undefined;
const dirs: string[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "taskraft-baselines-"));
  dirs.push(d);
  return d;
}

/** Sends one run to the forked load generator and resolves with its result. */
function runLoad(spec: LoadSpec): Promise<LoadResult> {
  worker ??= fork(WORKER, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const w = worker;
  return new Promise((resolve, reject) => {
    const onMessage = (raw: unknown) => {
      const msg = raw as WorkerReply;
      if (msg.type === "progress") return;
      cleanup();
      if (msg.type === "result") resolve(msg.result);
      else reject(new Error(`load generator: ${msg.message}`));
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`load generator exited (${code})`));
    };
    const cleanup = () => {
      w.off("message", onMessage);
      w.off("exit", onExit);
    };
    w.on("message", onMessage);
    w.on("exit", onExit);
    w.send({ type: "run", spec });
  });
}

async function closedRun(
  params: DriverParams,
  concurrency = 8,
  durationMs = 1000,
): Promise<ClosedLoopResult> {
  const r = await runLoad({ type: "closed", params, concurrency, warmupMs: 200, durationMs });
  assert.equal(r.type, "closed");
  return r as ClosedLoopResult;
}

function assertClean(r: ClosedLoopResult, what: string): void {
  assert.ok(r.ok > 0, `${what}: no operation succeeded`);
  assert.equal(r.errors, 0, `${what}: errors ${JSON.stringify(r.errorKinds)}`);
}

async function insertOne(url: string): Promise<void> {
  const conn = await createConnection({ ...mysqlConnectionOptions(url), connectTimeout: 5000 });
  try {
    await conn.query(
      "INSERT INTO bench_probe (node, n, at) VALUES ('test', 1, NOW(3)) ON DUPLICATE KEY UPDATE n = n + 1",
    );
  } finally {
    await conn.end().catch(() => {});
  }
}

after(() => {
  worker?.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("mariadb-1 baseline", () => {
  let sys: Awaited<ReturnType<typeof startMariadbBaseline>> | undefined;
  before(async () => {
    sys = await startMariadbBaseline(tempDir(), { log: quiet });
    await prepareBenchTable(sys.url, { seedRows: 2000 });
  });
  after(async () => {
    await sys?.stop();
  });

  for (const workload of ["insert", "insert-batched", "read"] as const) {
    it(`runs the ${workload} workload through the load generator without errors`, async () => {
      const r = await closedRun({ driver: "mysql", urls: [sys!.url], workload, batch: 8 });
      assertClean(r, workload);
    });
  }

  it("has no leader to kill", async () => {
    await assert.rejects(sys!.killLeader(), /not applicable/);
  });
});

const galeraMissing = !findGaleraProvider()
  ? "galera-4 is not installed (apt-get install -y galera-4)"
  : !findMariadbBinaries().server
    ? "mariadbd is not installed"
    : undefined;

describe("galera-3 baseline", { skip: galeraMissing }, () => {
  let sys: Awaited<ReturnType<typeof startGalera>> | undefined;
  before(async () => {
    sys = await startGalera(tempDir(), { log: quiet });
    await prepareBenchTable(sys.urls[0]!, { seedRows: 500 });
  });
  after(async () => {
    await sys?.stop();
  });

  it("serves inserts and reads spread over its three nodes", async () => {
    const base = { driver: "mysql", urls: sys!.urls, spread: true };
    assertClean(await closedRun({ ...base, workload: "insert" }), "insert");
    assertClean(await closedRun({ ...base, workload: "read" }), "read");
  });

  it("fails over when the write node is killed, and takes it back", async () => {
    const before = sys!.urls;
    const k = await sys!.killLeader();
    assert.equal(k.killed, "g1");
    const at = await sys!.waitNewLeader(30_000);
    assert.ok(at >= k.atEpochMs);
    assert.equal(Object.keys(sys!.pids()).length, 2);
    assert.equal(sys!.urls[0], before[1], "writes move to the next node");
    await sys!.restartKilled();
    assert.equal(Object.keys(sys!.pids()).length, 3);
    assert.deepEqual(sys!.urls, before, "the next run's clients write to g1 again");
    await insertOne(before[0]!);
  });
});

const etcdMissing = findEtcd() ? undefined : "etcd is not installed (apt-get install -y etcd-server)";

describe("etcd-3 baseline", { skip: etcdMissing }, () => {
  let sys: Awaited<ReturnType<typeof startEtcd>> | undefined;
  before(async () => {
    sys = await startEtcd(tempDir(), { log: quiet });
    await seedEtcd(sys.endpoints, 1000, 200);
  });
  after(async () => {
    await sys?.stop();
  });

  it("serves puts and linearizable gets", async () => {
    const base = { driver: "etcd", endpoints: sys!.endpoints, keys: 1000 };
    assertClean(await closedRun({ ...base, workload: "put" }), "put");
    assertClean(await closedRun({ ...base, workload: "get" }), "get");
  });

  it("elects a new leader when the leader is killed, and takes the member back", async () => {
    const k = await sys!.killLeader();
    const at = await sys!.waitNewLeader(20_000);
    assert.ok(at >= k.atEpochMs);
    assert.equal(Object.keys(sys!.pids()).length, 2);
    await sys!.restartKilled();
    assert.equal(Object.keys(sys!.pids()).length, 3);
    assertClean(
      await closedRun({ driver: "etcd", endpoints: sys!.endpoints, workload: "put", keys: 1000 }, 4, 500),
      "put after restart",
    );
  });
});
