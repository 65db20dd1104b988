/**
 * The benchmark's outputs besides results.json: the terminal summary, the markdown section for
 * docs/BENCHMARKS.md (between markers, so the hand-written text around it stays) and an SVG chart.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import type { BenchResults, RunRow } from "./results.js";

export const BEGIN = "<!-- bench:begin (written by `npm run bench`; edits here are overwritten) -->";
export const END = "<!-- bench:end -->";

function n0(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? "—" : Math.round(x).toLocaleString("en-US");
}
function n1(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(1);
}
function n2(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(2);
}

function rateOf(r: RunRow): number {
  return r.rowsPerSec ?? r.opsPerSec;
}

function cpuText(r: RunRow): string {
  return Object.entries(r.cpuPct)
    .map(([k, v]) => `${k} ${n0(v)}`)
    .join(", ");
}

function metText(m: boolean | undefined): string {
  return m === undefined ? "not measured" : m ? "**met**" : "**not met**";
}

/** Horizontal bars: the rate at the highest concurrency of every (system, workload). */
export function throughputSvg(r: BenchResults): string {
  const hi = Math.max(...r.runs.map((x) => x.concurrency));
  const rows = r.runs.filter((x) => x.concurrency === hi);
  const max = Math.max(1, ...rows.map(rateOf));
  const barH = 18;
  const gap = 6;
  const left = 250;
  const width = 760;
  const plot = width - left - 90;
  const height = 40 + rows.length * (barH + gap);
  const colors: Record<string, string> = {
    "taskraft-3": "#2563eb",
    "taskraft-1": "#60a5fa",
    "mariadb-1": "#64748b",
    "galera-3": "#d97706",
    "etcd-3": "#059669",
  };
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const bars = rows
    .map((x, i) => {
      const y = 30 + i * (barH + gap);
      const w = Math.max(1, (plot * rateOf(x)) / max);
      const label = `${x.system} ${x.workload}${x.rowsPerSec !== undefined ? " (rows)" : ""}`;
      return [
        `<text x="${left - 8}" y="${y + 13}" text-anchor="end">${esc(label)}</text>`,
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colors[x.system] ?? "#94a3b8"}"/>`,
        `<text x="${(left + w + 6).toFixed(1)}" y="${y + 13}">${n0(rateOf(x))}/s</text>`,
      ].join("");
    })
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<title>Operations per second at ${hi} concurrent clients, by system and workload</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="18" font-weight="bold">Operations per second at ${hi} concurrent clients (${esc(r.startedAt.slice(0, 16).replace("T", " "))} UTC, ${r.machine.cpus} vCPU)</text>
${bars}
</svg>
`;
}

export function markdownSection(r: BenchResults, chartPath: string | undefined): string {
  const m = r.machine;
  const L: string[] = [];
  L.push(
    `Run on ${r.startedAt.slice(0, 16).replace("T", " ")} UTC with \`${r.command}\` (${n0((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000)} s).`,
  );
  L.push("");
  L.push(
    `**Machine:** ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, ${m.os}, kernel ${m.kernel}, Node.js ${m.node}; a 4 KiB write + fsync takes p50 ${n2(m.fsync.p50Ms)} ms, p99 ${n2(m.fsync.p99Ms)} ms. Servers, nodes and the load generator all share this machine.`,
  );
  L.push("");
  const o = r.options as { warmupMs: number; durationMs: number; levels: number[] };
  L.push(
    `Each measurement: ${n1(o.warmupMs / 1000)} s warm-up, then ${n1(o.durationMs / 1000)} s measured, closed loop (each client sends its next request when the last is answered), at ${o.levels.join(", ")} clients. CPU is % of one core over the window.`,
  );
  if (chartPath) {
    L.push("");
    L.push(`![throughput at the highest concurrency](${chartPath})`);
  }
  L.push("");
  L.push("### Targets");
  L.push("");
  L.push("| target | result | |");
  L.push("|---|---|---|");
  for (const t of r.targets) L.push(`| ${t.target} | ${t.value} | ${metText(t.met)} |`);
  L.push("");
  L.push("### Throughput and latency");
  L.push("");
  L.push(
    "| system | workload | clients | ops/s | p50 ms | p95 ms | p99 ms | max ms | errors | entries/fsync | entries/MySQL tx | CPU % (per process) |",
  );
  L.push("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const x of r.runs) {
    const ops =
      x.rowsPerSec !== undefined ? `${n0(x.opsPerSec)} (${n0(x.rowsPerSec)} rows)` : n0(x.opsPerSec);
    L.push(
      `| ${x.system} | ${x.workload} | ${x.concurrency} | ${ops} | ${n2(x.latencyMs.p50)} | ${n2(x.latencyMs.p95)} | ${n2(x.latencyMs.p99)} | ${n1(x.latencyMs.max)} | ${x.errors} | ${n1(x.batching?.entriesPerFsync)} | ${n1(x.batching?.entriesPerApplyTx)} | ${cpuText(x)}; load ${n0(x.loadGeneratorCpuPct)} |`,
    );
  }
  if (r.failover.length > 0) {
    L.push("");
    L.push("### Failover: kill -9 of the leader under steady writes");
    L.push("");
    L.push(
      "| system | trials | offered writes/s | median write gap ms | max write gap ms | median time to new leader ms | gaps ms |",
    );
    L.push("|---|---:|---:|---:|---:|---:|---|");
    for (const f of r.failover) {
      L.push(
        `| ${f.system} | ${f.trials.length} | ${f.ratePerSec} | ${n0(f.medianGapMs)} | ${n0(f.maxGapMs)} | ${n0(f.medianNewLeaderMs)} | ${f.trials.map((t) => n0(t.gapMs)).join(", ")} |`,
      );
    }
  }
  if (r.ratios.length > 0) {
    L.push("");
    L.push("### Ratios");
    L.push("");
    L.push("| ratio | value |");
    L.push("|---|---:|");
    for (const x of r.ratios) L.push(`| ${x.name} | ${n2(x.value)} |`);
  }
  if (r.unavailable.length > 0) {
    L.push("");
    L.push("### Not measured");
    L.push("");
    for (const u of r.unavailable) L.push(`- ${u.system}: ${u.reason}`);
  }
  return L.join("\n");
}

/** Writes the chart next to `reportFile` and replaces the section between the markers. */
export function writeReport(r: BenchResults, reportFile: string): void {
  const dir = dirname(reportFile);
  const chartDir = join(dir, "bench");
  mkdirSync(chartDir, { recursive: true });
  const chart = join(chartDir, "throughput.svg");
  writeFileSync(chart, throughputSvg(r));
  const section = markdownSection(r, relative(dir, chart));
  const before = existsSync(reportFile) ? readFileSync(reportFile, "utf8") : `# Benchmarks\n`;
  const i = before.indexOf(BEGIN);
  const j = before.indexOf(END);
  const body = `${BEGIN}\n${section}\n${END}`;
  const next =
    i >= 0 && j > i
      ? `${before.slice(0, i)}${body}${before.slice(j + END.length)}`
      : `${before.trimEnd()}\n\n## End to end — \`npm run bench\` (${basename(reportFile)})\n\n${body}\n`;
  writeFileSync(reportFile, next);
}

/** The terminal summary printed at the end of a run. */
export function terminalSummary(r: BenchResults): string {
  const L: string[] = ["", "targets:"];
  for (const t of r.targets)
    L.push(`  ${t.met === undefined ? "  ?" : t.met ? " ok" : "NOT"}  ${t.target}: ${t.value}`);
  if (r.failover.length > 0) {
    L.push("failover (kill -9 of the leader):");
    for (const f of r.failover) {
      L.push(
        `  ${f.system.padEnd(12)} median gap ${n0(f.medianGapMs)} ms, max ${n0(f.maxGapMs)} ms, new leader after ${n0(f.medianNewLeaderMs)} ms (${f.trials.length} trials)`,
      );
    }
  }
  if (r.ratios.length > 0) {
    L.push("ratios:");
    for (const x of r.ratios) L.push(`  ${x.name}: ${n2(x.value)}`);
  }
  for (const u of r.unavailable) L.push(`not measured: ${u.system}: ${u.reason}`);
  return L.join("\n");
}
