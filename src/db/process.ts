import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

/** True when a process with this pid exists (even if owned by another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  // A zombie still answers kill(0); on Linux its cmdline is empty, which we treat as dead.
  const cmdline = procCmdline(pid);
  return cmdline === undefined || cmdline.length > 0;
}

/** The argv of a process from /proc, or undefined where /proc is not available (macOS). */
export function procCmdline(pid: number): string[] | undefined {
  if (!existsSync("/proc/self/cmdline")) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .filter((s) => s !== "");
  } catch {
    return [];
  }
}

/**
 * True when pid is alive and (where /proc lets us check) is a server using this data dir, so
 * that a pid reused by an unrelated process after a crash is not mistaken for our server.
 */
export function isServerProcess(pid: number, mysqlDataDir: string): boolean {
  if (!pidAlive(pid)) return false;
  const argv = procCmdline(pid);
  if (argv === undefined) return true;
  return argv.some((a) => a === `--datadir=${mysqlDataDir}`);
}

export type PortCheck = "free" | "in-use" | { error: string };

export function checkPortFree(host: string, port: number): Promise<PortCheck> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") resolve("in-use");
      else resolve({ error: `${err.code ?? "error"}: ${err.message}` });
    });
    srv.listen({ host, port, exclusive: true }, () => {
      srv.close(() => resolve("free"));
    });
  });
}
