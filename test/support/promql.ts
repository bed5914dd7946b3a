// Metric names referenced by a PromQL expression (or a Grafana variable query), for
// the test that dashboards and alerts only use metrics herald exports. Not a full
// parser: it removes what cannot be a metric name (strings, label matchers, grouping
// clauses, ranges, numbers, Grafana variables, functions, keywords) and keeps the rest.
const keywords = new Set([
  'and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right',
  'inf', 'nan', 'start', 'end',
]);

export function metricNamesIn(expression: string): string[] {
  let text = expression
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  // label_values(metric, label): only the metric counts.
  text = text
    .replace(/\blabel_values\s*\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)/g, ' $1 ')
    .replace(/\blabel_values\s*\(\s*\w+\s*\)/g, ' ');
  const names = new Set<string>();
  const token = /(\d+(?:\.\d+)?(?:e[+-]?\d+)?[a-z]*)|([a-zA-Z_:][\w:]*)(\s*\()?/gi;
  for (const match of text.matchAll(token)) {
    const [, number, identifier, call] = match;
    if (number !== undefined || identifier === undefined || call !== undefined) continue;
    if (keywords.has(identifier.toLowerCase())) continue;
    names.add(identifier);
  }
  return [...names].sort();
}
