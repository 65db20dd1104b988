import assert from "node:assert/strict";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, before, describe, test } from "node:test";
import type { SnapshotMeta } from "../../src/raft/index.js";
import type { ApplyEntry } from "../../src/replica/state-machine.js";
import type { MysqlStateMachine } from "../../src/state/mysql-state-machine.js";
import { getTask, listTasks } from "../../src/state/queries.js";
import { checksums, Log, type Scratch, scratchStateMachine, signup } from "./helpers.js";
import { generateLog } from "./log-generator.js";

const CONF = { voters: ["n1", "n2", "n3"], learners: [] };

/** The term of the entry at `index`, as the replica's storage would report it. */
function termAt(entries: readonly ApplyEntry[], index: number): number {
  return entries[index - 1]?.term ?? 1;
}

/** Streams the state machine's snapshot into a file, as the replica's storage does; returns its meta. */
async function snapshotToFile(
  sm: MysqlStateMachine,
  file: string,
  entries: readonly ApplyEntry[] = [],
): Promise<SnapshotMeta> {
  const { index, data } = await sm.snapshot();
  await pipeline(Readable.from(data), createWriteStream(file));
  return { index, term: termAt(entries, index), conf: CONF, size: (await stat(file)).size };
}

describe("snapshots", () => {
  let dir: string;
  const scratches: Scratch[] = [];
  const open = async (prefix: string) => {
    const s = await scratchStateMachine(prefix);
    scratches.push(s);
    return s;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "taskraft-state-snap-"));
  });
  after(async () => {
    for (const s of scratches) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("snapshot then restore into an empty database gives the same tables and applied index", async () => {
    const source = await open("snap_src");
    const entries = generateLog(99, 1500);
    for (let i = 0; i < entries.length; i += 100) await source.sm.apply(entries.slice(i, i + 100));
    const file = join(dir, "small.snap");
    const meta = await snapshotToFile(source.sm, file, entries);
    assert.equal(meta.index, 1500);
    const target = await open("snap_dst");
    const { members } = await target.sm.restore(meta, file);
    assert.deepEqual(members, (await source.sm.open()).members);
    assert.deepEqual(await checksums(target.pool), await checksums(source.pool));
    assert.equal((await target.sm.open()).appliedIndex, 1500);
    // Restoring again over existing data replaces it entirely.
    const more = generateLog(5, 300, 0);
    const other = await open("snap_other");
    await other.sm.apply(more);
    await other.sm.restore(meta, file);
    assert.deepEqual(await checksums(other.pool), await checksums(source.pool));
  });

  test("a snapshot taken while applying continues is consistent at its own index", async () => {
    const source = await open("snap_live");
    const entries = generateLog(123, 1200);
    await source.sm.apply(entries.slice(0, 600));
    const { index, data } = await source.sm.snapshot();
    await source.sm.apply(entries.slice(600));
    const file = join(dir, "live.snap");
    await pipeline(Readable.from(data), createWriteStream(file));
    const meta = { index, term: termAt(entries, index), conf: CONF, size: (await stat(file)).size };
    const restored = await open("snap_live_dst");
    await restored.sm.restore(meta, file);
    const replay = await open("snap_live_ref");
    await replay.sm.apply(entries.slice(0, 600));
    assert.deepEqual(await checksums(restored.pool), await checksums(replay.pool));
    // The restored node then applies the rest like everyone else.
    await restored.sm.apply(entries.slice(600));
    assert.deepEqual(await checksums(restored.pool), await checksums(source.pool));
  });

  test("a truncated, foreign or mismatched snapshot is refused and leaves the state as it was", async () => {
    const source = await open("snap_bad");
    const entries = generateLog(7, 200);
    await source.sm.apply(entries);
    const file = join(dir, "bad.snap");
    const meta = await snapshotToFile(source.sm, file, entries);
    const target = await open("snap_bad_dst");
    await target.sm.apply(generateLog(8, 100));
    const before = await checksums(target.pool);
    await assert.rejects(target.sm.restore({ ...meta, size: Math.floor(meta.size / 2) }, file));
    await assert.rejects(target.sm.restore({ ...meta, index: meta.index + 1 }, file), /index/);
    assert.deepEqual(await checksums(target.pool), before);
  });

  test("100,000 tasks: snapshot size, creation and restore time", { timeout: 900_000 }, async () => {
    const source = await open("snap_big");
    const log = new Log();
    const user = await signup(source.sm, log, "bulk");
    const statuses = ["todo", "in_progress", "done"] as const;
    const t0 = performance.now();
    const total = 100_000;
    const batchSize = 1000;
    for (let start = 0; start < total; start += batchSize) {
      const batch: ApplyEntry[] = [];
      for (let i = start; i < start + batchSize; i++) {
        batch.push(
          log.command({
            type: "task.create",
            actorId: user.id,
            id: `task-${i.toString().padStart(6, "0")}`,
            title: `Task number ${i} — with a title of typical length`,
            description: i % 3 === 0 ? `Some description for task ${i}. `.repeat(3) : "",
            status: statuses[i % 3]!,
            priority: i % 4 === 0 ? "high" : "medium",
            ...(i % 5 === 0 ? { dueDate: "2026-06-01" } : {}),
          }),
        );
      }
      await source.sm.apply(batch);
    }
    const buildMs = performance.now() - t0;
    const file = join(dir, "big.snap");
    const t1 = performance.now();
    const meta = await snapshotToFile(source.sm, file);
    const snapMs = performance.now() - t1;
    const target = await open("snap_big_dst");
    const t2 = performance.now();
    await target.sm.restore(meta, file);
    const restoreMs = performance.now() - t2;
    const figures = {
      tasks: total,
      buildSeconds: Math.round(buildMs / 100) / 10,
      snapshotBytes: meta.size,
      snapshotMiB: Math.round((meta.size / 1048576) * 10) / 10,
      snapshotSeconds: Math.round(snapMs / 100) / 10,
      restoreSeconds: Math.round(restoreMs / 100) / 10,
    };
    console.log(`# snapshot figures ${JSON.stringify(figures)}`);
    assert.deepEqual(await checksums(target.pool), await checksums(source.pool));
    assert.equal(
      (await getTask(target.pool, user.id, "task-099999"))?.title,
      "Task number 99999 — with a title of typical length",
    );
    const page = await listTasks(target.pool, user.id, { status: "done", limit: 5 });
    assert.equal(page.items.length, 5);
  });
});
