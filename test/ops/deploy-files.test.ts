/**
 * The files under deploy/ are part of the product: the example config must load as a node's
 * config, the systemd unit must run the node from that config with the limits OPERATIONS.md names,
 * and every metric an alert rule uses must be one the node really exports.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { NodeMetrics } from "../../src/api/metrics.js";
import { loadNodeConfig } from "../../src/node/config.js";
import { ROOT } from "../cli/run.js";

const deploy = (...p: string[]) => join(ROOT, "deploy", ...p);

test("deploy/node.example.json is a valid node config", () => {
  const c = loadNodeConfig({ config: deploy("node.example.json") }, {});
  assert.equal(c.id, "n1");
  assert.equal(c.peers.length, 3);
  assert.deepEqual(c.api, { host: "0.0.0.0", port: 7000 });
});

test("deploy/systemd/taskraft.service runs the node from its config file, restarts on failure, bounds the stop", () => {
  const unit = readFileSync(deploy("systemd", "taskraft.service"), "utf8");
  const key = (k: string) => unit.match(new RegExp(`^${k}=(.*)$`, "m"))?.[1];
  assert.match(key("ExecStart") ?? "", / node --config \/etc\/taskraft\/node\.json$/);
  assert.equal(key("Restart"), "on-failure");
  assert.equal(key("RestartPreventExitStatus"), "2", "a config error is not retried");
  assert.ok(Number(key("LimitNOFILE")) >= 65536);
  assert.ok(
    Number.parseInt(key("TimeoutStopSec") ?? "0", 10) > 5,
    "longer than the node's own 5 s shutdown bound",
  );
  assert.equal(key("KillSignal"), "SIGTERM");
  assert.equal(key("WantedBy"), "multi-user.target");
  const verify = spawnSync("systemd-analyze", ["verify", deploy("systemd", "taskraft.service")], {
    encoding: "utf8",
  });
  if (verify.error === undefined) {
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr, "", "systemd-analyze verify has no complaint");
  }
});

test("deploy/prometheus/taskraft-alerts.yml: well-formed rules on metrics the node exports", async () => {
  const doc = parse(readFileSync(deploy("prometheus", "taskraft-alerts.yml"), "utf8")) as {
    groups: { name: string; rules: { alert: string; expr: string; labels: { severity: string } }[] }[];
  };
  const exported = new Set(
    [
      ...(
        await new NodeMetrics(
          () => undefined,
          () => ({ total: 0, free: 0, queued: 0 }),
        ).registry.metrics()
      ).matchAll(/^# TYPE (\S+) /gm),
    ].map((m) => m[1]!),
  );
  const alerts = doc.groups.flatMap((g) => g.rules);
  assert.ok(alerts.length >= 10);
  assert.equal(new Set(alerts.map((a) => a.alert)).size, alerts.length, "alert names are unique");
  for (const a of alerts) {
    assert.match(a.alert, /^Taskraft[A-Za-z]+$/);
    assert.ok(["warning", "critical"].includes(a.labels.severity), a.alert);
    for (const [name] of String(a.expr).matchAll(/\btaskraft_[a-z_]+/g)) {
      const base = name.replace(/_(bucket|sum|count)$/, "");
      assert.ok(exported.has(name) || exported.has(base), `${a.alert}: ${name} is not exported by /metrics`);
    }
  }
});
