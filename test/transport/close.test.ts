import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { MessageType } from "../../src/raft/types.js";
import { freePort, msg, sleep, startCluster, waitFor } from "./helpers.js";

// Runs in a child process that is given no way to exit except running out of work: if close()
// left a socket, server or timer behind, the child would hang and the test would time out.
const CHILD = `
const { PeerTransport } = await import(process.env.TRANSPORT_MODULE);
const pino = (await import("pino")).default;
const logger = pino({ level: "silent" });
const ids = ["a", "b", "c"];
const nodes = [];
for (const id of ids) {
  const t = new PeerTransport({
    nodeId: id, clusterId: "c", secret: "s", listen: { host: "127.0.0.1", port: 0 }, logger,
    onMessage: () => {}, keepaliveMs: 20,
  });
  await t.start();
  nodes.push(t);
}
const book = Object.fromEntries(nodes.map((t, i) => [ids[i], "127.0.0.1:" + t.address().port]));
book.dead = "127.0.0.1:" + process.env.DEAD_PORT; // keeps a reconnect timer armed
for (const t of nodes) t.setPeers(book);
const base = { term: 1, index: 0, logTerm: 0, commit: 0, entries: [], reject: false, rejectHint: 0, context: "", force: false, snapshotOffset: 0 };
nodes[1].onRequest(() => new Promise(() => {}));
const pending = nodes[0].request("b", "never answered", 60000).catch((e) => e.code);
for (let i = 0; i < 50; i++) {
  nodes[0].send([{ ...base, type: "app", from: "a", to: "b" }, { ...base, type: "snap", from: "a", to: "c", snapshotData: new Uint8Array(1 << 20) }, { ...base, type: "app", from: "a", to: "dead" }]);
}
await new Promise((r) => setTimeout(r, 200));
nodes[2].delay(60000); // a delayed frame waiting in the delay line
nodes[2].send([{ ...base, type: "app", from: "c", to: "a" }]);
const t0 = performance.now();
await Promise.all(nodes.map((t) => t.close()));
console.log(JSON.stringify({ closeMs: performance.now() - t0, pending: await pending }));
`;

describe("close", () => {
  it("leaves no open handles: a process using transports exits by itself", async () => {
    const module = fileURLToPath(new URL("../../src/transport/index.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD], {
      env: { ...process.env, TRANSPORT_MODULE: module, DEAD_PORT: String(await freePort()) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const started = performance.now();
    const code = await new Promise<number | null>((resolve) => {
      const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
      child.on("exit", (c) => {
        clearTimeout(kill);
        resolve(c);
      });
    });
    assert.equal(code, 0, `child exited by itself (stderr: ${err})`);
    const result = JSON.parse(out.trim().split("\n").pop() ?? "{}") as { closeMs: number; pending: string };
    assert.equal(result.pending, "closed", "pending requests are failed on close");
    assert.ok(result.closeMs < 1000, `close() is prompt (${result.closeMs} ms)`);
    assert.ok(performance.now() - started < 14_000);
  });

  it("in-process: no sockets, servers or timers remain after close()", async () => {
    const kinds = () =>
      process
        .getActiveResourcesInfo()
        .filter((k) => k === "TCPSocketWrap" || k === "TCPServerWrap" || k === "Timeout");
    const before = kinds().length;
    const c = await startCluster(["a", "b", "c"]);
    await c.connected();
    c.get("a").t.send([msg("a", "b", MessageType.Snap, { snapshotData: new Uint8Array(1 << 20) })]);
    await waitFor(() => c.get("b").inbox.length === 1);
    assert.ok(kinds().length > before);
    await c.close();
    await sleep(20);
    assert.equal(kinds().length, before, `resources left: ${kinds().join(", ")}`);
    // close() is idempotent and send() after close is a no-op.
    await c.get("a").t.close();
    c.get("a").t.send([msg("a", "b", MessageType.App)]);
    await assert.rejects(c.get("a").t.request("b", 1), { code: "closed" });
    assert.equal(c.get("a").t.stats().listen, undefined);
  });
});
