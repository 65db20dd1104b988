/**
 * Majority arithmetic, in one place. With one voter change at a time (§4.1) any
 * two majorities of consecutive configurations overlap, so plain majorities suffice.
 */

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** The largest index that a majority of voters has: the candidate commit index. */
export function committedIndex(voters: readonly string[], matchOf: (id: string) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[majority(voters.length) - 1]!;
}

export type VoteOutcome = "won" | "lost" | "pending";

export function tallyVotes(voters: readonly string[], votes: ReadonlyMap<string, boolean>): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const need = majority(voters.length);
  if (granted >= need) return "won";
  if (rejected > voters.length - need) return "lost";
  return "pending";
}

/** Does the set of acknowledging nodes contain a majority of voters? */
export function hasQuorum(voters: readonly string[], acked: (id: string) => boolean): boolean {
  let n = 0;
  for (const id of voters) if (acked(id)) n++;
  return voters.length > 0 && n >= majority(voters.length);
}
