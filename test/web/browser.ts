/**
 * Headless Chromium for the web UI tests: Debian's /usr/bin/chromium driven by playwright-core
 * (no browser download). Each launch gets a fresh profile in a temp dir, removed on close.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = process.env["TASKRAFT_CHROMIUM"] ?? "/usr/bin/chromium";

/**
 * Like the test database (src/db installs MariaDB), the browser comes from Debian's packages: as
 * root on a Debian-like system a missing Chromium is installed with apt-get, saying so. Elsewhere
 * the browser tests are skipped with the command to run.
 */
function installChromium(): void {
  if (process.env["TASKRAFT_CHROMIUM"] || process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get")) return;
  process.stderr.write("web tests: Chromium is missing; installing Debian's chromium with apt-get …\n");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-qq"], { stdio: "ignore", env, timeout: 300_000 });
  const r = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "chromium"], {
    stdio: "ignore",
    env,
    timeout: 600_000,
  });
  process.stderr.write(
    `web tests: apt-get install chromium ${r.status === 0 ? "done" : `failed (${r.status})`}\n`,
  );
}

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  if (!existsSync(CHROMIUM)) installChromium();
  return existsSync(CHROMIUM)
    ? undefined
    : `no Chromium at ${CHROMIUM} (as root: apt-get install -y chromium; or set TASKRAFT_CHROMIUM)`;
}

export interface LaunchedBrowser {
  /** One persistent context on the fresh profile; each page (tab) has its own sessionStorage. */
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<LaunchedBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "taskraft-chromium-"));
  // launchPersistentContext is how playwright passes --user-data-dir (it refuses the raw flag).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
