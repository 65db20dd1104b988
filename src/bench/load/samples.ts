import type { LatencySummary } from "./types.js";

/** Latencies in a growable Float64Array: no allocation per sample in the hot loop. */
export class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }

  summary(): LatencySummary {
    const s = this.data.slice(0, this.length).sort();
    if (s.length === 0)
      return { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
    const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
    let sum = 0;
    for (const v of s) sum += v;
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1]!, mean: sum / s.length };
  }
}
