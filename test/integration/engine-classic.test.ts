// The classic scenario of issue 4: the sample catalog and channel, an Application
// going Running → Succeeded + Healthy → Degraded, one message per trigger, each once.
import test from 'ava';
import { startOperator } from '../support/operator.js';
import { CHANNEL, markdownOf, playClassicScenario, setupScenario, triggerOf } from '../support/scenario.js';
import { REVISIONS } from '../support/fixtures/apps.js';
import { sleep } from '../support/wait.js';

test('Running → Succeeded+Healthy → Degraded sends each catalog trigger once; resync and restart send nothing; a new revision sends again', async (t) => {
  const scenario = await setupScenario(t, import.meta.url);
  const { namespace, robot } = scenario;
  const operator = await startOperator({ controlNamespace: namespace });
  t.teardown(() => operator.stop());

  await playClassicScenario(scenario);
  await sleep(2000);

  const sent = robot.accepted().map(triggerOf);
  t.deepEqual([...sent].sort(), ['on-deployed', 'on-health-degraded', 'on-sync-running', 'on-sync-succeeded']);
  t.is(sent[0], 'on-sync-running');
  t.is(sent[3], 'on-health-degraded');

  const succeeded = robot.accepted().find((request) => triggerOf(request) === 'on-sync-succeeded')!;
  const { title, text } = markdownOf(succeeded);
  t.true(title.includes('ArgoCD同步状态'), title);
  t.true(text.includes(`${namespace}/guestbook`), text);
  t.true(text.includes('Succeeded'), text);
  // 2024-05-01T08:00:00Z is 16:00 in Asia/Shanghai.
  t.true(text.includes('2024-05-01 16:00:00'), text);
  t.true(text.includes(`https://argocd.example.com/applications/${namespace}/guestbook`), text);
  t.true(text.includes('alice'), text);
  for (const request of robot.accepted()) {
    t.truthy(request.query.sign, 'every request is signed');
    t.is(request.query.access_token, scenario.token);
  }

  // The same state again (Argo CD's resync writes reconciledAt) and a restart: nothing new.
  await scenario.setStatus('guestbook', { phase: 'Succeeded', healthStatus: 'Degraded', revision: REVISIONS.first, initiatedBy: 'alice', reconciledAt: '2024-05-01T09:00:00Z' });
  await operator.stop();
  const restarted = await startOperator({ controlNamespace: namespace });
  t.teardown(() => restarted.stop());
  await sleep(3000);
  t.is(robot.accepted().length, 4, 'resync and restart repeat nothing');

  // A new revision is a new deployment.
  await scenario.setStatus('guestbook', { phase: 'Running', revision: REVISIONS.second, initiatedBy: 'bob', startedAt: '2024-05-02T08:00:00Z' });
  await robot.waitForAccepted(5);
  await scenario.setStatus('guestbook', { phase: 'Succeeded', healthStatus: 'Healthy', revision: REVISIONS.second, initiatedBy: 'bob', startedAt: '2024-05-02T08:00:00Z' });
  await robot.waitForAccepted(7);
  await sleep(2000);
  const second = robot.accepted().slice(4).map(triggerOf).sort();
  t.deepEqual(second, ['on-deployed', 'on-sync-running', 'on-sync-succeeded']);

  const app = await scenario.getApp('guestbook');
  const ledger = JSON.parse(app.metadata.annotations!['herald.gitops.dev/notified']!) as Record<string, number>;
  t.true(Object.keys(ledger).some((key) => key === `${REVISIONS.second}:on-deployed:default:${CHANNEL}`), Object.keys(ledger).join('\n'));
  t.is(app.metadata.annotations!['herald.gitops.dev/outbox'], undefined, 'the outbox is empty once everything is delivered');
});
