import { parseArgs } from "node:util";
import { ConfigError, loadNodeConfig, NODE_OPTIONS, nodeUsage } from "../node/config.js";
import { CliError, type Command } from "./command.js";

const flagSpec = {
  ...Object.fromEntries(
    Object.entries(NODE_OPTIONS).map(([k, s]) => [
      k,
      { type: s.kind === "bool" ? ("boolean" as const) : ("string" as const) },
    ]),
  ),
  help: { type: "boolean" as const },
} as Record<string, { type: "string" | "boolean" }>;

/** `taskraft node`: one Raft node with its MySQL state and HTTP API (API.md §1). */
export const nodeCommand: Command = {
  name: "node",
  summary: "run one cluster node (Raft, MySQL state, HTTP API)",
  async run(argv) {
    let values: Record<string, string | boolean | undefined>;
    try {
      values = parseArgs({ args: argv, options: flagSpec, strict: true }).values;
    } catch (e) {
      throw new CliError(`node: ${(e as Error).message} (see taskraft node --help)`, 2);
    }
    if (values["help"]) {
      console.log(nodeUsage());
      return 0;
    }
    const { help: _help, ...flags } = values;
    let config: ReturnType<typeof loadNodeConfig>;
    try {
      config = loadNodeConfig(flags as Record<string, string | boolean | undefined>);
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(`node: ${e.message}`, 2);
      throw e;
    }
    // Loaded here, not at the top: `taskraft --help` should not pay for Fastify and mysql2.
    const { handleSignals, runNode } = await import("../node/main.js");
    const { createLogger, StartupError } = await import("../node/runtime.js");
    let node: Awaited<ReturnType<typeof runNode>>;
    try {
      node = await runNode(config);
    } catch (e) {
      if (e instanceof StartupError) throw new CliError(`node ${config.id}: ${e.message}`, 1);
      throw e;
    }
    handleSignals(node, createLogger(config));
    // The process lives until a signal or a fatal error ends it (handleSignals exits).
    return new Promise<number>(() => {});
  },
};
