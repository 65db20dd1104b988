import assert from "node:assert/strict";
import { test } from "node:test";
import { committedIndex, hasQuorum, majority, tallyVotes } from "../../src/raft/quorum.js";

const ids = (n: number) => Array.from({ length: n }, (_, i) => `n${i + 1}`);

test("§5.2 majority arithmetic for 1..7 voters", () => {
  const expected = [1, 2, 2, 3, 3, 4, 4];
  for (let n = 1; n <= 7; n++) assert.equal(majority(n), expected[n - 1], `${n} voters`);
});

test("§5.3 committedIndex is the highest index held by a majority, for 1..7 voters", () => {
  for (let n = 1; n <= 7; n++) {
    const voters = ids(n);
    // Voter i holds index i * 10, so the majority-th highest is the answer.
    const match = (id: string) => Number(id.slice(1)) * 10;
    const sorted = voters.map(match).sort((a, b) => b - a);
    assert.equal(committedIndex(voters, match), sorted[majority(n) - 1], `${n} voters`);
  }
});

test("committedIndex examples: ties, a lagging minority, no voters", () => {
  const m = (values: Record<string, number>) => (id: string) => values[id] ?? 0;
  assert.equal(committedIndex(["a", "b", "c"], m({ a: 5, b: 5, c: 1 })), 5);
  assert.equal(committedIndex(["a", "b", "c"], m({ a: 9, b: 2, c: 1 })), 2);
  assert.equal(committedIndex(["a", "b", "c", "d"], m({ a: 9, b: 8, c: 2, d: 1 })), 2);
  assert.equal(committedIndex(["a", "b", "c", "d", "e"], m({ a: 7, b: 7, c: 7, d: 0, e: 0 })), 7);
  assert.equal(committedIndex([], m({})), 0);
});

test("§5.2 vote tally: won once a majority grants", () => {
  const voters = ids(5);
  const votes = new Map([
    ["n1", true],
    ["n2", true],
  ]);
  assert.equal(tallyVotes(voters, votes), "pending");
  votes.set("n3", true);
  assert.equal(tallyVotes(voters, votes), "won");
});

test("§5.2 vote tally: lost once a majority can no longer be reached", () => {
  const voters = ids(5);
  const votes = new Map([
    ["n1", true],
    ["n2", false],
    ["n3", false],
  ]);
  assert.equal(tallyVotes(voters, votes), "pending");
  votes.set("n4", false);
  assert.equal(tallyVotes(voters, votes), "lost");
});

test("vote tally: even-sized clusters need a strict majority", () => {
  const voters = ids(4);
  const half = new Map([
    ["n1", true],
    ["n2", true],
    ["n3", false],
    ["n4", false],
  ]);
  assert.equal(tallyVotes(voters, half), "lost");
  half.delete("n4");
  assert.equal(tallyVotes(voters, half), "pending");
});

test("vote tally: votes from non-voters (learners, removed nodes) do not count", () => {
  const votes = new Map([
    ["n1", true],
    ["learner", true],
    ["gone", true],
  ]);
  assert.equal(tallyVotes(ids(3), votes), "pending");
  assert.equal(tallyVotes(["n1"], new Map([["n1", true]])), "won");
});

test("hasQuorum: a majority of voters acknowledging; an empty voter set has none", () => {
  const acked = new Set(["n1", "n3", "x"]);
  assert.equal(
    hasQuorum(ids(3), (id) => acked.has(id)),
    true,
  );
  assert.equal(
    hasQuorum(ids(5), (id) => acked.has(id)),
    false,
  );
  assert.equal(
    hasQuorum([], () => true),
    false,
  );
});
