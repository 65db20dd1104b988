import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { BEGIN, END, markdownSection, throughputSvg, writeReport } from "../../src/bench/report.js";
import type { BenchResults, RunRow } from "../../src/bench/results.js";
import { median } from "../../src/bench/results.js";
import { writeGapMs } from "../../src/bench/run.js";
import { histogramTotals } from "../../src/bench/systems/taskraft.js";
import { computeRatios, computeTargets } from "../../src/bench/targets.js";

function row(system: string, workload: string, concurrency: number, opsPerSec: number, p99 = 5): RunRow {
  return {
    system,
    workload,
    concurrency,
    opsPerSec,
    latencyMs: { p50: 1, p95: 2, p99, max: 9, mean: 1.5 },
    ok: opsPerSec * 8,
    errors: 0,
    errorKinds: {},
    cpuPct: { n1: 50 },
    loadGeneratorCpuPct: 20,
    machineBusyPct: 60,
  };
}

function results(runs: RunRow[], failover: BenchResults["failover"] = []): BenchResults {
  return {
    startedAt: "2026-11-25T10:00:00.000Z",
    finishedAt: "2026-11-25T10:05:00.000Z",
    command: "taskraft bench",
    options: { warmupMs: 2000, durationMs: 8000, levels: [1, 16, 64] },
    machine: {
      cpuModel: "test cpu",
      cpus: 2,
      memGiB: 24,
      kernel: "6.1",
      os: "Debian",
      node: "v20",
      fsync: { samples: 10, p50Ms: 0.3, p99Ms: 0.5, maxMs: 0.6, meanMs: 0.3 },
    },
    runs,
    failover,
    unavailable: [],
    ratios: [],
    targets: [],
  };
}

describe("bench units", () => {
  test("writeGapMs: the silence spanning the kill, a later one if longer, and no acks after the kill", () => {
    // acks every 10 ms, kill at 100, nothing until 700, then regular again.
    const acks = [10, 20, 30, 90, 700, 710, 720];
    assert.equal(writeGapMs(acks, 100, 1000), 610);
    // a second, longer silence after recovery counts too
    assert.equal(writeGapMs([90, 300, 1200], 100, 2000), 900);
    // nothing acknowledged after the kill: at least until the end of the run
    assert.equal(writeGapMs([50, 90], 100, 3000), 2910);
    // nothing at all
    assert.equal(writeGapMs([], 100, 3000), 3000);
  });

  test("histogramTotals sums _sum and _count lines of one histogram only", () => {
    const text = [
      "# HELP taskraft_apply_batch_entries x",
      'taskraft_apply_batch_entries_bucket{le="1"} 3',
      "taskraft_apply_batch_entries_sum 120",
      "taskraft_apply_batch_entries_count 10",
      "taskraft_raft_entries_per_sync_sum 7",
      "taskraft_raft_entries_per_sync_count 2",
    ].join("\n");
    assert.deepEqual(histogramTotals(text, "taskraft_apply_batch_entries"), { sum: 120, count: 10 });
    assert.deepEqual(histogramTotals(text, "taskraft_raft_entries_per_sync"), { sum: 7, count: 2 });
    assert.deepEqual(histogramTotals(text, "absent"), { sum: 0, count: 0 });
  });

  test("median of odd, even and empty lists", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  test("targets: met, not met, and not measured when a baseline is missing", () => {
    const r = results(
      [
        row("taskraft-3", "create", 16, 3000, 30),
        row("taskraft-3", "create", 64, 6000),
        row("taskraft-3", "read", 64, 12_000),
        row("taskraft-3", "read-stale", 64, 15_000),
        row("mariadb-1", "insert", 64, 16_000),
      ],
      [
        {
          system: "taskraft-3",
          ratePerSec: 100,
          clients: 8,
          trials: [],
          medianGapMs: 800,
          maxGapMs: 2500,
          medianNewLeaderMs: 500,
        },
      ],
    );
    const t = computeTargets(r, [1, 16, 64]);
    const by = (s: string) => t.find((x) => x.target.includes(s));
    assert.equal(by("≥ 5,000/s")?.met, true);
    assert.equal(by("50 %")?.met, false, "6,000 is less than half of 16,000");
    assert.equal(by("Galera")?.met, undefined);
    assert.equal(by("10,000/s")?.met, true);
    assert.equal(by("stale")?.met, true);
    assert.equal(by("p99")?.met, false);
    assert.equal(by("median client-observed")?.met, true);
    assert.equal(by("max write gap")?.met, false);
    const ratios = computeRatios(r);
    const ratio = ratios.find((x) => x.name === "taskraft-3 create / mariadb-1 insert at 64 clients");
    assert.equal(ratio?.value, 6000 / 16_000);
  });

  test("the report replaces only the section between its markers, and the chart has a bar per run", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-report-"));
    try {
      const file = join(dir, "BENCHMARKS.md");
      writeFileSync(
        file,
        `# Benchmarks\n\nhand-written intro\n\n${BEGIN}\nold figures\n${END}\n\nhand-written outro\n`,
      );
      const r = results([row("taskraft-3", "create", 64, 6000), row("mariadb-1", "insert", 64, 16_000)]);
      r.targets = computeTargets(r, [64]);
      writeReport(r, file);
      const text = readFileSync(file, "utf8");
      assert.match(text, /hand-written intro/);
      assert.match(text, /hand-written outro/);
      assert.doesNotMatch(text, /old figures/);
      assert.match(text, /\| taskraft-3 \| create \| 64 \| 6,000 \|/);
      assert.match(text, /!\[throughput at the highest concurrency\]\(bench\/throughput\.svg\)/);
      const svg = readFileSync(join(dir, "bench", "throughput.svg"), "utf8");
      assert.equal((svg.match(/<rect x=/g) ?? []).length, 2);
      assert.match(svg, /16,000\/s/);
      // a second write keeps one section
      writeReport(r, file);
      assert.equal(readFileSync(file, "utf8").split(BEGIN).length, 2);
      assert.ok(markdownSection(r, undefined).length > 0);
      assert.ok(throughputSvg(r).startsWith("<svg"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
