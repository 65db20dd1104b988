/**
 * A real 3-node cluster serving the built UI, for the browser tests: the API tests' harness
 * (test/api/harness.ts) with --chaos, plus a stand-in for `taskraft dev`'s supervisor so the
 * cluster view's "Restart" button works (the nodes find it through TASKRAFT_DEV_SUPERVISOR).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Cluster } from "../api/harness.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WEB_SRC = join(ROOT, "web");
const WEB_OUT = join(ROOT, "dist", "web", "index.html");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(p) : st.mtimeMs);
  }
  return newest;
}

/** Builds dist/web when it is missing or older than web/ (every node serves it from there). */
export function buildUiIfStale(): void {
  if (existsSync(WEB_OUT) && statSync(WEB_OUT).mtimeMs >= newestMtime(WEB_SRC)) return;
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "node_modules", "vite", "bin", "vite.js"), "build", "--config", "web/vite.config.ts"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
}

/** Answers POST /nodes/{id}/restart like `taskraft dev`'s supervisor: starts the node if it is down. */
function startSupervisor(cluster: Cluster): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const m = /^\/nodes\/([A-Za-z0-9_-]+)\/restart$/.exec(req.url ?? "");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "POST" || !m) return send(404, { error: "not found" });
    const id = m[1]!;
    if (!cluster.nodes.has(id)) return send(404, { error: `no node ${id}` });
    if (!cluster.running(id)) cluster.spawn(id);
    send(202, { restarting: id });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      resolve({ server, url: `http://127.0.0.1:${port}` });
    });
  });
}

export interface WebCluster {
  cluster: Cluster;
  url(id: string): string;
  close(): Promise<void>;
}

export async function startWebCluster(name = "web"): Promise<WebCluster> {
  buildUiIfStale();
  const cluster = new Cluster({ size: 3, chaos: true, name });
  const supervisor = await startSupervisor(cluster);
  // The harness spawns nodes with this process's environment.
  process.env["TASKRAFT_DEV_SUPERVISOR"] = supervisor.url;
  try {
    await cluster.start();
  } catch (e) {
    supervisor.server.close();
    await cluster.close();
    throw e;
  }
  return {
    cluster,
    url: (id) => cluster.url(id),
    async close() {
      supervisor.server.close();
      await cluster.close();
    },
  };
}
