/** An invariant of the protocol was broken: a bug in the core, never a runtime condition. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantError";
  }
}

/** Asserts what must hold; always on, because a broken invariant means data loss. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
