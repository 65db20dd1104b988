import type { Message, NodeId, Rng } from "../../src/raft/index.js";

/** Fault settings of the simulated network; all probabilities are per message. */
export interface NetworkFaults {
  lossRate: number;
  duplicateRate: number;
  /** Delivery delay in ticks, uniform in [minDelay, maxDelay]; different delays reorder messages. */
  minDelay: number;
  maxDelay: number;
}

export const RELIABLE: NetworkFaults = { lossRate: 0, duplicateRate: 0, minDelay: 0, maxDelay: 0 };

interface InFlight {
  deliverAt: number;
  seq: number;
  msg: Message;
}

/**
 * A deterministic in-memory network: messages are delivered in (deliverAt, seq)
 * order; faults come from the seeded generator; links can be cut one way.
 */
export class SimNetwork {
  faults: NetworkFaults = { ...RELIABLE };
  private queue: InFlight[] = [];
  private seq = 0;
  /** Cut links, "from->to". */
  private cut = new Set<string>();
  sent = 0;
  delivered = 0;
  dropped = 0;
  /** Counts of sent messages by type, for message-complexity assertions. */
  sentByType = new Map<string, number>();

  constructor(private readonly rng: Rng) {}

  send(msg: Message, now: number): void {
    this.sent++;
    this.sentByType.set(msg.type, (this.sentByType.get(msg.type) ?? 0) + 1);
    if (this.cut.has(`${msg.from}->${msg.to}`) || this.rng.chance(this.faults.lossRate)) {
      this.dropped++;
      return;
    }
    const copies = this.rng.chance(this.faults.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const span = this.faults.maxDelay - this.faults.minDelay;
      const delay = this.faults.minDelay + (span > 0 ? this.rng.int(span + 1) : 0);
      this.queue.push({ deliverAt: now + delay, seq: this.seq++, msg });
    }
  }

  /** Removes and returns the messages due at `now`, in delivery order, skipping cut links. */
  due(now: number): Message[] {
    const ready: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of this.queue) (f.deliverAt <= now ? ready : rest).push(f);
    this.queue = rest;
    ready.sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq);
    const out: Message[] = [];
    for (const f of ready) {
      // A link cut while the message was in flight loses it too.
      if (this.cut.has(`${f.msg.from}->${f.msg.to}`)) {
        this.dropped++;
        continue;
      }
      this.delivered++;
      out.push(f.msg);
    }
    return out;
  }

  pending(): number {
    return this.queue.length;
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}->${to}`);
  }

  healLink(from: NodeId, to: NodeId): void {
    this.cut.delete(`${from}->${to}`);
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(`${from}->${to}`);
  }

  /** Cuts every link between the two groups, both ways. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cutLink(x, y);
        this.cutLink(y, x);
      }
    }
  }

  isolate(id: NodeId, all: readonly NodeId[]): void {
    this.partition(
      [id],
      all.filter((x) => x !== id),
    );
  }

  healAll(): void {
    this.cut.clear();
  }

  /** Drops every message in flight (used when all nodes restart). */
  clear(): void {
    this.queue = [];
  }
}
