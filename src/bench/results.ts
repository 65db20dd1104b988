/** The shape of a benchmark run's results (results.json), shared by the runner and the report. */

import type { LatencySummary } from "./load/types.js";
import type { MachineInfo } from "./machine.js";

export interface RunRow {
  system: string;
  workload: string;
  concurrency: number;
  /** Operations (requests, statements) acknowledged per second in the window. */
  opsPerSec: number;
  /** Rows or tasks written per second where one operation writes several (batched inserts). */
  rowsPerSec?: number;
  latencyMs: LatencySummary;
  ok: number;
  errors: number;
  errorKinds: Record<string, number>;
  /** CPU of each server process over the window, in % of one core. */
  cpuPct: Record<string, number>;
  loadGeneratorCpuPct: number;
  /** Busy CPU of the whole machine, in % of all cores. */
  machineBusyPct: number;
  /** For taskraft writes: Raft entries per leader fsync and per MySQL apply transaction. */
  batching?: { entriesPerFsync: number; entriesPerApplyTx: number };
  /**
   * For taskraft creates: tasks the nodes' databases gained over the whole run (warm-up included),
   * identical on every node; at least the acknowledged creates of the window.
   */
  tasksCreated?: number;
}

export interface FailoverTrial {
  killed: string;
  /** From the kill to a survivor reporting itself leader (or accepting writes, for Galera). */
  newLeaderMs: number;
  /** The longest silence between two acknowledged writes around the kill, as clients saw it. */
  gapMs: number;
  errors: number;
}

export interface FailoverSummary {
  system: string;
  ratePerSec: number;
  clients: number;
  trials: FailoverTrial[];
  medianGapMs: number;
  maxGapMs: number;
  medianNewLeaderMs: number;
}

export interface TargetRow {
  target: string;
  value: string;
  met: boolean | undefined;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  command: string;
  options: Record<string, unknown>;
  machine: MachineInfo;
  runs: RunRow[];
  failover: FailoverSummary[];
  unavailable: { system: string; reason: string }[];
  ratios: { name: string; value: number }[];
  targets: TargetRow[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function findRun(
  runs: readonly RunRow[],
  system: string,
  workload: string,
  concurrency: number,
): RunRow | undefined {
  return runs.find((r) => r.system === system && r.workload === workload && r.concurrency === concurrency);
}
