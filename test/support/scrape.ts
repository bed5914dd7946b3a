// Scraping herald's /metrics in tests: parse the Prometheus text format into samples
// and compare two scrapes, so a test can assert how counters and histograms moved.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function unescapeLabel(value: string): string {
  return value.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Samples of a text-format exposition; comments and blank lines are skipped. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split('\n')) {
    if (raw === '' || raw.startsWith('#')) continue;
    const match = line.exec(raw);
    if (!match) throw new Error(`not a sample line: ${raw}`);
    const [, name, labelText, valueText] = match as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    for (const [, key, value] of (labelText ?? '').matchAll(label)) labels[key!] = unescapeLabel(value!);
    samples.push({ name, labels, value: valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText) });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `match` (0 when there are none). */
export function sumOf(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

/** How much `name` (restricted to `match`) grew between two scrapes. */
export function delta(before: Sample[], after: Sample[], name: string, match: Record<string, string> = {}): number {
  return sumOf(after, name, match) - sumOf(before, name, match);
}

/** GET /metrics and parse it; also returns the raw text (for promtool). */
export async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  const text = await response.text();
  return { text, samples: parseExposition(text) };
}
