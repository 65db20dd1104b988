/** What the benchmark knows about the machine it runs on: CPUs, memory, the disk's fsync, CPU use. */
import { spawnSync } from "node:child_process";
import { closeSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";

const CLK_TCK = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** User+system CPU seconds of a process (Linux /proc), or NaN where unavailable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** Busy CPU seconds of the whole machine, all CPUs (/proc/stat), or NaN where unavailable. */
export function machineBusySeconds(): number {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return (total - (f[3] ?? 0) - (f[4] ?? 0)) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of several processes, read together. */
export function cpuOf(pids: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = cpuSeconds(pid);
  return out;
}

export interface FsyncProbe {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** 4 KiB appended and fsynced, `samples` times, in `dir` (the disk the data dirs live on). */
export function probeFsync(dir: string, samples = 200): FsyncProbe {
  const file = join(dir, "fsync-probe.bin");
  const buf = Buffer.alloc(4096, 0x5a);
  const fd = openSync(file, "w");
  const ms: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const t0 = process.hrtime.bigint();
      writeSync(fd, buf, 0, buf.length, i * buf.length);
      fsyncSync(fd);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!;
  return {
    samples,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: ms[ms.length - 1]!,
    meanMs: ms.reduce((a, b) => a + b, 0) / ms.length,
  };
}

export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  memGiB: number;
  kernel: string;
  os: string;
  node: string;
  fsync: FsyncProbe;
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"));
    return m?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function describeMachine(dir: string): MachineInfo {
  const c = cpus();
  return {
    cpuModel: c[0]?.model.trim() ?? "unknown",
    cpus: c.length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    os: osName(),
    node: process.version,
    fsync: probeFsync(dir),
  };
}
