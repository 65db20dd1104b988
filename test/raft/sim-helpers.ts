/**
 * Shared steps for the scenario tests: build a seeded SimCluster, wait for a
 * stable leader, write and wait for commit, count messages on the wire.
 */
import assert from "node:assert/strict";
import type { Message, NodeId } from "../../src/raft/index.js";
import { SimCluster, type SimNode, type SimOptions, type WriteOp } from "../sim/cluster.js";

export const ids = (n: number): NodeId[] => Array.from({ length: n }, (_, i) => `n${i + 1}`);

export function newCluster(n: number, seed: number, opts: Partial<SimOptions> = {}): SimCluster {
  return new SimCluster({ ids: ids(n), seed, ...opts });
}

export function statusOf(c: SimCluster, id: NodeId) {
  const raft = c.node(id).raft;
  assert.ok(raft, `${id} is not running`);
  return raft.status();
}

/** A leader that every live member follows, in one term. */
export function agreedLeader(c: SimCluster, among: NodeId[] = c.aliveIds()): SimNode | undefined {
  const l = c.leader();
  if (!l?.raft || !among.includes(l.id)) return undefined;
  const { term } = l.raft.status();
  for (const id of among) {
    const st = c.node(id).raft?.status();
    if (!st || st.term !== term || st.leaderId !== l.id) return undefined;
  }
  return l;
}

/** Ticks until the live nodes (or `among`) agree on one leader; fails the test otherwise. */
export function waitForLeader(c: SimCluster, maxTicks = 300, among?: NodeId[]): SimNode {
  const used = c.runUntil(() => agreedLeader(c, among) !== undefined, maxTicks);
  assert.ok(used >= 0, `no agreed leader within ${maxTicks} ticks (t=${c.now})\n${c.traceTail(30)}`);
  return agreedLeader(c, among)!;
}

export function waitSettled(c: SimCluster, maxTicks = 500): void {
  const used = c.runUntil(() => c.isSettled(), maxTicks);
  assert.ok(used >= 0, `cluster did not settle within ${maxTicks} ticks (t=${c.now})\n${c.traceTail(30)}`);
}

export function waitFor(c: SimCluster, what: string, pred: () => boolean, maxTicks: number): number {
  const used = c.runUntil(pred, maxTicks);
  assert.ok(used >= 0, `${what}: not within ${maxTicks} ticks (t=${c.now})\n${c.traceTail(30)}`);
  return used;
}

/** Writes through `via` (the leader by default) and waits until it is applied there. */
export function commitWrite(c: SimCluster, via?: NodeId, maxTicks = 200): WriteOp {
  const at = via ?? waitForLeader(c).id;
  const op = c.write(at);
  waitFor(c, `write ${op.value} via ${at}`, () => op.status === "ok", maxTicks);
  return op;
}

/** Resubmits pending writes that a crash or a lost proposal left behind, like a retrying client. */
export function retryPending(c: SimCluster, olderThan = 25): void {
  const l = agreedLeader(c);
  if (!l) return;
  for (const w of c.writes) {
    if (w.status === "pending" && (c.now - w.sentAtTick > olderThan || !c.node(w.node).alive)) {
      c.submitWrite(w, l.id);
    }
  }
}

/** Waits until every write is acknowledged (resubmitting lost ones) and the cluster is settled. */
export function waitAllWritesCommitted(c: SimCluster, maxTicks = 2000): void {
  waitFor(
    c,
    "all writes committed",
    () => {
      retryPending(c);
      return c.writes.every((w) => w.status === "ok") && c.isSettled();
    },
    maxTicks,
  );
}

/** The applied values of a node's state machine, in log order. */
export function valuesOf(c: SimCluster, id: NodeId): string[] {
  return [...c.node(id).sm.values];
}

/** Every listed node applied the same values in the same order; returns them. */
export function assertSameValues(c: SimCluster, nodes: NodeId[] = c.ids()): string[] {
  const first = valuesOf(c, nodes[0]!);
  for (const id of nodes.slice(1)) assert.deepEqual(valuesOf(c, id), first, `${id} differs from ${nodes[0]}`);
  return first;
}

/** Observes every message put on the wire (before loss or cuts), for message-complexity checks. */
export function tapSent(c: SimCluster, onSend: (m: Message) => void): void {
  const send = c.net.send.bind(c.net);
  c.net.send = (m: Message, now: number) => {
    onSend(m);
    send(m, now);
  };
}

/** Cuts every link except the listed pairs (both ways). */
export function connectOnly(c: SimCluster, pairs: [NodeId, NodeId][]): void {
  c.healNetwork();
  const all = c.ids();
  for (const x of all) for (const y of all) if (x !== y) c.net.cutLink(x, y);
  for (const [x, y] of pairs) {
    c.net.healLink(x, y);
    c.net.healLink(y, x);
  }
  c.log(`CONNECT ONLY ${pairs.map((p) => p.join("-")).join(" ")}`);
}

export function others(all: NodeId[], ...not: NodeId[]): NodeId[] {
  return all.filter((id) => !not.includes(id));
}
