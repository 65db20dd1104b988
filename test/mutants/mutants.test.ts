import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/**
 * Keeps the mutation self-test in `npm test`: each of seven classic Raft bugs,
 * injected into a copy of the core, must be caught by the simulation or the
 * scenario tests. A refactor that makes a mutation stop applying fails here too.
 */
test("every injected Raft bug is caught by the simulation or the scenario tests", {
  timeout: 600_000,
}, () => {
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  // The runner starts `node --test` itself; without this, node's test runner would treat those as
  // its own children and change their output, which the runner parses.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ["--import", "tsx", main, "--seeds", "300", "--jobs", "1"], {
    encoding: "utf8",
    env,
    timeout: 580_000,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.match(out, /mutants: 7 caught, 0 survived/, out.slice(-3000));
  assert.equal(r.status, 0, out.slice(-3000));
});
