import { parseMysqlUrl, redactMysqlUrl } from "../db/index.js";
import { ConsistencyError, type ConsistencyReport, checkConsistency } from "../state/consistency.js";
import { CliError, type Command, parseFlags } from "./command.js";

const USAGE =
  "usage: taskraft check-consistency --mysql-url URL1,URL2,... [--timeout-ms 30000] [--at-index N] [--json]";

function parseCount(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new CliError(`--${name} must be a non-negative integer, got '${value}'`, 2);
  }
  return n;
}

function short(hash: string | undefined): string {
  return (hash ?? "").slice(0, 16);
}

function printText(r: ConsistencyReport): void {
  console.log(`applied index ${r.appliedIndex} on ${r.databases.length} database(s):`);
  for (const [i, d] of r.databases.entries()) console.log(`  db${i + 1}  ${d}`);
  console.log("");
  console.log(`${"table".padEnd(18)}${"rows".padEnd(24)}${"sha256".padEnd(20)}result`);
  for (const t of r.tables) {
    const rows = [...new Set(t.rowCounts)].length === 1 ? String(t.rowCounts[0]) : t.rowCounts.join("/");
    const sha = t.equal
      ? short(t.sha256[0])
      : t.sha256
          .map(short)
          .map((s) => s.slice(0, 8))
          .join("/");
    const result = t.equal ? "ok" : `DIFFERENT (${t.differingRows} row${t.differingRows === 1 ? "" : "s"})`;
    console.log(`${t.table.padEnd(18)}${rows.padEnd(24)}${sha.padEnd(20)}${result}`);
  }
  if (r.differences.length > 0) {
    const total = r.tables.reduce((n, t) => n + t.differingRows, 0);
    console.log("");
    console.log(`differing rows (${r.differences.length} of ${total}):`);
    for (const d of r.differences) {
      console.log(`  ${d.table} ${JSON.stringify(d.key)}`);
      for (const [i, row] of d.rows.entries()) {
        console.log(`    db${i + 1}: ${row === null ? "(missing)" : JSON.stringify(row)}`);
      }
    }
  }
  console.log("");
  console.log(r.consistent ? "consistent" : "INCONSISTENT");
}

/** `taskraft check-consistency`: proves the nodes' databases hold the same data (API.md §1, §4). */
export const checkConsistencyCommand: Command = {
  name: "check-consistency",
  summary: "compare the replicated tables of several nodes' databases at the same applied index",
  async run(argv) {
    const { values } = parseFlags(
      argv,
      {
        "mysql-url": { type: "string" },
        "timeout-ms": { type: "string", default: "30000" },
        "at-index": { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      USAGE,
    );
    if (values.help) {
      console.log(USAGE);
      console.log("exit status: 0 consistent, 1 differences found or no common index in time, 2 usage error");
      return 0;
    }
    const raw = values["mysql-url"];
    if (raw === undefined || raw.trim() === "") throw new CliError(`--mysql-url is required\n${USAGE}`, 2);
    const urls = raw
      .split(",")
      .map((u) => u.trim())
      .filter((u) => u !== "");
    for (const url of urls) {
      let database: string | undefined;
      try {
        database = parseMysqlUrl(url).database;
      } catch (e) {
        throw new CliError((e as Error).message, 2);
      }
      if (database === undefined) {
        throw new CliError(`each URL must name a node's database: ${redactMysqlUrl(url)}`, 2);
      }
    }
    const timeoutMs = parseCount("timeout-ms", values["timeout-ms"]);
    const atIndex = values["at-index"] === undefined ? undefined : parseCount("at-index", values["at-index"]);
    let report: ConsistencyReport;
    try {
      report = await checkConsistency({ urls, timeoutMs, ...(atIndex !== undefined ? { atIndex } : {}) });
    } catch (e) {
      if (e instanceof ConsistencyError) throw new CliError(e.message, 1);
      const err = e as { code?: string; message?: string };
      if (
        err.code === "ECONNREFUSED" ||
        err.code === "ER_BAD_DB_ERROR" ||
        err.code === "ER_ACCESS_DENIED_ERROR"
      ) {
        throw new CliError(`cannot read a database: ${err.message ?? err.code}`, 1);
      }
      throw e;
    }
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else printText(report);
    return report.consistent ? 0 : 1;
  },
};
