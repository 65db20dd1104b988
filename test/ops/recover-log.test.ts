/**
 * What `taskraft recover` keeps, checked entry by entry: a survivor's log holds entries its
 * database has not applied yet — some it knew committed, some past its known commit index — and
 * maybe a snapshot its database is behind. After recovery the database must equal a reference that
 * applied the whole log, and the new data dir must be a one-voter snapshot at the log's end.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { freePorts } from "../../src/dev/ports.js";
import { recoverNode } from "../../src/ops/recover.js";
import { type Entry, EntryType } from "../../src/raft/index.js";
import { encodeConfContext, encodeEnvelope } from "../../src/replica/envelope.js";
import type { ApplyEntry } from "../../src/replica/index.js";
import { DiskStorage } from "../../src/storage/index.js";
import { checksums, scratchStateMachine } from "../state/helpers.js";
import { generateLog } from "../state/log-generator.js";

const dir = mkdtempSync(join(tmpdir(), "taskraft-recover-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const VOTERS = ["n1", "n2", "n3"];
const log = generateLog(11, 600);
const lastTerm = log.at(-1)!.term;

function raftEntry(e: ApplyEntry): Entry {
  if (e.kind === "noop")
    return { index: e.index, term: e.term, type: EntryType.Normal, data: new Uint8Array() };
  if (e.kind === "command") {
    return {
      index: e.index,
      term: e.term,
      type: EntryType.Normal,
      data: encodeEnvelope({ origin: "n2/1", seq: e.index, command: e.command }),
    };
  }
  return {
    index: e.index,
    term: e.term,
    type: EntryType.Conf,
    data: encodeConfContext({ origin: "n2/1", seq: e.index, member: e.member }),
    conf: e.conf,
    ...(e.change ? { change: e.change } : {}),
  };
}

/**
 * A survivor's state: the whole log on disk, hard state with commit 300, a snapshot at 150, and a
 * database that applied `applied` entries (0: behind its own snapshot).
 */
async function survivor(name: string, applied: number) {
  const scratch = await scratchStateMachine(`recover_${name}`);
  const dataDir = join(dir, name);
  const storage = DiskStorage.open({
    dir: dataDir,
    clusterId: "c",
    nodeId: "n1",
    bootstrap: { voters: VOTERS, learners: [] },
  });
  storage.append(log.map(raftEntry));
  storage.setHardState({ term: lastTerm, vote: "n1", commit: 300 });
  storage.sync();
  await scratch.sm.apply(log.slice(0, 150));
  const snap = await scratch.sm.snapshot();
  await storage.createSnapshot(150, storage.term(150), { voters: VOTERS, learners: [] }, snap.data);
  storage.close();
  if (applied === 0) {
    await scratch.close();
    const empty = await scratchStateMachine(`recover_${name}`);
    return { dataDir, scratch: empty };
  }
  await scratch.sm.apply(log.slice(150, applied));
  return { dataDir, scratch };
}

for (const applied of [220, 0]) {
  test(`recover applies the whole log (database at ${applied}, commit 300, log to 600) and leaves a one-voter snapshot`, async () => {
    const reference = await scratchStateMachine("recover_ref");
    const { dataDir, scratch } = await survivor(`at${applied}`, applied);
    try {
      await reference.sm.apply(log);
      const [port] = await freePorts(1);
      const self = { id: "n1", raftAddress: "10.0.0.1:7100", apiUrl: "http://10.0.0.1:7000" };
      const r = await recoverNode({
        nodeId: "n1",
        dataDir,
        mysqlUrl: scratch.db.url,
        clusterId: "c",
        newClusterId: "c2",
        self,
        listens: [{ host: "127.0.0.1", port: port! }],
        stamp: "test",
      });
      assert.equal(r.appliedBefore, applied);
      assert.equal(r.commitBefore, 300);
      assert.equal(r.lastIndex, 600);
      assert.equal(r.pastCommit, 600 - Math.max(300, applied));
      assert.equal(r.index, 600);
      assert.equal(r.term, lastTerm);
      assert.equal(r.newTerm, lastTerm + 1);
      assert.equal(r.oldDataDir, `${dataDir}.before-recover-test`);
      assert.ok(existsSync(join(r.oldDataDir, "wal")), "the old data dir is kept whole");

      const got = await checksums(scratch.pool);
      const want = await checksums(reference.pool);
      for (const table of Object.keys(want)) {
        if (table !== "cluster_members") assert.deepEqual(got[table], want[table], table);
      }
      const [rows] = await scratch.pool.query("SELECT id, raft_address, api_url FROM cluster_members");
      assert.deepEqual(rows, [{ id: "n1", raft_address: self.raftAddress, api_url: self.apiUrl }]);

      const reopened = DiskStorage.open({ dir: dataDir, clusterId: "c2", nodeId: "n1" });
      try {
        const snap = reopened.snapshot();
        assert.equal(snap.index, 600);
        assert.equal(snap.term, lastTerm);
        assert.deepEqual(snap.conf, { voters: ["n1"], learners: [] });
        assert.equal(reopened.lastIndex(), 600);
        assert.deepEqual(reopened.initialState().hardState, { term: lastTerm + 1, vote: "", commit: 600 });
      } finally {
        reopened.close();
      }
    } finally {
      await reference.close();
      await scratch.close();
    }
  });
}
