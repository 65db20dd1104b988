import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { SnapshotMeta } from "../../src/raft/index.js";
import type { ApplyEntry, MemberInfo, StateMachine } from "../../src/replica/index.js";

interface KvState {
  applied: number;
  data: Record<string, string>;
  members: MemberInfo[];
}

export interface KvCommand {
  op: "put";
  key: string;
  value: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeKv(c: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

/**
 * The small key-value state machine of the replica tests. Durable like MySQL:
 * each batch is written to a file (write-then-rename) together with its applied
 * index, so a killed process neither loses nor repeats an applied entry.
 */
export class KvStateMachine implements StateMachine {
  state: KvState = { applied: 0, data: {}, members: [] };

  constructor(private readonly file: string) {}

  private save(): void {
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.state));
    renameSync(`${this.file}.tmp`, this.file);
  }

  async open() {
    try {
      this.state = JSON.parse(readFileSync(this.file, "utf8")) as KvState;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    return { appliedIndex: this.state.applied, members: this.state.members };
  }

  async apply(entries: ApplyEntry[]): Promise<unknown[]> {
    const results: unknown[] = [];
    for (const e of entries) {
      if (e.index <= this.state.applied) {
        results.push(undefined);
        continue;
      }
      if (e.kind === "command") {
        const c = JSON.parse(dec.decode(e.command)) as KvCommand;
        this.state.data[c.key] = c.value;
        results.push({ index: e.index });
      } else {
        if (e.kind === "conf") {
          const members = this.state.members.filter(
            (m) => e.conf.voters.includes(m.id) || e.conf.learners.includes(m.id),
          );
          if (e.member && !members.some((m) => m.id === e.member!.id)) members.push(e.member);
          this.state.members = members;
        }
        results.push(undefined);
      }
      this.state.applied = e.index;
    }
    this.save();
    return results;
  }

  async snapshot() {
    return { index: this.state.applied, data: enc.encode(JSON.stringify(this.state)) };
  }

  async restore(meta: SnapshotMeta, path: string) {
    const bytes = readFileSync(path).subarray(0, meta.size);
    this.state = JSON.parse(dec.decode(bytes)) as KvState;
    this.state.applied = meta.index;
    this.save();
    return { members: this.state.members };
  }
}
