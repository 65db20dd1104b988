/**
 * The contract between the benchmark's orchestrator (src/bench/run.ts), its load generator (a
 * forked child, src/bench/load/worker.ts) and the drivers that speak to each system under test.
 * Everything crossing the process boundary is plain JSON.
 */

/** Latency percentiles of one measurement window, in milliseconds. */
export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** One client's view of a system: `op` performs one operation and throws on failure. */
export interface Driver {
  /** One operation by client `client` (0-based); resolves when acknowledged, throws otherwise. */
  op(client: number): Promise<void>;
  close(): Promise<void>;
}

/** Builds a driver for `concurrency` clients from JSON parameters (endpoints, token, workload). */
export type DriverFactory = (params: DriverParams, concurrency: number) => Promise<Driver>;

/** JSON parameters of a driver; `driver` picks the factory in src/bench/load/registry.ts. */
export interface DriverParams {
  driver: string;
  [key: string]: unknown;
}

/** A closed-loop measurement: `concurrency` clients each run `op` back to back. */
export interface ClosedLoopSpec {
  type: "closed";
  params: DriverParams;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

/**
 * A paced run for failover trials: `concurrency` clients together aim at `ratePerSec` operations
 * per second for `durationMs`; every acknowledged operation's completion time is recorded.
 */
export interface PacedSpec {
  type: "paced";
  params: DriverParams;
  concurrency: number;
  ratePerSec: number;
  durationMs: number;
}

export type LoadSpec = ClosedLoopSpec | PacedSpec;

export interface ClosedLoopResult {
  type: "closed";
  ok: number;
  errors: number;
  /** Failures by a short kind ("503", "ECONNRESET", "timeout", ...). */
  errorKinds: Record<string, number>;
  windowMs: number;
  opsPerSec: number;
  latencyMs: LatencySummary;
  /** CPU seconds the load generator itself used during the window. */
  loadCpuSec: number;
}

export interface PacedResult {
  type: "paced";
  /** Completion times of acknowledged operations, ms since the run started (ascending). */
  okAtMs: number[];
  errors: number;
  errorKinds: Record<string, number>;
  /** Wall-clock epoch ms when the run started, to line up with events seen by the orchestrator. */
  startedAtEpochMs: number;
}

export type LoadResult = ClosedLoopResult | PacedResult;

/** Messages from the worker to its parent. */
export type WorkerReply =
  | { type: "progress"; ok: number; errors: number; ms: number }
  | { type: "result"; result: LoadResult }
  | { type: "fatal"; message: string };

/** Messages from the parent to the worker. */
export type WorkerCommand = { type: "run"; spec: LoadSpec } | { type: "exit" };

/**
 * A running system under test, as the orchestrator sees it. Implemented by
 * src/bench/systems/{taskraft,mariadb,galera,etcd}.ts.
 */
export interface BenchSystem {
  /** Short name used in tables and results.json, e.g. "taskraft-3", "galera-3", "etcd-3". */
  readonly name: string;
  /** Process ids of the server processes, by member name (for CPU accounting). */
  pids(): Record<string, number>;
  /** Kill -9 the member clients write to (the leader, or for Galera the node writes go to). */
  killLeader(): Promise<{ killed: string; atEpochMs: number }>;
  /**
   * Resolves with the epoch ms at which the surviving members have a new leader (for systems
   * without one, when a survivor accepts writes again); rejects after `timeoutMs`.
   */
  waitNewLeader(timeoutMs: number): Promise<number>;
  /** Restart the killed member and wait until it is back in the cluster. */
  restartKilled(): Promise<void>;
  /** Stop everything and remove the run's data unless asked to keep it. */
  stop(): Promise<void>;
}

/** Thrown when a system cannot be installed or started; the bench reports it and goes on. */
export class SystemUnavailable extends Error {
  override name = "SystemUnavailable";
}
