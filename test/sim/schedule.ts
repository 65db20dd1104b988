import type { NodeId } from "../../src/raft/index.js";
import { type ReadOp, SimCluster, SimViolation, type WriteOp } from "./cluster.js";

export interface SeedOptions {
  seed: number;
  /** Cluster size; chosen from 3, 5, 7 by the seed when absent. */
  nodes?: number;
  /** Ticks of faults and load before the network heals. */
  chaosTicks?: number;
  /** Ticks allowed after healing for a leader and every pending write to commit. */
  livenessTicks?: number;
  trace?: boolean;
}

export interface SeedResult {
  seed: number;
  nodes: number;
  ok: boolean;
  violation?: string;
  ticks: number;
  writesAcked: number;
  readsServed: number;
  elections: number;
  faults: Record<string, number>;
  messages: number;
}

interface Scheduled {
  at: number;
  what: string;
  run: () => void;
}

/**
 * One seeded run: random client load and random faults for `chaosTicks`, then
 * everything heals and the cluster must converge. The cluster checks safety
 * after every step; this driver checks liveness and convergence at the end.
 */
export function runSeed(o: SeedOptions): SeedResult {
  const probe = new SimCluster({ ids: ["x"], seed: o.seed });
  const size = o.nodes ?? probe.rng.pick([3, 3, 3, 5, 5, 7]);
  const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const c = new SimCluster({ ids, seed: o.seed, traceToConsole: o.trace ?? false });
  const rng = c.rng.fork();
  const chaosTicks = o.chaosTicks ?? 500;
  const livenessTicks = o.livenessTicks ?? 3000;
  const faults: Record<string, number> = {};
  const scheduled: Scheduled[] = [];
  let nextId = size + 1;
  const removing = new Set<NodeId>();
  // How eventful this seed is: some seeds are calm, some are storms.
  const faultRate = 0.01 + rng.float() * 0.05;
  const writeRate = 0.1 + rng.float() * 0.5;
  const readRate = rng.float() * 0.3;

  const count = (f: string) => {
    faults[f] = (faults[f] ?? 0) + 1;
  };
  const later = (delay: number, what: string, run: () => void) =>
    scheduled.push({ at: c.now + delay, what, run });
  const members = (): NodeId[] => {
    const l = c.leader();
    const conf = l?.raft?.status().conf;
    return conf ? [...conf.voters, ...conf.learners] : c.ids().filter((id) => !c.node(id).removed);
  };
  const liveIds = () => c.aliveIds();

  const faultKinds: [string, number, () => void][] = [
    [
      "crash",
      4,
      () => {
        const l = c.leader();
        const target = l && rng.chance(0.5) ? l.id : rng.pick(c.ids());
        if (!c.node(target).alive) return;
        if (rng.chance(0.3)) c.node(target).crashAfterPersist = true;
        else c.crash(target);
        count("crash");
        later(5 + rng.int(80), `restart ${target}`, () => c.restart(target));
      },
    ],
    [
      "partition",
      2,
      () => {
        const all = [...c.ids()];
        const k = 1 + rng.int(all.length - 1);
        const shuffled = all.sort(() => rng.float() - 0.5);
        c.partition(shuffled.slice(0, k), shuffled.slice(k));
        count("partition");
        later(10 + rng.int(120), "heal", () => c.healNetwork());
      },
    ],
    [
      "isolate-leader",
      2,
      () => {
        const l = c.leader();
        if (!l) return;
        c.isolate(l.id);
        count("isolate-leader");
        later(10 + rng.int(120), "heal", () => c.healNetwork());
      },
    ],
    [
      "one-way",
      2,
      () => {
        const a = rng.pick(c.ids());
        const b = rng.pick(c.ids());
        if (a === b) return;
        c.net.cutLink(a, b);
        c.log(`CUT ${a}->${b}`);
        count("one-way");
        later(10 + rng.int(120), `heal ${a}->${b}`, () => c.net.healLink(a, b));
      },
    ],
    [
      "network",
      2,
      () => {
        const storm = rng.chance(0.5);
        c.net.faults = storm
          ? {
              lossRate: rng.float() * 0.3,
              duplicateRate: rng.float() * 0.1,
              minDelay: 0,
              maxDelay: 1 + rng.int(6),
            }
          : { lossRate: 0, duplicateRate: 0, minDelay: 0, maxDelay: 1 };
        c.log(`NETWORK ${JSON.stringify(c.net.faults)}`);
        count("network");
      },
    ],
    [
      "snapshot",
      3,
      () => {
        const id = rng.pick(liveIds().length > 0 ? liveIds() : c.ids());
        if (c.snapshot(id, rng.int(8))) count("snapshot");
      },
    ],
    [
      "add-learner",
      1,
      () => {
        const l = c.leader();
        if (!l || c.ids().length >= 9) return;
        const id = `n${nextId++}`;
        const r = c.proposeConfChange(l.id, { type: "addLearner", nodeId: id });
        if (r?.ok) {
          c.spawn(id);
          count("add-learner");
        }
      },
    ],
    [
      "promote",
      1,
      () => {
        const l = c.leader();
        const st = l?.raft?.status();
        if (!l || !st) return;
        const learner = st.conf.learners.find((id) => (st.progress[id]?.match ?? 0) >= st.commitIndex - 2);
        if (learner && c.proposeConfChange(l.id, { type: "addVoter", nodeId: learner })?.ok) count("promote");
      },
    ],
    [
      "remove",
      1,
      () => {
        const l = c.leader();
        const st = l?.raft?.status();
        if (!l || !st) return;
        const candidates =
          st.conf.voters.length > 3 ? [...st.conf.voters, ...st.conf.learners] : st.conf.learners;
        if (candidates.length === 0) return;
        const id = rng.pick(candidates);
        if (c.proposeConfChange(l.id, { type: "removeNode", nodeId: id })?.ok) {
          removing.add(id);
          count(id === l.id ? "remove-leader" : "remove");
        }
      },
    ],
    [
      "transfer",
      2,
      () => {
        const l = c.leader();
        const st = l?.raft?.status();
        if (!l || !st) return;
        const to = rng.pick(st.conf.voters);
        if (to === l.id) return;
        c.transferLeadership(l.id, to);
        count("transfer");
      },
    ],
    [
      "restart-all",
      0.3,
      () => {
        for (const id of c.ids()) c.crash(id);
        c.net.clear();
        count("restart-all");
        later(1 + rng.int(30), "restart all", () => {
          for (const id of c.ids()) c.restart(id);
        });
      },
    ],
  ];
  const totalWeight = faultKinds.reduce((s, f) => s + f[1], 0);
  const pickFault = () => {
    let x = rng.float() * totalWeight;
    for (const f of faultKinds) {
      x -= f[1];
      if (x <= 0) return f[2];
    }
    return faultKinds[0]![2];
  };

  const pendingWrites = (): WriteOp[] => c.writes.filter((w) => w.status === "pending");
  const retryWrites = () => {
    const alive = liveIds();
    if (alive.length === 0) return;
    for (const w of pendingWrites()) {
      const stuck = c.now - w.sentAtTick > 25 || !c.node(w.node).alive;
      if (stuck && rng.chance(0.5)) c.submitWrite(w, rng.pick(alive));
    }
  };
  const expireReads = () => {
    for (const r of c.reads as ReadOp[]) {
      if (r.status === "pending" && (c.now - r.sentAtTick > 40 || !c.node(r.node).alive)) r.status = "failed";
    }
  };
  const retireRemoved = () => {
    const l = c.leader();
    if (!l) return;
    for (const id of removing) {
      const conf = l.sm.conf;
      if (!conf.voters.includes(id) && !conf.learners.includes(id) && c.nodes.has(id)) {
        removing.delete(id);
        c.retire(id);
      }
    }
  };
  const runScheduled = () => {
    for (let i = 0; i < scheduled.length; ) {
      const s = scheduled[i]!;
      if (s.at <= c.now) {
        scheduled.splice(i, 1);
        s.run();
      } else i++;
    }
  };

  let phase = "chaos";
  try {
    for (let t = 0; t < chaosTicks; t++) {
      c.tick();
      runScheduled();
      const alive = liveIds();
      if (alive.length > 0) {
        if (rng.chance(writeRate) && pendingWrites().length < 30) c.write(rng.pick(alive));
        if (rng.chance(readRate)) c.read(rng.pick(alive));
      }
      retryWrites();
      expireReads();
      retireRemoved();
      if (rng.chance(faultRate)) pickFault()();
    }
    phase = "heal";
    c.log("--- HEAL EVERYTHING ---");
    scheduled.length = 0;
    c.healNetwork();
    c.net.faults = { lossRate: 0, duplicateRate: 0, minDelay: 0, maxDelay: 1 };
    for (const id of c.ids()) c.restart(id);
    const used = c.runUntil(() => {
      retryWrites();
      expireReads();
      retireRemoved();
      for (const id of c.ids()) c.restart(id);
      return pendingWrites().length === 0 && c.isSettled();
    }, livenessTicks);
    if (used < 0) {
      const l = c.leader();
      c.violation(
        `liveness: after healing, no convergence within ${livenessTicks} ticks ` +
          `(leader=${l?.id ?? "none"}, pending writes=${pendingWrites().length}, members=${members().join(",")})`,
      );
    }
    c.checkConverged();
    return result(true);
  } catch (e) {
    if (e instanceof SimViolation) return result(false, e.message);
    const err = e as Error;
    return result(
      false,
      `crash in ${phase}: ${err.stack ?? err.message}\n--- last events ---\n${c.traceTail()}`,
    );
  }

  function result(ok: boolean, violation?: string): SeedResult {
    return {
      seed: o.seed,
      nodes: size,
      ok,
      ...(violation ? { violation } : {}),
      ticks: c.now,
      writesAcked: c.writes.filter((w) => w.status === "ok").length,
      readsServed: c.reads.filter((r) => r.status === "ok").length,
      elections: c.elections,
      faults,
      messages: c.net.sent,
    };
  }
}
