import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Replica, ReplicaObserver } from "../replica/index.js";

const ROLES = ["follower", "precandidate", "candidate", "leader", "learner"] as const;

/**
 * The node's Prometheus metrics (API.md §2 "/metrics"). Counters and histograms
 * are fed by the replica's observer hooks; gauges are read from the replica's
 * status at scrape time, so they are never stale.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly proposals = new Counter({
    name: "taskraft_raft_proposals_total",
    help: "Proposals handed to the Raft core, by outcome",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly commits = new Counter({
    name: "taskraft_raft_committed_entries_total",
    help: "Log entries committed and handed to the state machine",
    registers: [this.registry],
  });
  readonly elections = new Counter({
    name: "taskraft_raft_elections_total",
    help: "Elections this node started (pre-vote or vote)",
    registers: [this.registry],
  });
  readonly leaderChanges = new Counter({
    name: "taskraft_raft_leader_changes_total",
    help: "Times the leader known to this node changed",
    registers: [this.registry],
  });
  readonly appendLatency = new Histogram({
    name: "taskraft_raft_append_seconds",
    help: "Time to make one Ready's entries and hard state durable (write + fsync)",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly fsyncLatency = new Histogram({
    name: "taskraft_storage_fsync_seconds",
    help: "Latency of each fsync of the write-ahead log, hard state and snapshots",
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  readonly entriesPerSync = new Histogram({
    name: "taskraft_raft_entries_per_sync",
    help: "Log entries made durable by one fsync (group commit)",
    buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 1024],
    registers: [this.registry],
  });
  readonly applyLatency = new Histogram({
    name: "taskraft_apply_seconds",
    help: "Time to apply one batch of committed entries to MySQL (one transaction)",
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });
  readonly applyBatch = new Histogram({
    name: "taskraft_apply_batch_entries",
    help: "Committed entries applied in one MySQL transaction",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });
  readonly snapshotCreate = new Histogram({
    name: "taskraft_snapshot_create_seconds",
    help: "Time to write one snapshot of the state machine (consistent read, compress, fsync)",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly snapshotBytes = new Gauge({
    name: "taskraft_snapshot_bytes",
    help: "Size of the newest snapshot this node wrote itself (compressed data bytes)",
    registers: [this.registry],
  });
  readonly snapshotRestore = new Histogram({
    name: "taskraft_snapshot_restore_seconds",
    help: "Time to install a snapshot received from the leader into MySQL (one transaction); _count is the installs",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly http = new Histogram({
    name: "taskraft_http_request_seconds",
    help: "HTTP requests by route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });

  constructor(
    replica: () => Replica | undefined,
    pool?: () => { total: number; free: number; queued: number },
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: "taskraft_process_" });
    const status = () => replica()?.status();
    const gauge = (name: string, help: string, read: () => number | undefined) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const v = read();
          if (v !== undefined) this.set(v);
        },
      });
    gauge("taskraft_raft_term", "Current Raft term", () => status()?.term);
    gauge("taskraft_raft_commit_index", "Highest log index known committed", () => status()?.commitIndex);
    gauge(
      "taskraft_raft_applied_index",
      "Highest log index applied to MySQL",
      () => status()?.smAppliedIndex,
    );
    gauge("taskraft_raft_last_index", "Last index in the local log", () => status()?.lastIndex);
    gauge("taskraft_raft_snapshot_index", "Index of the newest snapshot", () => status()?.snapshotIndex);
    gauge(
      "taskraft_apply_backlog_entries",
      "Committed entries waiting to be applied",
      () => status()?.applyBacklog,
    );
    gauge("taskraft_mysql_healthy", "1 while applying to MySQL succeeds", () =>
      status() ? (status()!.stateMachineHealthy ? 1 : 0) : undefined,
    );
    new Gauge({
      name: "taskraft_raft_role",
      help: "1 for the role this node currently has",
      labelNames: ["role"] as const,
      registers: [this.registry],
      collect() {
        const r = status()?.role;
        for (const role of ROLES) this.set({ role }, r === role ? 1 : 0);
      },
    });
    if (pool) {
      new Gauge({
        name: "taskraft_mysql_pool_connections",
        help: "MySQL pool connections by state",
        labelNames: ["state"] as const,
        registers: [this.registry],
        collect() {
          const p = pool();
          this.set({ state: "total" }, p.total);
          this.set({ state: "free" }, p.free);
          this.set({ state: "queued" }, p.queued);
        },
      });
    }
  }

  /** Hooks for the replica. */
  observer(): ReplicaObserver {
    return {
      onSync: (_fsyncs, ms, entries) => {
        this.appendLatency.observe(ms / 1000);
        this.entriesPerSync.observe(entries);
      },
      onApply: (entries, ms) => {
        this.applyLatency.observe(ms / 1000);
        this.applyBatch.observe(entries);
      },
      onSnapshot: (ms, bytes) => {
        this.snapshotCreate.observe(ms / 1000);
        this.snapshotBytes.set(bytes);
      },
      onRestore: (ms) => this.snapshotRestore.observe(ms / 1000),
      onProposal: (outcome) => this.proposals.inc({ outcome }),
      onCommit: (n) => this.commits.inc(n),
      onElection: () => this.elections.inc(),
      onLeaderChange: () => this.leaderChanges.inc(),
    };
  }

  /** Feeds the storage's fsync hook. */
  onFsync = (_kind: string, ms: number): void => {
    this.fsyncLatency.observe(ms / 1000);
  };
}
