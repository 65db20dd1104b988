/**
 * Builders shared by the core's unit tests: entries, storages, single nodes
 * driven by hand-built messages, and a Ready loop that acts like a runtime.
 */
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  MemoryStorage,
  type Message,
  makeMessage,
  type NodeId,
  type RaftConfig,
  RaftNode,
  type Ready,
  Rng,
} from "../../src/raft/index.js";

const enc = new TextEncoder();

export function entry(index: number, term: number, data = ""): Entry {
  return { index, term, type: EntryType.Normal, data: enc.encode(data) };
}

/** Entries at start, start+1, ... with the given terms (the paper's log diagrams). */
export function entriesWithTerms(terms: readonly number[], start = 1): Entry[] {
  return terms.map((t, i) => entry(start + i, t, `e${start + i}`));
}

export function confOf(voters: NodeId[], learners: NodeId[] = []): ConfState {
  return { voters: [...voters].sort(), learners: [...learners].sort() };
}

export function storageWith(
  conf: ConfState,
  ents: readonly Entry[] = [],
  hardState?: Partial<HardState>,
): MemoryStorage {
  const s = new MemoryStorage(conf);
  s.append(ents);
  s.hardState = { term: 0, vote: "", commit: 0, ...hardState };
  return s;
}

export interface TestNode {
  node: RaftNode;
  storage: MemoryStorage;
}

export function newNode(
  id: NodeId,
  voters: NodeId[],
  opts: Partial<RaftConfig> & { entries?: Entry[]; hardState?: Partial<HardState>; learners?: NodeId[] } = {},
): TestNode {
  const { entries: ents, hardState, learners, ...cfg } = opts;
  const storage =
    cfg.storage instanceof MemoryStorage
      ? cfg.storage
      : storageWith(confOf(voters, learners), ents ?? [], hardState);
  const node = new RaftNode({
    id,
    storage,
    random: new Rng(7),
    electionTick: 10,
    heartbeatTick: 1,
    ...cfg,
  });
  return { node, storage };
}

export function msg(m: Partial<Message> & Pick<Message, "type" | "from" | "to">): Message {
  return makeMessage(m);
}

/** Handles every pending Ready the way a runtime must: persist, (collect messages), advance. */
export function drain(t: TestNode): Ready[] {
  const out: Ready[] = [];
  while (t.node.hasReady()) {
    const rd = t.node.ready();
    t.storage.append(rd.entries);
    if (rd.hardState) t.storage.hardState = { ...rd.hardState };
    out.push(rd);
    t.node.advance(rd);
  }
  return out;
}

/** All messages of the pending Readies, after persisting them. */
export function drainMessages(t: TestNode): Message[] {
  return drain(t).flatMap((rd) => rd.messages);
}

/** Ticks until the node emits a message of `type`; returns those messages. */
export function tickUntil(t: TestNode, type: string, maxTicks = 100): Message[] {
  for (let i = 0; i < maxTicks; i++) {
    t.node.tick();
    const ms = drainMessages(t).filter((m) => m.type === type);
    if (ms.length > 0) return ms;
  }
  throw new Error(`no ${type} within ${maxTicks} ticks`);
}
