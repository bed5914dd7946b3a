// DESIGN §4: no premature messages. An app whose operation finished after Argo CD's
// last reconcile (finishedAt > reconciledAt) still shows the old health; herald waits.
import test from 'ava';
import { startOperator } from '../support/operator.js';
import { CHANNEL, setupScenario, triggerOf } from '../support/scenario.js';
import { REVISIONS } from '../support/fixtures/apps.js';
import { sleep } from '../support/wait.js';

test('a finished operation is not evaluated until Argo CD has reconciled after it', async (t) => {
  const scenario = await setupScenario(t, import.meta.url);
  const { namespace, robot } = scenario;
  const operator = await startOperator({ controlNamespace: namespace });
  t.teardown(() => operator.stop());
  await scenario.createApp({ name: 'early', phase: 'Running', revision: REVISIONS.first, annotations: { 'herald.gitops.dev/subscribe.on-health-degraded': CHANNEL } });
  await robot.waitForAccepted(1);
  // The sync just finished; health still says Degraded from before the sync, and
  // reconciledAt is older than finishedAt.
  await scenario.setStatus('early', {
    phase: 'Succeeded',
    healthStatus: 'Degraded',
    revision: REVISIONS.first,
    startedAt: '2024-05-01T08:00:00Z',
    finishedAt: '2024-05-01T08:00:30Z',
    reconciledAt: '2024-05-01T08:00:10Z',
  });
  await sleep(3000);
  t.deepEqual(robot.accepted().map(triggerOf), ['on-sync-running'], 'nothing while the status is stale');
  t.true(operator.records().some((r) => r.msg === 'waiting for Argo CD to reconcile the finished operation'));
  // Argo CD reconciles: health is Healthy now.
  await scenario.setStatus('early', { phase: 'Succeeded', healthStatus: 'Healthy', revision: REVISIONS.first, startedAt: '2024-05-01T08:00:00Z', finishedAt: '2024-05-01T08:00:30Z', reconciledAt: '2024-05-01T08:00:35Z' });
  await robot.waitForAccepted(3);
  await sleep(1500);
  t.deepEqual(robot.accepted().map(triggerOf).sort(), ['on-deployed', 'on-sync-running', 'on-sync-succeeded'], 'no on-health-degraded for the stale state');
});
