// What we tell users about metrics matches what herald exports: every PromQL
// expression in the alert rules and the Grafana dashboard names only exported
// metrics, and docs/metrics.md lists exactly the exported metrics, types and labels.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createMetrics } from '../../src/observability/metrics.js';
import { repoRoot } from '../support/controlplane/install.js';
import { metricNamesIn } from '../support/promql.js';

interface Exported {
  type: string;
  labels: string[];
}

/** name → type and labels, for everything createMetrics() registers. */
async function exportedMetrics(options: { defaultMetrics?: boolean } = {}): Promise<Map<string, Exported>> {
  const { registry } = createMetrics(options);
  const out = new Map<string, Exported>();
  // prom-client's typings describe the array loosely; each entry is a metric object.
  const all = registry.getMetricsAsArray() as unknown as Array<{ name: string; labelNames?: readonly string[]; get(): Promise<{ type: unknown }> }>;
  for (const metric of all) {
    const { type } = await metric.get();
    out.set(metric.name, { type: String(type), labels: [...(metric.labelNames ?? [])] });
  }
  return out;
}

/** Series names a query can select: histograms add _bucket, _sum and _count. */
function selectableNames(metrics: Map<string, Exported>): Set<string> {
  const names = new Set<string>();
  for (const [name, { type }] of metrics) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    else names.add(name);
  }
  return names;
}

interface DashboardPanel {
  title?: string;
  type: string;
  targets?: Array<{ expr?: string }>;
  panels?: DashboardPanel[];
}

function dashboardExpressions(): Array<{ where: string; expr: string }> {
  const dashboard = JSON.parse(readFileSync(join(repoRoot, 'config/grafana/herald-dashboard.json'), 'utf8')) as {
    panels: DashboardPanel[];
    templating: { list: Array<{ name: string; type: string; query?: string | { query?: string } }> };
  };
  const found: Array<{ where: string; expr: string }> = [];
  const visit = (panels: DashboardPanel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) if (target.expr) found.push({ where: `panel "${panel.title}"`, expr: target.expr });
      visit(panel.panels ?? []);
    }
  };
  visit(dashboard.panels);
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    if (query) found.push({ where: `variable $${variable.name}`, expr: query });
  }
  return found;
}

function ruleExpressions(): Array<{ where: string; expr: string }> {
  const rule = parse(readFileSync(join(repoRoot, 'config/prometheus/rules.yaml'), 'utf8')) as {
    spec: { groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }> };
  };
  return rule.spec.groups.flatMap((group) => group.rules.map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr })));
}

test('metricNamesIn finds metric names and ignores functions, labels, keywords, ranges and variables', (t) => {
  t.deepEqual(
    metricNamesIn('sum by (channel, result) (rate(herald_deliveries_total{job=~"$job", result="failed"}[$__rate_interval])) / on (channel) group_left sum(foo_total offset 5m) > bool 0.1'),
    ['foo_total', 'herald_deliveries_total'],
  );
  t.deepEqual(metricNamesIn('histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))'), ['x_bucket']);
  t.deepEqual(metricNamesIn('sum(herald_leader) < 1 or absent(herald_leader) unless vector(1e3)'), ['herald_leader']);
  t.deepEqual(metricNamesIn('max without (pod, instance) (min_over_time(y[15m:1m])) and z'), ['y', 'z']);
  t.deepEqual(metricNamesIn('label_values(herald_app_info{job=~"$job"}, namespace)'), ['herald_app_info']);
  t.deepEqual(metricNamesIn('count(a{l="sum(b)"}) or vector(0)'), ['a'], 'strings are not parsed as PromQL');
});

test('every PromQL expression in the alert rules and the dashboard uses only metrics herald exports', async (t) => {
  const exported = selectableNames(await exportedMetrics());
  const expressions = [...ruleExpressions(), ...dashboardExpressions()];
  t.true(expressions.length > 30, `found ${expressions.length} expressions`);
  for (const { where, expr } of expressions) {
    const names = metricNamesIn(expr);
    t.true(names.length > 0, `${where} queries no metric: ${expr}`);
    for (const name of names) t.true(exported.has(name), `${where} uses ${name}, which herald does not export: ${expr}`);
  }
});

test('the dashboard shows every metric of herald\'s own (not just some)', async (t) => {
  const own = await exportedMetrics({ defaultMetrics: false });
  const used = new Set(dashboardExpressions().flatMap(({ expr }) => metricNamesIn(expr)));
  for (const [name, { type }] of own) {
    const candidates = type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
    t.true(candidates.some((candidate) => used.has(candidate)), `${name} is on no dashboard panel`);
  }
});

/** Rows of the metric tables in docs/metrics.md: | `name` | type | `label`, `label` | meaning | */
function documentedMetrics(): Map<string, Exported> {
  const text = readFileSync(join(repoRoot, 'docs/metrics.md'), 'utf8');
  const documented = new Map<string, Exported>();
  for (const line of text.split('\n')) {
    const match = /^\|\s*`(herald_[a-z0-9_:]+)`\s*\|\s*([a-z]+)\s*\|([^|]*)\|/.exec(line);
    if (!match) continue;
    const [, name, type, labelCell] = match as unknown as [string, string, string, string];
    const labels = [...labelCell.matchAll(/`([a-zA-Z_][a-zA-Z0-9_]*)`/g)].map((m) => m[1]!);
    documented.set(name, { type, labels });
  }
  return documented;
}

test('docs/metrics.md lists exactly the metrics of createMetrics(), with their types and labels', async (t) => {
  const exported = await exportedMetrics();
  const documented = documentedMetrics();
  t.deepEqual([...documented.keys()].sort(), [...exported.keys()].sort());
  for (const [name, actual] of exported) {
    const doc = documented.get(name);
    if (!doc) continue;
    t.is(doc.type, actual.type, `${name} type`);
    t.deepEqual([...doc.labels].sort(), [...actual.labels].sort(), `${name} labels`);
  }
});

test('docs/metrics.md lists exactly the metric families the /metrics text declares', async (t) => {
  const { registry } = createMetrics();
  const text = await registry.metrics();
  const declared = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
  const documented = [...documentedMetrics()].map(([name, { type }]) => `${name} ${type}`).sort();
  t.deepEqual(documented, declared);
});
