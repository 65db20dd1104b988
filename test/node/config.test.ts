/**
 * Config validation of `taskraft node` (issue #7): every option comes from a flag, a TASKRAFT_*
 * variable or a key of the JSON config file, and an unknown key or a bad value stops the node with
 * a message that names the key.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ConfigError, loadNodeConfig } from "../../src/node/config.js";

const dir = mkdtempSync(join(tmpdir(), "taskraft-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const BASE = {
  id: "n1",
  peers: "n1=127.0.0.1:7101@http://127.0.0.1:7001,n2=127.0.0.1:7102@http://127.0.0.1:7002",
  "data-dir": "/var/lib/taskraft",
  "mysql-url": "mysql://taskraft:pw@127.0.0.1:3306/taskraft",
};

let files = 0;
function fileWith(content: unknown): string {
  const f = join(dir, `node-${++files}.json`);
  writeFileSync(f, typeof content === "string" ? content : JSON.stringify(content));
  return f;
}

function refusal(content: unknown, env: NodeJS.ProcessEnv = {}): string {
  try {
    loadNodeConfig({ config: fileWith(content) }, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    assert.doesNotMatch(e.message, /\n/, "one line");
    return e.message;
  }
  assert.fail(`config ${JSON.stringify(content)} was accepted`);
}

describe("node config file", () => {
  test("a complete file configures the node; flags win over the file", () => {
    const f = fileWith({ ...BASE, "tick-ms": 20, "election-ticks": 10, chaos: true, "cluster-id": "prod" });
    const c = loadNodeConfig({ config: f }, {});
    assert.equal(c.id, "n1");
    assert.equal(c.peers.length, 2);
    assert.equal(c.dataDir, "/var/lib/taskraft");
    assert.equal(c.tickMs, 20);
    assert.equal(c.electionTicks, 10);
    assert.equal(c.chaos, true);
    assert.equal(c.clusterId, "prod");
    assert.deepEqual(c.api, { host: "127.0.0.1", port: 7001 });
    assert.equal(loadNodeConfig({ config: f, "tick-ms": "30" }, {}).tickMs, 30);
    assert.equal(loadNodeConfig({ config: f }, { TASKRAFT_TICK_MS: "40" }).tickMs, 40);
  });

  test("an unknown key stops the node and names the key", () => {
    assert.match(refusal({ ...BASE, "tick-msec": 20 }), /unknown key 'tick-msec'/);
    assert.match(refusal({ ...BASE, config: "/other.json" }), /unknown key 'config'/);
  });

  test("a bad value stops the node and names the key", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ "tick-ms": "fast" }, /'tick-ms'.*integer.*'fast'/],
      [{ "tick-ms": 0 }, /'tick-ms'.*integer from 1/],
      [{ "election-ticks": 2.5 }, /'election-ticks'/],
      [{ "snapshot-entries": -1 }, /'snapshot-entries'/],
      [{ chaos: "maybe" }, /'chaos'.*true or false/],
      [{ "log-level": "loud" }, /log-level/],
      [{ "heartbeat-ticks": 9 }, /heartbeat-ticks \(9\) must be smaller than election-ticks/],
      [{ api: "localhost" }, /^api: expected HOST:PORT/],
      [{ raft: "127.0.0.1:99999" }, /^raft: expected HOST:PORT/],
      [{ peers: "n1@nowhere" }, /^peers: /],
      [{ id: "n 1" }, /^id: /],
      [{ "cluster-id": "a/b" }, /^cluster-id: /],
      [{ "data-dir": "" }, /'data-dir' is required/],
      [{ "mysql-url": ["a"] }, /key 'mysql-url' must be a string/],
    ];
    for (const [patch, re] of cases) assert.match(refusal({ ...BASE, ...patch }), re, JSON.stringify(patch));
  });

  test("a file that is not a JSON object, or cannot be read, is named", () => {
    assert.match(refusal("{ id: n1 }"), /is not valid JSON/);
    assert.match(refusal("[1, 2]"), /must hold a JSON object/);
    assert.throws(
      () => loadNodeConfig({ config: join(dir, "missing.json") }, {}),
      /config: cannot read .*ENOENT/,
    );
  });
});
