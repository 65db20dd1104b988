/**
 * Command line of `npm run chaos`. Every option is bounded: the run must stop by itself on a
 * machine with two cores, whatever it is given.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "../../db/index.js";

export const FAULT_KINDS = [
  "kill",
  "pause",
  "isolate",
  "transfer",
  "membership",
  "mysql",
  "loss",
  "slow-kill",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosOptions {
  /** Seconds of workload under faults (the final checks come after). */
  durationS: number;
  nodes: 3 | 5;
  clients: number;
  seed: number;
  /** The run dir: databases, node data, logs and the history artefacts. */
  out: string;
  faults: readonly FaultKind[];
  /** Pause of each client between two operations, so the load leaves CPU for the nodes. */
  thinkMs: number;
  /** Keep the MariaDB and Raft data dirs after the run (they are removed otherwise; logs stay). */
  keepData: boolean;
  logLevel: string;
  /** A mutation from ./mutants.ts the nodes run with (TASKRAFT_CHAOS_MUTANT), or undefined. */
  mutant: string | undefined;
}

export const USAGE =
  "usage: npm run chaos -- [--duration 60] [--nodes 3|5] [--clients 10] [--seed S] [--out DIR]\n" +
  `         [--faults ${FAULT_KINDS.join(",")}] [--think-ms 10] [--keep-data] [--log-level warn]\n` +
  "env: TASKRAFT_CHAOS_MUTANT=<name> runs the nodes from a mutated copy of src/ (see docs/RELIABILITY.md)";

export class UsageError extends Error {
  override name = "UsageError";
}

function intOption(name: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  }
  return n;
}

export function parseChaosArgs(argv: readonly string[], env = process.env): ChaosOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        duration: { type: "string" },
        nodes: { type: "string" },
        clients: { type: "string" },
        seed: { type: "string" },
        out: { type: "string" },
        faults: { type: "string" },
        "think-ms": { type: "string" },
        "keep-data": { type: "boolean" },
        "log-level": { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values["help"]) throw new UsageError("help");
  const str = (k: string): string | undefined => {
    const v = values[k];
    return typeof v === "string" ? v : undefined;
  };
  const durationS = intOption("duration", str("duration"), 60, 10, 3600);
  const nodes = intOption("nodes", str("nodes"), 3, 3, 5);
  if (nodes !== 3 && nodes !== 5) throw new UsageError(`--nodes must be 3 or 5, got ${nodes}`);
  const clients = intOption("clients", str("clients"), 10, 1, 64);
  const seed = intOption("seed", str("seed"), Date.now() % 1_000_000_000, 0, 2 ** 32 - 1);
  const thinkMs = intOption("think-ms", str("think-ms"), 10, 0, 5000);
  let faults: FaultKind[] = [...FAULT_KINDS];
  const rawFaults = str("faults");
  if (rawFaults !== undefined) {
    const names = rawFaults
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    const unknown = names.filter((n) => !(FAULT_KINDS as readonly string[]).includes(n));
    if (unknown.length > 0) {
      throw new UsageError(`unknown fault kind ${unknown.join(", ")}; known: ${FAULT_KINDS.join(", ")}`);
    }
    faults = names as FaultKind[];
  }
  const out =
    str("out") ??
    join(repoRoot(), ".taskraft", "chaos", `${new Date().toISOString().replace(/[:.]/g, "-")}-seed${seed}`);
  const mutant = env["TASKRAFT_CHAOS_MUTANT"] || undefined;
  return {
    durationS,
    nodes,
    clients,
    seed,
    out,
    faults,
    thinkMs,
    keepData: values["keep-data"] === true,
    logLevel: str("log-level") ?? "warn",
    mutant,
  };
}
