/**
 * Opaque pagination cursors: the sort and the (sort key, id) of the last row returned, as
 * base64url JSON. Keyset pagination: the next page starts strictly after that key, so rows that
 * keep their key are neither repeated nor skipped however the table changes between pages.
 */

export type CursorValue = string | number | null;

export interface Cursor {
  sort: string;
  key: CursorValue[];
}

/** Cursors are short; anything longer is not one of ours. */
const MAX_CURSOR_LENGTH = 2048;

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify({ s: c.sort, k: c.key }), "utf8").toString("base64url");
}

/** The cursor, or undefined when the text is not a cursor for `sort` with `arity` key values. */
export function decodeCursor(text: string, sort: string, arity: number): Cursor | undefined {
  if (text.length === 0 || text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text))
    return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const { s, k } = v as { s?: unknown; k?: unknown };
  if (s !== sort || !Array.isArray(k) || k.length !== arity) return undefined;
  const ok = k.every(
    (x) => typeof x === "string" || (typeof x === "number" && Number.isFinite(x)) || x === null,
  );
  return ok ? { sort, key: k as CursorValue[] } : undefined;
}
