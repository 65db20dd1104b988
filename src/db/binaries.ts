import { execFileSync, spawn } from "node:child_process";
import { accessSync, constants, existsSync, unlinkSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { type DbLog, DbServerError, stderrLog } from "./errors.js";

export interface MariadbBinaries {
  /** `mariadbd` or `mysqld`. */
  server?: string;
  /** `mariadb-install-db` or `mysql_install_db`. */
  installDb?: string;
  /** `mariadb-admin` or `mysqladmin` (informational: this module talks to the server via mysql2). */
  admin?: string;
  /** Names of the roles above that were not found, e.g. `["admin"]`. */
  missing: Array<"server" | "installDb" | "admin">;
}

const CANDIDATES = {
  server: ["mariadbd", "mysqld"],
  installDb: ["mariadb-install-db", "mysql_install_db"],
  admin: ["mariadb-admin", "mysqladmin"],
} as const;

// Debian puts the server in /usr/sbin, which is not on an ordinary user's PATH; the other
// directories cover source builds, Homebrew and the MySQL tarball layout.
const EXTRA_DIRS = [
  "/usr/sbin",
  "/usr/bin",
  "/usr/local/sbin",
  "/usr/local/bin",
  "/usr/local/mysql/bin",
  "/opt/homebrew/bin",
  "/opt/homebrew/sbin",
];

function searchDirs(): string[] {
  const fromPath = (process.env["PATH"] ?? "").split(delimiter).filter((d) => d !== "");
  return [...new Set([...fromPath, ...EXTRA_DIRS])];
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function which(names: readonly string[], dirs: string[]): string | undefined {
  // Preference follows the order of `names` (MariaDB's own names first), not of the PATH.
  for (const name of names) {
    for (const dir of dirs) {
      const p = join(dir, name);
      if (isExecutable(p)) return p;
    }
  }
  return undefined;
}

export function findMariadbBinaries(): MariadbBinaries {
  const dirs = searchDirs();
  const result: MariadbBinaries = { missing: [] };
  for (const role of ["server", "installDb", "admin"] as const) {
    const found = which(CANDIDATES[role], dirs);
    if (found) result[role] = found;
    else result.missing.push(role);
  }
  return result;
}

export interface ServerVersion {
  /** e.g. `10.11.6-MariaDB-0+deb12u1`. */
  full: string;
  flavor: "mariadb" | "mysql";
  /** `major.minor`, the unit in which on-disk formats change (e.g. `10.11`, `8.0`). */
  major: string;
}

export function parseServerVersion(text: string): ServerVersion | undefined {
  const m = /Ver\s+(\d+)\.(\d+)\.(\d+)(\S*)/.exec(text);
  if (!m) return undefined;
  const full = `${m[1]}.${m[2]}.${m[3]}${m[4] ?? ""}`;
  return { full, flavor: /mariadb/i.test(text) ? "mariadb" : "mysql", major: `${m[1]}.${m[2]}` };
}

export function serverVersion(serverBinary: string): ServerVersion {
  let out: string;
  try {
    out = execFileSync(serverBinary, ["--no-defaults", "--version"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    throw new DbServerError(`cannot run '${serverBinary} --version': ${(err as Error).message}`);
  }
  const v = parseServerVersion(out);
  if (!v)
    throw new DbServerError(`cannot parse the version printed by '${serverBinary} --version': ${out.trim()}`);
  return v;
}

export const MANUAL_INSTALL_COMMAND = "sudo apt-get install -y mariadb-server";

export interface EnsureInstalledOptions {
  log?: DbLog;
  // The remaining options exist so that tests can exercise every branch on any machine.
  findBinaries?: () => MariadbBinaries;
  isDebian?: boolean;
  isRoot?: boolean;
  run?: (cmd: string, args: string[], env: NodeJS.ProcessEnv) => Promise<number>;
}

function runInherit(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    // apt's progress goes to our stderr: stdout is reserved for the URL `taskraft db start` prints.
    const child = spawn(cmd, args, { env, stdio: ["ignore", 2, 2] });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

const POLICY_RC_D = "/usr/sbin/policy-rc.d";

/**
 * Makes sure a MariaDB (or MySQL) server binary and its data-dir initialiser exist, installing
 * Debian's `mariadb-server` when running as root on Debian/Ubuntu. Returns the binaries.
 */
export async function ensureMariadbInstalled(opts: EnsureInstalledOptions = {}): Promise<MariadbBinaries> {
  const log = opts.log ?? stderrLog;
  const find = opts.findBinaries ?? findMariadbBinaries;
  const found = find();
  if (found.server) {
    requireInitialiser(found);
    return found;
  }
  const isDebian = opts.isDebian ?? existsSync("/etc/debian_version");
  const isRoot = opts.isRoot ?? (typeof process.getuid === "function" && process.getuid() === 0);
  if (!isDebian) {
    throw new DbServerError(
      "No MariaDB server binary (mariadbd or mysqld) was found in PATH or /usr/sbin. Install MariaDB 10.11 " +
        "with your system's package manager (e.g. 'brew install mariadb' on macOS, " +
        "'sudo dnf install mariadb-server' on Fedora), or set TASKRAFT_MYSQL_URL to an existing server.",
    );
  }
  if (!isRoot) {
    throw new DbServerError(
      `No MariaDB server binary (mariadbd or mysqld) was found. Install it with: ${MANUAL_INSTALL_COMMAND} ` +
        "(or set TASKRAFT_MYSQL_URL to an existing server).",
    );
  }

  const run = opts.run ?? runInherit;
  const env: NodeJS.ProcessEnv = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const installArgs = ["install", "-y", "--no-install-recommends", "mariadb-server"];
  log(
    "db: MariaDB server not found; installing it: DEBIAN_FRONTEND=noninteractive apt-get install -y " +
      "--no-install-recommends mariadb-server",
  );
  // The package's postinst would start a system mariadb on port 3306. We never use it, so a
  // temporary policy-rc.d (the Debian mechanism for "don't start services") keeps it from
  // running; an existing policy file is left exactly as it is.
  const ownPolicy = opts.run === undefined && !existsSync(POLICY_RC_D);
  if (ownPolicy)
    writeFileSync(POLICY_RC_D, "#!/bin/sh\n# temporary, written by taskraft db\nexit 101\n", { mode: 0o755 });
  try {
    let code = await run("apt-get", installArgs, env);
    if (code !== 0) {
      // Usually stale or missing package lists (fresh containers ship none).
      log("db: apt-get install failed; running apt-get update and retrying");
      const upd = await run("apt-get", ["update"], env);
      if (upd !== 0)
        throw new DbServerError(
          `'apt-get update' failed (exit ${upd}); install MariaDB manually: ${MANUAL_INSTALL_COMMAND}`,
        );
      code = await run("apt-get", installArgs, env);
    }
    if (code !== 0) {
      throw new DbServerError(
        `'apt-get install mariadb-server' failed (exit ${code}); install it manually: ${MANUAL_INSTALL_COMMAND}`,
      );
    }
  } finally {
    if (ownPolicy) {
      try {
        unlinkSync(POLICY_RC_D);
      } catch {
        // already gone: nothing to restore
      }
    }
  }
  const after = find();
  if (!after.server) {
    throw new DbServerError(
      `mariadb-server was installed but no mariadbd/mysqld binary was found; check the installation (${MANUAL_INSTALL_COMMAND})`,
    );
  }
  log(`db: installed MariaDB (${after.server})`);
  requireInitialiser(after);
  return after;
}

function requireInitialiser(b: MariadbBinaries): void {
  // MySQL 8 has no install-db script; its server initialises a data dir itself.
  if (b.installDb || !b.server) return;
  if (/mysqld$/.test(b.server) && !/MariaDB/i.test(safeVersionText(b.server))) return;
  throw new DbServerError(
    `found ${b.server} but not mariadb-install-db/mysql_install_db, which is needed to create a data dir; ` +
      `reinstall the server package (${MANUAL_INSTALL_COMMAND})`,
  );
}

function safeVersionText(bin: string): string {
  try {
    return execFileSync(bin, ["--no-defaults", "--version"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    return "";
  }
}
