import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  createDatabase,
  DbServerError,
  dropDatabase,
  ensureMariadbInstalled,
  redactMysqlUrl,
  startServer,
  stopServer,
  withDatabase,
} from "../db/index.js";
import { devLayout, devNodes, peerList } from "../dev/layout.js";
import { acquireDevLock, DevLockError } from "../dev/lock.js";
import { portFree } from "../dev/ports.js";
import { Supervisor } from "../dev/supervisor.js";
import { CliError, type Command, parseFlags, parsePort } from "./command.js";

const USAGE =
  "usage: taskraft dev [--nodes 3] [--base-port 7000] [--db-port 3307] [--dir .taskraft] [--fresh]";

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** One step of the start-up, timed, so a slow first start shows where the time goes. */
async function step<T>(n: number, of: number, what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  say(`[${n}/${of}] ${what} …`);
  const r = await fn();
  say(`[${n}/${of}] ${what}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}

interface ClusterView {
  nodeId: string;
  role: string;
  leaderId: string;
  term: number;
}

/** /readyz needs no token and names the node's role and leader (GET /api/v1/cluster needs one). */
async function clusterView(apiPort: number): Promise<ClusterView | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${apiPort}/readyz`, {
      signal: AbortSignal.timeout(1000),
    });
    if (res.status !== 200 && res.status !== 503) return undefined;
    return (await res.json()) as ClusterView;
  } catch {
    return undefined;
  }
}

/** `taskraft dev`: the one-command local cluster (API.md §1, `npm start`). */
export const devCommand: Command = {
  name: "dev",
  summary: "run a private database, a local cluster and the web UI (what `npm start` runs)",
  async run(argv) {
    const { values } = parseFlags(
      argv,
      {
        nodes: { type: "string", default: "3" },
        "base-port": { type: "string", default: "7000" },
        "db-port": { type: "string", default: "3307" },
        dir: { type: "string", default: ".taskraft" },
        fresh: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      USAGE,
    );
    if (values.help) {
      say(USAGE);
      return 0;
    }
    const count = Number(values.nodes);
    if (!Number.isInteger(count) || count < 1 || count > 9)
      throw new CliError(`--nodes must be 1 to 9, got '${values.nodes}'`, 2);
    const basePort = parsePort("base-port", values["base-port"]);
    if (basePort + 100 + count > 65535)
      throw new CliError("--base-port is too high for the raft ports (base + 100 + k)", 2);
    const dbPort = parsePort("db-port", values["db-port"]);
    const layout = devLayout(resolve(values.dir));
    mkdirSync(layout.root, { recursive: true });
    let release: () => void;
    try {
      release = acquireDevLock(layout.lockFile, say);
    } catch (e) {
      if (e instanceof DevLockError) throw new CliError(e.message);
      throw e;
    }
    const nodes = devNodes(count, basePort);
    const external = process.env.TASKRAFT_MYSQL_URL;
    const total = 5;
    const t0 = performance.now();
    let supervisor: Supervisor | undefined;
    let shuttingDown = false;
    const shutdown = async (why: string) => {
      if (shuttingDown) return;
      shuttingDown = true;
      say(`\n${why}: stopping the cluster …`);
      await supervisor?.stopAll();
      if (!external) await stopServer({ dataDir: layout.db, log: say }).catch(() => {});
      release();
      say("stopped. Your data stays in " + layout.root + " (npm start picks it up again; --fresh wipes it).");
      process.exit(0);
    };
    try {
      const rootUrl = await step(
        1,
        total,
        external ? "database (TASKRAFT_MYSQL_URL)" : "private MariaDB server",
        async () => {
          if (external) return external;
          await ensureMariadbInstalled({ log: say });
          return startServer({ dataDir: layout.db, port: dbPort, log: say });
        },
      );
      await step(2, total, `databases for ${count} nodes${values.fresh ? " (fresh)" : ""}`, async () => {
        for (const n of nodes) {
          if (values.fresh) {
            await dropDatabase(rootUrl, n.database);
            rmSync(layout.nodeDir(n.id), { recursive: true, force: true });
          }
          await createDatabase(rootUrl, n.database);
        }
      });
      await step(3, total, "ports", async () => {
        const wanted = [basePort, ...nodes.flatMap((n) => [n.apiPort, n.raftPort])];
        for (const p of wanted) {
          if (!(await portFree(p))) {
            throw new CliError(
              `port ${p} on 127.0.0.1 is in use by another process; stop it or pass --base-port`,
            );
          }
        }
      });
      if (!existsSync(layout.secretFile))
        writeFileSync(layout.secretFile, randomBytes(32).toString("hex"), { mode: 0o600 });
      const secret = readFileSync(layout.secretFile, "utf8").trim();
      const cli = process.argv[1]!;
      supervisor = new Supervisor([process.execPath, ...process.execArgv, cli], { ...process.env }, say);
      await supervisor.listen(basePort);
      const sup = supervisor;
      sup.setEnv({
        TASKRAFT_CLUSTER_SECRET: secret,
        TASKRAFT_DEV_SUPERVISOR: sup.controlUrl(),
      });
      process.on("SIGINT", () => void shutdown("Ctrl-C"));
      process.on("SIGTERM", () => void shutdown("SIGTERM"));
      await step(4, total, `${count} nodes`, async () => {
        for (const n of nodes) {
          sup.add(
            n,
            [
              "node",
              "--id",
              n.id,
              "--peers",
              peerList(nodes),
              "--data-dir",
              layout.nodeDir(n.id),
              "--mysql-url",
              withDatabase(rootUrl, n.database),
              "--cluster-id",
              "taskraft-dev",
              "--chaos",
            ],
            layout.logFile(n.id),
          );
          sup.start(n.id);
        }
      });
      const leader = await step(5, total, "leader election", async () => {
        const deadline = Date.now() + 90_000;
        while (Date.now() < deadline) {
          for (const n of nodes) {
            if (!sup.running(n.id)) {
              const tail = readFileSync(layout.logFile(n.id), "utf8").trim().split("\n").slice(-5).join("\n");
              throw new CliError(
                `node ${n.id} exited during start-up; the end of ${layout.logFile(n.id)}:\n${tail}`,
              );
            }
          }
          const views = await Promise.all(nodes.map((n) => clusterView(n.apiPort)));
          const l = views.find((v) => v?.role === "leader");
          if (l && views.every((v) => v && v.leaderId === l.nodeId)) return l;
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new CliError(`no leader elected within 90 s; see the logs in ${resolve(layout.root, "logs")}`);
      });
      say("");
      say(
        `taskraft is running: ${count} nodes, leader ${leader.leaderId} (term ${leader.term}), ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      say("");
      say(`  open the web UI:  http://127.0.0.1:${nodes[0]!.apiPort}/`);
      for (const n of nodes)
        say(`  node ${n.id}:         http://127.0.0.1:${n.apiPort}/   (raft 127.0.0.1:${n.raftPort})`);
      say(`  database:         ${redactMysqlUrl(rootUrl)}`);
      say(`  data and logs:    ${layout.root}`);
      say("");
      say("Press Ctrl-C to stop everything.");
      await new Promise(() => {});
      return 0;
    } catch (e) {
      await supervisor?.stopAll();
      release();
      if (e instanceof DbServerError) throw new CliError(e.message);
      throw e;
    }
  },
};
