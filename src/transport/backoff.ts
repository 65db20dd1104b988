/**
 * Exponential reconnect delay. Jitter spreads the redials of many nodes that lost the same
 * peer at the same moment; the random source is injectable so tests are deterministic.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  random: () => number;
}

export const DEFAULT_BACKOFF = { initialMs: 50, maxMs: 2000 } as const;

export class Backoff {
  private attempt = 0;

  constructor(private readonly opts: BackoffOptions) {}

  /** Delay before the next attempt: base doubles per failure up to the cap, then ±25% jitter. */
  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const jitter = 0.75 + 0.5 * this.opts.random();
    return Math.max(1, Math.round(Math.min(this.opts.maxMs, base * jitter)));
  }

  reset(): void {
    this.attempt = 0;
  }

  get failures(): number {
    return this.attempt;
  }
}
