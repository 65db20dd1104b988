/**
 * An admin snapshot (`POST /cluster/snapshot` → Replica.snapshotNow) asked for while an automatic
 * snapshot is still being written must not answer with the older snapshot: it waits for the
 * running one, then snapshots the state as it is at the request, and the metrics hooks see both.
 * One in-process voter on a real DiskStorage, with a state machine whose snapshots can be held.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { SnapshotMeta } from "../../src/raft/index.js";
import { type ApplyEntry, Replica, type StateMachine } from "../../src/replica/index.js";
import { DiskStorage } from "../../src/storage/index.js";

class CountingStateMachine implements StateMachine {
  applied = 0;
  snapshotsStarted = 0;
  /** While set, snapshot data is withheld until it resolves. */
  hold: Promise<void> | undefined;

  async open() {
    return { appliedIndex: 0, members: [] };
  }

  async apply(entries: ApplyEntry[]): Promise<unknown[]> {
    for (const e of entries) this.applied = Math.max(this.applied, e.index);
    return entries.map(() => undefined);
  }

  async snapshot() {
    this.snapshotsStarted++;
    const index = this.applied;
    const hold = this.hold;
    const data = (async function* () {
      if (hold) await hold;
      yield new TextEncoder().encode(`state at ${index}`);
    })();
    return { index, data };
  }

  async restore(_meta: SnapshotMeta, _path: string) {
    return { members: [] };
  }
}

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("snapshotNow during an automatic snapshot waits for it, then snapshots the current state", async () => {
  const dir = mkdtempSync(join(tmpdir(), "taskraft-snapnow-"));
  const storage = DiskStorage.open({
    dir,
    clusterId: "t",
    nodeId: "n1",
    bootstrap: { voters: ["n1"], learners: [] },
  });
  const sm = new CountingStateMachine();
  const taken: { ms: number; bytes: number }[] = [];
  const quiet = { info() {}, warn() {}, error() {} };
  const replica = new Replica({
    nodeId: "n1",
    storage,
    transport: { send() {}, setPeers() {} },
    stateMachine: sm,
    logger: quiet,
    members: [{ id: "n1", raftAddress: "127.0.0.1:1", apiUrl: "http://127.0.0.1:1" }],
    tickMs: 5,
    snapshotEntries: 10,
    compactKeepEntries: 0,
    observer: { onSnapshot: (ms, bytes) => taken.push({ ms, bytes }) },
  });
  try {
    await replica.start();
    await until("leadership", () => replica.role === "leader");
    let release = () => {};
    sm.hold = new Promise<void>((r) => {
      release = r;
    });
    const cmd = new TextEncoder().encode("x");
    await Promise.all(Array.from({ length: 12 }, () => replica.propose(cmd)));
    await until("the automatic snapshot to start", () => sm.snapshotsStarted === 1);
    const autoIndex = sm.applied;
    await Promise.all(Array.from({ length: 3 }, () => replica.propose(cmd)));
    const current = replica.appliedIndex;
    assert.ok(current > autoIndex);

    const asked = replica.snapshotNow();
    await new Promise((r) => setTimeout(r, 50));
    release();
    const meta = await asked;
    assert.equal(meta.index, current, "the admin snapshot covers every entry applied before the request");
    assert.equal(storage.snapshot().index, current);
    assert.equal(sm.snapshotsStarted, 2);
    assert.equal(taken.length, 2, "the observer saw the automatic and the admin snapshot");
    assert.ok(taken.every((t) => t.bytes > 0 && t.ms >= 0));
  } finally {
    await replica.stop();
    storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
