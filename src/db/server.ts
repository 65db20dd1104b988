import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createConnection } from "mysql2/promise";
import {
  ensureMariadbInstalled,
  type MariadbBinaries,
  parseServerVersion,
  type ServerVersion,
  serverVersion,
} from "./binaries.js";
import { type DbLog, DbServerError, stderrLog } from "./errors.js";
import { withFileLock } from "./lock.js";
import { checkPortFree, isServerProcess, pidAlive } from "./process.js";

export const DEFAULT_DB_PORT = 3307;
export const DEFAULT_DB_HOST = "127.0.0.1";

const STATE_FILE = "taskraft-db.json";
const LOCK_FILE = ".taskraft-db.lock";
// Linux allows 107 bytes in a socket path, macOS 103; stay clear of both.
const MAX_SOCKET_PATH = 100;

export interface ServerPaths {
  dataDir: string;
  mysqlData: string;
  socket: string;
  pidFile: string;
  errorLog: string;
  stateFile: string;
  lockFile: string;
}

export function serverPaths(dataDir: string): ServerPaths {
  const dir = resolve(dataDir);
  let socket = join(dir, "mysqld.sock");
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    const h = createHash("sha256").update(dir).digest("hex").slice(0, 12);
    socket = join(tmpdir(), `taskraft-mysqld-${h}.sock`);
  }
  return {
    dataDir: dir,
    mysqlData: join(dir, "mysql-data"),
    socket,
    pidFile: join(dir, "mysqld.pid"),
    // The server appends ".err" to a --log-error name without an extension, so keep one.
    errorLog: join(dir, "mysqld.err"),
    stateFile: join(dir, STATE_FILE),
    lockFile: join(dir, LOCK_FILE),
  };
}

/**
 * What we remember about a data dir. `major` doubles as the version marker: on-disk formats
 * are only guaranteed within one major (e.g. 10.11), so a different server refuses to start.
 */
interface DbState {
  flavor: "mariadb" | "mysql";
  version: string;
  major: string;
  initializedAt: string;
  /** Set once root can log in over TCP without a password; until then start repairs accounts. */
  rootReady: boolean;
  host: string;
  port: number;
  socket: string;
}

function readState(p: ServerPaths): DbState | undefined {
  try {
    return JSON.parse(readFileSync(p.stateFile, "utf8")) as DbState;
  } catch {
    return undefined;
  }
}

function writeState(p: ServerPaths, s: DbState): void {
  const tmp = `${p.stateFile}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`);
  renameSync(tmp, p.stateFile);
}

function readPid(p: ServerPaths): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(p.pidFile, "utf8").trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return DEFAULT_DB_HOST;
  return host.includes(":") ? `[${host}]` : host;
}

export function serverUrl(host: string, port: number): string {
  return `mysql://root@${urlHost(host)}:${port}/`;
}

function tcpHost(host: string): string {
  return urlHost(host).replace(/^\[|\]$/g, "");
}

/** Last lines of the error log written since byte `from`, for error messages. */
function logTail(path: string, from = 0, lines = 20): string {
  try {
    const size = statSync(path).size;
    const start = Math.max(from, size - 64 * 1024);
    const buf = Buffer.alloc(size - start);
    const fd = openSync(path, "r");
    try {
      readSync(fd, buf, 0, buf.length, start);
    } finally {
      closeSync(fd);
    }
    const text = buf.toString("utf8").trimEnd();
    if (text === "") return "";
    return text.split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

function withTail(message: string, p: ServerPaths, from = 0): DbServerError {
  const tail = logTail(p.errorLog, from);
  return new DbServerError(
    tail === "" ? message : `${message}\n--- last lines of ${p.errorLog} ---\n${tail}`,
  );
}

async function ping(
  opts: { host?: string; port?: number; socketPath?: string },
  timeoutMs = 2000,
): Promise<string | undefined> {
  try {
    const conn = await createConnection({ ...opts, user: "root", password: "", connectTimeout: timeoutMs });
    try {
      const [rows] = await conn.query("SELECT VERSION() AS v");
      const first = (rows as Array<{ v: string }>)[0];
      return first?.v ?? "";
    } finally {
      await conn.end().catch(() => {});
    }
  } catch {
    return undefined;
  }
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return isRoot() ? "root" : String(process.getuid?.() ?? "");
  }
}

export interface StartServerOptions {
  dataDir: string;
  port?: number;
  host?: string;
  log?: DbLog;
  /** How long to wait for the server to accept connections (default 60 s). */
  timeoutMs?: number;
  /** Extra `mariadbd` options, e.g. `["--innodb-buffer-pool-size=64M"]`. */
  extraArgs?: string[];
  /** Skip the apt-get install attempt (tests use it; the CLI does not). */
  binaries?: MariadbBinaries;
}

/**
 * Starts (or finds already running) the private server of `dataDir` and returns the URL that
 * reaches it as root, e.g. `mysql://root@127.0.0.1:3307/`. The server keeps running after this
 * process exits; stop it with stopServer.
 */
export async function startServer(opts: StartServerOptions): Promise<string> {
  const port = opts.port ?? DEFAULT_DB_PORT;
  const host = opts.host ?? DEFAULT_DB_HOST;
  const log = opts.log ?? stderrLog;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DbServerError(`port must be an integer from 1 to 65535 (got ${port})`);
  }
  const p = serverPaths(opts.dataDir);
  mkdirSync(p.dataDir, { recursive: true });
  return withFileLock(p.lockFile, timeoutMs + 15 * 60_000, () =>
    startLocked(p, port, host, log, timeoutMs, opts),
  );
}

async function startLocked(
  p: ServerPaths,
  port: number,
  host: string,
  log: DbLog,
  timeoutMs: number,
  opts: StartServerOptions,
): Promise<string> {
  const state = readState(p);
  const pid = readPid(p);
  if (pid !== undefined && isServerProcess(pid, p.mysqlData)) {
    const runHost = state?.host ?? host;
    const runPort = state?.port ?? port;
    const url = serverUrl(runHost, runPort);
    if (runPort !== port || runHost !== host) {
      log(
        `db: note: the server of ${p.dataDir} is already running on ${runHost}:${runPort}, not ${host}:${port}`,
      );
    }
    const version = await waitAnswering({ host: tcpHost(runHost), port: runPort }, timeoutMs, pid);
    if (version === undefined) {
      throw withTail(
        `the MariaDB server of ${p.dataDir} (pid ${pid}) is running but does not accept connections on ` +
          `${runHost}:${runPort}; stop it with 'taskraft db stop --data-dir ${p.dataDir}' and retry`,
        p,
      );
    }
    log(`db: already running (pid ${pid}, ${version}) at ${url}`);
    return url;
  }
  if (pid !== undefined || existsSync(p.pidFile)) {
    log(`db: removing stale pid file ${p.pidFile}${pid !== undefined ? ` (process ${pid} is gone)` : ""}`);
    rmSync(p.pidFile, { force: true });
  }

  const bins = opts.binaries ?? (await ensureMariadbInstalled({ log }));
  if (!bins.server) throw new DbServerError("no MariaDB server binary (mariadbd or mysqld) found");
  const version = serverVersion(bins.server);
  checkDataDirVersion(p, state, version);

  const portState = await checkPortFree(host, port);
  if (portState === "in-use") {
    throw new DbServerError(`port ${port} is in use by another process; pass --port`);
  }
  if (portState !== "free") {
    throw new DbServerError(
      `cannot listen on ${host}:${port} (${portState.error}); pass --port or check --host`,
    );
  }

  let st = state;
  if (!existsSync(join(p.mysqlData, "mysql"))) {
    await initialiseDataDir(p, bins, version, log);
    st = undefined;
  }
  st = {
    flavor: version.flavor,
    version: version.full,
    major: version.major,
    initializedAt: st?.initializedAt ?? new Date().toISOString(),
    rootReady: st?.rootReady ?? false,
    host,
    port,
    socket: p.socket,
  };
  writeState(p, st);

  const logStart = existsSync(p.errorLog) ? statSync(p.errorLog).size : 0;
  const started = Date.now();
  const child = spawnServer(p, bins.server, host, port, opts.extraArgs ?? []);
  let exited: string | undefined;
  child.once("exit", (code, signal) => {
    exited = signal ? `signal ${signal}` : `exit code ${code}`;
  });
  child.once("error", (err) => {
    exited = err.message;
  });

  // Over the socket first: right after initialisation only root@localhost is sure to exist.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      throw withTail(`MariaDB server failed to start (${exited})`, p, logStart);
    }
    if ((await ping({ socketPath: p.socket }, 1000)) !== undefined) break;
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw withTail(
        `MariaDB server did not accept connections within ${Math.round(timeoutMs / 1000)} s`,
        p,
        logStart,
      );
    }
    await sleep(100);
  }

  if (!st.rootReady) {
    await prepareRootAccounts(p);
    st.rootReady = true;
    writeState(p, st);
  }
  const tcpVersion = await ping({ host: tcpHost(host), port }, 5000);
  if (tcpVersion === undefined) {
    throw withTail(
      `MariaDB started but root cannot log in over TCP at ${host}:${port}; ` +
        `remove ${p.dataDir} to re-initialise it, or check the log`,
      p,
      logStart,
    );
  }
  const url = serverUrl(host, port);
  log(
    `db: MariaDB ${tcpVersion} started in ${Date.now() - started} ms (pid ${child.pid}), data in ${p.mysqlData}`,
  );
  return url;
}

function checkDataDirVersion(p: ServerPaths, state: DbState | undefined, v: ServerVersion): void {
  if (!existsSync(join(p.mysqlData, "mysql"))) return;
  let onDisk: { flavor: string; major: string; version: string } | undefined;
  if (state) onDisk = state;
  else {
    // A data dir we did not create (or lost our marker): fall back to what the server recorded.
    try {
      const text = readFileSync(join(p.mysqlData, "mysql_upgrade_info"), "utf8").replace(/\0/g, "").trim();
      const parsed = parseServerVersion(`Ver ${text}`);
      if (parsed)
        onDisk = {
          flavor: /mariadb/i.test(text) ? "mariadb" : parsed.flavor,
          major: parsed.major,
          version: text,
        };
    } catch {
      // no marker at all: assume compatible and let the server decide
    }
  }
  if (onDisk && (onDisk.major !== v.major || onDisk.flavor !== v.flavor)) {
    const name = (f: string) => (f === "mariadb" ? "MariaDB" : "MySQL");
    throw new DbServerError(
      `the data dir ${p.mysqlData} was initialised by ${name(onDisk.flavor)} ${onDisk.version} but the installed ` +
        `server is ${name(v.flavor)} ${v.full}; use another --data-dir, or delete ${p.dataDir} to start afresh`,
    );
  }
}

async function initialiseDataDir(
  p: ServerPaths,
  bins: MariadbBinaries,
  v: ServerVersion,
  log: DbLog,
): Promise<void> {
  // Initialise into a scratch dir and rename it into place, so that an interrupted
  // initialisation never leaves a half-made data dir that later looks valid.
  const scratch = `${p.mysqlData}.init`;
  rmSync(scratch, { recursive: true, force: true });
  const user = currentUser();
  let cmd: string;
  let args: string[];
  if (v.flavor === "mysql" || !bins.installDb) {
    // MySQL 8 initialises its own data dir; its install-db script is gone.
    if (!bins.server) throw new DbServerError("no MariaDB server binary (mariadbd or mysqld) found");
    cmd = bins.server;
    args = ["--no-defaults", "--initialize-insecure", `--datadir=${scratch}`, `--user=${user}`];
  } else {
    cmd = bins.installDb;
    args = [
      "--no-defaults",
      "--auth-root-authentication-method=normal",
      `--datadir=${scratch}`,
      `--user=${user}`,
      "--skip-test-db",
      "--skip-name-resolve",
    ];
  }
  log(`db: initialising a new data dir in ${p.mysqlData}`);
  const started = Date.now();
  const { code, output } = await runCapture(cmd, args);
  if (code !== 0) {
    throw new DbServerError(
      `'${cmd} ${args.join(" ")}' failed (exit ${code}):\n${output.trimEnd().split("\n").slice(-20).join("\n")}`,
    );
  }
  rmSync(p.mysqlData, { recursive: true, force: true });
  renameSync(scratch, p.mysqlData);
  log(`db: data dir initialised in ${Date.now() - started} ms`);
}

function runCapture(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    child.on("error", reject);
    child.on("close", (code) =>
      resolvePromise({ code: code ?? 1, output: Buffer.concat(chunks).toString("utf8") }),
    );
  });
}

function spawnServer(
  p: ServerPaths,
  server: string,
  host: string,
  port: number,
  extra: string[],
): ChildProcess {
  const args = [
    "--no-defaults", // must come first
    `--datadir=${p.mysqlData}`,
    `--socket=${p.socket}`,
    `--port=${port}`,
    `--bind-address=${host}`,
    `--pid-file=${p.pidFile}`,
    `--log-error=${p.errorLog}`,
    "--skip-name-resolve",
    "--innodb-buffer-pool-size=256M",
    "--innodb-flush-log-at-trx-commit=1",
    "--max-connections=500",
    "--max-allowed-packet=64M",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
    "--default-time-zone=+00:00",
    // Closer to MySQL 8's defaults, so SQL that only MariaDB tolerates fails in development.
    // ONLY_FULL_GROUP_BY is left out: MariaDB's version rejects queries MySQL 8 accepts.
    "--sql-mode=STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION",
    "--skip-log-bin",
    "--performance-schema=OFF",
  ];
  // mariadbd refuses to run as root unless told that this is intended.
  if (isRoot()) args.push("--user=root");
  args.push(...extra);
  const out = openSync(p.errorLog, "a");
  try {
    const child = spawn(server, args, { detached: true, stdio: ["ignore", out, out], cwd: p.dataDir });
    child.unref();
    return child;
  } finally {
    closeSync(out);
  }
}

async function prepareRootAccounts(p: ServerPaths): Promise<void> {
  const conn = await createConnection({
    socketPath: p.socket,
    user: "root",
    password: "",
    connectTimeout: 5000,
  });
  try {
    // install-db normally creates these already; doing it explicitly covers other versions
    // and MySQL, whose root@localhost does not match TCP connections under skip-name-resolve.
    for (const h of ["localhost", "127.0.0.1", "::1"]) {
      await conn.query("CREATE USER IF NOT EXISTS 'root'@?", [h]);
      await conn.query("GRANT ALL PRIVILEGES ON *.* TO 'root'@? WITH GRANT OPTION", [h]);
    }
    // Anonymous accounts would shadow named ones from the same host in MySQL's matching rules;
    // root@<hostname> is unusable under skip-name-resolve and only adds a warning per start.
    const [rows] = await conn.query(
      "SELECT User AS u, Host AS h FROM mysql.user WHERE User = '' OR (User = 'root' AND Host NOT IN ('localhost', '127.0.0.1', '::1'))",
    );
    for (const r of rows as Array<{ u: string; h: string }>) await conn.query("DROP USER ?@?", [r.u, r.h]);
  } finally {
    await conn.end().catch(() => {});
  }
}

async function waitAnswering(
  target: { host: string; port: number },
  timeoutMs: number,
  pid: number,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await ping(target, 2000);
    if (v !== undefined) return v;
    if (!pidAlive(pid) || Date.now() > deadline) return undefined;
    await sleep(200);
  }
}

export interface StopServerOptions {
  dataDir: string;
  log?: DbLog;
  /** How long to wait for a graceful shutdown before killing the server (default 30 s). */
  timeoutMs?: number;
}

/** Stops the server of `dataDir` gracefully. Returns false when it was not running. */
export async function stopServer(opts: StopServerOptions): Promise<boolean> {
  const log = opts.log ?? stderrLog;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const p = serverPaths(opts.dataDir);
  if (!existsSync(p.dataDir)) {
    log(`db: not running (no data dir ${p.dataDir})`);
    return false;
  }
  return withFileLock(p.lockFile, timeoutMs + 16 * 60_000, async () => {
    const pid = readPid(p);
    if (pid === undefined || !isServerProcess(pid, p.mysqlData)) {
      if (existsSync(p.pidFile)) rmSync(p.pidFile, { force: true });
      log("db: not running");
      return false;
    }
    log(`db: stopping MariaDB (pid ${pid})`);
    try {
      process.kill(pid, "SIGTERM");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EPERM")
        throw new DbServerError(`not allowed to stop the server (pid ${pid}); run as its owner`);
      if (code !== "ESRCH") throw err;
    }
    if (!(await waitGone(pid, timeoutMs))) {
      // InnoDB recovers from a kill on the next start; a hung shutdown must not block the user.
      log(`db: server did not stop within ${Math.round(timeoutMs / 1000)} s; killing it`);
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
      if (!(await waitGone(pid, 10_000)))
        throw new DbServerError(`the server (pid ${pid}) did not exit even after SIGKILL`);
    }
    if (existsSync(p.pidFile) && readPid(p) === pid) rmSync(p.pidFile, { force: true });
    log("db: stopped");
    return true;
  });
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

export interface ServerStatus {
  /** `unresponsive`: the process exists but does not answer (starting, stuck, or shutting down). */
  state: "running" | "stopped" | "unresponsive";
  running: boolean;
  dataDir: string;
  pid?: number;
  host?: string;
  port?: number;
  /** Set while running. */
  url?: string;
  /** Live from the server when it answers, else the version that initialised the data dir. */
  version?: string;
  socket?: string;
  errorLog: string;
  initialized: boolean;
}

export async function serverStatus(opts: { dataDir: string }): Promise<ServerStatus> {
  const p = serverPaths(opts.dataDir);
  const state = readState(p);
  const initialized = existsSync(join(p.mysqlData, "mysql"));
  const base: ServerStatus = {
    state: "stopped",
    running: false,
    dataDir: p.dataDir,
    errorLog: p.errorLog,
    initialized,
  };
  if (state) {
    base.host = state.host;
    base.port = state.port;
    base.version = state.version;
    base.socket = state.socket;
  }
  const pid = readPid(p);
  if (pid === undefined || !isServerProcess(pid, p.mysqlData)) return base;
  const host = state?.host ?? DEFAULT_DB_HOST;
  const port = state?.port ?? DEFAULT_DB_PORT;
  const live = await ping({ host: tcpHost(host), port }, 2000);
  const st: ServerStatus = { ...base, pid, running: true, host, port, url: serverUrl(host, port) };
  if (live === undefined) st.state = "unresponsive";
  else {
    st.state = "running";
    st.version = live;
  }
  return st;
}

/** Removes a data dir entirely (the server must be stopped). For tests and `db reset`-style tools. */
export async function removeDataDir(dataDir: string): Promise<void> {
  const p = serverPaths(dataDir);
  const pid = readPid(p);
  if (pid !== undefined && isServerProcess(pid, p.mysqlData)) {
    throw new DbServerError(`the server of ${p.dataDir} is running (pid ${pid}); stop it first`);
  }
  rmSync(p.dataDir, { recursive: true, force: true });
  if (!p.socket.startsWith(p.dataDir)) {
    try {
      unlinkSync(p.socket);
    } catch {
      // not there
    }
  }
}
