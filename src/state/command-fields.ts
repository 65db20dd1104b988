import { charLength, ID_PATTERN, IDEMPOTENCY_KEY_PATTERN } from "./limits.js";
import type { FieldProblem } from "./results.js";
import { isDateOnly, isIsoMs } from "./time.js";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Reads the fields of one decoded command object, collecting every problem instead of stopping at
 * the first, so that a refusal lists them all (API.md: `details` lists each field path and
 * problem). Unknown fields are problems too: a field this version does not understand must not be
 * silently ignored on some nodes and honoured on others.
 */
export class FieldReader {
  readonly problems: FieldProblem[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly obj: Record<string, unknown>) {}

  private take(name: string): unknown {
    this.seen.add(name);
    return this.obj[name];
  }

  private has(name: string): boolean {
    return Object.hasOwn(this.obj, name) && this.obj[name] !== undefined;
  }

  problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** Reports fields that no reader asked for; call after reading all known ones. */
  finish(): void {
    for (const key of Object.keys(this.obj)) {
      if (!this.seen.has(key)) this.problem(key, "is not a known field");
    }
  }

  id(name: string): string {
    const v = this.take(name);
    if (typeof v !== "string" || !ID_PATTERN.test(v)) {
      this.problem(name, "must be an id of 1–64 characters A-Z a-z 0-9 _ -");
      return "";
    }
    return v;
  }

  optionalId(name: string): string | undefined {
    return this.has(name) ? this.id(name) : this.skip(name);
  }

  /** An id or null (clears the reference); undefined when absent. */
  nullableId(name: string): string | null | undefined {
    if (!this.has(name)) return this.skip(name);
    if (this.obj[name] === null) {
      this.take(name);
      return null;
    }
    return this.id(name);
  }

  ids(name: string, max: number): string[] {
    const v = this.take(name);
    if (!Array.isArray(v)) {
      this.problem(name, "must be an array of ids");
      return [];
    }
    if (v.length > max) this.problem(name, `must hold at most ${max} ids`);
    const out: string[] = [];
    for (const [i, x] of v.slice(0, max).entries()) {
      if (typeof x !== "string" || !ID_PATTERN.test(x)) this.problem(`${name}[${i}]`, "must be an id");
      else if (out.includes(x)) this.problem(`${name}[${i}]`, "is listed twice");
      else out.push(x);
    }
    return out;
  }

  optionalIds(name: string, max: number): string[] | undefined {
    return this.has(name) ? this.ids(name, max) : this.skip(name);
  }

  /**
   * A text of at most `max` characters (code points, as VARCHAR counts them). With `trim`, the
   * value is trimmed first and `min` applies to the trimmed text, which is what gets stored.
   */
  text(name: string, opts: { min?: number; max: number; trim?: boolean }): string {
    const v = this.take(name);
    if (typeof v !== "string") {
      this.problem(name, "must be a string");
      return "";
    }
    if (LONE_SURROGATE.test(v)) {
      this.problem(name, "must be valid Unicode text");
      return "";
    }
    const s = opts.trim ? v.trim() : v;
    const len = charLength(s);
    const min = opts.min ?? 0;
    if (len < min || len > opts.max) {
      const what = opts.trim ? " after trimming" : "";
      this.problem(name, `must be ${min}–${opts.max} characters${what}`);
    }
    return s;
  }

  optionalText(name: string, opts: { min?: number; max: number; trim?: boolean }): string | undefined {
    return this.has(name) ? this.text(name, opts) : this.skip(name);
  }

  pattern(name: string, re: RegExp, what: string): string {
    const v = this.take(name);
    if (typeof v !== "string" || !re.test(v)) {
      this.problem(name, `must be ${what}`);
      return "";
    }
    return v;
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T {
    const v = this.take(name);
    if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
      this.problem(name, `must be one of ${values.join(", ")}`);
      return values[0]!;
    }
    return v as T;
  }

  optionalOneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    return this.has(name) ? this.oneOf(name, values) : this.skip(name);
  }

  instant(name: string): string {
    const v = this.take(name);
    if (!isIsoMs(v)) {
      this.problem(name, "must be an ISO-8601 UTC time with milliseconds, e.g. 2026-01-31T12:00:00.000Z");
      return "1970-01-01T00:00:00.000Z";
    }
    return v;
  }

  /** A calendar date or null; undefined when absent. */
  nullableDate(name: string): string | null | undefined {
    if (!this.has(name)) return this.skip(name);
    const v = this.take(name);
    if (v === null) return null;
    if (!isDateOnly(v)) {
      this.problem(name, "must be a date YYYY-MM-DD or null");
      return null;
    }
    return v;
  }

  optionalVersion(name: string): number | undefined {
    if (!this.has(name)) return this.skip(name);
    const v = this.take(name);
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
      this.problem(name, "must be a positive integer");
      return undefined;
    }
    return v;
  }

  /** A nested object read by `read`; its problems are reported under `name.`. */
  optionalObject<T>(name: string, what: string, read: (inner: FieldReader) => T): T | undefined {
    if (!this.has(name)) return this.skip(name);
    const v = this.take(name);
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      this.problem(name, `must be an object ${what}`);
      return undefined;
    }
    const inner = new FieldReader(v as Record<string, unknown>);
    const out = read(inner);
    inner.finish();
    for (const p of inner.problems) this.problem(`${name}.${p.path}`, p.message);
    return inner.problems.length === 0 ? out : undefined;
  }

  idem(): { userId: string; key: string } | undefined {
    return this.optionalObject("idem", "{userId, key}", (inner) => ({
      userId: inner.id("userId"),
      key: inner.pattern("key", IDEMPOTENCY_KEY_PATTERN, "1–128 printable ASCII characters"),
    }));
  }

  /** Marks a field as known without reading it (checked by the caller). */
  known(name: string): void {
    this.seen.add(name);
  }

  private skip(name: string): undefined {
    this.seen.add(name);
    return undefined;
  }
}
