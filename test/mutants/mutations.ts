/**
 * Hand-written mutations of the Raft core, each a real bug the tests must catch.
 * A mutation is one or more exact find/replace edits; each `find` must occur
 * exactly once in its file (after the previous edits of the same mutation), or
 * the mutation is reported BROKEN, so a refactor that invalidates it is noticed.
 */

export interface Edit {
  /** Path relative to the project root. */
  file: string;
  find: string;
  replace: string;
}

export interface Mutation {
  name: string;
  /** The bug this mutation introduces, and the Raft rule it breaks. */
  description: string;
  edits: Edit[];
}

const RAFT = "src/raft/raft.ts";
const NODE = "src/raft/node.ts";
const LOG = "src/raft/log.ts";

export const mutations: Mutation[] = [
  {
    name: "commit-old-term",
    description: "leader commits by counting replicas of entries from earlier terms (Figure 8, §5.4.2)",
    edits: [
      {
        file: RAFT,
        find: "if (mci > this.log.committed && this.log.termOrZero(mci) === this.term) {",
        replace: "if (mci > this.log.committed) {",
      },
    ],
  },
  {
    name: "vote-without-log-check",
    description: "votes for a candidate whose log is less up-to-date (election restriction, §5.4.1)",
    edits: [
      {
        file: RAFT,
        find: "if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {",
        replace: "if (canVote) {",
      },
    ],
  },
  {
    name: "vote-reply-before-persist",
    description:
      "a vote that changes alone is neither in Ready.hardState nor fsynced before the grant is sent",
    edits: [
      {
        file: NODE,
        find: "return a.term === b.term && a.vote === b.vote && a.commit === b.commit;",
        replace: "return a.term === b.term && a.commit === b.commit;",
      },
      {
        file: NODE,
        find: "      hs.term !== this.prevHard.term ||\n      hs.vote !== this.prevHard.vote;",
        replace: "      hs.term !== this.prevHard.term;",
      },
    ],
  },
  {
    name: "truncate-matching-entries",
    description: "a follower truncates from the first entry of every AppendEntries, even a stale one (§5.3)",
    edits: [
      {
        file: RAFT,
        find: "const conflict = this.log.findConflict(m.entries);",
        replace: "const conflict = m.entries[0]?.index ?? 0;",
      },
    ],
  },
  {
    name: "read-without-leadership-check",
    description: "ReadIndex is answered without a heartbeat round confirming leadership (§6.4)",
    edits: [
      {
        file: RAFT,
        find: "if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {",
        replace: "if (true) {",
      },
    ],
  },
  {
    name: "apply-beyond-commit",
    description: "entries up to the last index, committed or not, are handed to the state machine",
    edits: [
      {
        file: LOG,
        find: "return !this.unstableSnapshot && this.committed > this.applied;",
        replace: "return !this.unstableSnapshot && this.lastIndex() > this.applied;",
      },
      {
        file: LOG,
        find: "return this.slice(this.applied + 1, this.committed + 1, maxBytes);",
        replace: "return this.slice(this.applied + 1, this.lastIndex() + 1, maxBytes);",
      },
    ],
  },
  {
    name: "forget-vote-reset",
    description: "on a new term the vote of the old term is kept, so a node can refuse or double-vote (§5.2)",
    edits: [
      {
        file: RAFT,
        find: "      this.term = term;\n      this.vote = NONE;\n",
        replace: "      this.term = term;\n",
      },
    ],
  },
];

/** Applies `edits` to `text` of `file`; returns the new text, or why an edit does not apply exactly once. */
export function applyEdits(
  file: string,
  text: string,
  edits: readonly Edit[],
): { ok: true; text: string } | { ok: false; reason: string } {
  let out = text;
  for (const [i, e] of edits.entries()) {
    if (e.file !== file) continue;
    const first = out.indexOf(e.find);
    const count = first < 0 ? 0 : out.split(e.find).length - 1;
    if (count !== 1) {
      const what = JSON.stringify(e.find.length > 60 ? `${e.find.slice(0, 57)}...` : e.find);
      return { ok: false, reason: `edit ${i + 1}: ${what} occurs ${count} times in ${file}` };
    }
    out = out.slice(0, first) + e.replace + out.slice(first + e.find.length);
  }
  return { ok: true, text: out };
}
