/**
 * What the client commands print: aligned tables and `key: value` blocks for people, and with
 * `--json` one JSON document on standard output for scripts (the API's own entity shapes).
 */

/** Long cells (titles) are cut to this many characters in tables; `show` prints them whole. */
const MAX_CELL = 60;

/** East Asian wide characters and emoji take two terminal columns. */
const WIDE =
  /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1faff}\u{20000}-\u{3fffd}]/u;

function width(s: string): number {
  let w = 0;
  for (const ch of s) w += WIDE.test(ch) ? 2 : 1;
  return w;
}

/** One line of text: control characters shown as spaces, long text cut with an ellipsis. */
export function cell(value: unknown, max = MAX_CELL): string {
  const s = value === null || value === undefined ? "-" : String(value);
  const chars = [...s].map((ch) => {
    const cp = ch.codePointAt(0) ?? 0;
    return cp < 0x20 || cp === 0x7f ? " " : ch;
  });
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : chars.join("");
}

/** Columns separated by two spaces, each as wide as its widest cell; the last is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(Math.max(0, (widths[i] ?? 0) - width(c)))))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** `key: value` lines with the values aligned. */
export function fields(pairs: readonly (readonly [string, string])[]): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs
    .map(([k, v]) => {
      const [first, ...more] = v.split("\n");
      const pad = " ".repeat(w + 2);
      return [`${`${k}:`.padEnd(w + 2)}${first ?? ""}`, ...more.map((m) => pad + m)].join("\n");
    })
    .join("\n");
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** A note for people that must not end up in a script's captured output. */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
