/**
 * The load generator, a forked child of the benchmark so its event loop and CPU are its own.
 * It receives one `run` command at a time, builds the driver it names, runs the clients and
 * answers with the result; progress goes to the parent every second.
 */
import { driverFactory } from "./registry.js";
import { Samples } from "./samples.js";
import type {
  ClosedLoopResult,
  ClosedLoopSpec,
  Driver,
  PacedResult,
  PacedSpec,
  WorkerCommand,
  WorkerReply,
} from "./types.js";

function send(msg: WorkerReply): void {
  process.send?.(msg);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A short, stable name for a failure, for the error breakdown. */
export function errorKind(e: unknown): string {
  if (e && typeof e === "object") {
    const o = e as { kind?: unknown; code?: unknown; name?: unknown };
    if (typeof o.kind === "string") return o.kind;
    if (typeof o.code === "string") return o.code;
    if (o.name === "TimeoutError" || o.name === "AbortError") return "timeout";
  }
  return "error";
}

function cpuSec(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

class Progress {
  ok = 0;
  errors = 0;
  private at = performance.now();
  private timer = setInterval(() => {
    const now = performance.now();
    send({ type: "progress", ok: this.ok, errors: this.errors, ms: now - this.at });
    this.ok = 0;
    this.errors = 0;
    this.at = now;
  }, 1000);

  stop(): void {
    clearInterval(this.timer);
  }
}

async function closedLoop(spec: ClosedLoopSpec, driver: Driver): Promise<ClosedLoopResult> {
  let recording = false;
  let running = true;
  let ok = 0;
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  const samples = new Samples();
  const progress = new Progress();
  const client = async (c: number) => {
    while (running) {
      const t0 = performance.now();
      try {
        await driver.op(c);
        const ms = performance.now() - t0;
        progress.ok++;
        if (recording) {
          ok++;
          samples.push(ms);
        }
      } catch (e) {
        progress.errors++;
        if (recording) {
          errors++;
          const k = errorKind(e);
          errorKinds[k] = (errorKinds[k] ?? 0) + 1;
        }
        // A refusing system (an election, a full queue) must not turn the client into a spin.
        await sleep(10);
      }
    }
  };
  const clients = Array.from({ length: spec.concurrency }, (_, c) => client(c));
  await sleep(spec.warmupMs);
  recording = true;
  const cpu0 = cpuSec();
  const t0 = performance.now();
  await sleep(spec.durationMs);
  recording = false;
  const windowMs = performance.now() - t0;
  const loadCpuSec = cpuSec() - cpu0;
  running = false;
  await Promise.all(clients);
  progress.stop();
  return {
    type: "closed",
    ok,
    errors,
    errorKinds,
    windowMs,
    opsPerSec: (ok * 1000) / windowMs,
    latencyMs: samples.summary(),
    loadCpuSec,
  };
}

async function paced(spec: PacedSpec, driver: Driver): Promise<PacedResult> {
  const okAtMs: number[] = [];
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  const progress = new Progress();
  const startedAtEpochMs = Date.now();
  const t0 = performance.now();
  const end = t0 + spec.durationMs;
  // Each client owns every concurrency-th slot of a fixed schedule; a late client skips ahead
  // rather than bursting, so the offered rate stays steady through an outage.
  const intervalMs = (1000 * spec.concurrency) / spec.ratePerSec;
  const client = async (c: number) => {
    let next = t0 + (c * intervalMs) / spec.concurrency;
    while (next < end) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      try {
        await driver.op(c);
        okAtMs.push(performance.now() - t0);
        progress.ok++;
      } catch (e) {
        errors++;
        progress.errors++;
        const k = errorKind(e);
        errorKinds[k] = (errorKinds[k] ?? 0) + 1;
      }
      const now = performance.now();
      next += intervalMs;
      while (next < now) next += intervalMs;
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, c) => client(c)));
  progress.stop();
  okAtMs.sort((a, b) => a - b);
  return { type: "paced", okAtMs, errors, errorKinds, startedAtEpochMs };
}

process.on("message", (raw: unknown) => {
  const cmd = raw as WorkerCommand;
  if (cmd.type === "exit") {
    process.exit(0);
  }
  void (async () => {
    const spec = cmd.spec;
    const factory = await driverFactory(spec.params.driver);
    const driver = await factory(spec.params, spec.concurrency);
    try {
      const result = spec.type === "closed" ? await closedLoop(spec, driver) : await paced(spec, driver);
      send({ type: "result", result });
    } finally {
      await driver.close();
    }
  })().catch((e: unknown) => {
    send({ type: "fatal", message: e instanceof Error ? e.message : String(e) });
  });
});

process.on("disconnect", () => process.exit(0));
