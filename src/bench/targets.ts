/** The targets and the ratios between systems, computed from a run's results. */
import { type BenchResults, findRun, type TargetRow } from "./results.js";

const TR = "taskraft-3";

function rate(r: BenchResults, system: string, workload: string, c: number): number | undefined {
  const row = findRun(r.runs, system, workload, c);
  return row ? (row.rowsPerSec ?? row.opsPerSec) : undefined;
}

export function computeRatios(r: BenchResults): { name: string; value: number }[] {
  const out: { name: string; value: number }[] = [];
  const levels = [...new Set(r.runs.map((x) => x.concurrency))].sort((a, b) => a - b);
  const pairs: [string, string, string, string, string][] = [
    ["taskraft-3 create / mariadb-1 insert", TR, "create", "mariadb-1", "insert"],
    ["taskraft-3 create / mariadb-1 batched insert (rows)", TR, "create", "mariadb-1", "insert-batched"],
    ["taskraft-3 create / galera-3 insert", TR, "create", "galera-3", "insert"],
    ["taskraft-3 create / etcd-3 put", TR, "create", "etcd-3", "put"],
    ["taskraft-3 create / taskraft-1 create", TR, "create", "taskraft-1", "create"],
    ["taskraft-3 read / mariadb-1 read", TR, "read", "mariadb-1", "read"],
    ["taskraft-3 read / galera-3 read", TR, "read", "galera-3", "read"],
    ["taskraft-3 read / etcd-3 get", TR, "read", "etcd-3", "get"],
    ["taskraft-3 read / taskraft-1 read", TR, "read", "taskraft-1", "read"],
    ["taskraft-3 stale read / linearizable read", TR, "read-stale", TR, "read"],
  ];
  for (const [name, s1, w1, s2, w2] of pairs) {
    for (const c of levels) {
      const a = rate(r, s1, w1, c);
      const b = rate(r, s2, w2, c);
      if (a !== undefined && b !== undefined && b > 0)
        out.push({ name: `${name} at ${c} clients`, value: a / b });
    }
  }
  const tf = r.failover.find((f) => f.system === TR);
  for (const other of ["etcd-3", "galera-3"]) {
    const of = r.failover.find((f) => f.system === other);
    if (tf && of && of.medianGapMs > 0) {
      out.push({
        name: `failover median write gap: taskraft-3 / ${other}`,
        value: tf.medianGapMs / of.medianGapMs,
      });
    }
  }
  return out;
}

function fmt(n: number | undefined, unit = ""): string {
  return n === undefined || !Number.isFinite(n)
    ? "not measured"
    : `${Math.round(n).toLocaleString("en-US")}${unit}`;
}

export function computeTargets(r: BenchResults, levels: readonly number[]): TargetRow[] {
  const hi = Math.max(...levels);
  const mid = levels.includes(16) ? 16 : levels[Math.floor(levels.length / 2)]!;
  const create = rate(r, TR, "create", hi);
  const mysql = rate(r, "mariadb-1", "insert", hi);
  const galera = rate(r, "galera-3", "insert", hi);
  const read = rate(r, TR, "read", hi);
  const stale = rate(r, TR, "read-stale", hi);
  const p99 = findRun(r.runs, TR, "create", mid)?.latencyMs.p99;
  const tf = r.failover.find((f) => f.system === TR);
  const others = r.failover.filter((f) => f.system !== TR);
  const cmp = (ok: boolean | undefined, ...need: (number | undefined)[]) =>
    need.some((x) => x === undefined || !Number.isFinite(x)) ? undefined : ok;
  return [
    {
      target: `task create at ${hi} clients ≥ 5,000/s`,
      value: `${fmt(create, "/s")}`,
      met: cmp(create !== undefined && create >= 5000, create),
    },
    {
      target: `task create at ${hi} clients ≥ 50 % of one MariaDB's one-row autocommit inserts`,
      value:
        create !== undefined && mysql
          ? `${fmt(create)} vs ${fmt(mysql)} (${Math.round((100 * create) / mysql)} %)`
          : "not measured",
      met: cmp(create !== undefined && mysql !== undefined && create >= 0.5 * mysql, create, mysql),
    },
    {
      target: `task create at ${hi} clients ≥ 2× the Galera cluster's inserts`,
      value:
        create !== undefined && galera
          ? `${fmt(create)} vs ${fmt(galera)} (${(create / galera).toFixed(2)}×)`
          : "not measured",
      met: cmp(create !== undefined && galera !== undefined && create >= 2 * galera, create, galera),
    },
    {
      target: `linearizable read by id at ${hi} clients ≥ 10,000/s`,
      value: fmt(read, "/s"),
      met: cmp(read !== undefined && read >= 10_000, read),
    },
    {
      target: "stale reads faster than linearizable reads",
      value: stale !== undefined && read !== undefined ? `${fmt(stale)} vs ${fmt(read)}` : "not measured",
      met: cmp(stale !== undefined && read !== undefined && stale > read, stale, read),
    },
    {
      target: `p99 create latency at ${mid} clients < 25 ms`,
      value: p99 === undefined ? "not measured" : `${p99.toFixed(1)} ms`,
      met: cmp(p99 !== undefined && p99 < 25, p99),
    },
    {
      target: "failover: median client-observed write gap < 1 s",
      value: fmt(tf?.medianGapMs, " ms"),
      met: cmp(tf !== undefined && tf.medianGapMs < 1000, tf?.medianGapMs),
    },
    {
      target: "failover: max write gap < 2 s",
      value: fmt(tf?.maxGapMs, " ms"),
      met: cmp(tf !== undefined && tf.maxGapMs < 2000, tf?.maxGapMs),
    },
    ...others.map((o) => ({
      target: `failover: median write gap below ${o.system}'s`,
      value: `${fmt(tf?.medianGapMs, " ms")} vs ${fmt(o.medianGapMs, " ms")}`,
      met: cmp(tf !== undefined && tf.medianGapMs < o.medianGapMs, tf?.medianGapMs),
    })),
  ];
}
