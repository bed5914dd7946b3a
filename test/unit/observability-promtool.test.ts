// promtool (Debian's prometheus package; `make promtool` provides it) judges what we
// ship: the /metrics output of a populated registry, the alert rules, and what
// those alerts do on synthetic series.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { startMetricsServer } from '../../src/observability/server.js';
import { repoRoot } from '../support/controlplane/install.js';
import { promtoolCheckMetrics, promtoolPath } from '../support/promtool.js';

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: Rule[];
}

const promtool = promtoolPath();
const work = mkdtempSync(join(tmpdir(), 'herald-promtool-test-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

function runPromtool(args: string[], input?: string) {
  const result = spawnSync(promtool, args, { input, encoding: 'utf8', cwd: work, timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The `spec` of config/prometheus/rules.yaml, which is a plain Prometheus rules file. */
function ruleGroups(): RuleGroup[] {
  const manifest = parse(readFileSync(join(repoRoot, 'config/prometheus/rules.yaml'), 'utf8')) as {
    kind: string;
    spec: { groups: RuleGroup[] };
  };
  if (manifest.kind !== 'PrometheusRule') throw new Error('config/prometheus/rules.yaml is not a PrometheusRule');
  return manifest.spec.groups;
}

test('promtool check metrics accepts what /metrics serves for a populated registry', async (t) => {
  const metrics = createMetrics();
  // Label values with characters that need escaping in the text format.
  const awkward = 'team "a"\\b\nline';
  metrics.deliveries.inc({ trigger: 'on-sync-succeeded', channel: awkward, result: 'sent' });
  metrics.deliveries.inc({ trigger: 'on-sync-failed', channel: 'team-b', result: 'failed' });
  metrics.triggerEvaluations.inc({ trigger: 'on-sync-succeeded', result: 'fired' });
  metrics.deliveryLatency.observe({ channel: 'team-b' }, 1.5);
  metrics.rateLimited.inc({ channel: 'team-b', source: 'dingtalk' });
  metrics.retries.inc({ channel: 'team-b', reason: 'network' });
  metrics.digests.inc({ channel: 'team-b' });
  metrics.outboxPending.set(2);
  metrics.webhookRequests.inc({ provider: 'github', result: 'accepted' });
  metrics.refreshRequests.inc({ result: 'ok' });
  metrics.reconcileDuration.observe({ kind: 'Application' }, 0.004);
  metrics.queueDepth.set({ queue: 'applications' }, 3);
  metrics.appInfo.set({ namespace: 'apps', name: 'guestbook', project: 'default', health_status: 'Degraded', sync_status: 'OutOfSync' }, 1);
  metrics.resourceReady.set({ kind: 'DingTalkChannel', namespace: 'apps', name: 'robot' }, 0);
  metrics.isLeader.set(1);
  metrics.informerRestarts.inc({ informer: 'applications' });

  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, log: silentLogger });
  t.teardown(() => server.close());
  const body = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  t.true(body.includes('herald_deliveries_total{trigger="on-sync-succeeded",channel="team \\"a\\"\\\\b\\nline",result="sent"} 1'));

  const result = promtoolCheckMetrics(body);
  t.true(result.ok, result.output);
});

test('promtool check metrics would reject a badly named metric (the check can fail)', (t) => {
  const result = promtoolCheckMetrics('# HELP herald_things_total Things.\n# TYPE herald_things_total gauge\nherald_things_total 1\n');
  t.false(result.ok);
  t.regex(result.output, /non-counter metrics should not have "_total" suffix/);
});

test('promtool check rules accepts the alert rules of config/prometheus', (t) => {
  const file = join(work, 'herald-rules.yaml');
  writeFileSync(file, stringify({ groups: ruleGroups() }));
  const result = runPromtool(['check', 'rules', file]);
  t.is(result.status, 0, result.output);
  t.regex(result.output, /SUCCESS: \d+ rules found/);
});

test('the alert rules cover failing deliveries, channels not Ready, rejected webhooks, outbox backlog and no leader', (t) => {
  const alerts = ruleGroups().flatMap((group) => group.rules.map((rule) => rule.alert));
  for (const name of ['HeraldDeliveriesFailing', 'HeraldChannelNotReady', 'HeraldWebhooksRejected', 'HeraldOutboxBacklog', 'HeraldNoLeader']) {
    t.true(alerts.includes(name), name);
  }
  for (const rule of ruleGroups().flatMap((group) => group.rules)) {
    t.truthy(rule.labels?.severity, `${rule.alert} has a severity`);
    t.truthy(rule.annotations?.summary, `${rule.alert} has a summary`);
    t.truthy(rule.annotations?.description, `${rule.alert} has a description`);
  }
});

// promtool test rules: synthetic series in, expected alerts out. Annotations are
// dropped from this copy (promtool would compare their rendered text verbatim); their
// templates are checked by `promtool check rules` above.
const target = 'namespace="argocd",job="herald-metrics"';
const alertTests = [
  {
    name: 'no leader: every replica reports 0',
    interval: '1m',
    input_series: [
      { series: `herald_leader{${target},pod="a"}`, values: '0x20' },
      { series: `herald_leader{${target},pod="b"}`, values: '0x20' },
    ],
    alert_rule_test: [
      { eval_time: '3m', alertname: 'HeraldNoLeader', exp_alerts: [] },
      { eval_time: '10m', alertname: 'HeraldNoLeader', exp_alerts: [{ exp_labels: { severity: 'critical', namespace: 'argocd', job: 'herald-metrics' } }] },
    ],
  },
  {
    name: 'no leader: herald is not scraped at all',
    interval: '1m',
    input_series: [{ series: 'up{job="something-else"}', values: '1x20' }],
    alert_rule_test: [{ eval_time: '10m', alertname: 'HeraldNoLeader', exp_alerts: [{ exp_labels: { severity: 'critical' } }] }],
  },
  {
    name: 'one leader is healthy, two are split brain',
    interval: '1m',
    input_series: [
      { series: `herald_leader{${target},pod="a"}`, values: '1x20' },
      { series: `herald_leader{${target},pod="b"}`, values: '0x10 1x10' },
    ],
    alert_rule_test: [
      { eval_time: '10m', alertname: 'HeraldNoLeader', exp_alerts: [] },
      { eval_time: '10m', alertname: 'HeraldMultipleLeaders', exp_alerts: [] },
      { eval_time: '18m', alertname: 'HeraldMultipleLeaders', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'argocd', job: 'herald-metrics' } }] },
    ],
  },
  {
    name: 'half the deliveries to one channel fail; another channel is fine',
    interval: '1m',
    input_series: [
      { series: `herald_deliveries_total{${target},trigger="on-sync",channel="team-a",result="sent"}`, values: '0+5x60' },
      { series: `herald_deliveries_total{${target},trigger="on-sync",channel="team-a",result="failed"}`, values: '0+5x60' },
      { series: `herald_deliveries_total{${target},trigger="on-sync",channel="team-b",result="sent"}`, values: '0+5x60' },
    ],
    alert_rule_test: [
      { eval_time: '10m', alertname: 'HeraldDeliveriesFailing', exp_alerts: [] },
      { eval_time: '40m', alertname: 'HeraldDeliveriesFailing', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'argocd', channel: 'team-a' } }] },
    ],
  },
  {
    name: 'DingTalk rejects a channel configuration',
    interval: '1m',
    input_series: [{ series: `herald_deliveries_total{${target},trigger="on-sync",channel="team-a",result="rejected"}`, values: '0 0 1+1x20' }],
    alert_rule_test: [
      { eval_time: '1m', alertname: 'HeraldDeliveriesRejected', exp_alerts: [] },
      { eval_time: '10m', alertname: 'HeraldDeliveriesRejected', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'argocd', channel: 'team-a' } }] },
    ],
  },
  {
    name: 'a channel is not Ready, a template is not Ready, a trigger is fine',
    interval: '1m',
    input_series: [
      { series: `herald_resource_ready{job="herald-metrics",kind="DingTalkChannel",namespace="team-a",name="robot"}`, values: '0x30' },
      { series: `herald_resource_ready{job="herald-metrics",kind="NotificationTemplate",namespace="team-a",name="synced"}`, values: '0x30' },
      { series: `herald_resource_ready{job="herald-metrics",kind="NotificationTrigger",namespace="argocd",name="on-sync"}`, values: '1x30' },
    ],
    alert_rule_test: [
      { eval_time: '5m', alertname: 'HeraldChannelNotReady', exp_alerts: [] },
      { eval_time: '12m', alertname: 'HeraldChannelNotReady', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'team-a', name: 'robot' } }] },
      {
        eval_time: '20m',
        alertname: 'HeraldResourceNotReady',
        exp_alerts: [{ exp_labels: { severity: 'warning', kind: 'NotificationTemplate', namespace: 'team-a', name: 'synced' } }],
      },
    ],
  },
  {
    name: 'webhooks with a wrong secret are rejected; accepted ones are not alerts',
    interval: '1m',
    input_series: [
      { series: `herald_webhook_requests_total{${target},provider="github",result="unauthorized"}`, values: '0+1x20' },
      { series: `herald_webhook_requests_total{${target},provider="gitlab",result="accepted"}`, values: '0+1x20' },
    ],
    alert_rule_test: [
      {
        eval_time: '10m',
        alertname: 'HeraldWebhooksRejected',
        exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'argocd', provider: 'github', result: 'unauthorized' } }],
      },
    ],
  },
  {
    name: 'an outbox that never empties is a backlog; one that drains is not',
    interval: '1m',
    input_series: [
      // Empty for 5 minutes, then 3 messages stuck from minute 6 on.
      { series: `herald_outbox_pending{namespace="argocd",job="herald-metrics",pod="a"}`, values: '0x5 3x40' },
      { series: `herald_outbox_pending{namespace="team",job="herald-team",pod="b"}`, values: '2 2 2 0 2 2 2 0 2 2 2 0 2 2 2 0 2 2 2 0 2 2 2 0 2 2 2 0 2 2 2 0 2 2 2 0 2 2 2 0' },
    ],
    alert_rule_test: [
      { eval_time: '30m', alertname: 'HeraldOutboxBacklog', exp_alerts: [] },
      { eval_time: '40m', alertname: 'HeraldOutboxBacklog', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'argocd', job: 'herald-metrics' } }] },
    ],
  },
  {
    name: 'trigger errors, DingTalk throttling and flapping watches',
    interval: '1m',
    input_series: [
      { series: `herald_trigger_evaluations_total{${target},trigger="on-deployed",result="error"}`, values: '0+1x40' },
      { series: `herald_trigger_evaluations_total{${target},trigger="on-sync",result="missing_field"}`, values: '0+1x40' },
      { series: `herald_rate_limited_total{${target},channel="team-a",source="dingtalk"}`, values: '0 0 1x40' },
      { series: `herald_rate_limited_total{${target},channel="team-b",source="herald"}`, values: '0+1x40' },
      { series: `herald_informer_restarts_total{${target},informer="applications"}`, values: '0+1x40' },
    ],
    alert_rule_test: [
      { eval_time: '20m', alertname: 'HeraldTriggerEvaluationErrors', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'argocd', trigger: 'on-deployed' } }] },
      { eval_time: '5m', alertname: 'HeraldDingTalkRateLimited', exp_alerts: [{ exp_labels: { severity: 'info', namespace: 'argocd', channel: 'team-a' } }] },
      { eval_time: '30m', alertname: 'HeraldWatchRestarting', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'argocd', informer: 'applications' } }] },
    ],
  },
];

test('promtool test rules: the alerts fire on the situations they describe, and only then', (t) => {
  const groups = ruleGroups().map((group) => ({
    ...group,
    rules: group.rules.map(({ annotations: _annotations, ...rule }) => rule),
  }));
  writeFileSync(join(work, 'rules-for-tests.yaml'), stringify({ groups }));
  writeFileSync(join(work, 'alert-tests.yaml'), stringify({ rule_files: ['rules-for-tests.yaml'], evaluation_interval: '1m', tests: alertTests }));
  const result = runPromtool(['test', 'rules', 'alert-tests.yaml']);
  t.is(result.status, 0, result.output);
  t.regex(result.output, /SUCCESS/);
});

test('promtool test rules fails when an expected alert does not fire (the check can fail)', (t) => {
  writeFileSync(join(work, 'rules-for-negative.yaml'), stringify({ groups: ruleGroups() }));
  const impossible = {
    rule_files: ['rules-for-negative.yaml'],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: [{ series: `herald_leader{${target},pod="a"}`, values: '1x20' }],
        alert_rule_test: [{ eval_time: '10m', alertname: 'HeraldNoLeader', exp_alerts: [{ exp_labels: { severity: 'critical' } }] }],
      },
    ],
  };
  writeFileSync(join(work, 'negative.yaml'), stringify(impossible));
  const result = runPromtool(['test', 'rules', 'negative.yaml']);
  t.not(result.status, 0);
  t.regex(result.output, /HeraldNoLeader/);
});
