/**
 * The token store: `$XDG_CONFIG_HOME/taskraft/credentials.json` (or `~/.config/taskraft/…`),
 * mode 0600 in a 0700 directory. One entry per cluster, keyed by the set of URLs given at login,
 * with the members' API URLs learned from GET /cluster so that a later command can fail over to
 * any node of that cluster. The last login is the default cluster of commands without --url.
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { CliError } from "../command.js";
import { EXIT } from "./exit-codes.js";

export interface StoredUser {
  id: string;
  username: string;
  isAdmin: boolean;
}

export interface ClusterCredentials {
  /** The URLs given at login (normalized, sorted): what the entry is keyed by. */
  urls: string[];
  /** API URLs of the cluster's members as last seen in GET /cluster. */
  members: string[];
  token: string;
  user: StoredUser;
  savedAt: string;
}

export interface CredentialsFile {
  version: 1;
  /** Key of the cluster commands use when neither --url nor TASKRAFT_URL is given. */
  current: string | null;
  clusters: Record<string, ClusterCredentials>;
}

/** Bound on the file we are willing to parse: a few entries are a few KiB. */
const MAX_FILE_BYTES = 1 << 20;

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env["XDG_CONFIG_HOME"];
  const base = xdg?.startsWith("/") ? xdg : join(homedir(), ".config");
  return join(base, "taskraft");
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), "credentials.json");
}

/** The entry key of a set of URLs: order and duplicates do not matter. */
export function clusterKey(urls: readonly string[]): string {
  return [...new Set(urls)].sort().join(",");
}

function empty(): CredentialsFile {
  return { version: 1, current: null, clusters: {} };
}

export function readCredentials(path = credentialsPath()): CredentialsFile {
  if (!existsSync(path)) return empty();
  const size = statSync(path).size;
  if (size > MAX_FILE_BYTES) throw new CliError(`${path} is larger than 1 MiB; remove it and log in again`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw new CliError(`${path} is not valid JSON; remove it and log in again`);
  }
  const f = parsed as Partial<CredentialsFile>;
  if (f.version !== 1 || typeof f.clusters !== "object" || f.clusters === null) {
    throw new CliError(`${path} is not a taskraft credentials file; remove it and log in again`);
  }
  return { version: 1, current: typeof f.current === "string" ? f.current : null, clusters: f.clusters };
}

/**
 * Replaces the file atomically (write a 0600 temporary file, rename over), so a crash never
 * leaves half a token file and the token is never readable by others, not even for a moment.
 */
export function writeCredentials(file: CredentialsFile, path = credentialsPath()): void {
  const dir = join(path, "..");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new CliError(`cannot write ${path}: ${(e as Error).message}`, EXIT.refused);
  }
}

/**
 * The entry for these URLs: the one keyed by exactly this set, else the most recent one that
 * knows one of them (as a login URL or a member), so `--url` naming any node finds the token.
 */
export function findCredentials(
  file: CredentialsFile,
  urls: readonly string[],
): { key: string; entry: ClusterCredentials } | undefined {
  const key = clusterKey(urls);
  const exact = file.clusters[key];
  if (exact) return { key, entry: exact };
  let best: { key: string; entry: ClusterCredentials } | undefined;
  for (const [k, entry] of Object.entries(file.clusters)) {
    const known = new Set([...(entry.urls ?? []), ...(entry.members ?? [])]);
    if (!urls.some((u) => known.has(u))) continue;
    if (!best || entry.savedAt > best.entry.savedAt) best = { key: k, entry };
  }
  return best;
}

export function currentCredentials(
  file: CredentialsFile,
): { key: string; entry: ClusterCredentials } | undefined {
  if (file.current === null) return undefined;
  const entry = file.clusters[file.current];
  return entry ? { key: file.current, entry } : undefined;
}
