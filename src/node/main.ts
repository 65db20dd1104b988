import { createServer } from "node:net";
import { join } from "node:path";
import type { Pool } from "mysql2/promise";
import type { Logger } from "pino";
import { NodeMetrics } from "../api/metrics.js";
import { type ApiServer, buildApiServer } from "../api/server.js";
import { connectServer, MysqlUrlError, parseMysqlUrl, redactMysqlUrl, repoRoot } from "../db/index.js";
import { MysqlStateMachine } from "../state/mysql-state-machine.js";
import type { NodeConfig } from "./config.js";
import { createLogger, type NodeRuntime, StartupError, startNodeRuntime } from "./runtime.js";

/** API.md §1: a node shuts down within 5 s of SIGTERM/SIGINT. */
const SHUTDOWN_LIMIT_MS = 5000;
/** In-flight requests get this long to finish before waiting writes are failed (504) and reads (503). */
const DRAIN_MS = 2000;
const DB_PING_MS = 2000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "EADDRINUSE" || e.code === "EACCES"));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(false)));
  });
}

async function checkPorts(config: NodeConfig): Promise<void> {
  for (const [what, hp] of [
    ["api", config.api],
    ["raft", config.raft],
  ] as const) {
    if (hp.port !== 0 && (await portInUse(hp.host, hp.port))) {
      throw new StartupError(
        `${what} port ${hp.host}:${hp.port} is already in use; stop the other process or pick another port`,
      );
    }
  }
}

/** Waits for the MySQL server to accept connections, so a server still starting is not an error. */
async function waitForMysql(config: NodeConfig, logger: Logger): Promise<void> {
  try {
    if (parseMysqlUrl(config.mysqlUrl).database === undefined) {
      throw new StartupError(
        `mysql-url ${redactMysqlUrl(config.mysqlUrl)} must name a database, e.g. .../taskraft_n1`,
      );
    }
  } catch (e) {
    if (e instanceof MysqlUrlError) throw new StartupError(e.message);
    throw e;
  }
  const deadline = Date.now() + config.mysqlWaitMs;
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      const conn = await connectServer(config.mysqlUrl);
      await conn.end().catch(() => {});
      return;
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      if (Date.now() + delay > deadline) {
        throw new StartupError(
          `MySQL at ${redactMysqlUrl(config.mysqlUrl)} is unreachable (${why}) after ${attempt} attempts; start it or fix --mysql-url`,
        );
      }
      logger.warn({ attempt, err: why }, "MySQL not reachable yet; retrying");
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
  }
}

export interface RunningNode {
  runtime: NodeRuntime;
  api: ApiServer;
  /** Resolves when the node has stopped; the value is the process exit code. */
  stopped: Promise<number>;
  stop(reason: string, code?: number): Promise<number>;
}

/**
 * One `taskraft node` process: its MySQL database (created and migrated by the state machine),
 * the Raft runtime (storage, transport, replica) and the HTTP API. Startup problems throw a
 * StartupError with a one-line message; signals stop the node in order, within 5 s.
 */
export async function runNode(config: NodeConfig): Promise<RunningNode> {
  const logger = createLogger(config);
  await checkPorts(config);
  await waitForMysql(config, logger);

  const stateMachine = new MysqlStateMachine({
    url: config.mysqlUrl,
    logger: { error: (obj, msg) => logger.error(obj, msg) },
  });
  let runtime: NodeRuntime | undefined;
  const pool = (): Pool | undefined => {
    try {
      return stateMachine.pool;
    } catch {
      return undefined;
    }
  };
  const metrics = new NodeMetrics(
    () => runtime?.replica,
    () => poolStats(pool()),
  );
  try {
    runtime = await startNodeRuntime(config, stateMachine, logger, metrics.observer(), {
      onFsync: metrics.onFsync,
    });
  } catch (e) {
    await stateMachine.close().catch(() => {});
    if (e instanceof StartupError) throw e;
    if (isMysqlError(e)) {
      throw new StartupError(
        `MySQL at ${redactMysqlUrl(config.mysqlUrl)} failed at start: ${(e as Error).message}`,
      );
    }
    throw e;
  }
  const rt = runtime;

  let dbConnected = true;
  const dbPing = setInterval(() => {
    const p = pool();
    if (!p) return;
    const t = setTimeout(() => {
      dbConnected = false;
    }, DB_PING_MS);
    p.query("SELECT 1").then(
      () => {
        clearTimeout(t);
        dbConnected = true;
      },
      () => {
        clearTimeout(t);
        dbConnected = false;
      },
    );
  }, DB_PING_MS);
  dbPing.unref();

  let api: ApiServer;
  try {
    api = await buildApiServer({
      nodeId: config.id,
      replica: rt.replica,
      transport: rt.transport,
      db: {
        pool: stateMachine.pool,
        name: parseMysqlUrl(config.mysqlUrl).database ?? "",
        connected: () => dbConnected,
        authGeneration: () => stateMachine.authGeneration,
      },
      metrics,
      logger,
      clusterSecret: config.clusterSecret,
      chaos: config.chaos,
      supervisorUrl: process.env["TASKRAFT_DEV_SUPERVISOR"] || undefined,
      webDir: join(repoRoot(), "dist", "web"),
      electionTimeoutMs: config.tickMs * config.electionTicks,
    });
    await api.listen(config.api.host, config.api.port);
  } catch (e) {
    clearInterval(dbPing);
    await rt.close().catch(() => {});
    await stateMachine.close().catch(() => {});
    if ((e as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new StartupError(`api port ${config.api.host}:${config.api.port} is already in use`);
    }
    throw e;
  }
  logger.info(
    { api: `${config.api.host}:${config.api.port}`, raft: `${config.raft.host}:${config.raft.port}` },
    "node ready",
  );

  let stopping: Promise<number> | undefined;
  let resolveStopped: (code: number) => void = () => {};
  const stopped = new Promise<number>((r) => {
    resolveStopped = r;
  });

  const stop = (reason: string, code = 0): Promise<number> => {
    stopping ??= (async () => {
      logger.info({ reason }, "node stopping");
      const closing = api
        .close()
        .catch((e: unknown) => logger.warn({ err: (e as Error).message }, "api close"));
      // Requests still waiting after the grace time are answered now: a write with 504 (its
      // entry may still commit), a read with 503.
      const drained = await Promise.race([closing.then(() => true), sleep(DRAIN_MS).then(() => false)]);
      if (!drained) {
        await rt.replica.stop();
        await Promise.race([closing, sleep(500)]);
        api.app.server.closeAllConnections();
      }
      clearInterval(dbPing);
      await rt.close();
      await Promise.race([stateMachine.close(), sleep(1000)]).catch(() => {});
      logger.info({}, "node stopped");
      resolveStopped(code);
      return code;
    })();
    return stopping;
  };

  rt.replica.on("fatal", (e: Error) => {
    logger.error({ err: e.message }, "replica failed; stopping the node");
    void stop("fatal replica error", 70);
  });

  return { runtime: rt, api, stopped, stop };
}

function isMysqlError(e: unknown): boolean {
  return typeof e === "object" && e !== null && typeof (e as { sqlState?: unknown }).sqlState === "string";
}

function poolStats(pool: Pool | undefined): { total: number; free: number; queued: number } {
  // mysql2 keeps these on the callback pool behind the promise wrapper; read them defensively.
  const core = (pool as unknown as { pool?: Record<string, { length?: number } | undefined> } | undefined)
    ?.pool;
  return {
    total: core?.["_allConnections"]?.length ?? 0,
    free: core?.["_freeConnections"]?.length ?? 0,
    queued: core?.["_connectionQueue"]?.length ?? 0,
  };
}

/** Installs the signal handlers and a hard deadline, for the `taskraft node` process. */
export function handleSignals(node: RunningNode, logger: Pick<Logger, "error">): void {
  const onSignal = (sig: string) => {
    const timer = setTimeout(() => {
      logger.error({}, `shutdown took longer than ${SHUTDOWN_LIMIT_MS / 1000} s; exiting`);
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    timer.unref();
    void node.stop(sig).then((code) => process.exit(code));
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
  void node.stopped.then((code) => process.exit(code));
}
