import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { MemberInfo } from "../replica/index.js";

/**
 * Configuration of one node process. Every option can come from a flag
 * (`--data-dir`), an environment variable (`TASKRAFT_DATA_DIR`) or a key of the
 * JSON config file (`"data-dir"`); flags win over the environment, which wins
 * over the file. Unknown keys and bad values stop the node with the key's name.
 */
export interface NodeConfig {
  id: string;
  peers: MemberInfo[];
  dataDir: string;
  mysqlUrl: string;
  api: { host: string; port: number };
  raft: { host: string; port: number };
  clusterId: string;
  clusterSecret: string;
  /** True when no secret was configured and the insecure default is in use. */
  insecureSecret: boolean;
  chaos: boolean;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  snapshotEntries: number;
  compactKeepEntries: number;
  proposalTimeoutMs: number;
  /** How long the node waits for MySQL at start before giving up. */
  mysqlWaitMs: number;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Kind = "string" | "int" | "bool";

interface OptionSpec {
  kind: Kind;
  help: string;
  default?: string;
  min?: number;
  max?: number;
}

export const NODE_OPTIONS: Record<string, OptionSpec> = {
  id: { kind: "string", help: "this node's id (letters, digits, - and _)" },
  peers: { kind: "string", help: "all initial voters: id=host:raftPort@http://host:apiPort,..." },
  "data-dir": { kind: "string", help: "directory for the Raft log, hard state and snapshots" },
  "mysql-url": { kind: "string", help: "mysql://user:pass@host:port/dbname (or ?socket=/path)" },
  api: { kind: "string", help: "HOST:PORT the HTTP API listens on (default: from --peers)" },
  raft: { kind: "string", help: "HOST:PORT the Raft transport listens on (default: from --peers)" },
  config: { kind: "string", help: "JSON file with any of these options as keys" },
  "cluster-id": { kind: "string", help: "name shared by all nodes of one cluster", default: "taskraft" },
  "cluster-secret": { kind: "string", help: "secret shared by all nodes; proves membership on peer links" },
  chaos: { kind: "bool", help: "enable the demonstration fault endpoints", default: "false" },
  "tick-ms": { kind: "int", help: "Raft tick length in ms", default: "50", min: 1, max: 10_000 },
  "election-ticks": {
    kind: "int",
    help: "election timeout in ticks (randomized up to twice this)",
    default: "6",
    min: 2,
    max: 1000,
  },
  "heartbeat-ticks": { kind: "int", help: "heartbeat interval in ticks", default: "1", min: 1, max: 500 },
  "snapshot-entries": {
    kind: "int",
    help: "snapshot after this many applied entries",
    default: "10000",
    min: 10,
    max: 100_000_000,
  },
  "compact-keep-entries": {
    kind: "int",
    help: "entries kept behind a snapshot for lagging followers",
    default: "1000",
    min: 0,
    max: 100_000_000,
  },
  "proposal-timeout-ms": {
    kind: "int",
    help: "a write not committed in this time answers 504; a linearizable read not confirmed, 503",
    default: "5000",
    min: 100,
    max: 600_000,
  },
  "mysql-wait-ms": {
    kind: "int",
    help: "how long to wait for MySQL at start before giving up",
    default: "15000",
    min: 0,
    max: 600_000,
  },
  "log-level": { kind: "string", help: "fatal, error, warn, info, debug or trace", default: "info" },
};

const INSECURE_SECRET = "taskraft-insecure-default-secret";
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function envName(key: string): string {
  return `TASKRAFT_${key.toUpperCase().replaceAll("-", "_")}`;
}

export function parseHostPort(key: string, value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port < 0 || port > 65535) throw new ConfigError(`${key}: expected HOST:PORT, got '${value}'`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

export function parsePeers(value: string): MemberInfo[] {
  const peers: MemberInfo[] = [];
  for (const part of value.split(",").map((p) => p.trim())) {
    if (part === "") continue;
    const m = /^([^=]+)=([^@]+)@(https?:\/\/.+)$/.exec(part);
    if (!m) throw new ConfigError(`peers: '${part}' is not id=host:raftPort@http://host:apiPort`);
    const id = m[1]!;
    if (!ID_RE.test(id))
      throw new ConfigError(`peers: node id '${id}' may only use letters, digits, - and _`);
    parseHostPort(`peers (${id} raft address)`, m[2]!);
    let url: URL;
    try {
      url = new URL(m[3]!);
    } catch {
      throw new ConfigError(`peers: '${m[3]}' of ${id} is not a URL`);
    }
    if (peers.some((p) => p.id === id)) throw new ConfigError(`peers: node id '${id}' appears twice`);
    peers.push({ id, raftAddress: m[2]!, apiUrl: url.origin });
  }
  if (peers.length === 0) throw new ConfigError("peers: at least one peer (this node) is required");
  return peers;
}

/** Reads options from flags, environment and config file, validating each by name. */
export function loadNodeConfig(
  flags: Record<string, string | boolean | undefined>,
  env = process.env,
): NodeConfig {
  for (const k of Object.keys(flags)) {
    if (!(k in NODE_OPTIONS)) throw new ConfigError(`unknown option --${k}`);
  }
  const file: Record<string, unknown> = {};
  const configPath = (flags.config as string | undefined) ?? env[envName("config")];
  if (configPath) {
    let text: string;
    try {
      text = readFileSync(configPath, "utf8");
    } catch (e) {
      throw new ConfigError(
        `config: cannot read ${configPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`config: ${configPath} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`config: ${configPath} must hold a JSON object`);
    }
    for (const [k, v] of Object.entries(parsed)) {
      if (!(k in NODE_OPTIONS) || k === "config")
        throw new ConfigError(`config: unknown key '${k}' in ${configPath}`);
      file[k] = v;
    }
  }
  const raw = (key: string): { value: string | undefined; from: string } => {
    const f = flags[key];
    if (f !== undefined) return { value: String(f), from: `--${key}` };
    const e = env[envName(key)];
    if (e !== undefined) return { value: e, from: envName(key) };
    const c = file[key];
    if (c !== undefined) {
      if (typeof c === "object")
        throw new ConfigError(`config: key '${key}' must be a string, number or boolean`);
      return { value: String(c), from: `config key '${key}'` };
    }
    return { value: NODE_OPTIONS[key]!.default, from: `--${key}` };
  };
  const str = (key: string, required: boolean): string => {
    const { value, from } = raw(key);
    if (value === undefined || value === "") {
      if (required) throw new ConfigError(`${from} is required (${NODE_OPTIONS[key]!.help})`);
      return "";
    }
    return value;
  };
  const int = (key: string): number => {
    const spec = NODE_OPTIONS[key]!;
    const { value, from } = raw(key);
    const n = Number(value);
    if (!Number.isInteger(n) || n < (spec.min ?? 0) || n > (spec.max ?? Number.MAX_SAFE_INTEGER)) {
      throw new ConfigError(`${from}: expected an integer from ${spec.min} to ${spec.max}, got '${value}'`);
    }
    return n;
  };
  const bool = (key: string): boolean => {
    const { value, from } = raw(key);
    if (value === "true" || value === "1" || value === "") return true;
    if (value === "false" || value === "0" || value === undefined) return false;
    throw new ConfigError(`${from}: expected true or false, got '${value}'`);
  };

  const id = str("id", true);
  if (!ID_RE.test(id))
    throw new ConfigError(`id: '${id}' may only use letters, digits, - and _ (at most 64)`);
  const peers = parsePeers(str("peers", true));
  const self = peers.find((p) => p.id === id);
  const apiRaw = str("api", false);
  const raftRaw = str("raft", false);
  if (!self && (!apiRaw || !raftRaw)) {
    throw new ConfigError(
      `peers: this node '${id}' is not in the list; give --api and --raft to join as a new member`,
    );
  }
  const api = apiRaw ? parseHostPort("api", apiRaw) : hostPortOfUrl(self!.apiUrl);
  const raft = raftRaw ? parseHostPort("raft", raftRaw) : parseHostPort("peers", self!.raftAddress);
  const secret = str("cluster-secret", false);
  const electionTicks = int("election-ticks");
  const heartbeatTicks = int("heartbeat-ticks");
  if (heartbeatTicks >= electionTicks) {
    throw new ConfigError(
      `heartbeat-ticks (${heartbeatTicks}) must be smaller than election-ticks (${electionTicks})`,
    );
  }
  const logLevel = str("log-level", true);
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) {
    throw new ConfigError(
      `log-level: expected fatal, error, warn, info, debug, trace or silent, got '${logLevel}'`,
    );
  }
  const clusterId = str("cluster-id", true);
  if (!ID_RE.test(clusterId))
    throw new ConfigError(`cluster-id: '${clusterId}' may only use letters, digits, - and _`);
  return {
    id,
    peers,
    dataDir: resolve(str("data-dir", true)),
    mysqlUrl: str("mysql-url", true),
    api,
    raft,
    clusterId,
    clusterSecret: secret || INSECURE_SECRET,
    insecureSecret: !secret,
    chaos: bool("chaos"),
    tickMs: int("tick-ms"),
    electionTicks,
    heartbeatTicks,
    snapshotEntries: int("snapshot-entries"),
    compactKeepEntries: int("compact-keep-entries"),
    proposalTimeoutMs: int("proposal-timeout-ms"),
    mysqlWaitMs: int("mysql-wait-ms"),
    logLevel,
  };
}

function hostPortOfUrl(url: string): { host: string; port: number } {
  const u = new URL(url);
  const port = u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port };
}

export function nodeUsage(): string {
  const lines = Object.entries(NODE_OPTIONS).map(
    ([k, s]) =>
      `  --${k.padEnd(22)} ${s.help}${s.default !== undefined ? ` (default ${s.default})` : ""}  [${envName(k)}]`,
  );
  return [
    "usage: taskraft node --id ID --peers LIST --data-dir DIR --mysql-url URL [options]",
    "",
    ...lines,
  ].join("\n");
}
