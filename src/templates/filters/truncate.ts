// `truncate(length, end='…')`: at most `length` characters, `end` included, cut
// between user-perceived characters (an emoji or a CJK character counts as one and is
// never split). Replaces nunjucks' own truncate; its `truncate(length, killwords,
// end)` form is accepted too (killwords is ignored: the cut is always exact).

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

export function truncateFilter(value: unknown, length: unknown = 255, endOrKillwords?: unknown, nunjucksEnd?: unknown): string {
  const text = value === undefined || value === null ? '' : String(value);
  const end = typeof endOrKillwords === 'boolean' ? (nunjucksEnd ?? '…') : (endOrKillwords ?? '…');
  const max = Number(length);
  if (!Number.isFinite(max) || max < 0 || text.length <= max) return text;
  const graphemes = Array.from(segmenter.segment(text), (s) => s.segment);
  if (graphemes.length <= max) return text;
  const suffix = String(end);
  const suffixLength = Array.from(segmenter.segment(suffix)).length;
  if (suffixLength >= max) return graphemes.slice(0, Math.floor(max)).join('');
  return graphemes.slice(0, Math.floor(max) - suffixLength).join('').trimEnd() + suffix;
}
