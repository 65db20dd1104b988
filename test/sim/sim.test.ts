import assert from "node:assert/strict";
import { test } from "node:test";
import { runSeed } from "./schedule.js";

/**
 * The deterministic simulation in `npm test`: 1,000 seeded schedules of faults
 * over 3-, 5- and 7-node clusters. A failure names the seed; replay it with
 * `npm run sim -- --seed S --nodes K --trace`.
 */
const suites: { nodes: number; seeds: number; start: number }[] = [
  { nodes: 3, seeds: 400, start: 1 },
  { nodes: 5, seeds: 400, start: 100_001 },
  { nodes: 7, seeds: 200, start: 200_001 },
];

for (const s of suites) {
  test(`simulation: ${s.seeds} seeds on ${s.nodes} nodes keep every Raft invariant and converge`, () => {
    const failures: string[] = [];
    for (let seed = s.start; seed < s.start + s.seeds; seed++) {
      const r = runSeed({ seed, nodes: s.nodes });
      if (!r.ok)
        failures.push(
          `seed ${seed}: ${r.violation}\nreplay: npm run sim -- --seed ${seed} --nodes ${s.nodes} --trace`,
        );
      if (failures.length >= 3) break;
    }
    assert.deepEqual(failures, [], failures.join("\n\n"));
  });
}
