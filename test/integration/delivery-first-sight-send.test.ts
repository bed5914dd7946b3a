// Issue 13, must-show 2: the opt-out. herald started with --on-first-sight=send next to
// 200 Applications that synced long ago reports their current state, merged into
// digests, never more than 20 requests in a rolling minute (the robot enforces it).
import test from 'ava';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { testCluster } from '../support/cluster.js';
import { REVISIONS, type Application } from '../support/fixtures/apps.js';
import { startOperator } from '../support/operator.js';
import { scrape, sumOf } from '../support/scrape.js';
import { assertNoSecretsIn, CHANNEL, markdownOf, setupScenario } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';

const APPS = 200;
const NOTIFIED = 'herald.gitops.dev/notified';
const OUTBOX = 'herald.gitops.dev/outbox';
const name = (i: number) => `app-${String(i).padStart(3, '0')}`;
const KEYS = [`${REVISIONS.first}:on-sync-succeeded:default:${CHANNEL}`, `${REVISIONS.first}:on-deployed:default:${CHANNEL}`];

async function listApps(namespace: string): Promise<Application[]> {
  const api = testCluster().kc.makeApiClient(CustomObjectsApi);
  const list = (await api.listNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'applications' })) as { items: Application[] };
  return list.items;
}

const ledgerOf = (app: Application): Record<string, number> => JSON.parse(app.metadata.annotations?.[NOTIFIED] ?? '{}') as Record<string, number>;

function busiestMinute(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return Math.max(0, ...sorted.map((start) => sorted.filter((time) => time >= start && time < start + 60_000).length));
}

test('must-show 2: with --on-first-sight=send the same start reports the current state, as digests within 20 a minute', async (t) => {
  // 400 messages at 20 requests a minute: measured about 2 minutes (57 requests, 7 digests); generous bounds.
  t.timeout(10 * 60_000);
  const scenario = await setupScenario(t, import.meta.url, { robotPerMinute: 20 });
  const { namespace, robot } = scenario;
  for (let from = 0; from < APPS; from += 25) {
    await Promise.all(Array.from({ length: 25 }, (_, k) => scenario.createApp({ name: name(from + k), revision: REVISIONS.first })));
  }
  const startedAt = Date.now();
  const operator = await startOperator({ controlNamespace: namespace, extraArgs: ['--on-first-sight=send'] });
  t.teardown(() => operator.stop());

  // Delivered: in the ledger with the time DingTalk accepted it (not 0), nothing left in the outbox.
  let delivered = 0;
  let waiting = 0;
  const progress = () =>
    `${delivered}/${2 * APPS} delivered, ${waiting} apps with an outbox, ${robot.requests.length} requests (${robot.accepted().length} accepted; answers: ${JSON.stringify(
      robot.requests.reduce<Record<string, number>>((count, r) => ({ ...count, [JSON.stringify(r.answer ?? 'none').slice(0, 60)]: (count[JSON.stringify(r.answer ?? 'none').slice(0, 60)] ?? 0) + 1 }), {}),
    )}) after ${((Date.now() - startedAt) / 1000).toFixed(0)} s`;
  try {
    await waitFor(async () => {
      await sleep(2000);
      const apps = await listApps(namespace);
      delivered = apps.reduce((sum, app) => sum + KEYS.filter((key) => (ledgerOf(app)[key] ?? 0) > 0).length, 0);
      waiting = apps.filter((app) => app.metadata.annotations?.[OUTBOX] !== undefined).length;
      return apps.length === APPS && delivered === 2 * APPS && waiting === 0;
    }, 'on-deployed and on-sync-succeeded of all 200 apps delivered', 480_000);
  } finally {
    t.log(progress());
  }
  const texts = robot.accepted().map((request) => `${markdownOf(request).title}\n${markdownOf(request).text}`).join('\n');
  const missing = Array.from({ length: APPS }, (_, i) => name(i)).filter((app) => !texts.includes(app));
  t.deepEqual(missing, [], 'every app is in what the robot accepted');
  const digests = robot.accepted().filter((request) => markdownOf(request).title.includes('herald:'));
  const busiest = busiestMinute(robot.requests.map((request) => request.time));
  t.log(`${robot.requests.length} requests (${digests.length} digests) for ${2 * APPS} messages; busiest 60 s: ${busiest}`);
  t.true(digests.length > 0, 'digests');
  t.true(robot.requests.length < 2 * APPS, 'fewer requests than messages');
  t.true(busiest <= 20, `at most 20 requests in any 60 s (saw ${busiest})`);
  t.true(robot.requests.every((request) => request.accepted), 'the robot never refused a request (no 130101)');
  const samples = (await scrape(`http://127.0.0.1:${operator.ports.metrics}/metrics`)).samples;
  t.is(sumOf(samples, 'herald_trigger_evaluations_total', { result: 'recorded' }), 0, 'nothing recorded in send mode');
  assertNoSecretsIn(t, operator.output, scenario);
});
