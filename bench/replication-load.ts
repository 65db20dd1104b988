/**
 * Load generator for bench/replication.ts, run as a forked child so its event
 * loop is shared with nothing else. Driven over IPC:
 *
 *   start {host, port, concurrency, valueBytes, keys}  N proposers loop POST /put (keep-alive)
 *   mark                                               reset counters; record latencies from now
 *   end                                                stop recording; answer with the window's result
 *   stop                                               stop the proposers, wait for in-flight requests
 *
 * Every second it reports progress (acknowledged puts and errors since the last report).
 */
import { Agent, request } from "node:http";

export interface StartCmd {
  type: "start";
  host: string;
  port: number;
  concurrency: number;
  valueBytes: number;
  keys: number;
}

export type LoadCmd = StartCmd | { type: "mark" } | { type: "end" } | { type: "stop" };

export interface LoadResult {
  ok: number;
  errors: number;
  /** Non-200 answers and failures by status code ("ECONNRESET", "504", ...). */
  errorKinds: Record<string, number>;
  windowMs: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
}

export type LoadReply =
  | { type: "started" }
  | { type: "marked" }
  | { type: "result"; result: LoadResult }
  | { type: "stopped" }
  | { type: "progress"; ok: number; errors: number; ms: number }
  | { type: "fatal"; message: string };

/** Latencies in a growable Float64Array: no per-sample allocation in the hot loop. */
class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }

  summary(): LoadResult["latencyMs"] {
    const s = this.data.slice(0, this.length).sort();
    const at = (q: number) =>
      s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
    let sum = 0;
    for (const v of s) sum += v;
    return {
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      p999: at(0.999),
      max: s.length === 0 ? Number.NaN : s[s.length - 1]!,
      mean: s.length === 0 ? Number.NaN : sum / s.length,
    };
  }
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

function randomValue(bytes: number): string {
  let s = "";
  for (let i = 0; i < bytes; i++) s += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return s;
}

function send(msg: LoadReply): void {
  process.send?.(msg);
}

let running = false;
let recording = false;
let workers: Promise<void>[] = [];
let agent: Agent | undefined;
let samples = new Samples();
let ok = 0;
let errors = 0;
let errorKinds: Record<string, number> = {};
let markedAt = 0;
let progressOk = 0;
let progressErr = 0;
let progressAt = performance.now();

function put(cmd: StartCmd, a: Agent, body: Buffer): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: cmd.host,
        port: cmd.port,
        method: "POST",
        path: "/put",
        agent: a,
        headers: { "content-type": "application/json", "content-length": body.length },
      },
      (res) => {
        res.on("data", () => {});
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    req.end(body);
  });
}

async function worker(cmd: StartCmd, a: Agent, w: number): Promise<void> {
  const value = randomValue(cmd.valueBytes);
  for (let i = 0; running; i++) {
    const key = `k${(w * 7919 + i) % cmd.keys}`;
    const body = Buffer.from(JSON.stringify({ key, value }));
    const t0 = performance.now();
    const status = await put(cmd, a, body);
    const ms = performance.now() - t0;
    if (status === 200) {
      progressOk++;
      if (recording) {
        ok++;
        samples.push(ms);
      }
    } else {
      progressErr++;
      if (recording) {
        errors++;
        errorKinds[String(status)] = (errorKinds[String(status)] ?? 0) + 1;
      }
      // Do not spin on a node that refuses (e.g. during an election).
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

function resetWindow(): void {
  samples = new Samples();
  ok = 0;
  errors = 0;
  errorKinds = {};
  markedAt = performance.now();
}

const progressTimer = setInterval(() => {
  if (!running) return;
  const now = performance.now();
  send({ type: "progress", ok: progressOk, errors: progressErr, ms: now - progressAt });
  progressOk = 0;
  progressErr = 0;
  progressAt = now;
}, 1000);

process.on("message", (raw: unknown) => {
  const cmd = raw as LoadCmd;
  try {
    switch (cmd.type) {
      case "start": {
        if (running) throw new Error("already running");
        running = true;
        recording = false;
        agent = new Agent({ keepAlive: true, maxSockets: cmd.concurrency, maxFreeSockets: cmd.concurrency });
        const a = agent;
        progressOk = 0;
        progressErr = 0;
        progressAt = performance.now();
        workers = Array.from({ length: cmd.concurrency }, (_, w) => worker(cmd, a, w));
        send({ type: "started" });
        break;
      }
      case "mark":
        resetWindow();
        recording = true;
        send({ type: "marked" });
        break;
      case "end": {
        recording = false;
        const windowMs = performance.now() - markedAt;
        send({
          type: "result",
          result: { ok, errors, errorKinds, windowMs, latencyMs: samples.summary() },
        });
        break;
      }
      case "stop":
        running = false;
        void Promise.all(workers).then(() => {
          agent?.destroy();
          agent = undefined;
          workers = [];
          send({ type: "stopped" });
        });
        break;
    }
  } catch (e) {
    send({ type: "fatal", message: (e as Error).message });
  }
});

// The parent went away (Ctrl-C, crash): nothing left to do.
process.on("disconnect", () => {
  clearInterval(progressTimer);
  process.exit(0);
});
