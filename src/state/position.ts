/**
 * Position keys: strings that sort lexicographically (byte order, as ascii_bin and JS compare them)
 * in the order of the tasks in a status column. A key is a sequence of integer tokens; each token is
 * a head character that says how many base-62 digits follow, then the digits, so tokens are
 * self-delimiting and comparing two keys as strings compares their token sequences
 * lexicographically (a prefix sorts first).
 *
 * Why tokens and not plain midpoint fractions: the common moves — append to a column, put on top,
 * and dropping task after task at the same spot — then walk through integers instead of halving
 * an interval, so keys grow logarithmically (100,000 appends stay under 10 characters) where a
 * midpoint fraction grows by one character per ~6 inserts at one spot. Between two tokens that are
 * far apart the midpoint is used, so arbitrary interleavings still split gaps evenly; when two
 * neighbours are adjacent integers the key goes one token deeper.
 *
 * Token values (v): non-negative values use heads 'a'..'h' for 1..8 body digits; negative values
 * heads 'Z'..'S' for 1..8 digits with the body complemented, so more negative sorts first. All
 * values stay below 2^53, so plain numbers are exact. The minimum value is never the last token of
 * a key: nothing could sort between a key and that key extended by the minimum.
 */

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE = 62;
const MAX_DIGITS = 8;
/**
 * Distance between keys handed out by append, prepend and runs at one spot: room for ~12 halvings
 * between two such keys before a deeper token is needed.
 */
const STEP = BASE * BASE;

/** BUCKET[n] = the first value (of |v| or -v-1) that needs n body digits; BUCKET[MAX_DIGITS+1] = one past the last. */
const BUCKET: number[] = [0, 0];
for (let n = 1; n <= MAX_DIGITS; n++) BUCKET.push(BUCKET[n]! + BASE ** n);
const LIMIT = BUCKET[MAX_DIGITS + 1]!;
const MAX_TOKEN = LIMIT - 1;
const MIN_TOKEN = -LIMIT;

const DIGIT_VALUE = new Map<string, number>([...DIGITS].map((d, i) => [d, i]));

export class PositionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PositionError";
  }
}

function bodyDigits(value: number, n: number): string {
  let s = "";
  let x = value;
  for (let i = 0; i < n; i++) {
    s = DIGITS[x % BASE]! + s;
    x = Math.floor(x / BASE);
  }
  return s;
}

function bucketOf(u: number): number {
  for (let n = 1; n <= MAX_DIGITS; n++) if (u < BUCKET[n + 1]!) return n;
  throw new PositionError(`token value out of range: ${u}`);
}

function encodeToken(v: number): string {
  if (v >= 0) {
    const n = bucketOf(v);
    return String.fromCharCode(0x61 + n - 1) + bodyDigits(v - BUCKET[n]!, n);
  }
  const u = -v - 1;
  const n = bucketOf(u);
  return String.fromCharCode(0x5a - (n - 1)) + bodyDigits(BASE ** n - 1 - (u - BUCKET[n]!), n);
}

function encodeKey(tokens: readonly number[]): string {
  return tokens.map(encodeToken).join("");
}

/** The token values of a key; throws PositionError for anything this module did not produce. */
function decodeKey(key: string): number[] {
  const tokens: number[] = [];
  let i = 0;
  while (i < key.length) {
    const head = key.charCodeAt(i);
    let n: number;
    let negative: boolean;
    if (head >= 0x61 && head < 0x61 + MAX_DIGITS) {
      n = head - 0x61 + 1;
      negative = false;
    } else if (head <= 0x5a && head > 0x5a - MAX_DIGITS) {
      n = 0x5a - head + 1;
      negative = true;
    } else {
      throw new PositionError(`bad position key ${JSON.stringify(key)}`);
    }
    if (i + 1 + n > key.length) throw new PositionError(`truncated position key ${JSON.stringify(key)}`);
    let body = 0;
    for (let j = i + 1; j <= i + n; j++) {
      const d = DIGIT_VALUE.get(key[j]!);
      if (d === undefined) throw new PositionError(`bad position key ${JSON.stringify(key)}`);
      body = body * BASE + d;
    }
    tokens.push(negative ? -(BUCKET[n]! + (BASE ** n - 1 - body)) - 1 : BUCKET[n]! + body);
    i += 1 + n;
  }
  if (tokens.length === 0 || tokens[tokens.length - 1] === MIN_TOKEN) {
    throw new PositionError(`bad position key ${JSON.stringify(key)}`);
  }
  return tokens;
}

export function isValidPosition(key: string): boolean {
  try {
    return encodeKey(decodeKey(key)) === key;
  } catch {
    return false;
  }
}

/** A key greater than `tokens` (or any key, for the empty sequence). */
function above(tokens: readonly number[]): number[] {
  const t = tokens[0];
  if (t === undefined) return [0];
  if (t + STEP <= MAX_TOKEN) return [t + STEP];
  if (t < MAX_TOKEN) return [MAX_TOKEN];
  return [MAX_TOKEN, ...above(tokens.slice(1))];
}

/** A key smaller than the non-empty `tokens`, not ending in the minimum. */
function below(tokens: readonly number[]): number[] {
  const t = tokens[0]!;
  if (t - STEP > MIN_TOKEN) return [t - STEP];
  if (t - 1 > MIN_TOKEN) return [MIN_TOKEN + 1];
  if (t === MIN_TOKEN + 1) return [MIN_TOKEN, 0];
  return [MIN_TOKEN, ...below(tokens.slice(1))];
}

function between(lo: readonly number[], hi: readonly number[]): number[] {
  let i = 0;
  while (i < lo.length && i < hi.length && lo[i] === hi[i]) i++;
  if (i === lo.length) return [...lo, ...below(hi.slice(i))];
  const x = lo[i]!;
  const y = hi[i]!;
  if (y - x >= 2) return [...lo.slice(0, i), Math.floor((x + y) / 2)];
  return [...lo.slice(0, i + 1), ...above(lo.slice(i + 1))];
}

/**
 * A key strictly between `lower` and `upper`; either may be absent (start or end of the column).
 * Throws PositionError when lower >= upper or a key is malformed.
 */
export function positionBetween(lower: string | undefined, upper: string | undefined): string {
  if (lower !== undefined && upper !== undefined && !(lower < upper)) {
    throw new PositionError(`no position between ${JSON.stringify(lower)} and ${JSON.stringify(upper)}`);
  }
  const lo = lower === undefined ? undefined : decodeKey(lower);
  const hi = upper === undefined ? undefined : decodeKey(upper);
  let tokens: number[];
  if (lo === undefined && hi === undefined) tokens = [0];
  else if (hi === undefined) tokens = above(lo!);
  else if (lo === undefined) tokens = below(hi);
  else tokens = between(lo, hi);
  const key = encodeKey(tokens);
  if ((lower !== undefined && !(lower < key)) || (upper !== undefined && !(key < upper))) {
    throw new PositionError(`position ${key} is not between ${lower} and ${upper}`);
  }
  return key;
}

/** `count` short, evenly spaced, increasing keys: for renumbering a whole column. */
export function spreadPositions(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(encodeKey([i * STEP]));
  return out;
}
