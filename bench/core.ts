/**
 * `npm run bench:core [-- --seconds S] [--batch B] [--size BYTES] [--modes batched,batched-msg,unbatched]`
 *
 * Throughput of the Raft core alone: an in-process 3-node cluster of RaftNode +
 * MemoryStorage, messages handed directly to step(), no simulator, no I/O.
 * Each round drains every node's Ready (append entries and hard state to
 * storage, collect messages, count applied entries, advance) and then delivers
 * the collected messages. Modes:
 *  - batched:      B propose() calls on the leader, then rounds until all are applied on the leader;
 *  - batched-msg:  the same B entries proposed as one Prop message (the forwarded-proposal path),
 *                  which appends them together and sends one AppendEntries per follower;
 *  - unbatched:    one propose(), then rounds until it is applied on the leader.
 * Writes bench/results/core.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  makeMessage,
  type NodeId,
  RaftNode,
  Rng,
} from "../src/raft/index.js";

const TARGET = 200_000;
const IDS: NodeId[] = ["n1", "n2", "n3"];
const TICK_MS = 100;
const WARMUP_MS = 500;

const MODES = ["batched", "batched-msg", "unbatched"] as const;
type Mode = (typeof MODES)[number];

interface ModeResult {
  mode: Mode;
  seconds: number;
  committed: number;
  entriesPerSec: number;
  messages: number;
  messagesPerEntry: number;
  appendMessages: number;
  avgEntriesPerAppend: number;
  avgEntriesPerNonEmptyAppend: number;
  rounds: number;
}

function parse() {
  const usage = `usage: npm run bench:core -- [--seconds S] [--batch B] [--size BYTES] [--modes ${MODES.join(",")}]`;
  try {
    const { values } = parseArgs({
      options: {
        seconds: { type: "string", default: "5" },
        batch: { type: "string", default: "256" },
        size: { type: "string", default: "64" },
        modes: { type: "string", default: MODES.join(",") },
      },
      strict: true,
    });
    const seconds = Number(values.seconds);
    const batch = Number(values.batch);
    const size = Number(values.size);
    if (!(seconds > 0) || !Number.isInteger(batch) || batch < 1 || !Number.isInteger(size) || size < 1)
      throw new Error("--seconds must be > 0, --batch and --size integers >= 1");
    const modes = values.modes.split(",").map((m) => m.trim());
    const unknown = modes.filter((m) => !(MODES as readonly string[]).includes(m));
    if (unknown.length > 0 || modes.length === 0) throw new Error(`unknown mode ${unknown.join(", ")}`);
    return { seconds, batch, size, modes: modes as Mode[] };
  } catch (e) {
    console.error(`bench:core: ${(e as Error).message}\n${usage}`);
    process.exit(2);
  }
}

class Cluster {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly storages = new Map<NodeId, MemoryStorage>();
  private queue: Message[] = [];
  private lastTick = performance.now();
  leader: RaftNode | undefined;
  /** Normal entries with data applied on the leader. */
  applied = 0;
  messages = 0;
  appendMessages = 0;
  appendEntries = 0;
  nonEmptyAppends = 0;
  rounds = 0;

  constructor(maxSizePerMsg: number) {
    for (const [i, id] of IDS.entries()) {
      const storage = new MemoryStorage({ voters: [...IDS], learners: [] });
      this.storages.set(id, storage);
      this.nodes.set(
        id,
        new RaftNode({
          id,
          storage,
          random: new Rng(1 + i),
          electionTick: 10,
          heartbeatTick: 1,
          maxSizePerMsg,
          maxInflightMsgs: 256,
        }),
      );
    }
  }

  resetCounters(): void {
    this.applied = 0;
    this.messages = 0;
    this.appendMessages = 0;
    this.appendEntries = 0;
    this.nonEmptyAppends = 0;
    this.rounds = 0;
  }

  /** Drains every node's Ready, then delivers the messages they produced. Returns whether anything happened. */
  round(): boolean {
    this.rounds++;
    let busy = false;
    for (const [id, node] of this.nodes) {
      if (!node.hasReady()) continue;
      busy = true;
      const storage = this.storages.get(id)!;
      const rd = node.ready();
      if (rd.entries.length > 0) storage.append(rd.entries);
      if (rd.hardState) storage.hardState = rd.hardState;
      for (const m of rd.messages) {
        this.queue.push(m);
        if (m.type === MessageType.App) {
          this.appendMessages++;
          this.appendEntries += m.entries.length;
          if (m.entries.length > 0) this.nonEmptyAppends++;
        }
      }
      this.messages += rd.messages.length;
      if (node === this.leader) {
        for (const e of rd.committedEntries)
          if (e.type === EntryType.Normal && e.data.length > 0) this.applied++;
      }
      node.advance(rd);
    }
    const queue = this.queue;
    if (queue.length > 0) busy = true;
    this.queue = [];
    for (const m of queue) this.nodes.get(m.to)?.step(m);
    return busy;
  }

  /** Ticks every node once per TICK_MS of wall time, as a runtime would. */
  maybeTick(now: number): void {
    if (now - this.lastTick < TICK_MS) return;
    this.lastTick = now;
    for (const node of this.nodes.values()) node.tick();
  }

  elect(): RaftNode {
    for (let i = 0; i < 1000; i++) {
      for (const node of this.nodes.values()) node.tick();
      while (this.round()) {}
      for (const node of this.nodes.values()) {
        if (node.raft.role === "leader" && node.raft.committedEntryInCurrentTerm()) {
          this.leader = node;
          return node;
        }
      }
    }
    throw new Error("no leader elected within 1000 ticks");
  }

  /** Keeps memory bounded: snapshot and compact each node's storage behind its applied index. */
  compact(): void {
    for (const [id, node] of this.nodes) {
      const storage = this.storages.get(id)!;
      const upTo = node.raft.log.applied - 4096;
      if (upTo - storage.firstIndex() < 65_536) continue;
      storage.createSnapshot(upTo, { voters: [...IDS], learners: [] }, new Uint8Array());
      storage.compact(upTo);
    }
  }
}

function runMode(mode: Mode, seconds: number, batch: number, size: number): ModeResult {
  const c = new Cluster(mode === "unbatched" ? 1 << 20 : 16 << 20);
  const leader = c.elect();
  const data = new Uint8Array(size).fill(7);
  const perIteration = mode === "unbatched" ? 1 : batch;
  const propEntries = Array.from({ length: batch }, () => ({
    index: 0,
    term: 0,
    type: EntryType.Normal,
    data,
  }));
  let target = 0;
  let t0 = performance.now();
  let measuring = false;
  let iterations = 0;
  for (;;) {
    const now = performance.now();
    if (!measuring && now - t0 >= WARMUP_MS) {
      c.resetCounters();
      target = 0;
      t0 = performance.now();
      measuring = true;
    } else if (measuring && now - t0 >= seconds * 1000) break;
    c.maybeTick(now);
    if (mode === "batched-msg") {
      leader.step(
        makeMessage({
          type: MessageType.Prop,
          from: leader.raft.id,
          to: leader.raft.id,
          entries: propEntries,
        }),
      );
    } else {
      for (let i = 0; i < perIteration; i++) {
        const r = leader.propose(data);
        if (!r.ok) throw new Error(`proposal refused: ${r.reason}`);
      }
    }
    target += perIteration;
    while (c.applied < target) {
      if (!c.round()) throw new Error(`${mode}: stalled at ${c.applied}/${target} applied`);
    }
    if (leader.raft.role !== "leader") throw new Error(`${mode}: leader lost leadership`);
    if (++iterations % 64 === 0) c.compact();
  }
  const elapsed = (performance.now() - t0) / 1000;
  // Let the cluster settle so followers are not left mid-flight (not measured).
  while (c.round()) {}
  return {
    mode,
    seconds: round(elapsed, 2),
    committed: c.applied,
    entriesPerSec: Math.round(c.applied / elapsed),
    messages: c.messages,
    messagesPerEntry: round(c.messages / c.applied, 3),
    appendMessages: c.appendMessages,
    avgEntriesPerAppend: round(c.appendEntries / Math.max(1, c.appendMessages), 2),
    avgEntriesPerNonEmptyAppend: round(c.appendEntries / Math.max(1, c.nonEmptyAppends), 2),
    rounds: c.rounds,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function printTable(rows: ModeResult[]): void {
  const head = [
    "mode",
    "committed",
    "entries/s",
    "msgs/entry",
    "entries/App",
    "entries/non-empty App",
    "time",
  ];
  const cells = rows.map((r) => [
    r.mode,
    r.committed.toLocaleString("en-US"),
    r.entriesPerSec.toLocaleString("en-US"),
    r.messagesPerEntry.toFixed(3),
    r.avgEntriesPerAppend.toFixed(2),
    r.avgEntriesPerNonEmptyAppend.toFixed(2),
    `${r.seconds.toFixed(2)} s`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: string[]) =>
    c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join("  ");
  console.log(fmt(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const c of cells) console.log(fmt(c));
}

function main(): void {
  const { seconds, batch, size, modes } = parse();
  console.log(
    `bench:core: 3 nodes in-process, ${size}-byte entries, ${seconds} s per mode (+${WARMUP_MS} ms warm-up), ` +
      `batch ${batch}, node ${process.version}, ${availableParallelism()} cpus (${cpus()[0]?.model ?? "?"})`,
  );
  const results = modes.map((m) => runMode(m, seconds, batch, size));
  printTable(results);
  const batched = results.find((r) => r.mode === "batched");
  const met = batched ? batched.entriesPerSec >= TARGET : undefined;
  if (batched)
    console.log(
      `target: >= ${TARGET.toLocaleString("en-US")} committed entries/s with batching (propose()): ` +
        `${met ? "MET" : "NOT MET"} (${batched.entriesPerSec.toLocaleString("en-US")}/s, ` +
        `${((100 * batched.entriesPerSec) / TARGET).toFixed(0)}% of target)`,
    );
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const out = `${dir}core.json`;
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cpus: availableParallelism(),
        cpuModel: cpus()[0]?.model ?? "",
        params: { seconds, batch, entryBytes: size, nodes: IDS.length },
        target: { entriesPerSec: TARGET, mode: "batched", met: met ?? null },
        results,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${out}`);
}

main();
