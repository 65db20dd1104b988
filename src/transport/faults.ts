/**
 * Fault injection shared by the tests and the `--chaos` demo. Faults act at the transport's
 * edges (what it hands to peers, what it hands to the core) and leave the TCP connections up,
 * so healing is instant and the faults look to Raft exactly like a lossy or partitioned network.
 */
import type { NodeId } from "../raft/types.js";

export type DropCause = "isolated" | "fault";

export interface FaultState {
  isolated: boolean;
  delayMs: number;
  dropTo: Record<NodeId, number>;
}

export class FaultInjector {
  private isolatedFlag = false;
  private delay = 0;
  private readonly dropProbability = new Map<NodeId, number>();

  constructor(private readonly random: () => number) {}

  isolate(): void {
    this.isolatedFlag = true;
  }

  heal(): void {
    this.isolatedFlag = false;
  }

  get isolated(): boolean {
    return this.isolatedFlag;
  }

  dropTo(peer: NodeId, probability: number): void {
    if (!(probability >= 0 && probability <= 1)) throw new RangeError("drop probability must be in [0, 1]");
    if (probability === 0) this.dropProbability.delete(peer);
    else this.dropProbability.set(peer, probability);
  }

  setDelay(ms: number): void {
    if (!(ms >= 0 && Number.isFinite(ms))) throw new RangeError("delay must be a finite number >= 0");
    this.delay = ms;
  }

  get delayMs(): number {
    return this.delay;
  }

  reset(): void {
    this.isolatedFlag = false;
    this.delay = 0;
    this.dropProbability.clear();
  }

  /** Why an outgoing frame to `peer` must be dropped, or undefined to send it. */
  outgoing(peer: NodeId): DropCause | undefined {
    if (this.isolatedFlag) return "isolated";
    const p = this.dropProbability.get(peer);
    if (p !== undefined && this.random() < p) return "fault";
    return undefined;
  }

  state(): FaultState {
    return {
      isolated: this.isolatedFlag,
      delayMs: this.delay,
      dropTo: Object.fromEntries(this.dropProbability),
    };
  }
}

/**
 * Holds delayed sends until they are due. A FIFO with one timer for the head keeps message
 * order (as TCP would) and costs one timer however many messages wait. Bounded by `maxItems`
 * so a large delay under heavy traffic cannot hold unbounded memory.
 */
export class DelayLine {
  private readonly items: { due: number; run: () => void }[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly maxItems: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** False when full: the caller counts the item as dropped. */
  push(delayMs: number, run: () => void): boolean {
    if (this.length >= this.maxItems) return false;
    this.items.push({ due: this.now() + delayMs, run });
    if (this.timer === undefined) this.arm();
    return true;
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.items.length = 0;
    this.head = 0;
  }

  private arm(): void {
    const first = this.items[this.head];
    if (first === undefined) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, first.due - this.now()));
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.now();
    for (;;) {
      const item = this.items[this.head];
      if (item === undefined || item.due > now) break;
      this.head++;
      item.run();
    }
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  }
}
