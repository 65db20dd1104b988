/**
 * Runs simulation seeds 1..N in this process and stops at the first violation
 * (exit 1). Used by the mutation runner inside a mutated copy of the project,
 * where `../sim/schedule.js` resolves to the copy's (mutated) core.
 */
import { parseArgs } from "node:util";
import { runSeed } from "../sim/schedule.js";

const { values } = parseArgs({
  options: { seeds: { type: "string", default: "300" }, start: { type: "string", default: "1" } },
  strict: true,
});
const count = Number(values.seeds);
const start = Number(values.start);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(start) || start < 0) {
  console.error("sim-runner: --seeds must be an integer >= 1 and --start >= 0");
  process.exit(2);
}

for (let seed = start; seed < start + count; seed++) {
  const r = runSeed({ seed });
  if (!r.ok) {
    console.log(`VIOLATION seed=${seed} nodes=${r.nodes} after ${seed - start + 1} seeds: ${r.violation}`);
    process.exit(1);
  }
}
console.log(`sim-runner: ${count} seeds, 0 violations`);
