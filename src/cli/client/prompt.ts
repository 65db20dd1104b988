/** Reading a username and a password: from the terminal (the password without echo) or stdin. */
import { createInterface } from "node:readline/promises";
import { CliError } from "../command.js";
import { EXIT } from "./exit-codes.js";

/** Bound on what --password-stdin reads: passwords are at most 200 characters. */
const MAX_STDIN_BYTES = 64 * 1024;

export function interactive(): boolean {
  return process.stdin.isTTY === true;
}

export async function askLine(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.on("SIGINT", () => reject(new CliError("cancelled", EXIT.cancelled)));
      rl.question(question).then((answer) => resolve(answer.trim()), reject);
    });
  } finally {
    rl.close();
  }
}

/** A line typed on the terminal without echoing it; Ctrl-C cancels (exit 130). */
export function askHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    return Promise.reject(
      new CliError("no terminal to read the password from; pipe it in with --password-stdin", EXIT.usage),
    );
  }
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of String(chunk)) {
        if (ch === "\r" || ch === "\n" || (ch === "\u0004" && value === "")) {
          finish();
          resolve(value);
          return;
        }
        if (ch === "\u0003") {
          finish();
          reject(new CliError("cancelled", EXIT.cancelled));
          return;
        }
        if (ch === "\u007f" || ch === "\b") value = [...value].slice(0, -1).join("");
        else if (ch >= " ") value += ch;
      }
    };
    // Echo goes off before the prompt shows: anything typed after seeing it stays hidden.
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.setEncoding("utf8");
    stdin.on("data", onData);
    stdin.resume();
  });
}

/** All of standard input, without its final line break: `--password-stdin`. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_STDIN_BYTES) throw new CliError("standard input is too long for a password", EXIT.usage);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}
