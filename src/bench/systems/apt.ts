/**
 * Installing a baseline's Debian package when the bench runs as root on a fresh machine (CI),
 * or saying exactly which command would, as a SystemUnavailable the bench reports and skips.
 */
import { spawn } from "node:child_process";
import { existsSync, unlinkSync, writeFileSync } from "node:fs";
import { SystemUnavailable } from "../load/types.js";

const POLICY_RC_D = "/usr/sbin/policy-rc.d";

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    // apt's progress goes to our stderr so stdout stays free for the bench's own report.
    const child = spawn(cmd, args, {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      stdio: ["ignore", 2, 2],
    });
    child.on("error", () => resolve(127));
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/**
 * Runs `apt-get install -y --no-install-recommends <pkg>` (after `apt-get update` when the first
 * try fails, as on a container with no package lists). Services the package would start are kept
 * from starting by a temporary policy-rc.d: the bench runs its own members on free ports and a
 * system etcd or mariadb on the default ports would only get in others' way.
 */
export async function aptInstall(
  pkg: string,
  what: string,
  log: (line: string) => void,
  opts: { disableService?: string } = {},
): Promise<void> {
  const command = `apt-get install -y ${pkg}`;
  if (!existsSync("/etc/debian_version") || !isRoot()) {
    throw new SystemUnavailable(`${what} is not installed; install it with: sudo ${command}`);
  }
  log(`bench: ${what} not found; installing it: ${command}`);
  const args = ["install", "-y", "--no-install-recommends", pkg];
  const ownPolicy = !existsSync(POLICY_RC_D);
  if (ownPolicy)
    writeFileSync(POLICY_RC_D, "#!/bin/sh\n# temporary, written by taskraft bench\nexit 101\n", {
      mode: 0o755,
    });
  try {
    let code = await run("apt-get", args);
    if (code !== 0) {
      log("bench: apt-get install failed; running apt-get update and retrying");
      await run("apt-get", ["update"]);
      code = await run("apt-get", args);
    }
    if (code !== 0) throw new SystemUnavailable(`'${command}' failed (exit ${code}); ${what} is unavailable`);
    if (opts.disableService && existsSync("/usr/bin/systemctl")) {
      // Not started now (policy-rc.d), and not at the next boot either; works without a running systemd.
      log(`bench: disabling the package's service: systemctl disable ${opts.disableService}`);
      await run("systemctl", ["disable", opts.disableService]);
    }
  } finally {
    if (ownPolicy) {
      try {
        unlinkSync(POLICY_RC_D);
      } catch {
        // already gone
      }
    }
  }
}
