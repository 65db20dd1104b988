import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname } from "node:path";
import type { DevNode } from "./layout.js";

export interface SupervisedNode {
  node: DevNode;
  args: string[];
  logFile: string;
  child: ChildProcess | undefined;
  restarts: number;
  lastExit: string | undefined;
}

/**
 * Runs the dev cluster's node processes. A node that exits (a crash from the
 * UI's chaos buttons, or a real one) stays down until someone asks for a
 * restart through the control endpoint, so the cluster's reaction to the loss
 * can be watched. The control endpoint listens on 127.0.0.1 only.
 */
export class Supervisor {
  readonly nodes = new Map<string, SupervisedNode>();
  private server: Server | undefined;
  private stopping = false;

  constructor(
    private readonly command: string[],
    private env: NodeJS.ProcessEnv,
    private readonly log: (line: string) => void,
  ) {}

  /** Extra environment for the nodes (the cluster secret travels here, not on the command line). */
  setEnv(extra: NodeJS.ProcessEnv): void {
    this.env = { ...this.env, ...extra };
  }

  add(node: DevNode, args: string[], logFile: string): void {
    this.nodes.set(node.id, { node, args, logFile, child: undefined, restarts: 0, lastExit: undefined });
  }

  start(id: string): void {
    const s = this.nodes.get(id);
    if (!s || this.stopping) return;
    if (s.child && s.child.exitCode === null && s.child.signalCode === null) return;
    mkdirSync(dirname(s.logFile), { recursive: true });
    const out = createWriteStream(s.logFile, { flags: "a" });
    const [cmd, ...pre] = this.command;
    const child = spawn(cmd!, [...pre, ...s.args], { env: this.env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    s.child = child;
    child.once("exit", (code, signal) => {
      s.lastExit = signal ? `signal ${signal}` : `exit code ${code}`;
      if (!this.stopping)
        this.log(
          `node ${id} stopped (${s.lastExit}); restart it from the cluster view or with: curl -X POST ${this.controlUrl()}/nodes/${id}/restart`,
        );
    });
  }

  running(id: string): boolean {
    const c = this.nodes.get(id)?.child;
    return !!c && c.exitCode === null && c.signalCode === null;
  }

  restart(id: string): boolean {
    const s = this.nodes.get(id);
    if (!s) return false;
    if (this.running(id)) return true;
    s.restarts++;
    this.log(`restarting node ${id}`);
    this.start(id);
    return true;
  }

  private port = 0;

  controlUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  listen(port: number): Promise<void> {
    this.port = port;
    this.server = createServer((req, res) => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify(body));
      };
      const url = new URL(req.url ?? "/", "http://x");
      const m = /^\/nodes\/([A-Za-z0-9_-]+)\/restart$/.exec(url.pathname);
      if (req.method === "GET" && url.pathname === "/nodes") {
        return send(
          200,
          [...this.nodes.values()].map((s) => ({
            id: s.node.id,
            running: this.running(s.node.id),
            pid: s.child?.pid ?? null,
            restarts: s.restarts,
            lastExit: s.lastExit ?? null,
          })),
        );
      }
      if (req.method === "POST" && m) {
        return this.restart(m[1]!)
          ? send(202, { restarting: m[1] })
          : send(404, { error: `no node ${m[1]}` });
      }
      send(404, { error: "not found" });
    });
    return new Promise((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, "127.0.0.1", () => resolve());
    });
  }

  /** SIGTERM to every node, then SIGKILL to any still running after `graceMs`. */
  async stopAll(graceMs = 6000): Promise<void> {
    this.stopping = true;
    this.server?.close();
    const waits = [...this.nodes.values()].map(async (s) => {
      const c = s.child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((r) => c.once("exit", () => r()));
      c.kill("SIGTERM");
      const t = setTimeout(() => c.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(t);
    });
    await Promise.all(waits);
  }
}
