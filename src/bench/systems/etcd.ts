/**
 * Baseline (d): the reference Raft system — a 3-member etcd cluster (Debian's `etcd-server`),
 * statically bootstrapped on free client and peer ports of 127.0.0.1, each member with its own
 * data dir under the run dir. Heartbeat (100 ms) and election timeout (1000 ms) stay at etcd's
 * defaults, as do snapshots and quotas: the cluster a user would get from the manual.
 *
 * killLeader kill -9s the member that /v3/maintenance/status names as leader; waitNewLeader
 * resolves when a survivor reports a leader other than the killed member; restartKilled starts
 * the killed member again on its data dir (initial-cluster-state existing) and waits until it
 * is healthy and follows a leader.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { freePorts } from "../../dev/ports.js";
import { DEFAULT_VALUE_BYTES, etcdKey, etcdValue, newEtcdPool } from "../drivers/etcd.js";
import { type BenchSystem, SystemUnavailable } from "../load/types.js";
import { aptInstall } from "./apt.js";
import type { BaselineOptions } from "./mariadb.js";

const MEMBERS = 3;
// Bounds on the waits.
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const STATUS_TIMEOUT_MS = 1_000;
const POLL_MS = 10;
// etcd's default --max-txn-ops: the largest batch one seeding transaction may carry.
const SEED_OPS_PER_TXN = 128;
const SEED_CONCURRENCY = 8;

interface Member {
  name: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
  endpoint: string;
  logFile: string;
  child?: ChildProcess;
  /** From /v3/maintenance/status, once known. */
  id?: string;
}

export function findEtcd(): string | undefined {
  for (const p of ["/usr/bin/etcd", "/usr/local/bin/etcd", "/usr/sbin/etcd"]) {
    try {
      execFileSync(p, ["--version"], { stdio: "ignore" });
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The etcd binary, installed with apt-get (`etcd-server`) when root and missing. */
export async function ensureEtcdInstalled(log: (line: string) => void): Promise<string> {
  let bin = findEtcd();
  if (!bin) {
    await aptInstall("etcd-server", "etcd (etcd-server)", log, { disableService: "etcd.service" });
    bin = findEtcd();
  }
  if (!bin) throw new SystemUnavailable("etcd-server is installed but no working etcd binary was found");
  return bin;
}

async function postJson(endpoint: string, path: string, body: unknown, timeoutMs: number): Promise<unknown> {
  const res = await request(`${endpoint}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${endpoint}${path}: ${res.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text) as unknown;
}

interface MemberStatus {
  memberId: string;
  /** Undefined while the member knows no leader. */
  leader?: string;
}

async function memberStatus(endpoint: string): Promise<MemberStatus | undefined> {
  try {
    const s = (await postJson(endpoint, "/v3/maintenance/status", {}, STATUS_TIMEOUT_MS)) as {
      header?: { member_id?: string };
      leader?: string;
    };
    const memberId = s.header?.member_id;
    if (!memberId) return undefined;
    const leader = s.leader && s.leader !== "0" ? s.leader : undefined;
    return leader ? { memberId, leader } : { memberId };
  } catch {
    return undefined;
  }
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const res = await request(`${endpoint}/health`, {
      headersTimeout: STATUS_TIMEOUT_MS,
      bodyTimeout: STATUS_TIMEOUT_MS,
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    });
    const text = await res.body.text();
    return res.statusCode === 200 && /"health"\s*:\s*"true"/.test(text);
  } catch {
    return false;
  }
}

function alive(m: Member): boolean {
  return m.child !== undefined && m.child.exitCode === null && m.child.signalCode === null;
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startEtcd(
  runDir: string,
  opts: BaselineOptions = {},
): Promise<BenchSystem & { endpoints: string[] }> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const bin = await ensureEtcdInstalled(log);
  const root = join(runDir, "etcd");
  const ports = await freePorts(MEMBERS * 2);
  const members: Member[] = Array.from({ length: MEMBERS }, (_, i) => {
    const dir = join(root, `e${i + 1}`);
    return {
      name: `e${i + 1}`,
      dataDir: join(dir, "data"),
      clientPort: ports[2 * i]!,
      peerPort: ports[2 * i + 1]!,
      endpoint: `http://127.0.0.1:${ports[2 * i]!}`,
      logFile: join(dir, "etcd.log"),
    };
  });
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(",");
  // A token per cluster, so members of another bench run can never be mistaken for ours.
  const token = `taskraft-bench-${process.pid}-${Date.now()}`;
  // Our flags only: ETCD_* variables in the environment would silently override them.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ETCD_")));

  const launch = (m: Member, state: "new" | "existing") => {
    mkdirSync(m.dataDir, { recursive: true });
    const args = [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=${m.endpoint}`,
      `--advertise-client-urls=${m.endpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-token=${token}`,
      `--initial-cluster-state=${state}`,
      "--logger=zap",
      "--log-outputs=stderr",
    ];
    const out = openSync(m.logFile, "a");
    try {
      m.child = spawn(bin, args, { env, stdio: ["ignore", out, out] });
    } finally {
      closeSync(out);
    }
    m.child.on("error", () => {});
  };

  const stopAll = async () => {
    await Promise.all(
      members.map(async (m) => {
        if (!m.child || !alive(m)) return;
        m.child.kill("SIGTERM");
        if (!(await exited(m.child, STOP_TIMEOUT_MS))) {
          m.child.kill("SIGKILL");
          await exited(m.child, STOP_TIMEOUT_MS);
        }
      }),
    );
    if (!opts.keepData) rmSync(root, { recursive: true, force: true });
  };

  /** Waits until every member in `which` is healthy and knows a leader; learns member ids. */
  const waitReady = async (which: Member[], timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const dead = which.find((m) => !alive(m));
      if (dead) throw new Error(`etcd member ${dead.name} exited (see ${dead.logFile})`);
      const ready = await Promise.all(
        which.map(async (m) => {
          const st = await memberStatus(m.endpoint);
          if (!st?.leader || !(await healthy(m.endpoint))) return false;
          m.id = st.memberId;
          return true;
        }),
      );
      if (ready.every(Boolean)) return;
      if (Date.now() > deadline) {
        const names = which.filter((_, i) => !ready[i]).map((m) => m.name);
        throw new Error(`etcd members ${names.join(", ")} not healthy within ${timeoutMs} ms`);
      }
      await sleep(100);
    }
  };

  try {
    const t0 = Date.now();
    for (const m of members) launch(m, "new");
    await waitReady(members, START_TIMEOUT_MS);
    log(
      `bench: etcd-3 healthy in ${Date.now() - t0} ms (client ports ${members.map((m) => m.clientPort).join(", ")})`,
    );
  } catch (e) {
    await stopAll();
    throw new SystemUnavailable(`etcd-3 could not be started: ${(e as Error).message}`);
  }

  let killed: Member | undefined;

  return {
    name: "etcd-3",
    endpoints: members.map((m) => m.endpoint),
    pids: () => {
      const out: Record<string, number> = {};
      for (const m of members) if (alive(m) && m.child?.pid !== undefined) out[m.name] = m.child.pid;
      return out;
    },
    killLeader: async () => {
      if (killed) throw new Error(`etcd: ${killed.name} is already down; restart it first`);
      const live = members.filter(alive);
      const statuses = await Promise.all(live.map((m) => memberStatus(m.endpoint)));
      const leaderId = statuses.find((s) => s?.leader)?.leader;
      const leader = live.find((_m, i) => statuses[i]?.memberId === leaderId);
      if (!leaderId || !leader?.child) throw new Error("etcd: no member reports a leader");
      leader.child.kill("SIGKILL");
      const atEpochMs = Date.now();
      leader.id = leaderId;
      killed = leader;
      return { killed: leader.name, atEpochMs };
    },
    waitNewLeader: async (timeoutMs) => {
      if (!killed) throw new Error("etcd: no member was killed");
      const gone = killed;
      const survivors = members.filter((m) => m !== gone);
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const statuses = await Promise.all(survivors.map((m) => memberStatus(m.endpoint)));
        if (statuses.some((s) => s?.leader !== undefined && s.leader !== gone.id)) return Date.now();
        await sleep(POLL_MS);
      }
      throw new Error(`etcd: no new leader within ${timeoutMs} ms of killing ${gone.name}`);
    },
    restartKilled: async () => {
      if (!killed) return;
      const m = killed;
      if (m.child && !(await exited(m.child, STOP_TIMEOUT_MS)))
        throw new Error(`etcd: ${m.name} did not exit`);
      const t0 = Date.now();
      launch(m, "existing");
      await waitReady(members, START_TIMEOUT_MS);
      log(`bench: etcd ${m.name} rejoined in ${Date.now() - t0} ms`);
      killed = undefined;
    },
    stop: stopAll,
  };
}

/**
 * Writes keys 0..keys-1 (the key space the etcd driver reads) with `valueBytes`-byte values, in
 * transactions of up to etcd's default max-txn-ops.
 */
export async function seedEtcd(
  endpoints: string[],
  keys: number,
  valueBytes: number = DEFAULT_VALUE_BYTES,
): Promise<void> {
  const endpoint = endpoints[0];
  if (!endpoint) throw new Error("seedEtcd: no endpoints");
  const value = etcdValue(valueBytes);
  const pool = newEtcdPool(endpoint, SEED_CONCURRENCY);
  let next = 0;
  const worker = async () => {
    while (next < keys) {
      const from = next;
      const to = Math.min(keys, from + SEED_OPS_PER_TXN);
      next = to;
      const success = [];
      for (let i = from; i < to; i++) success.push({ request_put: { key: etcdKey(i), value } });
      const res = await pool.request({
        path: "/v3/kv/txn",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ success }),
      });
      const text = await res.body.text();
      if (res.statusCode !== 200)
        throw new Error(`seedEtcd: ${endpoint} answered ${res.statusCode} ${text.slice(0, 200)}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
  } finally {
    await pool.close().catch(() => {});
  }
}
