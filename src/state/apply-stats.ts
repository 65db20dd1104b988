/** Upper bounds of the batch-size histogram buckets (entries per transaction). */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] as const;

/** Counters of the applier, shaped for a Prometheus counter/histogram export. */
export interface ApplyStats {
  /** Transactions committed. */
  batches: number;
  /** Entries applied (excluding ones skipped as already applied). */
  entries: number;
  commands: number;
  /** Commands answered with a 4xx/5xx status. */
  refusals: number;
  /** Commands answered 500: a bug, logged. */
  internalErrors: number;
  /** Entries at or below the applied index when handed in again (retries). */
  skipped: number;
  /** Batches that failed and were rolled back (to be retried by the caller). */
  failedBatches: number;
  /** Runs of task creates applied together by the fast path (bulk-create.ts). */
  bulkRuns: number;
  lastBatchSize: number;
  maxBatchSize: number;
  /** Cumulative histogram: batchSizeBuckets[i] counts batches of at most BATCH_SIZE_BUCKETS[i] entries. */
  batchSizeBuckets: number[];
  /** Count of batches (same as `batches`) and the sum of their sizes, for the histogram's _count/_sum. */
  batchSizeSum: number;
  applyMsSum: number;
  appliedIndex: number;
}

export function emptyStats(): ApplyStats {
  return {
    batches: 0,
    entries: 0,
    commands: 0,
    refusals: 0,
    internalErrors: 0,
    skipped: 0,
    failedBatches: 0,
    bulkRuns: 0,
    lastBatchSize: 0,
    maxBatchSize: 0,
    batchSizeBuckets: BATCH_SIZE_BUCKETS.map(() => 0),
    batchSizeSum: 0,
    applyMsSum: 0,
    appliedIndex: 0,
  };
}

export function recordBatch(s: ApplyStats, size: number, ms: number): void {
  s.batches++;
  s.lastBatchSize = size;
  s.maxBatchSize = Math.max(s.maxBatchSize, size);
  s.batchSizeSum += size;
  s.applyMsSum += ms;
  BATCH_SIZE_BUCKETS.forEach((le, i) => {
    if (size <= le) s.batchSizeBuckets[i]!++;
  });
}
