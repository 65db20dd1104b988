/**
 * Runs the `taskraft` CLI as a user would: a subprocess (`node --import tsx src/cli.ts …`) with
 * its own config dir (XDG_CONFIG_HOME), so each simulated user has its own token store.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const CLI = join(ROOT, "src", "cli.ts");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/** Settings the suite's own environment must not leak into a run. */
const CLEARED = ["TASKRAFT_URL", "TASKRAFT_TOKEN", "XDG_CONFIG_HOME"];

export function runCli(args: string[], opts: RunOptions = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of CLEARED) delete env[k];
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      cwd: ROOT,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** One CLI user: a config dir of its own and the cluster's URLs. */
export class User {
  readonly configDir = mkdtempSync(join(tmpdir(), "taskraft-cli-"));

  constructor(public url: string) {}

  run(args: string[], opts: RunOptions = {}): Promise<Run> {
    return runCli(args, {
      ...opts,
      env: { XDG_CONFIG_HOME: this.configDir, TASKRAFT_URL: this.url, ...(opts.env ?? {}) },
    });
  }

  /** Runs a command that must succeed and print JSON (`--json` is added). */
  // biome-ignore lint/suspicious/noExplicitAny: parsed --json output; tests check it field by field
  async json<T = any>(args: string[], opts: RunOptions = {}): Promise<T> {
    const r = await this.run([...args, "--json"], opts);
    if (r.code !== 0) throw new Error(`taskraft ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    try {
      return JSON.parse(r.stdout) as T;
    } catch {
      throw new Error(`taskraft ${args.join(" ")} printed no JSON: ${r.stdout}`);
    }
  }

  /** Runs a command that must succeed; returns its stdout. */
  async ok(args: string[], opts: RunOptions = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new Error(`taskraft ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  dispose(): void {
    rmSync(this.configDir, { recursive: true, force: true });
  }
}

/** `script` (util-linux) runs a command on a pseudo-terminal: how the no-echo prompt is tested. */
export function haveScript(): boolean {
  return spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the CLI on a pseudo-terminal and types each answer once its prompt has appeared (typed
 * ahead, the terminal would echo it before the CLI could turn echo off). Returns everything the
 * terminal showed.
 */
export function runInTerminal(
  args: string[],
  env: Record<string, string>,
  answers: [prompt: string, reply: string][],
  timeoutMs = 30_000,
): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, "--import", "tsx", CLI, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-q", "-e", "-c", command, "/dev/null"], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let screen = "";
    let next = 0;
    let from = 0;
    const onData = (d: string) => {
      screen += d;
      const pending = answers[next];
      // Terminal control sequences may follow a prompt, so look for it anywhere in the new output.
      const at = pending ? screen.indexOf(pending[0], from) : -1;
      if (pending && at >= 0) {
        next++;
        from = at + pending[0].length;
        child.stdin.write(`${pending[1]}\r`);
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", onData);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}
