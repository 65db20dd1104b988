/**
 * The nemesis: one fault at a time, from a schedule drawn from the seed before the run starts
 * (kinds, targets' rule, hold and quiet times), so a run replays its schedule from its seed; only
 * the nodes a rule like "the leader" picks depend on what the cluster does.
 *
 * Every fault lasts a few election timeouts (the nodes run with 50 ms ticks and 6-tick elections:
 * 300–600 ms), is logged with its start and end, and is fully healed before the next one starts.
 */
import { Rng } from "../../raft/rng.js";
import type { ChaosCluster } from "./cluster.js";
import { type HttpAnswer, httpRequest, sleep } from "./http.js";
import type { FaultKind } from "./options.js";
import type { FaultLog, FaultRecord, RunClock } from "./recorder.js";

export const ELECTION_TIMEOUT_MS = 300;

export interface PlannedFault {
  readonly kind: FaultKind;
  /** Which node it hits: the current leader, or one drawn from `pick`. */
  readonly target: "leader" | "random";
  /** A draw in [0, 1) that chooses the node among the candidates when the rule is "random". */
  readonly pick: number;
  /** A draw in [0, 1) for the fault's own parameter (loss probability, delay). */
  readonly param: number;
  readonly holdMs: number;
  /** Calm after the fault is healed, so recovery is seen before the next one. */
  readonly quietMs: number;
}

/** Seeded schedule: every kind once in a shuffled round, round after round. */
export function planFaults(seed: number, kinds: readonly FaultKind[], count: number): PlannedFault[] {
  const rng = new Rng((seed ^ 0x6e656d65) >>> 0);
  const plan: PlannedFault[] = [];
  if (kinds.length === 0) return plan;
  while (plan.length < count) {
    const round = [...kinds];
    for (let i = round.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [round[i], round[j]] = [round[j]!, round[i]!];
    }
    for (const kind of round) {
      plan.push({
        kind,
        target:
          kind === "membership" ? "random" : kind === "slow-kill" || rng.chance(0.5) ? "leader" : "random",
        pick: rng.float(),
        param: rng.float(),
        // 5 to 13 election timeouts: long enough for a new leader, short enough for many faults.
        holdMs: ELECTION_TIMEOUT_MS * (5 + rng.int(9)),
        quietMs: 2000 + rng.int(2000),
      });
    }
  }
  return plan.slice(0, count);
}

export interface NemesisOptions {
  cluster: ChaosCluster;
  log: FaultLog;
  clock: RunClock;
  token: string;
  plan: readonly PlannedFault[];
  /** No fault starts unless it can be healed before this time. */
  endAt: number;
  say: (line: string) => void;
}

const MEMBERSHIP_WAIT_MS = 30_000;
const JOIN_WAIT_MS = 60_000;

export class Nemesis {
  current: FaultRecord | undefined;
  private ackWaiter: ((node: string) => void) | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(private readonly o: NemesisOptions) {}

  /** Feed of the nodes that acknowledge client writes (from the workload). */
  writeAcked(node: string): void {
    this.ackWaiter?.(node);
  }

  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  /** A sleep that stop() cuts short. */
  private async rest(ms: number): Promise<void> {
    if (this.stopping) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
  }

  async run(): Promise<void> {
    await this.rest(3000);
    for (const [i, f] of this.o.plan.entries()) {
      if (this.stopping) break;
      // Leave room for the fault and its healing (a re-join takes longest).
      const room = f.holdMs + (f.kind === "membership" ? 15_000 : 5000);
      if (this.o.clock.now() + room > this.o.endAt) break;
      await this.execute(i + 1, f);
      await this.rest(f.quietMs);
    }
  }

  private async chooseTarget(
    f: PlannedFault,
    exclude: readonly string[] = [],
  ): Promise<{ id: string; choice: string } | undefined> {
    const c = this.o.cluster;
    const candidates = c.serving().filter((id) => !exclude.includes(id));
    if (candidates.length === 0) return undefined;
    if (f.target === "leader") {
      const leader = await c.leader();
      if (leader && candidates.includes(leader)) return { id: leader, choice: "leader" };
    }
    return { id: candidates[Math.floor(f.pick * candidates.length)]!, choice: "random" };
  }

  private async execute(seq: number, f: PlannedFault): Promise<void> {
    const c = this.o.cluster;
    let target: { id: string; choice: string } | undefined;
    if (f.kind === "transfer" || f.kind === "membership") {
      const leader = await c.leader();
      if (!leader) {
        this.o.log.event("skipped", { seq, kind: f.kind, why: "no leader known" });
        return;
      }
      target =
        f.kind === "transfer"
          ? await this.chooseTarget({ ...f, target: "random" }, [leader])
          : await this.chooseTarget(f, [leader]);
    } else target = await this.chooseTarget(f);
    if (!target) {
      this.o.log.event("skipped", { seq, kind: f.kind, why: "no node to target" });
      return;
    }
    const rec = this.o.log.begin(seq, f.kind, target.id, target.choice);
    this.current = rec;
    this.o.say(`chaos: fault #${seq} ${f.kind} ${target.id} (${target.choice}) for ${f.holdMs} ms`);
    let error: string | undefined;
    try {
      switch (f.kind) {
        case "kill":
          await this.kill(rec, target.id, f.holdMs);
          break;
        case "pause":
          await this.pause(rec, target.id, f.holdMs);
          break;
        case "isolate":
          await this.isolate(rec, target.id, f.holdMs);
          break;
        case "transfer":
          await this.transfer(rec, target.id, f.holdMs);
          break;
        case "membership":
          await this.membership(rec, target.id, f.holdMs);
          break;
        case "mysql":
          await this.mysql(rec, target.id, f.holdMs);
          break;
        case "loss":
          await this.loss(rec, target.id, f);
          break;
        case "slow-kill":
          await this.slowKill(rec, target.id, f);
          break;
      }
    } catch (e) {
      error = (e as Error).message;
      this.o.say(`chaos: fault #${seq} ${f.kind} ${target.id}: ${error}`);
    }
    this.o.log.finish(rec, error);
    this.current = undefined;
  }

  private async kill(rec: FaultRecord, id: string, holdMs: number): Promise<void> {
    const c = this.o.cluster;
    await c.kill(id);
    this.o.log.note(rec, `SIGKILL ${id}`);
    await sleep(holdMs);
    c.spawn(id);
    this.o.log.note(rec, `restarted ${id}`);
    if (!(await c.waitHealthy(id, 30_000)))
      throw new Error(`${id} did not answer /healthz after its restart`);
  }

  private async pause(rec: FaultRecord, id: string, holdMs: number): Promise<void> {
    const c = this.o.cluster;
    if (!c.pause(id)) throw new Error(`${id} is not running`);
    this.o.log.note(rec, `SIGSTOP ${id}`);
    await sleep(Math.max(holdMs, 3 * ELECTION_TIMEOUT_MS));
    c.resume(id);
    this.o.log.note(rec, `SIGCONT ${id}`);
  }

  private async chaosCall(id: string, what: "isolate" | "heal"): Promise<HttpAnswer> {
    let last = "";
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0) await sleep(300);
      const r = await httpRequest(this.o.cluster.url(id), "POST", `/api/v1/chaos/${what}`, {
        token: this.o.token,
        timeoutMs: 5000,
      });
      if (r.kind === "answer" && r.status === 200) return r;
      last = r.kind === "answer" ? `${r.status} ${JSON.stringify(r.body)}` : r.reason;
    }
    throw new Error(`POST /chaos/${what} on ${id} failed: ${last}`);
  }

  private async isolate(rec: FaultRecord, id: string, holdMs: number): Promise<void> {
    await this.chaosCall(id, "isolate");
    this.o.log.note(rec, `isolated ${id}`);
    await sleep(holdMs);
    await this.chaosCall(id, "heal");
    this.o.log.note(rec, `healed ${id}`);
  }

  /**
   * One-way message loss: `id` loses (with probability 0.5 to 1) what it sends to one peer or to all
   * of them, while it still hears everybody (POST /chaos/drop).
   */
  private async loss(rec: FaultRecord, id: string, f: PlannedFault): Promise<void> {
    const c = this.o.cluster;
    const peers = c.serving().filter((x) => x !== id);
    const chosen = f.pick < 0.5 || peers.length === 0 ? peers : [peers[Math.floor(f.param * peers.length)]!];
    const probability = Math.round((0.5 + f.param / 2) * 100) / 100;
    for (const peer of chosen) {
      const r = await httpRequest(c.url(id), "POST", "/api/v1/chaos/drop", {
        token: this.o.token,
        body: { peer, probability },
        timeoutMs: 5000,
      });
      if (r.kind !== "answer" || r.status !== 200) throw new Error(`POST /chaos/drop on ${id} failed`);
    }
    this.o.log.note(rec, `${id} drops ${probability * 100}% of what it sends to ${chosen.join(",")}`);
    await sleep(f.holdMs);
    await this.chaosCall(id, "heal");
    this.o.log.note(rec, `healed ${id}`);
  }

  /**
   * The leader's messages are delayed (less than an election timeout, so it keeps leading), then it is
   * killed: whatever it acknowledged must already be on a majority, not in its delay queue.
   */
  private async slowKill(rec: FaultRecord, id: string, f: PlannedFault): Promise<void> {
    const c = this.o.cluster;
    const ms = Math.round(ELECTION_TIMEOUT_MS * (0.4 + 0.4 * f.param));
    const r = await httpRequest(c.url(id), "POST", "/api/v1/chaos/delay", {
      token: this.o.token,
      body: { ms },
      timeoutMs: 5000,
    });
    if (r.kind !== "answer" || r.status !== 200) throw new Error(`POST /chaos/delay on ${id} failed`);
    this.o.log.note(rec, `${id} delays everything it sends by ${ms} ms`);
    // Crash it right after it acknowledges a write: the moment a leader that answers before a
    // majority holds the entry would lose it.
    const settled = Date.now() + ms * 2;
    const deadline = Date.now() + Math.max(f.holdMs, 3000);
    let acked = false;
    while (Date.now() < deadline && !acked) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.ackWaiter = (node) => {
          if (node === id && Date.now() >= settled) {
            acked = true;
            clearTimeout(t);
            resolve();
          }
        };
      });
    }
    this.ackWaiter = undefined;
    await c.kill(id);
    this.o.log.note(
      rec,
      `SIGKILL ${id} (${acked ? "right after it acknowledged a write" : "no write acknowledged"})`,
    );
    await sleep(1000);
    c.spawn(id);
    this.o.log.note(rec, `restarted ${id}`);
    if (!(await c.waitHealthy(id, 30_000)))
      throw new Error(`${id} did not answer /healthz after its restart`);
  }

  private async transfer(rec: FaultRecord, to: string, holdMs: number): Promise<void> {
    const c = this.o.cluster;
    const leader = await c.leader();
    if (!leader) throw new Error("no leader to transfer from");
    const r = await httpRequest(c.url(leader), "POST", "/api/v1/cluster/transfer-leadership", {
      token: this.o.token,
      body: { to },
      timeoutMs: 8000,
    });
    const what = r.kind === "answer" ? `${r.status}` : r.reason;
    this.o.log.note(rec, `transfer ${leader} -> ${to}: ${what}`);
    // Leadership moves at once; the hold only lets the clients meet the new leader.
    await sleep(Math.min(holdMs, 1000));
    if (r.kind !== "answer" || (r.status !== 200 && r.status !== 503)) {
      throw new Error(`transfer-leadership answered ${what}`);
    }
  }

  private async mysql(rec: FaultRecord, id: string, holdMs: number): Promise<void> {
    const c = this.o.cluster;
    await c.mysqlStop(id);
    this.o.log.note(rec, `MariaDB of ${id} stopped`);
    await sleep(holdMs);
    await c.mysqlStart(id);
    this.o.log.note(rec, `MariaDB of ${id} started`);
  }

  /** The ids in the configuration, as the leader (or any node that answers) sees it. */
  private async members(): Promise<{ id: string; voter: boolean }[] | undefined> {
    const c = this.o.cluster;
    const leader = await c.leader();
    const r = await c.anyNode("GET", "/api/v1/cluster", {
      token: this.o.token,
      timeoutMs: 4000,
      ...(leader ? { prefer: leader } : {}),
    });
    if (r?.status !== 200) return undefined;
    return (r.body as { members: { id: string; voter: boolean }[] }).members;
  }

  private async waitMembers(
    pred: (m: { id: string; voter: boolean }[]) => boolean,
    ms: number,
  ): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const m = await this.members();
      if (m && pred(m)) return true;
      await sleep(250);
    }
    return false;
  }

  /**
   * Removes `id` through the admin API, wipes its Raft data and database while it is out (a
   * removed node comes back as a new learner with no history, see docs/RELIABILITY.md), then adds
   * it back and waits until it is a voter again.
   */
  private async membership(rec: FaultRecord, id: string, holdMs: number): Promise<void> {
    const c = this.o.cluster;
    let removed = false;
    for (let attempt = 0; attempt < 5 && !removed; attempt++) {
      if (attempt > 0) await sleep(500);
      const leader = await c.leader();
      const r = await c.anyNode("DELETE", `/api/v1/cluster/members/${id}`, {
        token: this.o.token,
        timeoutMs: 8000,
        ...(leader ? { prefer: leader } : {}),
      });
      this.o.log.note(rec, `DELETE /cluster/members/${id}: ${r ? r.status : "no answer"}`);
      if (r && (r.status === 204 || r.status === 404)) removed = true;
      else removed = await this.waitMembers((m) => !m.some((x) => x.id === id), 2000);
    }
    if (!removed || !(await this.waitMembers((m) => !m.some((x) => x.id === id), MEMBERSHIP_WAIT_MS))) {
      throw new Error(`${id} was not removed from the configuration`);
    }
    const n = c.node(id);
    n.removed = true;
    await c.kill(id);
    await c.wipe(id);
    this.o.log.note(rec, `${id} removed, stopped, Raft data and database wiped`);
    await sleep(holdMs);
    await this.rejoin(rec, id);
  }

  /** Starts a removed node as a joiner and adds it back; idempotent, so the final heal can finish it. */
  async rejoin(rec: FaultRecord | undefined, id: string): Promise<void> {
    const c = this.o.cluster;
    const n = c.node(id);
    const note = (s: string) => (rec ? this.o.log.note(rec, s) : this.o.log.event("heal", { note: s }));
    const others = (await this.members())?.map((m) => m.id).filter((x) => x !== id);
    if (!others || others.length === 0) throw new Error(`no member answers; cannot re-join ${id}`);
    n.peers = c.peersOf(others);
    n.extra = ["--api", `127.0.0.1:${n.apiPort}`, "--raft", `127.0.0.1:${n.raftPort}`];
    c.spawn(id);
    if (!(await c.waitHealthy(id, 30_000))) throw new Error(`re-joining ${id} did not start`);
    let added = false;
    for (let attempt = 0; attempt < 8 && !added; attempt++) {
      if (attempt > 0) await sleep(500);
      const leader = await c.leader();
      const r = await c.anyNode("POST", "/api/v1/cluster/members", {
        token: this.o.token,
        body: {
          id,
          raftAddress: `127.0.0.1:${n.raftPort}`,
          apiUrl: `http://127.0.0.1:${n.apiPort}`,
          voter: true,
        },
        timeoutMs: 8000,
        ...(leader ? { prefer: leader } : {}),
      });
      note(`POST /cluster/members ${id}: ${r ? r.status : "no answer"}`);
      if (r && (r.status === 202 || r.status === 409)) added = true;
      else added = await this.waitMembers((m) => m.some((x) => x.id === id), 2000);
    }
    if (!added) throw new Error(`${id} could not be added back`);
    if (!(await this.waitMembers((m) => m.some((x) => x.id === id && x.voter), JOIN_WAIT_MS))) {
      throw new Error(`${id} was added back but did not become a voter within ${JOIN_WAIT_MS / 1000} s`);
    }
    n.removed = false;
    note(`${id} is a voter again`);
  }

  /** Undoes whatever is still broken: resumes, restarts MySQL and nodes, heals, re-joins. */
  async healAll(): Promise<string[]> {
    const c = this.o.cluster;
    const problems: string[] = [];
    for (const id of c.ids) {
      const n = c.node(id);
      try {
        if (n.paused) c.resume(id);
        if (n.mysqlDown) await c.mysqlStart(id);
        if (!n.removed && !c.running(id)) {
          c.spawn(id);
          this.o.log.event("heal", { note: `restarted ${id}` });
        }
      } catch (e) {
        problems.push(`${id}: ${(e as Error).message}`);
      }
    }
    for (const id of c.ids) {
      if (c.node(id).removed || !(await c.waitHealthy(id, 30_000))) continue;
      const r = await httpRequest(c.url(id), "POST", "/api/v1/chaos/heal", {
        token: this.o.token,
        timeoutMs: 5000,
      });
      if (r.kind !== "answer" || r.status !== 200) problems.push(`${id}: heal failed`);
    }
    for (const id of c.ids) {
      if (!c.node(id).removed) continue;
      try {
        await this.rejoin(undefined, id);
      } catch (e) {
        problems.push(`${id}: ${(e as Error).message}`);
      }
    }
    return problems;
  }
}
