/** The parent's handle on the load-generator child process (src/bench/load/worker.ts). */
import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { LoadResult, LoadSpec, WorkerCommand, WorkerReply } from "./types.js";

/** The worker's file next to this one: .ts under tsx, .js in the build. */
function workerFile(): { file: string; execArgv: string[] } {
  const ts = fileURLToPath(new URL("./worker.ts", import.meta.url));
  if (import.meta.url.endsWith(".ts") && existsSync(ts)) return { file: ts, execArgv: ["--import", "tsx"] };
  return { file: fileURLToPath(new URL("./worker.js", import.meta.url)), execArgv: [] };
}

export class LoadGenerator {
  private constructor(private readonly child: ChildProcess) {}

  static start(): LoadGenerator {
    const { file, execArgv } = workerFile();
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: "" };
    delete env["NODE_TEST_CONTEXT"];
    const child = fork(file, [], { execArgv, env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    return new LoadGenerator(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs one spec; `onProgress` gets acknowledged operations per second as they happen. */
  run(spec: LoadSpec, onProgress?: (okPerSec: number, errors: number) => void): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const onMessage = (raw: unknown) => {
        const m = raw as WorkerReply;
        if (m.type === "progress") onProgress?.((m.ok * 1000) / Math.max(1, m.ms), m.errors);
        else {
          cleanup();
          if (m.type === "result") resolve(m.result);
          else reject(new Error(`load generator: ${m.message}`));
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        cleanup();
        reject(new Error(`load generator exited (${code ?? signal})`));
      };
      const cleanup = () => {
        this.child.off("message", onMessage);
        this.child.off("exit", onExit);
      };
      this.child.on("message", onMessage);
      this.child.on("exit", onExit);
      this.child.send({ type: "run", spec } satisfies WorkerCommand);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once("exit", () => r()));
    this.child.send({ type: "exit" } satisfies WorkerCommand);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}
