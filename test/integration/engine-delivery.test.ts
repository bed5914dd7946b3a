// Delivery guarantees of issue 4 against the running operator and the local robot:
// outages, message integrity, the rate limit with digests, keyword and token errors.
import test from 'ava';
import { startOperator } from '../support/operator.js';
import { CHANNEL, assertNoSecretsIn, eventsFor, markdownOf, readyOf, setupScenario, triggerOf } from '../support/scenario.js';
import { REVISIONS } from '../support/fixtures/apps.js';
import { sleep, waitFor } from '../support/wait.js';

test('an outage of the robot (HTTP 500, then 30 s without answers) loses nothing and retries a bounded number of times', async (t) => {
  const scenario = await setupScenario(t, import.meta.url);
  const { robot, namespace } = scenario;
  const operator = await startOperator({ controlNamespace: namespace });
  t.teardown(() => operator.stop());
  robot.setMode(scenario.token, 'http500');
  await scenario.createApp({ name: 'outage', phase: 'Running', revision: REVISIONS.first });
  await waitFor(() => robot.requests.length >= 2, 'two failed attempts');
  robot.setMode(scenario.token, 'hang');
  await scenario.setStatus('outage', { phase: 'Succeeded', healthStatus: 'Healthy', revision: REVISIONS.first });
  await sleep(30_000);
  // Requests still held are dropped unanswered (the robot never processed them), then it recovers.
  robot.setMode(scenario.token, 'down');
  await sleep(200);
  robot.setMode(scenario.token, 'ok');
  await robot.waitForAccepted(3, { timeoutMs: 90_000 });
  await sleep(2000);
  const delivered = robot.accepted().map(triggerOf).sort();
  t.deepEqual(delivered, ['on-deployed', 'on-sync-running', 'on-sync-succeeded']);
  const attempts = robot.requests.length;
  t.log(`requests during the outage and after: ${attempts} for 3 messages`);
  const retries = operator.records().filter((record) => record.msg === 'delivery failed; will retry');
  t.log(`retries logged by herald: ${retries.length}; largest backoff ${Math.max(...retries.map((r) => Number(r.retryInMs)))} ms`);
  t.true(retries.length >= 2, 'failed attempts were retried');
  t.true(retries.length <= 30, `retries are bounded (${retries.length})`);
  t.true(retries.every((record) => Number(record.retryInMs) <= 5 * 60_000), 'each backoff is capped');
  const app = await scenario.getApp('outage');
  t.is(app.metadata.annotations?.['herald.gitops.dev/outbox'], undefined);
  assertNoSecretsIn(t, operator.output, scenario);
});

test('a commit message with quotes, backslashes, newlines, {{ and emoji arrives intact in valid JSON', async (t) => {
  const scenario = await setupScenario(t, import.meta.url);
  const { robot, namespace } = scenario;
  scenario.applyYaml(`apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTemplate
metadata: {name: commit-message}
spec:
  dingtalk:
    msgType: markdown
    title: "ArgoCD {{ app.metadata.name }}"
    text: "ArgoCD message: {{ app.status.operationState.message }}"
---
apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTrigger
metadata: {name: on-failed-message}
spec:
  conditions:
    - when: app.status.operationState.phase == 'Failed'
      send: [commit-message]
`);
  const nasty = 'fix: handle "quoted" \'names\' and C:\\path\\to\\file\nsecond line\t{{ app.metadata.name }} {% raw %} 🚀🔥 中文 </script>';
  const operator = await startOperator({ controlNamespace: namespace });
  t.teardown(() => operator.stop());
  await scenario.createApp({
    name: 'quotes',
    phase: 'Failed',
    operationMessage: nasty,
    annotations: { 'herald.gitops.dev/subscribe.on-failed-message': CHANNEL },
  });
  await waitFor(() => robot.accepted().some((request) => markdownOf(request).text.startsWith('ArgoCD message:')), 'the message');
  const request = robot.accepted().find((r) => markdownOf(r).text.startsWith('ArgoCD message:'))!;
  t.notThrows(() => JSON.parse(request.rawBody), 'the body is valid JSON');
  t.is(markdownOf(request).text, `ArgoCD message: ${nasty}`);
  assertNoSecretsIn(t, operator.output, scenario);
});

test('25 notifications for one channel within a minute: at most 20 POSTs in any 60 s window, nothing dropped (a digest carries the rest)', async (t) => {
  const scenario = await setupScenario(t, import.meta.url, { robotPerMinute: 20 });
  const { robot, namespace } = scenario;
  const operator = await startOperator({ controlNamespace: namespace });
  t.teardown(() => operator.stop());
  for (let i = 0; i < 25; i++) await scenario.createApp({ name: `burst-${i}`, phase: 'Running', revision: REVISIONS.first });
  await waitFor(() => {
    const texts = robot.accepted().map((request) => markdownOf(request).text).join('\n');
    // A message in full shows `namespace/app`; a digest of many shows one line per message, with its title.
    return Array.from({ length: 25 }, (_, i) => i).every((i) => texts.includes(`${namespace}/burst-${i}\n`) || texts.includes(`- ArgoCD同步状态: burst-${i} `));
  }, 'all 25 apps in what the robot accepted', 90_000);
  const times = robot.requests.map((request) => request.time).sort((a, b) => a - b);
  const busiest = Math.max(...times.map((start) => times.filter((time) => time >= start && time < start + 60_000).length));
  t.log(`POSTs: ${robot.requests.length}, busiest 60 s window: ${busiest}, digests: ${robot.accepted().filter((r) => markdownOf(r).title.startsWith('herald:')).length}`);
  t.true(busiest <= 20, `at most 20 POSTs in any 60 s window (saw ${busiest})`);
  t.true(robot.requests.every((request) => request.accepted), 'the robot never had to answer 130101');
  t.true(robot.accepted().some((request) => markdownOf(request).title.startsWith('herald:')), 'a digest message was sent');
  await waitFor(async () => {
    for (let i = 0; i < 25; i++) {
      const app = await scenario.getApp(`burst-${i}`);
      if (app.metadata.annotations?.['herald.gitops.dev/outbox'] !== undefined) return false;
    }
    return true;
  }, 'every outbox empty');
  assertNoSecretsIn(t, operator.output, scenario);
});

test('a message without any keyword is not sent and says why; a rejected token makes the channel Ready=False', async (t) => {
  const scenario = await setupScenario(t, import.meta.url);
  const { robot, namespace } = scenario;
  scenario.applyYaml(`apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTemplate
metadata: {name: no-keyword}
spec:
  dingtalk: {msgType: text, text: "deployed {{ app.metadata.name }}"}
---
apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTrigger
metadata: {name: on-anything}
spec:
  conditions:
    - when: "true"
      oncePer: app.metadata.name
      send: [no-keyword]
`);
  const operator = await startOperator({ controlNamespace: namespace });
  t.teardown(() => operator.stop());
  await scenario.createApp({ name: 'plain', phase: null, annotations: { 'herald.gitops.dev/subscribe.on-anything': CHANNEL } });
  await waitFor(() => eventsFor(namespace, 'Application', 'plain').some((event) => event.reason === 'NotificationFailed'), 'a NotificationFailed event');
  const event = eventsFor(namespace, 'Application', 'plain').find((e) => e.reason === 'NotificationFailed')!;
  t.regex(event.message, /KeywordMissing/);
  t.regex(event.message, /ArgoCD/);
  await waitFor(() => /KeywordMissing/.test(readyOf(namespace, 'dingtalkchannel', CHANNEL).lastError ?? ''), 'the channel status to say why');
  t.is(robot.requests.length, 0, 'nothing was sent to DingTalk');
  const app = await scenario.getApp('plain');
  t.regex(app.metadata.annotations?.['herald.gitops.dev/outbox'] ?? '', /KeywordMissing/, 'the message is kept in the outbox');

  // Now the robot is deleted in DingTalk: its token is rejected with 300001.
  robot.removeRobot(scenario.token);
  await scenario.createApp({ name: 'after-delete', phase: 'Running', revision: REVISIONS.first });
  await waitFor(() => readyOf(namespace, 'dingtalkchannel', CHANNEL).status === 'False', 'channel Ready=False');
  const ready = readyOf(namespace, 'dingtalkchannel', CHANNEL);
  t.is(ready.reason, 'InvalidToken');
  t.false((ready.message ?? '').includes(scenario.token));
  const attempts = robot.requests.length;
  await sleep(3000);
  t.is(robot.requests.length, attempts, 'a rejected channel is not hammered');
  t.true(eventsFor(namespace, 'DingTalkChannel', CHANNEL).some((e) => e.reason === 'InvalidToken'), 'an Event on the channel says so');

  // The token is fixed (robot recreated, Secret updated): the channel recovers and the waiting message goes out.
  robot.addRobot({ token: scenario.token, secret: scenario.secret, keywords: ['ArgoCD'] });
  scenario.applyYaml(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dingtalk-ops-robot' }, stringData: { url: robot.webhookUrl(scenario.token), secret: scenario.secret, rotated: 'yes' } }));
  await waitFor(() => readyOf(namespace, 'dingtalkchannel', CHANNEL).status === 'True', 'channel Ready=True again', 30_000);
  await waitFor(() => robot.accepted().some((request) => triggerOf(request) === 'on-sync-running'), 'the waiting message delivered', 30_000);
  assertNoSecretsIn(t, operator.output, scenario);
});

test('Running → Failed → Running while the first message still waits: the second sync is notified too', async (t) => {
  const scenario = await setupScenario(t, import.meta.url);
  const { robot, namespace } = scenario;
  const operator = await startOperator({ controlNamespace: namespace });
  t.teardown(() => operator.stop());
  robot.setMode(scenario.token, 'http500');
  await scenario.createApp({ name: 'flappy', phase: 'Running', revision: REVISIONS.first });
  await waitFor(() => robot.requests.length >= 1, 'a failed attempt');
  await scenario.setStatus('flappy', { phase: 'Failed', revision: REVISIONS.first });
  await waitFor(async () => /"rearm":true/.test((await scenario.getApp('flappy')).metadata.annotations?.['herald.gitops.dev/outbox'] ?? ''), 'the waiting message marked for re-arming');
  await scenario.setStatus('flappy', { phase: 'Running', revision: REVISIONS.second, startedAt: '2024-05-01T09:00:00Z' });
  await sleep(1000);
  robot.setMode(scenario.token, 'ok');
  await waitFor(() => robot.accepted().filter((request) => triggerOf(request) === 'on-sync-running').length >= 2, 'two on-sync-running messages', 60_000);
  await sleep(2000);
  t.deepEqual(robot.accepted().map(triggerOf).sort(), ['on-sync-failed', 'on-sync-running', 'on-sync-running']);
  assertNoSecretsIn(t, operator.output, scenario);
});
