/**
 * What every client command shares: the common flags, which nodes to talk to (`--url`,
 * `TASKRAFT_URL`, the last login), the token (`TASKRAFT_TOKEN`, the token store), and the
 * ApiClient built from them.
 */
import { CliError } from "../command.js";
import {
  type ClusterCredentials,
  type CredentialsFile,
  clusterKey,
  credentialsPath,
  currentCredentials,
  findCredentials,
  readCredentials,
  writeCredentials,
} from "./credentials.js";
import { EXIT } from "./exit-codes.js";
import { ApiClient, normalizeUrl, parseUrlList } from "./http.js";
import { note } from "./output.js";

/** `taskraft dev`'s first node, for a client run with no URL anywhere. */
export const DEFAULT_URL = "http://127.0.0.1:7001";

/** The flags of every client command (parseArgs options). */
export const COMMON_OPTIONS = {
  url: { type: "string" },
  json: { type: "boolean", default: false },
  verbose: { type: "boolean", default: false },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

export const COMMON_HELP = [
  "common options:",
  "  --url URL[,URL…]   nodes to talk to (any node works; the next is tried when one is down);",
  "                     default $TASKRAFT_URL, else the cluster of the last login, else " + DEFAULT_URL,
  "  --json             print machine-readable JSON on stdout",
  "  --timeout SECONDS  bound on each call, retries included (default 30)",
  "  --verbose          report retries and failovers on stderr",
  "  -h, --help         this help",
  "environment: TASKRAFT_URL, TASKRAFT_TOKEN (overrides the stored token), XDG_CONFIG_HOME",
].join("\n");

export interface CommonValues {
  url?: string | undefined;
  json?: boolean | undefined;
  verbose?: boolean | undefined;
  timeout?: string | undefined;
}

export interface Session {
  client: ApiClient;
  json: boolean;
  /** The URLs the user named (or the last login's): the credentials key. */
  seeds: string[];
  /** The stored entry these URLs found, if any. */
  stored: { key: string; entry: ClusterCredentials } | undefined;
  token: string | undefined;
}

function deadlineOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0 || s > 3600) {
    throw new CliError(`--timeout must be a number of seconds (0-3600], got '${raw}'`, EXIT.usage);
  }
  return Math.round(s * 1000);
}

/** Which nodes, in order: --url, TASKRAFT_URL, the last login's cluster, the dev default. */
function seedsOf(values: CommonValues, file: CredentialsFile): { seeds: string[]; fromCurrent: boolean } {
  if (values.url !== undefined) return { seeds: parseUrlList(values.url), fromCurrent: false };
  const env = process.env["TASKRAFT_URL"];
  if (env !== undefined && env.trim() !== "") return { seeds: parseUrlList(env), fromCurrent: false };
  const current = currentCredentials(file);
  if (current) return { seeds: current.entry.urls, fromCurrent: true };
  return { seeds: [DEFAULT_URL], fromCurrent: false };
}

/**
 * Opens a session. With `needToken`, a missing token is exit 5 with what to run; the API would
 * answer 401 anyway, but not say how to fix it.
 */
export function openSession(values: CommonValues, opts: { needToken: boolean }): Session {
  const file = readCredentials();
  const { seeds, fromCurrent } = seedsOf(values, file);
  const stored = fromCurrent ? currentCredentials(file) : findCredentials(file, seeds);
  const envToken = process.env["TASKRAFT_TOKEN"];
  const token = envToken !== undefined && envToken !== "" ? envToken : stored?.entry.token;
  if (opts.needToken && token === undefined) {
    throw new CliError(
      `not logged in to ${seeds.join(",")}; run: taskraft login --url ${seeds.join(",")}`,
      EXIT.unauthorized,
    );
  }
  const deadlineMs = deadlineOf(values.timeout);
  const client = new ApiClient({
    urls: seeds,
    token,
    ...(deadlineMs !== undefined ? { deadlineMs, attemptTimeoutMs: Math.min(10_000, deadlineMs) } : {}),
    onRetry: values.verbose ? (line) => note(`taskraft: ${line}`) : undefined,
  });
  if (stored) client.addNodes(stored.entry.members);
  return { client, json: values.json === true, seeds, stored, token };
}

/** Stores a new login for these URLs and makes it the default cluster. */
export function saveLogin(
  seeds: readonly string[],
  entry: Omit<ClusterCredentials, "urls" | "savedAt">,
): string {
  const file = readCredentials();
  const key = clusterKey(seeds);
  file.clusters[key] = { urls: [...seeds].sort(), ...entry, savedAt: new Date().toISOString() };
  file.current = key;
  writeCredentials(file);
  return credentialsPath();
}

/** Forgets the login of this session's cluster; true when there was one. */
export function forgetLogin(session: Session): boolean {
  if (!session.stored) return false;
  const file = readCredentials();
  if (!file.clusters[session.stored.key]) return false;
  delete file.clusters[session.stored.key];
  if (file.current === session.stored.key) file.current = null;
  writeCredentials(file);
  return true;
}

/**
 * Remembers the members' API URLs (from GET /cluster) with the stored login, so later commands
 * can fail over to nodes the user never named. Best effort: the token store is a cache here.
 */
export function rememberMembers(session: Session, apiUrls: readonly string[]): void {
  const members: string[] = [];
  for (const u of apiUrls) {
    try {
      members.push(normalizeUrl(u));
    } catch {
      // a member with an unusable apiUrl is just not a failover target
    }
  }
  session.client.addNodes(members);
  if (!session.stored || session.stored.entry.token !== session.token) return;
  const file = readCredentials();
  const entry = file.clusters[session.stored.key];
  if (!entry) return;
  const sorted = [...new Set(members)].sort();
  if (JSON.stringify(sorted) === JSON.stringify(entry.members)) return;
  entry.members = sorted;
  writeCredentials(file);
}

/** The exit-code-2 error for a command line that does not fit the usage. */
export function usageError(message: string, usage: string): CliError {
  return new CliError(`${message}\n${usage}`, EXIT.usage);
}
