/**
 * Errors that stop a node at startup. Each message is one line that names the
 * file at fault and what the operator should do, because these reach a terminal
 * or a log without any other context.
 */

const CORRUPT_ADVICE =
  "the log is corrupt — restore this node from a snapshot or remove its data dir and rejoin";

/** The durable state cannot be trusted: silently continuing could lose committed entries. */
export class StorageCorruptError extends Error {
  readonly file: string;
  constructor(file: string, problem: string, advice: string = CORRUPT_ADVICE) {
    super(`${file}: ${problem}; ${advice}`);
    this.name = "StorageCorruptError";
    this.file = file;
  }
}

/** The data dir belongs to another cluster or another node: a configuration mistake, not corruption. */
export class StorageMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StorageMismatchError";
  }
}

/** A call the storage rejects before changing anything (a caller bug, e.g. a gap in appended indexes). */
export class StorageUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StorageUsageError";
  }
}
