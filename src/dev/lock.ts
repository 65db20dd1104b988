import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";

/** Thrown when another `taskraft dev` already runs from the same directory. */
export class DevLockError extends Error {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the dev lock (a file holding our pid). A lock whose process is gone is
 * stale — left by a crash or kill -9 — and is taken over with a note.
 */
export function acquireDevLock(file: string, log: (line: string) => void): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number(readFileSync(file, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new DevLockError(
          `another 'taskraft dev' (pid ${pid}) is running from this directory; stop it with Ctrl-C or 'kill ${pid}'`,
        );
      }
      log(`removing a stale lock left by pid ${pid} (${file})`);
      rmSync(file, { force: true });
    }
  }
  throw new DevLockError(`could not take the lock ${file}`);
}
