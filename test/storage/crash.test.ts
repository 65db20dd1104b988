import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { DiskStorage } from "../../src/storage/index.js";
import { dataFor, readAll, removeDir, tempDir } from "./helpers.js";

const WRITER = fileURLToPath(new URL("./fixtures/crash-writer.ts", import.meta.url));

interface Pending {
  from: number;
  to: number;
  term: number;
}

/** Runs the writer until it has synced at least once, then SIGKILLs it after a random delay; returns its stdout lines. */
function runAndKill(dir: string, seed: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", WRITER, dir, String(seed)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines: string[] = [];
    let partial = "";
    let armed = false;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      lines.push(...parts);
      if (!armed && lines.some((l) => l.startsWith("S "))) {
        armed = true;
        setTimeout(() => child.kill("SIGKILL"), Math.floor(Math.random() * 600));
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (signal !== "SIGKILL")
        reject(new Error(`writer exited with ${code ?? signal} before the kill (seed ${seed})`));
      else resolve(lines);
    });
  });
}

test("kill -9 while appending: every index reported as synced survives with its term and data", async () => {
  const dir = tempDir();
  try {
    // index -> term of what the writer reported durable, carried across runs.
    const model = new Map<number, number>();
    for (let run = 0; run < 5; run++) {
      const seed = 1 + Math.floor(Math.random() * 0xfffffff);
      const lines = await runAndKill(dir, seed);
      let pending: Pending | undefined;
      let synced = 0;
      for (const line of lines) {
        const [kind, a, b, c] = line.split(" ");
        if (kind === "A") pending = { from: Number(a), to: Number(b), term: Number(c) };
        else if (kind === "S" && pending) {
          for (const i of [...model.keys()]) if (i >= pending.from) model.delete(i);
          for (let i = pending.from; i <= pending.to; i++) model.set(i, pending.term);
          pending = undefined;
          synced++;
        }
      }
      assert.ok(synced > 0, `run ${run} (seed ${seed}) synced nothing`);

      const s = DiskStorage.open({ dir, clusterId: "crash", nodeId: "n1", segmentBytes: 4096 });
      const ctx = `run ${run}, seed ${seed}`;
      const first = s.firstIndex();
      const last = s.lastIndex();
      const ents = readAll(s, 64 * 1024);
      for (const e of ents)
        assert.deepEqual(e.data, dataFor(e.index, e.term), `${ctx}: entry ${e.index} intact`);
      for (const [i, term] of model) {
        if (i < first) {
          assert.ok(s.snapshot().index >= i, `${ctx}: ${i} below the log but not in the snapshot`);
          continue;
        }
        // The append in flight at the kill may have cut the tail already (durably) without writing its entries.
        const inFlight = pending !== undefined && i >= pending.from;
        if (inFlight && i > last) continue;
        assert.ok(i <= last, `${ctx}: synced index ${i} missing (log ends at ${last})`);
        const got = s.term(i);
        const ok = got === term || (inFlight && got === pending?.term);
        assert.ok(ok, `${ctx}: index ${i} has term ${got}, synced with ${term}`);
      }
      const snap = s.snapshot();
      if (snap.index > 0 && model.has(snap.index)) assert.equal(snap.term, model.get(snap.index), ctx);
      // Continue from what is on disk: entries synced but not yet reported are legitimate too.
      model.clear();
      for (const e of ents) model.set(e.index, e.term);
      s.close();
    }
  } finally {
    removeDir(dir);
  }
});
