import { randomUUID } from "node:crypto";
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { DbServerError } from "./errors.js";
import { pidAlive } from "./process.js";

// Longer than any start (which may include an apt-get install); a lock this old is abandoned.
const STALE_AFTER_MS = 15 * 60_000;

function holderPid(path: string): { pid: number | undefined; ageMs: number } | undefined {
  try {
    const text = readFileSync(path, "utf8");
    const ageMs = Date.now() - statSync(path).mtimeMs;
    const pid = Number.parseInt(text.split(" ")[0] ?? "", 10);
    return { pid: Number.isFinite(pid) ? pid : undefined, ageMs };
  } catch {
    return undefined;
  }
}

/**
 * Runs fn while holding an exclusive lock file. Used so that several processes (parallel test
 * files, two terminals) starting or stopping the same data dir serialise instead of racing;
 * the loser then finds the server running. A lock whose holder died is taken over.
 */
export async function withFileLock<T>(path: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const token = `${process.pid} ${randomUUID()}\n`;
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  for (;;) {
    try {
      const fd = openSync(path, "wx");
      try {
        writeSync(fd, token);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = holderPid(path);
    // An empty file may be a holder between open and write: only stale when old.
    const abandoned =
      holder !== undefined &&
      ((holder.pid !== undefined && !pidAlive(holder.pid)) || holder.ageMs > STALE_AFTER_MS);
    if (abandoned) {
      try {
        unlinkSync(path);
      } catch {
        // someone else removed it first
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new DbServerError(
        `timed out waiting for the lock ${path} held by pid ${holder?.pid ?? "?"}; ` +
          "if no other taskraft process is running, delete that file",
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 250);
  }
  try {
    return await fn();
  } finally {
    try {
      if (readFileSync(path, "utf8") === token) unlinkSync(path);
    } catch {
      // lock already gone (taken over as stale): nothing to release
    }
  }
}
