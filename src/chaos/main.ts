/**
 * `npm run chaos -- [--duration 60] [--nodes 3|5] [--clients 10] [--seed S] [--out DIR]`: the
 * fault-tolerance proof (docs/RELIABILITY.md). The very last line is
 * `chaos: PASS|FAIL ops=N ok=N info=N maxGapMs=N`; the exit status is 1 on any violation.
 */
import { parseChaosArgs, USAGE, UsageError } from "./run/options.js";
import { runChaos } from "./run/runner.js";

async function main(): Promise<number> {
  let opts: ReturnType<typeof parseChaosArgs>;
  try {
    opts = parseChaosArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      if (e.message === "help") {
        console.log(USAGE);
        return 0;
      }
      console.error(`chaos: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  try {
    const r = await runChaos(opts);
    console.log(r.lastLine);
    return r.pass ? 0 : 1;
  } catch (e) {
    console.error(`chaos: the run could not complete: ${(e as Error).stack ?? e}`);
    console.log("chaos: FAIL ops=0 ok=0 info=0 maxGapMs=0");
    return 1;
  }
}

process.exitCode = await main();
