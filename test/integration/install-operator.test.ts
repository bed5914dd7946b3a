// The running operator with only the permissions of config/rbac (its ServiceAccount's
// token), through the classic scenario and a Git push: it does its whole job, never
// hits a Forbidden, and its /metrics moves as expected and passes promtool.
import test from 'ava';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { HERALD_GROUP, HERALD_VERSION, KINDS } from '../../src/api/groups.js';
import { testCluster } from '../support/cluster.js';
import { startOperator } from '../support/operator.js';
import { promtoolCheckMetrics } from '../support/promtool.js';
import { REVISIONS } from '../support/fixtures/apps.js';
import { CHANNEL, playClassicScenario, setupScenario, triggerOf } from '../support/scenario.js';
import { delta, scrape, sumOf } from '../support/scrape.js';
import { heraldServiceAccount } from '../support/serviceaccount.js';
import { waitFor } from '../support/wait.js';
import { githubPush } from '../support/webhook-payloads.js';
import { deliver, refreshedApps, writeWebhookSecret } from './webhook-support.js';

const GITHUB_SECRET = 'install-operator-github-secret';

test('as its ServiceAccount, herald notifies, records, refreshes and elects itself; metrics move accordingly', async (t) => {
  const scenario = await setupScenario(t, import.meta.url);
  const { namespace, robot } = scenario;
  const access = await heraldServiceAccount(namespace);
  t.teardown(() => access.cleanup());
  await writeWebhookSecret(namespace, { 'webhook.github.secret': GITHUB_SECRET });

  // --sent-events: the ServiceAccount may record a Normal Event per message too (off by default).
  const operator = await startOperator({ controlNamespace: namespace, kubeconfig: access.kubeconfigPath, extraArgs: ['--sent-events'] });
  t.teardown(() => operator.stop());
  const metricsUrl = `http://127.0.0.1:${operator.ports.metrics}/metrics`;
  await waitFor(() => operator.isLeader(), 'the operator to take the Lease');
  const channelLabel = `${namespace}/${CHANNEL}`;
  // Ready resources are reported once the config reconciler ran; wait for the channel.
  await waitFor(
    async () => sumOf((await scrape(metricsUrl)).samples, 'herald_resource_ready', { kind: KINDS.DingTalkChannel.kind, namespace, name: CHANNEL }) === 1,
    'the channel to be Ready in the metrics',
  );
  const before = await scrape(metricsUrl);

  // The classic scenario: Running → Succeeded + Healthy → Degraded.
  await playClassicScenario(scenario);
  t.deepEqual(robot.accepted().map(triggerOf).sort(), ['on-deployed', 'on-health-degraded', 'on-sync-running', 'on-sync-succeeded']);

  // A signed GitHub push for the app's repository refreshes it.
  const push = githubPush({ repo: 'argoproj/argocd-example-apps', ref: 'refs/heads/main', defaultBranch: 'main' }, GITHUB_SECRET);
  const answer = await deliver(operator.ports.webhook!, push);
  t.is(answer.status, 202, answer.body);
  await waitFor(async () => (await refreshedApps(namespace)).includes('guestbook'), 'the refresh annotation');

  // Everything recorded with the ServiceAccount's permissions: ledger, status, Events, Lease.
  await waitFor(async () => (await scenario.getApp('guestbook')).metadata.annotations?.['herald.gitops.dev/outbox'] === undefined, 'the outbox to drain');
  const app = await scenario.getApp('guestbook');
  t.truthy(app.metadata.annotations?.['herald.gitops.dev/notified'], 'the ledger was written');
  const custom = testCluster().kc.makeApiClient(CustomObjectsApi);
  await waitFor(async () => {
    const channel = (await custom.getNamespacedCustomObject({ group: HERALD_GROUP, version: HERALD_VERSION, namespace, plural: KINDS.DingTalkChannel.plural, name: CHANNEL })) as {
      status?: { lastSentTime?: string; conditions?: Array<{ type: string; status: string }> };
    };
    return channel.status?.lastSentTime !== undefined && channel.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  }, 'the channel status (Ready, lastSentTime)');
  const core = testCluster().kc.makeApiClient(CoreV1Api);
  await waitFor(async () => (await core.listNamespacedEvent({ namespace })).items.some((e) => e.reason === 'NotificationSent'), 'a NotificationSent Event');
  const lease = await testCluster().kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace, name: 'herald-leader' });
  t.truthy(lease.spec?.holderIdentity);

  const forbidden = operator.records().filter((record) => /forbidden|\b403\b/i.test(JSON.stringify(record)));
  t.deepEqual(forbidden, [], 'no request of the operator was Forbidden');

  // Metrics: scrape after, compare with before.
  let after = await scrape(metricsUrl);
  await waitFor(async () => {
    after = await scrape(metricsUrl);
    return sumOf(after.samples, 'herald_app_info', { namespace, name: 'guestbook', health_status: 'Degraded' }) === 1;
  }, 'herald_app_info to show the Degraded app');
  const moved = (name: string, labels: Record<string, string> = {}) => delta(before.samples, after.samples, name, labels);

  t.is(moved('herald_deliveries_total', { channel: channelLabel, result: 'sent' }) + moved('herald_deliveries_total', { channel: channelLabel, result: 'digested' }), 4);
  t.is(moved('herald_deliveries_total', { result: 'failed' }), 0);
  t.is(moved('herald_deliveries_total', { result: 'rejected' }), 0);
  for (const trigger of ['on-sync-running', 'on-sync-succeeded', 'on-deployed', 'on-health-degraded']) {
    t.is(moved('herald_deliveries_total', { trigger, channel: channelLabel }), 1, `${trigger} delivered once`);
    t.true(moved('herald_trigger_evaluations_total', { trigger, result: 'fired' }) >= 1, `${trigger} fired`);
  }
  t.is(moved('herald_delivery_latency_seconds_count', { channel: channelLabel }), 4);
  t.is(moved('herald_delivery_latency_seconds_bucket', { channel: channelLabel, le: '+Inf' }), 4);
  t.true(moved('herald_delivery_latency_seconds_sum', { channel: channelLabel }) > 0);
  t.true(moved('herald_reconcile_duration_seconds_count', { kind: 'Application' }) >= 3);
  t.is(moved('herald_webhook_requests_total', { provider: 'github', result: 'accepted' }), 1);
  t.is(moved('herald_refresh_requests_total', { result: 'ok' }), 1);
  t.is(moved('herald_refresh_requests_total', { result: 'error' }), 0);
  t.is(sumOf(after.samples, 'herald_app_info', { namespace, name: 'guestbook', project: 'default', health_status: 'Degraded', sync_status: 'Synced' }), 1);
  t.is(sumOf(after.samples, 'herald_leader'), 1);
  t.is(sumOf(after.samples, 'herald_resource_ready', { namespace, name: CHANNEL }), 1);

  const check = promtoolCheckMetrics(after.text);
  t.true(check.ok, check.output);

  // herald_outbox_pending reports what waits for the channel: with the robot down, a new
  // sync's message shows in it; once the robot is back and has the message, it is 0 again.
  const pending = async () => sumOf((await scrape(metricsUrl)).samples, 'herald_outbox_pending', { channel: channelLabel });
  t.is(await pending(), 0, 'nothing waits after the classic scenario');
  robot.setMode(scenario.token, 'down');
  await scenario.setStatus('guestbook', { phase: 'Running', revision: REVISIONS.second, initiatedBy: 'alice' });
  await waitFor(async () => (await pending()) >= 1, 'herald_outbox_pending to count the waiting message', 30_000);
  t.is(robot.accepted().filter((request) => triggerOf(request) === 'on-sync-running').length, 1, 'not delivered while the robot is down');
  robot.setMode(scenario.token, 'ok');
  await waitFor(() => robot.accepted().filter((request) => triggerOf(request) === 'on-sync-running').length === 2, 'the waiting message to arrive', 90_000);
  await waitFor(async () => (await pending()) === 0, 'herald_outbox_pending back to 0', 30_000);
});
