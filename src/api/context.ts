import type { Logger } from "pino";
import type { Replica } from "../replica/index.js";
import type { Queryable } from "../state/sql.js";
import type { TransportStats } from "../transport/index.js";
import type { LoginLimiter, SessionCache } from "./auth.js";
import type { ClusterMonitor } from "./cluster-monitor.js";
import type { NodeMetrics } from "./metrics.js";
import type { EventHub } from "./sse.js";

/** What the transport offers the API: fault injection for the chaos endpoints and link state. */
export interface ApiTransport {
  isolate(): void;
  heal(): void;
  dropTo(peer: string, probability: number): void;
  delay(ms: number): void;
  resetFaults(): void;
  stats(): TransportStats;
}

/** The database as the API sees it: reads go to this node's own MySQL. */
export interface ApiDatabase {
  pool: Queryable;
  name: string;
  /** True while the last health check reached MySQL and applying succeeds. */
  connected(): boolean;
  /**
   * The state machine's auth generation (MysqlStateMachine.authGeneration): while it stays the
   * same, a token→user answer read from this database stays true. Without it nothing is cached.
   */
  authGeneration?(): number;
}

export interface ApiOptions {
  nodeId: string;
  replica: Replica;
  transport: ApiTransport;
  db: ApiDatabase;
  metrics: NodeMetrics;
  logger: Logger;
  /** Proves membership on peer links; also keys tokens of idempotent logins (see auth.ts). */
  clusterSecret: string;
  chaos: boolean;
  /** Base URL of `taskraft dev`'s supervisor (TASKRAFT_DEV_SUPERVISOR), for /chaos/restart. */
  supervisorUrl: string | undefined;
  /** Directory of the built web UI; served at / when it exists. */
  webDir: string | undefined;
  /** SSE heartbeat period (a comment line keeps proxies from closing idle streams). */
  sseHeartbeatMs?: number;
  /** Election timeout in ms, to judge when a silent peer counts as unreachable. */
  electionTimeoutMs: number;
}

/** Everything a route handler may use; built once per server. */
export interface ApiContext extends ApiOptions {
  hub: EventHub;
  /** Failed logins: per username (5 a minute) and per client address (20 a minute, shared NATs). */
  limiters: { user: LoginLimiter; ip: LoginLimiter };
  /** Who each recently seen token names (auth.ts sessionUser), valid while the auth generation stands. */
  sessions: SessionCache;
  monitor: ClusterMonitor;
}
