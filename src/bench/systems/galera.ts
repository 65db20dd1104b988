/**
 * Baseline (c): what users would pick instead for replicated MySQL — a 3-node MariaDB Galera
 * cluster (Debian's `galera-4` provider), three `mariadbd` on their own free ports and data dirs
 * under the run dir, started and stopped through src/db like every other private server.
 *
 * Settings, on top of src/db's (InnoDB, innodb_flush_log_at_trx_commit=1, no binlog):
 *   - wsrep_on, the galera-4 provider, gcomm:// over 127.0.0.1 with explicit gmcast, IST and SST
 *     ports per node (the defaults 4567/4568/4444 would collide between three local nodes);
 *   - binlog_format=ROW and innodb_autoinc_lock_mode=2, which Galera requires;
 *   - innodb_flush_log_at_trx_commit=1 kept (Galera guides often relax it to 2 because the
 *     cluster holds the data; we keep every commit fsynced so the comparison with taskraft, which
 *     fsyncs its Raft log, is fair);
 *   - wsrep_sst_method=rsync: mariadb-server already depends on rsync, whereas mariabackup needs
 *     the extra mariadb-backup package. No join here needs a full SST, though: the joiners start
 *     from a copy of the bootstrap node's cleanly stopped data dir, and a killed node restarts
 *     from its recovered position (--wsrep-recover, as systemd's galera_recovery does) and gets
 *     the missed write sets by IST. That matters as root, where rsync SST cannot work (see
 *     letRsyncDaemonIn);
 *   - everything else at its default (evs timeouts — suspect_timeout 5 s dominates the failover
 *     gap —, one applier thread, gcache 128M), as a user following the manual would run it.
 *
 * The node clients write to is `urls[0]`. killLeader kill -9s it; waitNewLeader resolves when a
 * survivor commits a write, and from then on `urls` starts with the survivor the mysql driver
 * moves to (the next URL); restartKilled starts the killed node again as a joiner (IST from its
 * recovered position) and waits until the cluster is 3 Synced nodes, then restores the original
 * order — a new run's clients start on urls[0] again, so every trial kills the node they write
 * to whether the caller re-reads `urls` or keeps the first array.
 */
import { execFileSync, spawn } from "node:child_process";
import { accessSync, chmodSync, chownSync, constants, cpSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Connection, createConnection } from "mysql2/promise";
import { findMariadbBinaries } from "../../db/binaries.js";
import { createDatabase } from "../../db/helpers.js";
import { pidAlive } from "../../db/process.js";
import { serverPaths, startServer, stopServer } from "../../db/server.js";
import { mysqlConnectionOptions, withDatabase } from "../../db/url.js";
import { freePorts } from "../../dev/ports.js";
import { type BenchSystem, SystemUnavailable } from "../load/types.js";
import { aptInstall } from "./apt.js";
import { type BaselineOptions, BENCH_DATABASE, readPidFile } from "./mariadb.js";

const PROVIDER_CANDIDATES = [
  "/usr/lib/galera/libgalera_smm.so", // Debian, Ubuntu
  "/usr/lib/galera-4/libgalera_smm.so",
  "/usr/lib64/galera-4/libgalera_smm.so", // RHEL, Fedora
  "/usr/lib64/galera/libgalera_smm.so",
  "/usr/lib/libgalera_smm.so",
];

const NODES = 3;
// Bounds on the waits: a first start includes install-db (and apt-get when galera-4 is missing).
const START_TIMEOUT_MS = 120_000;
const SYNC_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;
const PROBE_TABLE = "bench_probe";

interface GaleraNode {
  name: string;
  dataDir: string;
  port: number;
  gcommPort: number;
  istPort: number;
  sstPort: number;
  url: string;
}

export interface GaleraOptions extends BaselineOptions {
  /** Replaces `galera-3` in tables. */
  name?: string;
}

export function findGaleraProvider(): string | undefined {
  for (const p of PROVIDER_CANDIDATES) {
    try {
      accessSync(p, constants.R_OK);
      return p;
    } catch {
      // next candidate
    }
  }
  return undefined;
}

function hasCommand(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The galera-4 provider library, installed with apt-get when root and missing. */
export async function ensureGaleraInstalled(log: (line: string) => void): Promise<string> {
  if (!findGaleraProvider()) await aptInstall("galera-4", "Galera (galera-4)", log);
  // The rsync SST script needs rsync (mariadb-server depends on it, a hand-built server may not).
  if (!hasCommand("rsync")) await aptInstall("rsync", "rsync (for Galera's SST)", log);
  const provider = findGaleraProvider();
  if (!provider) {
    throw new SystemUnavailable(
      `galera-4 is installed but libgalera_smm.so is not in ${PROVIDER_CANDIDATES.join(", ")}`,
    );
  }
  return provider;
}

function wsrepArgs(
  node: GaleraNode,
  all: GaleraNode[],
  provider: string,
  extra: { bootstrap?: boolean } = {},
): string[] {
  const members = all.map((n) => `127.0.0.1:${n.gcommPort}`).join(",");
  const providerOptions = [
    `gmcast.listen_addr=tcp://127.0.0.1:${node.gcommPort}`,
    `base_port=${node.gcommPort}`,
    `ist.recv_addr=127.0.0.1:${node.istPort}`,
  ].join(";");
  const args = [
    "--wsrep-on=ON",
    `--wsrep-provider=${provider}`,
    "--wsrep-cluster-name=taskraft-bench",
    `--wsrep-cluster-address=gcomm://${members}`,
    `--wsrep-node-name=${node.name}`,
    "--wsrep-node-address=127.0.0.1",
    `--wsrep-node-incoming-address=127.0.0.1:${node.port}`,
    `--wsrep-provider-options=${providerOptions}`,
    "--wsrep-sst-method=rsync",
    `--wsrep-sst-receive-address=127.0.0.1:${node.sstPort}`,
    "--binlog-format=ROW",
    "--innodb-autoinc-lock-mode=2",
    "--default-storage-engine=InnoDB",
  ];
  if (extra.bootstrap) args.push("--wsrep-new-cluster");
  return args;
}

async function wsrepStatus(url: string): Promise<Record<string, string> | undefined> {
  let conn: Connection | undefined;
  try {
    conn = await createConnection({ ...mysqlConnectionOptions(url), connectTimeout: 2000 });
    const [rows] = await conn.query("SHOW GLOBAL STATUS LIKE 'wsrep_%'");
    const out: Record<string, string> = {};
    for (const r of rows as Array<{ Variable_name: string; Value: string }>) out[r.Variable_name] = r.Value;
    return out;
  } catch {
    return undefined;
  } finally {
    await conn?.end().catch(() => {});
  }
}

/** Waits until every node answers as Synced, ready, in one primary component of NODES members. */
async function waitSynced(nodes: GaleraNode[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const states = await Promise.all(nodes.map((n) => wsrepStatus(n.url)));
    const ok = states.every(
      (s) =>
        s !== undefined &&
        s["wsrep_local_state_comment"] === "Synced" &&
        s["wsrep_ready"] === "ON" &&
        s["wsrep_cluster_status"] === "Primary" &&
        Number(s["wsrep_cluster_size"]) === nodes.length,
    );
    if (ok) return;
    last = states
      .map((s, i) =>
        s === undefined
          ? `${nodes[i]!.name}: down`
          : `${nodes[i]!.name}: ${s["wsrep_local_state_comment"]} size ${s["wsrep_cluster_size"]}`,
      )
      .join(", ");
    if (Date.now() > deadline) {
      throw new Error(
        `galera: cluster not Synced with ${nodes.length} nodes within ${timeoutMs} ms (${last})`,
      );
    }
    await sleep(200);
  }
}

/**
 * Resolves with the epoch ms at which `url` committed a probe write; one statement at a time,
 * each allowed to block until the cluster can commit it (a write waiting out a view change
 * completes the moment the new primary component forms).
 */
async function firstCommit(
  url: string,
  node: string,
  deadline: number,
  done: () => boolean,
): Promise<number> {
  const sql = `INSERT INTO ${PROBE_TABLE} (node, n, at) VALUES (?, 1, NOW(3)) ON DUPLICATE KEY UPDATE n = n + 1, at = NOW(3)`;
  while (!done()) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let conn: Connection | undefined;
    try {
      conn = await createConnection({ ...mysqlConnectionOptions(url), connectTimeout: Math.min(left, 2000) });
      conn.on("error", () => {});
      await conn.query({ sql, timeout: Math.max(1, deadline - Date.now()) }, [node]);
      return Date.now();
    } catch {
      await sleep(20);
    } finally {
      conn?.destroy();
    }
  }
  throw new Error(`galera: no commit on ${node} before the deadline`);
}

async function createProbeTable(url: string): Promise<void> {
  const conn = await createConnection({ ...mysqlConnectionOptions(url), connectTimeout: 5000 });
  try {
    await conn.query(
      `CREATE TABLE IF NOT EXISTS ${PROBE_TABLE} (node VARCHAR(16) NOT NULL PRIMARY KEY, n BIGINT NOT NULL, at DATETIME(3) NOT NULL) ENGINE=InnoDB`,
    );
  } finally {
    await conn.end().catch(() => {});
  }
}

// Node-local files of the source node that a copy must not carry: its gcache ring buffer and its
// saved primary-component view (which names the source node's own identity).
const NOT_COPIED = new Set(["galera.cache", "gvwstate.dat"]);

function seedDataDir(from: GaleraNode, to: GaleraNode): void {
  const src = serverPaths(from.dataDir);
  const dst = serverPaths(to.dataDir);
  rmSync(dst.mysqlData, { recursive: true, force: true });
  cpSync(src.mysqlData, dst.mysqlData, {
    recursive: true,
    filter: (path) => !NOT_COPIED.has(basename(path)),
  });
  // src/db's marker goes along (it says the root accounts are made, which the copy carries): a
  // joiner must not run account DDL before it has joined, when it would refuse it.
  cpSync(src.stateFile, dst.stateFile);
}

/**
 * Even an IST join makes the donor's rsync script push a marker file into the joiner's rsync
 * daemon, which, started by a root mariadbd, drops to 'nobody' and must reach and write the
 * joiner's data dir. So, as root only: hand that one directory (not its contents) to nobody and
 * make the directories from it up to the run dir searchable; above the run dir nothing is changed
 * — a run dir 'nobody' cannot reach (say under /root) is reported instead. A full rsync SST as
 * root would still fail on root-owned subdirectories; the joins here never need one (seeded
 * copies, recovered positions, IST).
 */
function letRsyncDaemonIn(node: GaleraNode, runDir: string): void {
  if (process.getuid?.() !== 0) return;
  const dir = serverPaths(node.dataDir).mysqlData;
  const nobody = userIds("nobody");
  if (!nobody) return;
  chownSync(dir, nobody.uid, nobody.gid);
  const top = resolve(runDir);
  for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) !== 0) continue;
    if (d === top || d.startsWith(`${top}/`)) chmodSync(d, (mode & 0o7777) | 0o001);
    else
      throw new SystemUnavailable(
        `galera-3 run as root needs a run dir that user 'nobody' can reach (Galera's rsync daemon runs as nobody), but ${d} is not searchable by others; use a run dir under /tmp`,
      );
  }
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  try {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${name}:`));
    const f = line?.split(":");
    if (!f || f.length < 4) return undefined;
    return { uid: Number(f[2]), gid: Number(f[3]) };
  } catch {
    return undefined;
  }
}

const RECOVER_TIMEOUT_MS = 60_000;

const NO_CLUSTER = "00000000-0000-0000-0000-000000000000";

/**
 * The position a joiner starts from, passed as --wsrep-start-position so that it asks for IST:
 * grastate.dat's after a clean stop, else (after a kill -9, seqno -1) what InnoDB recovers —
 * what systemd's galera_recovery does. Undefined means the node needs a full SST.
 */
async function startPosition(node: GaleraNode, provider: string): Promise<string | undefined> {
  try {
    const text = readFileSync(join(serverPaths(node.dataDir).mysqlData, "grastate.dat"), "utf8");
    const uuid = /^uuid:\s*(\S+)/m.exec(text)?.[1];
    const seqno = Number(/^seqno:\s*(-?\d+)/m.exec(text)?.[1] ?? -1);
    if (uuid && uuid !== NO_CLUSTER && seqno >= 0) return `${uuid}:${seqno}`;
  } catch {
    // no saved state: ask InnoDB
  }
  return recoverPosition(node, provider);
}

/** `uuid:seqno` of the last transaction InnoDB committed in the node's data dir, or undefined. */
async function recoverPosition(node: GaleraNode, provider: string): Promise<string | undefined> {
  const server = findMariadbBinaries().server;
  if (!server) return undefined;
  const p = serverPaths(node.dataDir);
  const logFile = join(node.dataDir, "wsrep-recover.err");
  rmSync(logFile, { force: true });
  const args = [
    "--no-defaults",
    `--datadir=${p.mysqlData}`,
    `--socket=${p.socket}`,
    `--pid-file=${join(node.dataDir, "wsrep-recover.pid")}`,
    `--log-error=${logFile}`,
    "--skip-networking",
    "--skip-log-bin",
    "--binlog-format=ROW",
    "--innodb-buffer-pool-size=64M",
    "--wsrep-on=ON",
    `--wsrep-provider=${provider}`,
    // Never contacted in recovery, but the rsync SST method refuses to start without one.
    "--wsrep-cluster-address=gcomm://127.0.0.1:1",
    "--wsrep-recover",
  ];
  if (process.getuid?.() === 0) args.push("--user=root");
  await new Promise<void>((resolve) => {
    const child = spawn(server, args, { stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGKILL"), RECOVER_TIMEOUT_MS);
    child.on("error", () => resolve());
    child.on("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  let text = "";
  try {
    text = readFileSync(logFile, "utf8");
  } catch {
    return undefined;
  }
  const all = [...text.matchAll(/Recovered position:\s*([0-9a-f-]{36}:-?\d+)/g)];
  const last = all.at(-1)?.[1];
  return last === undefined || last.endsWith(":-1") ? undefined : last;
}

export async function startGalera(
  runDir: string,
  opts: GaleraOptions = {},
): Promise<BenchSystem & { urls: string[] }> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const provider = await ensureGaleraInstalled(log);
  const root = join(runDir, "galera");
  const ports = await freePorts(NODES * 4);
  const nodes: GaleraNode[] = Array.from({ length: NODES }, (_, i) => {
    const port = ports[4 * i]!;
    return {
      name: `g${i + 1}`,
      dataDir: join(root, `g${i + 1}`),
      port,
      gcommPort: ports[4 * i + 1]!,
      istPort: ports[4 * i + 2]!,
      sstPort: ports[4 * i + 3]!,
      url: withDatabase(`mysql://root@127.0.0.1:${port}/`, BENCH_DATABASE),
    };
  });

  const stopAll = async () => {
    await Promise.all(
      nodes.map((n) =>
        stopServer({ dataDir: n.dataDir, log: () => {}, timeoutMs: STOP_TIMEOUT_MS }).catch(() => {}),
      ),
    );
    if (!opts.keepData) rmSync(root, { recursive: true, force: true });
  };

  const start = async (n: GaleraNode, bootstrap: boolean) => {
    const position = bootstrap ? undefined : await startPosition(n, provider);
    if (!bootstrap) letRsyncDaemonIn(n, runDir);
    return startServer({
      dataDir: n.dataDir,
      port: n.port,
      log: () => {},
      timeoutMs: START_TIMEOUT_MS,
      extraArgs: [
        ...wsrepArgs(n, nodes, provider, { bootstrap }),
        ...(position ? [`--wsrep-start-position=${position}`] : []),
      ],
    });
  };

  try {
    const t0 = Date.now();
    // Joiners are seeded with a copy of the bootstrap node's cleanly stopped data dir, so they join
    // with the same state and need no SST: as root, rsync SST fails (its daemon drops to 'nobody',
    // which cannot write a root-owned data dir) and mariabackup would need another package.
    const rootUrl = await start(nodes[0]!, true);
    await createDatabase(rootUrl, BENCH_DATABASE);
    await createProbeTable(nodes[0]!.url);
    await stopServer({ dataDir: nodes[0]!.dataDir, log: () => {}, timeoutMs: STOP_TIMEOUT_MS });
    for (const n of nodes.slice(1)) seedDataDir(nodes[0]!, n);
    await start(nodes[0]!, true);
    for (const n of nodes.slice(1)) await start(n, false);
    await waitSynced(nodes, SYNC_TIMEOUT_MS);
    log(`bench: galera-3 Synced in ${Date.now() - t0} ms (ports ${nodes.map((n) => n.port).join(", ")})`);
  } catch (e) {
    await stopAll();
    if (e instanceof SystemUnavailable) throw e;
    throw new SystemUnavailable(`galera-3 could not be started: ${(e as Error).message}`);
  }

  // Index of the node clients write to; urls is rotated so that it comes first.
  let primary = 0;
  let killed: number | undefined;

  const pidOf = (n: GaleraNode) => readPidFile(serverPaths(n.dataDir).pidFile);

  return {
    name: opts.name ?? "galera-3",
    get urls() {
      return nodes.map((_, i) => nodes[(primary + i) % NODES]!.url);
    },
    pids: () => {
      const out: Record<string, number> = {};
      for (const n of nodes) {
        const pid = pidOf(n);
        if (pid !== undefined && pidAlive(pid)) out[n.name] = pid;
      }
      return out;
    },
    killLeader: async () => {
      if (killed !== undefined)
        throw new Error(`galera: ${nodes[killed]!.name} is already down; restart it first`);
      const node = nodes[primary]!;
      const pid = pidOf(node);
      if (pid === undefined || !pidAlive(pid)) throw new Error(`galera: ${node.name} is not running`);
      process.kill(pid, "SIGKILL");
      const atEpochMs = Date.now();
      killed = primary;
      return { killed: node.name, atEpochMs };
    },
    waitNewLeader: async (timeoutMs) => {
      if (killed === undefined) throw new Error("galera: no node was killed");
      const deadline = Date.now() + timeoutMs;
      // Clients move to the next URL in order, so that survivor becomes the write target.
      const survivors = [1, 2].map((d) => ((killed as number) + d) % NODES);
      let done = false;
      try {
        const at = await Promise.any(
          survivors.map((i) => firstCommit(nodes[i]!.url, nodes[i]!.name, deadline, () => done)),
        );
        primary = survivors[0]!;
        return at;
      } catch {
        throw new Error(`galera: no survivor committed a write within ${timeoutMs} ms of the kill`);
      } finally {
        done = true;
      }
    },
    restartKilled: async () => {
      if (killed === undefined) return;
      const node = nodes[killed]!;
      const pid = pidOf(node);
      for (let i = 0; i < 100 && pid !== undefined && pidAlive(pid); i++) await sleep(50);
      const t0 = Date.now();
      await start(node, false);
      await waitSynced(nodes, SYNC_TIMEOUT_MS);
      log(`bench: galera ${node.name} rejoined and Synced in ${Date.now() - t0} ms`);
      killed = undefined;
      primary = 0;
    },
    stop: stopAll,
  };
}
