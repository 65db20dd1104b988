import type { ConnectionOptions } from "mysql2/promise";

export interface MysqlUrl {
  user: string;
  password: string;
  host: string;
  port: number;
  /** Undefined when the URL has no database path (e.g. a root URL like `mysql://root@127.0.0.1:3307/`). */
  database?: string;
  /** Unix socket; when set, host and port are ignored for connecting. */
  socketPath?: string;
}

export class MysqlUrlError extends Error {
  constructor(url: string, problem: string) {
    super(`invalid MySQL URL "${redactMysqlUrl(url)}": ${problem}`);
    this.name = "MysqlUrlError";
  }
}

const DEFAULT_PORT = 3306;
const SUPPORTED_PARAMS = ["socket"];
// MySQL allows more in quoted identifiers, but anything outside this set is almost certainly a
// mistake in a URL and would need quoting everywhere the name is used.
const DATABASE_NAME = /^[A-Za-z0-9_$-]{1,64}$/;

/** Replaces the password, so that URLs can go into logs and error messages. */
export function redactMysqlUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@?#]*):[^@/?#]*@/i, "$1:***@");
}

function decode(url: string, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new MysqlUrlError(url, `bad percent-encoding in the ${what}`);
  }
}

/**
 * Parses `mysql://user:pass@host:port/dbname` (also `mariadb://`), with `?socket=/path` to
 * connect over a unix socket, in which case the host may be omitted: `mysql://root@/db?socket=/s`.
 */
export function parseMysqlUrl(url: string): MysqlUrl {
  if (typeof url !== "string" || url.trim() === "") throw new MysqlUrlError(String(url), "empty");
  // Parsed by hand: WHATWG URL rejects a host-less authority, which the socket form needs, and
  // is lax about things (e.g. spaces) that we want to report.
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/.exec(url);
  if (!m)
    throw new MysqlUrlError(url, "expected mysql://user[:password]@host[:port][/database][?socket=/path]");
  const scheme = (m[1] ?? "").toLowerCase();
  const authority = m[2] ?? "";
  const path = m[3] ?? "";
  const query = m[4] ?? "";
  if (scheme !== "mysql" && scheme !== "mariadb") {
    throw new MysqlUrlError(url, `scheme must be mysql:// (got ${scheme}://)`);
  }
  if (m[5] !== undefined) throw new MysqlUrlError(url, "a fragment (#...) is not allowed");
  if (/\s/.test(url)) throw new MysqlUrlError(url, "contains whitespace");

  const at = authority.lastIndexOf("@");
  const userinfo = at >= 0 ? authority.slice(0, at) : "";
  const hostport = at >= 0 ? authority.slice(at + 1) : authority;
  if (at < 0 || userinfo === "")
    throw new MysqlUrlError(url, "a user name is required (mysql://user@host/...)");
  const colon = userinfo.indexOf(":");
  const user = decode(url, colon >= 0 ? userinfo.slice(0, colon) : userinfo, "user name");
  const password = colon >= 0 ? decode(url, userinfo.slice(colon + 1), "password") : "";
  if (user === "") throw new MysqlUrlError(url, "the user name is empty");

  let host = hostport;
  let port = DEFAULT_PORT;
  const hp = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]*)(?::([^:]*))?$/.exec(hostport);
  if (!hp) throw new MysqlUrlError(url, `bad host "${hostport}"`);
  host = hp[1] ?? "";
  if (host.startsWith("[")) host = host.slice(1, -1);
  if (hp[2] !== undefined) {
    if (!/^\d{1,5}$/.test(hp[2]) || Number(hp[2]) < 1 || Number(hp[2]) > 65535) {
      throw new MysqlUrlError(url, `port must be a number from 1 to 65535 (got "${hp[2]}")`);
    }
    port = Number(hp[2]);
  }
  if (host !== "" && !/^[A-Za-z0-9._:%-]+$/.test(host)) throw new MysqlUrlError(url, `bad host "${host}"`);

  let database: string | undefined;
  const dbPart = path.replace(/^\//, "");
  if (dbPart !== "") {
    const name = decode(url, dbPart, "database name");
    if (!DATABASE_NAME.test(name)) {
      throw new MysqlUrlError(url, `bad database name "${name}" (1-64 characters of A-Z a-z 0-9 _ $ -)`);
    }
    database = name;
  }

  let socketPath: string | undefined;
  if (query !== "" && query !== "?") {
    for (const pair of query.slice(1).split("&")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      const key = decode(url, eq >= 0 ? pair.slice(0, eq) : pair, "query");
      const value = eq >= 0 ? decode(url, pair.slice(eq + 1).replace(/\+/g, " "), "query") : "";
      if (!SUPPORTED_PARAMS.includes(key)) {
        throw new MysqlUrlError(
          url,
          `unknown parameter "${key}" (supported: ${SUPPORTED_PARAMS.join(", ")})`,
        );
      }
      if (value === "") throw new MysqlUrlError(url, `parameter "${key}" needs a value`);
      if (key === "socket") {
        if (!value.startsWith("/")) throw new MysqlUrlError(url, "socket must be an absolute path");
        socketPath = value;
      }
    }
  }
  if (host === "" && socketPath === undefined)
    throw new MysqlUrlError(url, "a host (or ?socket=/path) is required");
  if (host === "") host = "localhost";

  const result: MysqlUrl = { user, password, host, port };
  if (database !== undefined) result.database = database;
  if (socketPath !== undefined) result.socketPath = socketPath;
  return result;
}

export function formatMysqlUrl(u: MysqlUrl): string {
  const cred = encodeURIComponent(u.user) + (u.password !== "" ? `:${encodeURIComponent(u.password)}` : "");
  const host = u.host.includes(":") ? `[${u.host}]` : u.host;
  const db = u.database !== undefined ? encodeURIComponent(u.database) : "";
  const q =
    u.socketPath !== undefined ? `?socket=${encodeURIComponent(u.socketPath).replace(/%2F/gi, "/")}` : "";
  return `mysql://${cred}@${host}:${u.port}/${db}${q}`;
}

/** The same server and credentials, pointed at database `name`. */
export function withDatabase(url: string, name: string): string {
  const u = parseMysqlUrl(url);
  if (!DATABASE_NAME.test(name)) {
    throw new MysqlUrlError(url, `bad database name "${name}" (1-64 characters of A-Z a-z 0-9 _ $ -)`);
  }
  return formatMysqlUrl({ ...u, database: name });
}

/** mysql2 connection options for a URL; the caller may spread extra options over them. */
export function mysqlConnectionOptions(url: string | MysqlUrl): ConnectionOptions {
  const u = typeof url === "string" ? parseMysqlUrl(url) : url;
  const opts: ConnectionOptions = { user: u.user, password: u.password };
  if (u.socketPath !== undefined) opts.socketPath = u.socketPath;
  else {
    opts.host = u.host;
    opts.port = u.port;
  }
  if (u.database !== undefined) opts.database = u.database;
  return opts;
}

export function isValidDatabaseName(name: string): boolean {
  return DATABASE_NAME.test(name);
}
