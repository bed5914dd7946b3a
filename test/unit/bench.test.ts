// The pure parts of bench/: percentiles, the side-by-side table, the capacity search,
// the API server's write count and the heavy-lock check. (No timing is asserted
// anywhere: the benches print figures.)
import test from 'ava';
import { parse } from 'yaml';
import { mainTable, shapeTable, type EngineResult } from '../../bench/compare/tables.js';
import { anchorConfigMap, anchorSecret, CATALOG_TRIGGERS } from '../../bench/engine/anchor-config.js';
import { countWrites, writesBetween } from '../../bench/lib/apiserver.js';
import { backlogSeries, capacityOf, formatCapacity, judgeStep, keepStepping, resolvedTimes, slope, type StepVerdict } from '../../bench/lib/capacity.js';
import { parseFlocks, underHeavyLock } from '../../bench/lib/heavy-lock.js';
import { distribution, percentile } from '../../bench/lib/stats.js';
import { formatMs, formatRange, renderTable, width } from '../../bench/lib/table.js';

test('percentile is nearest-rank on unsorted input; NaN without values', (t) => {
  const values = [9, 1, 5, 3, 7, 2, 8, 4, 10, 6];
  t.is(percentile(values, 50), 5);
  t.is(percentile(values, 90), 9);
  t.is(percentile(values, 99), 10);
  t.is(percentile(values, 100), 10);
  t.is(percentile(values, 0), 1);
  t.is(percentile([42], 99), 42);
  t.true(Number.isNaN(percentile([], 50)));
  t.deepEqual(values, [9, 1, 5, 3, 7, 2, 8, 4, 10, 6], 'the input is not sorted in place');
  const d = distribution(Array.from({ length: 1000 }, (_, i) => i + 1));
  t.like(d, { count: 1000, p50: 500, p95: 950, p99: 990, max: 1000, mean: 500.5 });
});

test('a range shows the lowest and highest figure once, sharing the unit', (t) => {
  const s = (v: number) => `${v} s`;
  t.is(formatRange([19, 24, 21], s), '19–24 s');
  t.is(formatRange([5, 5], s), '5 s');
  t.is(formatRange([undefined, NaN], s), 'n/a');
  t.is(formatRange([3, undefined], s), '3 s');
  t.is(formatRange([230, 1400], formatMs), '230 ms–1.4 s');
  t.is(formatRange([1230, 3000], (v) => v.toLocaleString('en-US')), '1,230–3,000');
  t.is(formatMs(8.4), '8 ms');
  t.is(formatMs(1449), '1.4 s');
  t.is(formatMs(24_400), '24 s');
});

test('a table pads every column to its widest cell, counting CJK and emoji as two columns', (t) => {
  const table = renderTable('1,000 apps', ['herald', 'engine'], [
    { label: 'p99', cells: ['24–31 s', '204 ms'] },
    { label: '同步', cells: ['✅'] },
  ]);
  const lines = table.split('\n');
  t.is(lines.length, 4);
  t.is(lines[0], '| 1,000 apps | herald  | engine |');
  t.is(lines[1], '|------------|---------|--------|');
  t.is(lines[2], '| p99        | 24–31 s | 204 ms |');
  t.is(lines[3], '| 同步       | ✅      |        |');
  t.is(width('同步'), 4);
  t.true(lines.every((line) => width(line) === width(lines[0]!)));
});

const result = (label: string, p99: number, capacity: number, limitedBy: 'backlog' | 'highest step' = 'backlog'): EngineResult => ({
  label,
  apps: 1000,
  channels: 1,
  peakRssMiB: 200,
  coldStart: { idleMs: 1400, messages: 0 },
  churn: { expected: 3000, received: 3000, lost: 0, duplicates: 0, latencyMs: { p50: 8, p99 }, cpuSecondsPer1000: 5, controlPlaneCpuSeconds: 70, apiWritesPerNotification: 1.004, ratePerSecond: 50 },
  massSync: { apps: 1000, lastDeliveredMs: 12_000, received: 1000, expected: 1000, lost: 0, duplicates: 0 },
  capacity: { sustainedRate: capacity, limitedBy },
});

test('the comparison table has one column per operator and the range over the rounds in each cell', (t) => {
  const records = [
    { round: 1, result: result('herald', 240, 50) },
    { round: 1, result: result('engine, 8 processors', 204, 300, 'highest step') },
    { round: 2, result: result('herald', 310, 75) },
    { round: 2, result: result('engine, 8 processors', 230, 300, 'highest step') },
  ];
  const table = mainTable(records, 1000, 50);
  const rows = table.split('\n').map((line) => line.split('|').map((cell) => cell.trim()).filter(Boolean));
  t.deepEqual(rows[0], ['1,000 apps (2 rounds)', 'herald', 'engine, 8 processors']);
  const row = (label: string) => rows.find((r) => r[0]!.startsWith(label))!.slice(1);
  t.deepEqual(row('churn latency'), ['8 ms / 240–310 ms', '8 ms / 204–230 ms']);
  t.deepEqual(row('churn: delivered'), ['3,000 of 3,000, 0 dup.', '3,000 of 3,000, 0 dup.']);
  t.deepEqual(row('API writes'), ['1.00', '1.00']);
  t.deepEqual(row('sustained capacity'), ['50/s–75/s', '≥ 300/s']);
  t.deepEqual(row('cold start'), ['1.4 s (0)', '1.4 s (0)']);
  t.is(shapeTable(records), undefined, 'no many-channel runs, no shape table');
});

test('backlog: a change is owed from its acceptance until its message arrives, or until the same app changes again', (t) => {
  const changes = [
    { app: 1, acceptedAt: 0, deliveredAt: 2500 },
    { app: 2, acceptedAt: 0 }, // never delivered, superseded at 1500
    { app: 2, acceptedAt: 1500, deliveredAt: 1800 },
    { app: 3, acceptedAt: 2000 }, // never delivered, never superseded
    { app: 4 }, // the patch failed
  ];
  t.deepEqual(resolvedTimes(changes), [2500, 1500, 1800, undefined, undefined]);
  t.deepEqual(backlogSeries(changes, 0, 3000, 1000).map((s) => s.outstanding), [2, 2, 2, 1]);
  t.deepEqual(backlogSeries(changes, 0, 3000, 1000).map((s) => s.t), [0, 1, 2, 3]);
});

test('a step is bounded while the backlog stays flat, growing when it climbs, and says nothing when the generator fell short', (t) => {
  const flat = Array.from({ length: 20 }, (_, t) => ({ t, outstanding: t % 2 ? 3 : 1 }));
  const climbing = Array.from({ length: 20 }, (_, t) => ({ t, outstanding: t * 10 }));
  t.is(slope(climbing), 10);
  t.is(slope([]), 0);
  t.is(judgeStep(50, 50, flat).verdict, 'bounded');
  t.is(judgeStep(50, 50, climbing).verdict, 'growing');
  t.is(judgeStep(200, 200, climbing).verdict, 'bounded', '10/s growth is under 10% of 200/s');
  t.is(judgeStep(50, 40, flat).verdict, 'generator-limited');
  const deep = Array.from({ length: 20 }, (_, t) => ({ t, outstanding: 600 }));
  t.is(judgeStep(50, 50, deep).verdict, 'growing', 'a flat backlog of 12 s of changes is not keeping up');
});

test('capacity is the highest rate of the unbroken run of bounded steps', (t) => {
  const step = (rate: number, verdict: StepVerdict['verdict']): StepVerdict => ({ rate, achievedRate: rate, growthPerSecond: 0, maxOutstanding: 0, endOutstanding: 0, verdict });
  const steps = [step(25, 'bounded'), step(50, 'bounded'), step(75, 'growing')];
  t.deepEqual(capacityOf(steps), { sustainedRate: 50, limitedBy: 'backlog', firstFailedRate: 75 });
  t.false(keepStepping(steps));
  t.true(keepStepping(steps.slice(0, 2)));
  t.deepEqual(capacityOf([step(25, 'bounded'), step(50, 'bounded')]), { sustainedRate: 50, limitedBy: 'highest step' });
  t.deepEqual(capacityOf([step(25, 'growing')]), { sustainedRate: 0, limitedBy: 'backlog', firstFailedRate: 25 });
  t.deepEqual(capacityOf([step(25, 'bounded'), step(300, 'generator-limited')]), { sustainedRate: 25, limitedBy: 'load generator', firstFailedRate: 300 });
  t.is(formatCapacity({ sustainedRate: 50, limitedBy: 'backlog' }), '50/s');
  t.is(formatCapacity({ sustainedRate: 300, limitedBy: 'highest step' }), '≥ 300/s');
});

test('API writes are the write verbs of apiserver_request_total, by resource', (t) => {
  const text = [
    '# HELP apiserver_request_total [STABLE] Counter of apiserver requests',
    'apiserver_request_total{code="200",component="apiserver",dry_run="",group="argoproj.io",resource="applications",scope="resource",subresource="",verb="PATCH",version="v1alpha1"} 3050',
    'apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="events",scope="resource",subresource="",verb="POST",version="v1"} 12',
    'apiserver_request_total{code="200",component="apiserver",dry_run="",group="argoproj.io",resource="applications",scope="namespace",subresource="",verb="LIST",version="v1alpha1"} 7',
    'apiserver_request_total{code="0",component="apiserver",dry_run="",group="argoproj.io",resource="applications",scope="namespace",subresource="",verb="WATCH",version="v1alpha1"} 2',
    'apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 40',
    'apiserver_request_duration_seconds_count{verb="PATCH"} 99',
  ].join('\n');
  const counts = countWrites(text);
  t.deepEqual(counts, { total: 3102, byResource: { applications: 3050, events: 12, leases: 40 } });
  const before = countWrites(text.replace('} 3050', '} 50').replace('} 40', '} 38'));
  t.deepEqual(writesBetween(before, counts), { total: 3002, byResource: { applications: 3000, leases: 2 } });
});

test('the heavy lock: /proc/locks holders are read without the waiters, and flock is prefixed unless we hold it', (t) => {
  const locks = [
    '1: FLOCK  ADVISORY  WRITE 27495 fe:00:10568104 0 EOF',
    '3: FLOCK  ADVISORY  WRITE 1764 fe:00:10035207 0 EOF',
    '3: -> FLOCK  ADVISORY  WRITE 14532 fe:00:10035207 0 EOF',
    '4: POSIX  ADVISORY  WRITE 900 08:01:123 0 EOF',
  ].join('\n');
  t.deepEqual(parseFlocks(locks), [
    { pid: 27495, major: 254, minor: 0, inode: 10568104 },
    { pid: 1764, major: 254, minor: 0, inode: 10035207 },
  ]);
  t.deepEqual(underHeavyLock(['make', 'bench'], '/nonexistent/heavy.lock'), ['flock', '/nonexistent/heavy.lock', 'make', 'bench']);
});

test('the anchor is configured like Argo CD: the catalog triggers, one webhook service, a template per trigger, subscriptions per channel', (t) => {
  const one = anchorConfigMap({ namespace: 'argocd', robotUrl: 'http://127.0.0.1:9/robot', channels: { 'dingtalk-ops': 'bench-dingtalk-ops' }, argocdUrl: 'https://argocd.example.com' }) as { data: Record<string, string> };
  t.deepEqual(Object.keys(one.data).filter((k) => k.startsWith('trigger.')).sort(), ['trigger.on-deployed', 'trigger.on-sync-failed', 'trigger.on-sync-running', 'trigger.on-sync-succeeded']);
  t.is(one.data['trigger.on-sync-running'], CATALOG_TRIGGERS['on-sync-running']);
  t.like(parse(one.data['trigger.on-sync-running']!)[0], { oncePer: 'app.status.operationState?.syncResult?.revision', send: ['app-sync-running'] });
  t.deepEqual(parse(one.data['service.webhook.dingtalk']!), { url: 'http://127.0.0.1:9/robot', headers: [{ name: 'Content-Type', value: 'application/json' }] });
  t.deepEqual(parse(one.data.subscriptions!), [{ recipients: ['dingtalk:dingtalk-ops'], triggers: ['on-deployed', 'on-sync-failed', 'on-sync-running', 'on-sync-succeeded'] }]);
  const template = parse(one.data['template.app-sync-failed']!) as { webhook: { dingtalk: { method: string; path: string; body: string } } };
  t.is(template.webhook.dingtalk.method, 'POST');
  t.regex(template.webhook.dingtalk.body, /\*\*%s\*\*" "❌ 同步失败"/);
  t.regex(template.webhook.dingtalk.body, /\| toJson -}}$/);
  const many = anchorConfigMap({ namespace: 'argocd', robotUrl: 'http://127.0.0.1:9/robot', channels: { 'ch-000': 'a', 'ch-001': 'b' }, argocdUrl: 'https://argocd.example.com' }) as { data: Record<string, string> };
  t.deepEqual((parse(many.data.subscriptions!) as Array<{ selector: string }>).map((s) => s.selector), ['herald.bench/channel=ch-000', 'herald.bench/channel=ch-001']);
  t.deepEqual((anchorSecret({ namespace: 'argocd', robotUrl: '', channels: { 'ch-000': 'a' }, argocdUrl: '' }) as { stringData: unknown }).stringData, { 'token-ch-000': 'a' });
});
