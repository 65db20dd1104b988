/**
 * Known bugs the chaos run must catch. With TASKRAFT_CHAOS_MUTANT=<name> the runner copies src/
 * (and package.json, tsconfig.json) to a temporary directory, applies the mutation there and runs
 * the nodes from that copy; the checkout is never touched. Each edit must match exactly once, so a
 * refactor that invalidates a mutation is reported instead of silently testing nothing.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ChaosMutation {
  readonly name: string;
  /** The bug, and the guarantee of API.md it breaks. */
  readonly description: string;
  readonly edits: readonly { readonly file: string; readonly find: string; readonly replace: string }[];
}

export const CHAOS_MUTATIONS: readonly ChaosMutation[] = [
  {
    name: "follower-local-read",
    description:
      "a node that is not the leader serves default (linearizable) reads from its own database " +
      "without a ReadIndex round: reads may be stale (API.md §2 Reads)",
    edits: [
      {
        file: "src/api/guards.ts",
        find: 'const stale = consistencyOf(req) === "stale";',
        replace: 'const stale = consistencyOf(req) === "stale" || ctx.replica.role !== "leader";',
      },
    ],
  },
  {
    name: "ack-before-majority",
    description:
      "the leader counts an entry committed as soon as its own log has it, so it applies and " +
      "answers 2xx before a majority holds the entry (API.md §2 Writes; Raft §5.3)",
    edits: [
      {
        file: "src/raft/raft.ts",
        find: "const mci = committedIndex(this.conf.voters, this.matchOf);",
        replace: "const mci = this.log.lastIndex();",
      },
    ],
  },
];

export function findMutation(name: string): ChaosMutation {
  const m = CHAOS_MUTATIONS.find((x) => x.name === name);
  if (!m) {
    throw new Error(
      `unknown TASKRAFT_CHAOS_MUTANT '${name}'; known: ${CHAOS_MUTATIONS.map((x) => x.name).join(", ")}`,
    );
  }
  return m;
}

/** Applies `m` to `text` of `file`; throws unless every edit of that file matches exactly once. */
export function applyMutation(m: ChaosMutation, file: string, text: string): string {
  let out = text;
  for (const e of m.edits.filter((x) => x.file === file)) {
    const count = out.split(e.find).length - 1;
    if (count !== 1) {
      throw new Error(`mutation ${m.name}: '${e.find}' occurs ${count} times in ${file}, not once`);
    }
    out = out.replace(e.find, () => e.replace);
  }
  return out;
}

/**
 * A mutated copy of the code under a temp dir (node_modules linked, not copied); returns its root
 * and a function that removes it.
 */
export function makeMutatedCopy(
  root: string,
  mutations: readonly ChaosMutation[],
): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `taskraft-chaos-${mutations.map((m) => m.name).join("+")}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    for (const entry of ["src", "package.json", "tsconfig.json"]) {
      cpSync(join(root, entry), join(dir, entry), { recursive: true });
    }
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
    for (const m of mutations) {
      for (const file of new Set(m.edits.map((e) => e.file))) {
        const path = join(dir, file);
        writeFileSync(path, applyMutation(m, file, readFileSync(path, "utf8")));
      }
    }
  } catch (e) {
    remove();
    throw e;
  }
  return { dir, remove };
}
