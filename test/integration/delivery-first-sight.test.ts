// Issue 13, must-shows 1 and 3: no stale news. herald installed next to 200
// Applications that synced long ago sends nothing, then exactly the next change;
// cosmetic trigger edits and reordered conditions in a running setup send nothing.
// (Must-show 2, the same start with --on-first-sight=send: delivery-first-sight-send.test.ts.)
import test, { type ExecutionContext } from 'ava';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { testCluster } from '../support/cluster.js';
import { REVISIONS, type Application } from '../support/fixtures/apps.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { scrape, sumOf } from '../support/scrape.js';
import { acceptedFor, assertNoSecretsIn, CHANNEL, markdownOf, setupScenario, type Scenario } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';

const APPS = 200;
const NOTIFIED = 'herald.gitops.dev/notified';
const OUTBOX = 'herald.gitops.dev/outbox';
// The sample channel's subscription (config/samples): every app, these four triggers.
const SUBSCRIBED = ['on-sync-running', 'on-sync-succeeded', 'on-sync-failed', 'on-deployed'];
const name = (i: number) => `app-${String(i).padStart(3, '0')}`;
const isoNow = (offsetSeconds = 0) => new Date(Date.now() + offsetSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** 200 Applications Synced+Healthy, whose last sync (buildApp's default, 2024) succeeded long ago; no herald annotations. */
async function createSyncedApps(scenario: Scenario): Promise<void> {
  for (let from = 0; from < APPS; from += 25) {
    await Promise.all(Array.from({ length: 25 }, (_, k) => scenario.createApp({ name: name(from + k), revision: REVISIONS.first })));
  }
}

/** For waitFor predicates over all 200 apps: list them at most every 2 s, not every 100 ms. */
async function listAppsSlowly(namespace: string): Promise<Application[]> {
  await sleep(2000);
  return listApps(namespace);
}

async function listApps(namespace: string): Promise<Application[]> {
  const api = testCluster().kc.makeApiClient(CustomObjectsApi);
  const list = (await api.listNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'applications' })) as { items: Application[] };
  return list.items;
}

const ledgerOf = (app: Application): Record<string, number> => JSON.parse(app.metadata.annotations?.[NOTIFIED] ?? '{}') as Record<string, number>;

async function metrics(operator: RunningOperator) {
  return (await scrape(`http://127.0.0.1:${operator.ports.metrics}/metrics`)).samples;
}

test('must-show 1: installed next to 200 synced Applications herald sends nothing for 2 minutes, then exactly the next sync', async (t) => {
  t.timeout(6 * 60_000);
  const scenario = await setupScenario(t, import.meta.url, { robotPerMinute: 20 });
  const { namespace, robot } = scenario;
  await createSyncedApps(scenario);

  const startedAt = Date.now();
  const operator = await startOperator({ controlNamespace: namespace });
  t.teardown(() => operator.stop());

  // Every app gets its first-sight markers and the current state recorded (value 0).
  await waitFor(async () => {
    const apps = await listAppsSlowly(namespace);
    return apps.length === APPS && apps.every((app) => SUBSCRIBED.every((trigger) => `:${trigger}:*:${CHANNEL}` in ledgerOf(app)));
  }, 'first-sight markers on all 200 apps', 150_000);
  const markedAfter = (Date.now() - startedAt) / 1000;
  const apps = await listApps(namespace);
  for (const app of apps) {
    const ledger = ledgerOf(app);
    t.is(ledger[`${REVISIONS.first}:on-deployed:default:${CHANNEL}`], 0, `${app.metadata.name}: on-deployed recorded, not sent`);
    t.is(ledger[`${REVISIONS.first}:on-sync-succeeded:default:${CHANNEL}`], 0, `${app.metadata.name}: on-sync-succeeded recorded, not sent`);
    t.is(app.metadata.annotations?.[OUTBOX], undefined, `${app.metadata.name}: nothing waits to be sent`);
  }
  // Keep watching until two minutes since the start have passed.
  while (Date.now() - startedAt < 120_000 && robot.requests.length === 0) await sleep(1000);
  t.log(`markers on all ${APPS} apps ${markedAfter.toFixed(1)} s after start; ${robot.requests.length} requests in ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  t.is(robot.requests.length, 0, '0 requests within 2 minutes');
  const quiet = await metrics(operator);
  t.is(sumOf(quiet, 'herald_deliveries_total'), 0, 'markers and recorded states are not deliveries');
  t.true(sumOf(quiet, 'herald_trigger_evaluations_total', { result: 'recorded' }) >= 2 * APPS, 'two recorded conditions per app');
  t.is(sumOf(quiet, 'herald_trigger_evaluations_total', { result: 'fired' }), 0);

  // One of them syncs a new revision: exactly its messages arrive.
  const app = name(42);
  await scenario.setStatus(app, { phase: 'Running', revision: REVISIONS.second, initiatedBy: 'alice', startedAt: isoNow(-2) });
  await robot.waitForAccepted(1, { timeoutMs: 30_000 });
  await scenario.setStatus(app, { phase: 'Succeeded', healthStatus: 'Healthy', revision: REVISIONS.second, initiatedBy: 'alice', startedAt: isoNow(-2), finishedAt: isoNow(-1), reconciledAt: isoNow() });
  await robot.waitForAccepted(3, { timeoutMs: 30_000 });
  await sleep(5000);
  t.deepEqual(acceptedFor(robot, app), ['on-sync-running', 'on-sync-succeeded', 'on-deployed'], 'the three messages of that sync, in order');
  t.is(robot.requests.length, 3, 'and nothing else');
  t.true(robot.requests.every((request) => request.accepted));
  assertNoSecretsIn(t, operator.output, scenario);
});

/** Every condition's `when` in parentheses with extra whitespace: the same meaning, a new text. */
function cosmetic(when: string): string {
  return `(  ${when.trim().replace(/\s+/g, '   ')}  )`;
}

async function editTriggers(t: ExecutionContext, namespace: string, edit: (spec: { conditions: Array<Record<string, unknown>> }) => void, names: string[]): Promise<void> {
  const cluster = testCluster();
  for (const trigger of names) {
    const object = JSON.parse(cluster.kubectlOrThrow(['get', 'ntrigger', trigger, '-n', namespace, '-o', 'json'])) as {
      metadata: Record<string, unknown>;
      spec: { conditions: Array<Record<string, unknown>> };
    };
    const before = JSON.stringify(object.spec);
    edit(object.spec);
    t.not(JSON.stringify(object.spec), before, `${trigger} was edited`);
    cluster.kubectlOrThrow(['replace', '-f', '-'], JSON.stringify({ apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'NotificationTrigger', metadata: { name: trigger, namespace, resourceVersion: object.metadata.resourceVersion }, spec: object.spec }));
  }
}

test('must-show 3: cosmetic edits of every catalog trigger and two reordered conditions re-send nothing', async (t) => {
  t.timeout(5 * 60_000);
  const scenario = await setupScenario(t, import.meta.url);
  const { namespace, robot } = scenario;
  const cluster = testCluster();
  scenario.applyYaml(`apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTrigger
metadata: {name: on-sync-finished}
spec:
  conditions:
    - name: succeeded
      when: app.status.operationState.phase == 'Succeeded'
      oncePer: app.status.operationState.syncResult.revision
      send: [app-sync-change]
    - name: degraded
      when: app.status.health.status == 'Degraded'
      send: [app-sync-change]
`);
  const operator = await startOperator({ controlNamespace: namespace });
  t.teardown(() => operator.stop());

  // Apps created while herald runs: their state is news, and is sent.
  const subscriptions = { 'herald.gitops.dev/subscribe.on-sync-finished': CHANNEL, 'herald.gitops.dev/subscribe.on-health-degraded': CHANNEL };
  const apps = ['alpha', 'beta', 'gamma'];
  for (const app of apps) {
    await scenario.createApp({ name: app, revision: REVISIONS.first, healthStatus: app === 'gamma' ? 'Degraded' : 'Healthy', annotations: subscriptions });
  }
  // alpha, beta: on-sync-succeeded, on-deployed, on-sync-finished/succeeded; gamma: on-sync-succeeded, on-health-degraded, both of on-sync-finished.
  const expected = 3 + 3 + 4;
  await waitFor(async () => (await listAppsSlowly(namespace)).every((app) => app.metadata.annotations?.[OUTBOX] === undefined) && robot.accepted().length >= expected, `${expected} messages delivered`, 60_000);
  await sleep(3000);
  t.is(robot.requests.length, expected, robot.accepted().map((r) => markdownOf(r).title).join('\n'));
  const ledgersBefore = new Map((await listApps(namespace)).map((app) => [app.metadata.name, Object.keys(ledgerOf(app)).sort()]));

  // Every catalog trigger's `when` rewritten cosmetically; on-sync-finished's two conditions swapped (and rewritten).
  const catalog = ['on-created', 'on-deleted', 'on-deployed', 'on-health-degraded', 'on-health-recovered', 'on-sync-failed', 'on-sync-running', 'on-sync-status-unknown', 'on-sync-succeeded'];
  await editTriggers(t, namespace, (spec) => {
    for (const condition of spec.conditions) condition.when = cosmetic(String(condition.when));
  }, catalog);
  await editTriggers(t, namespace, (spec) => {
    spec.conditions.reverse();
    for (const condition of spec.conditions) condition.when = cosmetic(String(condition.when));
  }, ['on-sync-finished']);
  t.deepEqual(
    (JSON.parse(cluster.kubectlOrThrow(['get', 'ntrigger', 'on-sync-finished', '-n', namespace, '-o', 'json'])) as { spec: { conditions: Array<{ name: string }> } }).spec.conditions.map((c) => c.name),
    ['degraded', 'succeeded'],
  );
  // The operator has taken every edit when each trigger's status describes its generation and is Ready.
  await waitFor(() => [...catalog, 'on-sync-finished'].every((trigger) => {
    const object = JSON.parse(cluster.kubectlOrThrow(['get', 'ntrigger', trigger, '-n', namespace, '-o', 'json'])) as {
      metadata: { generation: number };
      status?: { observedGeneration?: number; conditions?: Array<{ type: string; status: string }> };
    };
    return object.status?.observedGeneration === object.metadata.generation && object.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  }), 'every edited trigger observed and Ready', 30_000);

  // Then every app is evaluated again with the edited triggers (a label change makes sure of it).
  const suppressedBefore = sumOf(await metrics(operator), 'herald_trigger_evaluations_total', { trigger: 'on-sync-finished', result: 'suppressed' });
  for (const app of apps) cluster.kubectlOrThrow(['label', 'application', app, '-n', namespace, `edited=${Date.now()}`, '--overwrite']);
  await waitFor(async () => sumOf(await metrics(operator), 'herald_trigger_evaluations_total', { trigger: 'on-sync-finished', result: 'suppressed' }) >= suppressedBefore + 4,
    'on-sync-finished evaluated again on every app (suppressed)', 30_000);
  await sleep(5000);
  t.is(robot.requests.length, expected, '0 new requests after the edits');
  const ledgersAfter = new Map((await listApps(namespace)).map((app) => [app.metadata.name, Object.keys(ledgerOf(app)).sort()]));
  t.deepEqual(ledgersAfter, ledgersBefore, 'the same ledger keys');

  // The edited triggers still work: a new revision on alpha sends its messages.
  await scenario.setStatus('alpha', { phase: 'Succeeded', revision: REVISIONS.second, startedAt: isoNow(-2), finishedAt: isoNow(-1), reconciledAt: isoNow() });
  await robot.waitForAccepted(expected + 3, { timeoutMs: 30_000 });
  await sleep(3000);
  t.is(robot.requests.length, expected + 3);
  assertNoSecretsIn(t, operator.output, scenario);
});
