// Side-by-side tables of benchmark figures: each cell shows the range of a figure over
// alternating runs (figures vary from run to run on a shared 2-core machine, so a
// single number would claim more than was measured). Pure formatting.

/** Figures of one cell, one per run; undefined/NaN where a run has none. */
export type Figures = ReadonlyArray<number | undefined>;

/** "a–b" over the finite values (one value when they agree after formatting); "n/a" when there are none. */
export function formatRange(values: Figures, format: (value: number) => string): string {
  const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (finite.length === 0) return 'n/a';
  const low = format(Math.min(...finite));
  const high = format(Math.max(...finite));
  if (low === high) return low;
  // "19 s–24 s" reads better as "19–24 s" when both end in the same unit.
  const unit = / (\S+)$/.exec(low)?.[1];
  if (unit && high.endsWith(` ${unit}`) && low.slice(0, -unit.length - 1).match(/^[\d.,]+$/)) return `${low.slice(0, -unit.length - 1)}–${high}`;
  return `${low}–${high}`;
}

/** Milliseconds as people compare latencies: "8 ms", "230 ms", "1.4 s", "24 s". */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 1000)} s`;
}

/** Whole numbers with thousands separators; `digits` decimals otherwise. */
export function formatNumber(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export interface Row {
  label: string;
  cells: string[];
}

/** A Markdown table, padded so that it also reads well in a terminal. */
export function renderTable(title: string, columns: readonly string[], rows: readonly Row[]): string {
  const header = [title, ...columns];
  const body = rows.map((row) => [row.label, ...columns.map((_, i) => row.cells[i] ?? '')]);
  const widths = header.map((cell, i) => Math.max(width(cell), ...body.map((r) => width(r[i]!))));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell + ' '.repeat(widths[i]! - width(cell))).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/** Display width: CJK and emoji take two columns in a terminal (symbols U+2600–27BF counted wide too). */
export function width(text: string): number {
  let total = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    total += (code >= 0x1100 && (code <= 0x115f || (code >= 0x2e80 && code <= 0xa4cf) || (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) || (code >= 0xff00 && code <= 0xff60) || (code >= 0x2600 && code <= 0x27bf) || (code >= 0x1f300 && code <= 0x1faff))) ? 2 : 1;
  }
  return total;
}
