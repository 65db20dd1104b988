/**
 * Term of every index in the log, stored as runs: Raft terms never decrease
 * along a log and change only at elections, so a multi-million-entry log needs a
 * handful of (first index, term) pairs instead of one number per entry.
 */
export class TermIndex {
  private starts: number[] = [];
  private terms: number[] = [];

  /** Records that `index` (the next index after the last recorded one) has `term`. */
  push(index: number, term: number): void {
    const last = this.terms.length - 1;
    if (last >= 0 && this.terms[last] === term) return;
    this.starts.push(index);
    this.terms.push(term);
  }

  /** Term of the last recorded entry at or below `index`; the caller checks `index` is in range. */
  termAt(index: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    if (hi < 0 || index < this.starts[0]!) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.terms[lo]!;
  }

  lastTerm(): number {
    return this.terms[this.terms.length - 1] ?? -1;
  }

  /** Forgets every index >= `index`. */
  truncateFrom(index: number): void {
    let n = this.starts.length;
    while (n > 0 && this.starts[n - 1]! >= index) n--;
    this.starts.length = n;
    this.terms.length = n;
  }

  /** Forgets runs that end before `index`, keeping the one that contains it. */
  dropBefore(index: number): void {
    let k = 0;
    while (k + 1 < this.starts.length && this.starts[k + 1]! <= index) k++;
    if (k > 0) {
      this.starts.splice(0, k);
      this.terms.splice(0, k);
    }
  }

  clear(): void {
    this.starts = [];
    this.terms = [];
  }
}
