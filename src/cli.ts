#!/usr/bin/env node
/**
 * The `taskraft` command. Each subcommand lives in src/cli/; this file only dispatches,
 * so `taskraft --help` stays fast and a broken subcommand cannot break the others.
 */
import { benchCommand } from "./cli/bench-command.js";
import { checkConsistencyCommand } from "./cli/check-consistency-command.js";
import { clusterCommand } from "./cli/cluster-command.js";
import { CliError, type Command } from "./cli/command.js";
import { dbCommand } from "./cli/db-command.js";
import { devCommand } from "./cli/dev-command.js";
import { loginCommand, logoutCommand, signupCommand, whoamiCommand } from "./cli/login-command.js";
import { nodeCommand } from "./cli/node-command.js";
import { backupCommand, recoverCommand, restoreCommand } from "./cli/ops-command.js";
import { projectCommand } from "./cli/project-command.js";
import { taskCommand } from "./cli/task-command.js";

const commands: Command[] = [
  devCommand,
  nodeCommand,
  dbCommand,
  checkConsistencyCommand,
  benchCommand,
  loginCommand,
  signupCommand,
  logoutCommand,
  whoamiCommand,
  taskCommand,
  projectCommand,
  clusterCommand,
  backupCommand,
  restoreCommand,
  recoverCommand,
];

function usage(): string {
  const lines = commands.map((c) => `  ${c.name.padEnd(20)} ${c.summary}`);
  return [
    "usage: taskraft <command> [options]",
    "",
    "taskraft is a task manager replicated by its own Raft implementation, with MariaDB/MySQL on every node.",
    "",
    "commands:",
    ...lines,
    "",
    "Run `taskraft <command> --help` for a command's options.",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return 0;
  }
  if (name === "--version" || name === "-v") {
    const { readFileSync } = await import("node:fs");
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    console.log(pkg.version);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`taskraft: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      console.error(`taskraft: ${err.message}`);
      process.exitCode = err.exitCode;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
