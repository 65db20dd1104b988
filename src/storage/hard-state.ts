import * as fs from "node:fs";
import * as path from "node:path";
import { Packr } from "msgpackr";
import type { HardState } from "../raft/types.js";
import { crc32c } from "./crc32c.js";
import { StorageCorruptError } from "./errors.js";
import { atomicReplace, type FsyncMeter, removeIfExists } from "./fsio.js";

/**
 * The hard state file: [magic "TKHS0001"][u32 LE length][u32 LE CRC32C][msgpack [term, vote, commit]].
 * It is only ever replaced whole (see atomicReplace), so a bad checksum is
 * corruption, never a torn write.
 */

export const HARD_STATE_FILE = "hardstate";
const MAGIC = Buffer.from("TKHS0001", "latin1");
const HEADER = 16;
const MAX_BYTES = 64 * 1024;

const packr = new Packr({ useRecords: false, moreTypes: false });

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: "", commit: 0 };

export function encodeHardState(hs: HardState): Buffer {
  const payload = packr.pack([hs.term, hs.vote, hs.commit]);
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(payload.length, 8);
  out.writeUInt32LE(crc32c(payload), 12);
  payload.copy(out, HEADER);
  return out;
}

/** Reads the hard state of `dir`, or undefined when it was never written. */
export function readHardState(dir: string): HardState | undefined {
  const file = path.join(dir, HARD_STATE_FILE);
  // A temp file is a replacement interrupted before its rename: the old file still stands.
  removeIfExists(`${file}.tmp`);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const bad = (what: string) =>
    new StorageCorruptError(
      file,
      what,
      "the term and vote of this node are lost — remove its data dir and rejoin it to the cluster as a new node",
    );
  if (bytes.length < HEADER || bytes.length > MAX_BYTES || !bytes.subarray(0, 8).equals(MAGIC)) {
    throw bad("not a hard state file");
  }
  const len = bytes.readUInt32LE(8);
  if (HEADER + len !== bytes.length) throw bad(`length ${len} does not match the file size ${bytes.length}`);
  const payload = bytes.subarray(HEADER);
  if (crc32c(payload) !== bytes.readUInt32LE(12)) throw bad("checksum mismatch");
  const v: unknown = packr.unpack(payload);
  if (!Array.isArray(v) || v.length !== 3) throw bad("unexpected content");
  const [term, vote, commit] = v as unknown[];
  if (!Number.isSafeInteger(term) || typeof vote !== "string" || !Number.isSafeInteger(commit)) {
    throw bad("unexpected content");
  }
  return { term: term as number, vote, commit: commit as number };
}

/**
 * Replaces the hard state durably. `syncDir: false` is for a change of commit
 * alone: if the rename is lost in a crash, the old file has the same term and
 * vote and an older commit index, which Raft tolerates (commit is re-learned
 * from the leader); a new term or vote must never be lost, so those pay for the
 * directory fsync.
 */
export function writeHardState(meter: FsyncMeter, dir: string, hs: HardState, syncDir: boolean): void {
  atomicReplace(meter, "hardstate", dir, HARD_STATE_FILE, encodeHardState(hs), syncDir);
}
