import {
  closeSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from "node:fs";
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

  private journalFd = -1;
  private journalBytes = 0;

  constructor(private readonly file: string) {}

  /** Full state: write-then-rename, then an empty journal. */
  private save(): void {
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.state));
    renameSync(`${this.file}.tmp`, this.file);
    if (this.journalFd >= 0) ftruncateSync(this.journalFd, 0);
    this.journalBytes = 0;
  }

  /** One line per batch (page cache survives kill -9); replayed on open, folded into the file now and then. */
  private journal(puts: [string, string][]): void {
    if (this.journalBytes > 8 << 20) {
      this.save();
      return;
    }
    const line = Buffer.from(
      `${JSON.stringify({ a: this.state.applied, m: this.state.members, p: puts })}\n`,
    );
    writeSync(this.journalFd, line, 0, line.length, this.journalBytes);
    this.journalBytes += line.length;
  }

  async open() {
    try {
      this.state = JSON.parse(readFileSync(this.file, "utf8")) as KvState;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    let text = "";
    try {
      text = readFileSync(`${this.file}.journal`, "utf8");
    } catch {}
    for (const l of text.split("\n")) {
      let j: { a: number; m: MemberInfo[]; p: [string, string][] };
      try {
        j = JSON.parse(l);
      } catch {
        break;
      }
      if (j.a <= this.state.applied) continue;
      for (const [k, v] of j.p) this.state.data[k] = v;
      this.state.applied = j.a;
      this.state.members = j.m;
    }
    this.journalFd = openSync(`${this.file}.journal`, "w");
    this.save();
    return { appliedIndex: this.state.applied, members: this.state.members };
  }

  async apply(entries: ApplyEntry[]): Promise<unknown[]> {
    const results: unknown[] = [];
    const puts: [string, string][] = [];
    for (const e of entries) {
      if (e.index <= this.state.applied) {
        results.push(undefined);
        continue;
      }
      if (e.kind === "command") {
        const c = JSON.parse(dec.decode(e.command)) as KvCommand;
        this.state.data[c.key] = c.value;
        puts.push([c.key, c.value]);
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
    this.journal(puts);
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
    void closeSync;
    return { members: this.state.members };
  }
}
