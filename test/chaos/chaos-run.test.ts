/**
 * The fault-tolerance proof as part of `npm test`: a 60-second chaos run against a real 3-node
 * cluster (one MariaDB server per node) under every fault the API offers, which must end PASS.
 * Clients pause 25 ms between operations so the run leaves CPU to the test files beside it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const RUN_LIMIT_MS = 6 * 60_000;

test("a 60-second chaos run on 3 nodes ends PASS", { timeout: RUN_LIMIT_MS + 30_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), "taskraft-chaos-test-"));
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: "", FORCE_COLOR: "0" };
  delete env["NODE_TEST_CONTEXT"];
  delete env["TASKRAFT_CHAOS_MUTANT"];
  const args = ["--import", "tsx", "src/chaos/main.ts", "--duration", "60", "--nodes", "3"];
  args.push("--seed", "20240601", "--think-ms", "25", "--out", out);
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    const add = (b: Buffer) => {
      text += b.toString();
      if (text.length > 400_000) text = text.slice(-200_000);
    };
    child.stdout.on("data", add);
    child.stderr.on("data", add);
    // The runner stops by itself; this only guards against a hang (SIGINT makes it clean up).
    const timer = setTimeout(() => child.kill("SIGINT"), RUN_LIMIT_MS);
    child.once("close", (c) => {
      clearTimeout(timer);
      resolve({ code: c, output: text });
    });
  });
  const lines = output.trimEnd().split("\n");
  const last = lines[lines.length - 1] ?? "";
  const ok = /^chaos: PASS ops=\d+ ok=\d+ info=\d+ maxGapMs=\d+$/.test(last) && code === 0;
  if (ok) rmSync(out, { recursive: true, force: true });
  assert.ok(ok, `exit ${code}, last line '${last}'; artefacts in ${out}\n${lines.slice(-80).join("\n")}`);
  const ops = Number(/ops=(\d+)/.exec(last)?.[1]);
  assert.ok(ops > 100, `only ${ops} operations in 60 s`);
});
