import { type ParseArgsConfig, parseArgs } from "node:util";

export interface Command {
  name: string;
  summary: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** An error the user can act on: printed as one line, no stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** parseArgs in strict mode, with its errors turned into usage errors (exit 2). */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: T,
  usage: string,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n${usage}`, 2);
  }
}

export function parsePort(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new CliError(`--${name} must be a TCP port (1-65535), got '${value}'`, 2);
  }
  return n;
}
