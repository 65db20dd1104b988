import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { checkConsistency } from "../../src/state/consistency.js";
import { type Scratch, scratchStateMachine } from "./helpers.js";
import { generateLog } from "./log-generator.js";

const CHILD = fileURLToPath(new URL("./fixtures/apply-log.ts", import.meta.url));
const SEED = 777;
const COUNT = 15_000;
const KILLS = 20;

interface Run {
  lines: string[];
  killed: boolean;
}

/** Runs the child; with `killAfterMs`, SIGKILLs it that long after its first committed batch. */
function runChild(url: string, run: number, killAfterMs: number | undefined): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", CHILD, url, String(SEED), String(COUNT), String(run)],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const lines: string[] = [];
    let partial = "";
    let armed = false;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      lines.push(...parts);
      if (killAfterMs !== undefined && !armed && lines.some((l) => l.startsWith("A "))) {
        armed = true;
        setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (signal === "SIGKILL") resolve({ lines, killed: true });
      else if (code === 0) resolve({ lines, killed: false });
      else reject(new Error(`child exited with ${code ?? signal} (run ${run})`));
    });
  });
}

let reference: Scratch;
let crashed: Scratch;
before(async () => {
  reference = await scratchStateMachine("crash_ref");
  crashed = await scratchStateMachine("crash_kill");
  const entries = generateLog(SEED, COUNT);
  for (let i = 0; i < entries.length; i += 200) await reference.sm.apply(entries.slice(i, i + 200));
  // The child opens its own pool; this one must not hold the database.
  await crashed.sm.close();
});
after(async () => {
  await reference.close();
  await crashed.close();
});

test(`killed with SIGKILL ${KILLS}+ times while applying, the database ends equal to one built without crashes`, async () => {
  let kills = 0;
  let lastConfirmed = 0;
  let run = 0;
  for (;;) {
    run++;
    const killAt = kills < KILLS ? Math.floor(Math.random() * 250) : undefined;
    const r = await runChild(crashed.db.url, run, killAt);
    const start = Number(r.lines.find((l) => l.startsWith("S "))?.slice(2));
    // Every batch the child reported committed is still applied: nothing is lost, and it resumes after it.
    assert.ok(start >= lastConfirmed, `run ${run} resumed at ${start}, below the confirmed ${lastConfirmed}`);
    const confirmed = r.lines.filter((l) => l.startsWith("A ")).map((l) => Number(l.slice(2)));
    if (confirmed.length > 0) lastConfirmed = confirmed[confirmed.length - 1]!;
    if (r.killed) kills++;
    if (!r.killed) {
      assert.ok(r.lines.includes("DONE"));
      break;
    }
    assert.ok(run < 200, "too many runs");
  }
  assert.ok(kills >= KILLS, `only ${kills} kills happened before the log was fully applied`);
  const report = await checkConsistency({ urls: [reference.db.url, crashed.db.url], timeoutMs: 5000 });
  assert.equal(report.appliedIndex, COUNT);
  assert.deepEqual(report.differences, []);
  assert.ok(report.consistent);
});
