import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type DbLog, stderrLog } from "./errors.js";
import { createScratchDatabase, type ScratchDatabase } from "./helpers.js";
import { startServer } from "./server.js";
import { parseMysqlUrl } from "./url.js";

export const TEST_DB_PORT = 3399;

/** The checkout's root: the nearest directory above this module whose package.json is taskraft's. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "taskraft") return dir;
      } catch {
        // unreadable package.json: keep looking upwards
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

let shared: Promise<string> | undefined;

/**
 * The root URL of the MySQL server tests should use: TASKRAFT_MYSQL_URL when set, else a private
 * server under <repo>/.taskraft/test-db on port 3399 (TASKRAFT_TEST_DB_PORT overrides), installed
 * and started on first use and left running so later test runs start fast. Safe to call from
 * many test processes at once: the start is serialised by a lock file in the data dir.
 */
export async function testMysqlUrl(opts: { log?: DbLog } = {}): Promise<string> {
  const fromEnv = process.env["TASKRAFT_MYSQL_URL"];
  if (fromEnv !== undefined && fromEnv !== "") {
    parseMysqlUrl(fromEnv); // fail early, with a clear message, on a malformed value
    return fromEnv;
  }
  if (!shared) {
    const portEnv = process.env["TASKRAFT_TEST_DB_PORT"];
    const port = portEnv ? Number(portEnv) : TEST_DB_PORT;
    shared = startServer({
      dataDir: join(repoRoot(), ".taskraft", "test-db"),
      port,
      log: opts.log ?? stderrLog,
    });
    // A failed start must not poison later calls in this process.
    shared.catch(() => {
      shared = undefined;
    });
  }
  return shared;
}

/** A fresh, uniquely named database on the test server; drop() it when the test is done. */
export async function testDatabase(prefix = "t"): Promise<ScratchDatabase> {
  return createScratchDatabase(await testMysqlUrl(), prefix);
}
