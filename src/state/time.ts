/**
 * Time in the replicated state: the proposing node decides every timestamp (a command's `at`),
 * and the database stores DATETIME(3) in UTC. These convert between the API's ISO-8601 form and
 * the `YYYY-MM-DD HH:MM:SS.mmm` form that MySQL accepts and (with dateStrings) returns, without
 * going through the local time zone.
 */

const ISO_MS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/;
const DB_MS = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for `2026-01-31T12:00:00.000Z` that names a real instant (no 31 February). */
export function isIsoMs(s: unknown): s is string {
  if (typeof s !== "string") return false;
  const m = ISO_MS.exec(s);
  if (!m) return false;
  const ms = Date.parse(s);
  return Number.isFinite(ms) && new Date(ms).toISOString() === s;
}

/** True for `2026-12-01` naming a real calendar day. */
export function isDateOnly(s: unknown): s is string {
  if (typeof s !== "string") return false;
  const m = DATE_ONLY.exec(s);
  if (!m) return false;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().slice(0, 10) === s && Number(m[1]) >= 1000;
}

/** ISO (validated) → DATETIME(3) literal value. */
export function isoToDb(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** DATETIME(3) value as returned with dateStrings → ISO with milliseconds. */
export function dbToIso(db: string): string {
  const m = DB_MS.exec(db);
  if (!m) throw new Error(`not a DATETIME value: ${db}`);
  const frac = (m[3] ?? "").padEnd(3, "0").slice(0, 3);
  return `${m[1]}T${m[2]}.${frac}Z`;
}

export function msToDb(ms: number): string {
  return isoToDb(new Date(ms).toISOString());
}

export function isoToMs(iso: string): number {
  return Date.parse(iso);
}
