// Issue 4, must-show 3: SIGKILL the operator three times in the middle of a burst of
// 200 notifications over 50 apps, with the apps still changing while it is down.
// Everything that reached an outbox, and everything due for the states seen after a
// restart, arrives; repeats number at most MAX_PENDING_COMPLETIONS (8) per kill, since
// the one channel sends on while that many accepted messages are still being recorded.
import test from 'ava';
import { CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';
import { MAX_PENDING_COMPLETIONS } from '../../src/controller/completions.js';
import { Informer } from '../../src/kube/informer.js';
import { silentLogger } from '../../src/observability/logger.js';
import { testCluster } from '../support/cluster.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { REVISION_SUBSCRIPTION, assertNoSecretsIn, revisionMessages, setupScenario, useRevisionTrigger } from '../support/scenario.js';
import { waitFor } from '../support/wait.js';

const APPS = 50;
const ROUNDS = 4;
const revision = (app: number, round: number) => `${String(round).padStart(2, '0')}${String(app).padStart(4, '0')}`.padEnd(40, 'c');

test('three SIGKILLs during a burst of 200 notifications lose nothing and repeat at most MAX_PENDING_COMPLETIONS messages per kill', async (t) => {
  const scenario = await setupScenario(t, import.meta.url, { perMinute: 10_000, robotPerMinute: 100_000 });
  const { namespace, robot } = scenario;
  const cluster = testCluster();
  useRevisionTrigger(scenario);

  // Watch the apps from the test: every outbox entry that ever existed is recorded.
  const seenInOutbox = new Set<string>();
  const api = cluster.kc.makeApiClient(CustomObjectsApi);
  const watcher = new Informer<KubernetesObject>({
    name: 'test-outbox-watch',
    kc: cluster.kc,
    path: `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/applications`,
    listPage: (cont) => api.listNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'applications', _continue: cont }) as never,
    log: silentLogger,
  });
  const record = (app: KubernetesObject) => {
    const outbox = app.metadata?.annotations?.['herald.gitops.dev/outbox'];
    if (!outbox) return;
    for (const entry of Object.values(JSON.parse(outbox) as Record<string, { key: string }>)) {
      seenInOutbox.add(`${app.metadata!.name} ${entry.key.split(':')[0]}`);
    }
  };
  watcher.on('add', record);
  watcher.on('update', record);
  watcher.start();
  t.teardown(() => watcher.stop());
  await watcher.waitForSync();

  const output: string[] = [];
  let operator: RunningOperator = await startOperator({ controlNamespace: namespace }, output);
  t.teardown(() => operator.kill());
  const received = () => revisionMessages(robot);
  const finalRevision = new Map<string, string>();
  const change = async (round: number) => {
    const names = Array.from({ length: APPS }, (_, i) => i);
    for (let i = 0; i < names.length; i += 10) {
      await Promise.all(
        names.slice(i, i + 10).map(async (app) => {
          const name = `app-${app}`;
          const rev = revision(app, round);
          finalRevision.set(name, rev);
          if (round === 1) await scenario.createApp({ name, revision: rev, annotations: REVISION_SUBSCRIPTION });
          else await scenario.setStatus(name, { revision: rev });
        }),
      );
    }
  };

  let kills = 0;
  const killWhenAccepted = async (count: number) => {
    await waitFor(() => robot.accepted().length >= count, `${count} accepted`, 60_000);
    await operator.kill();
    kills++;
  };

  const round1 = change(1);
  await killWhenAccepted(20);
  await round1;
  await change(2); // while the operator is down
  operator = await startOperator({ controlNamespace: namespace }, output);
  const round3 = change(3);
  await killWhenAccepted(robot.accepted().length + 25);
  await round3;
  operator = await startOperator({ controlNamespace: namespace }, output);
  const round4 = change(4);
  await killWhenAccepted(robot.accepted().length + 25);
  await round4;
  operator = await startOperator({ controlNamespace: namespace }, output);

  const due = new Set([...seenInOutbox, ...[...finalRevision].map(([name, rev]) => `${name} ${rev}`)]);
  await waitFor(() => {
    const got = new Set(received());
    return [...due, ...seenInOutbox].every((message) => got.has(message));
  }, 'every due message', 90_000);
  await waitFor(async () => watcherOutboxesEmpty(watcher), 'all outboxes empty', 30_000);

  const got = received();
  const counts = new Map<string, number>();
  for (const message of got) counts.set(message, (counts.get(message) ?? 0) + 1);
  const repeats = [...counts.values()].reduce((sum, n) => sum + (n - 1), 0);
  t.log(`kills: ${kills}; messages received: ${got.length} (${counts.size} distinct); due: ${due.size}; seen in an outbox: ${seenInOutbox.size}; repeated requests: ${repeats}`);
  t.is(kills, 3);
  for (const message of due) t.true(counts.has(message), `received: ${message}`);
  // One channel: a kill repeats the accepted messages whose completion patch was not written yet (at most 8).
  t.true(repeats <= kills * MAX_PENDING_COMPLETIONS, `at most ${MAX_PENDING_COMPLETIONS} repeats per kill (saw ${repeats})`);
  t.true(seenInOutbox.size >= APPS, 'the burst went through the outbox');
  assertNoSecretsIn(t, output, scenario);
});

function watcherOutboxesEmpty(watcher: Informer<KubernetesObject>): boolean {
  return watcher.list().every((app) => app.metadata?.annotations?.['herald.gitops.dev/outbox'] === undefined);
}
