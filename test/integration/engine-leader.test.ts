// Issue 4, must-show 7: two replicas; only the leader sends; when the leader is
// killed the other takes over within 30 s and nothing is lost or repeated.
import test from 'ava';
import { startOperator } from '../support/operator.js';
import { CHANNEL, assertNoSecretsIn, markdownOf, setupScenario } from '../support/scenario.js';
import { testCluster } from '../support/cluster.js';
import { waitFor, sleep } from '../support/wait.js';

test('two replicas: only the leader sends; after the leader is killed the other takes over within 30 s, nothing lost or repeated', async (t) => {
  const scenario = await setupScenario(t, import.meta.url, { perMinute: 10_000, robotPerMinute: 100_000 });
  const { namespace, robot } = scenario;
  testCluster().kubectlOrThrow(['patch', '-n', namespace, 'dingtalkchannel', CHANNEL, '--type=merge', '-p', '{"spec":{"subscriptions":null}}']);
  scenario.applyYaml(`apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTemplate
metadata: {name: revision}
spec:
  dingtalk: {msgType: text, text: "ArgoCD {{ app.metadata.name }} {{ app.status.sync.revision }}"}
---
apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTrigger
metadata: {name: on-revision}
spec:
  conditions:
    - when: has(app.status.sync.revision)
      oncePer: app.status.sync.revision
      send: [revision]
`);
  const output: string[] = [];
  const first = await startOperator({ controlNamespace: namespace, identity: 'replica-a', leaseDurationSeconds: 6 }, output);
  t.teardown(() => first.kill());
  await first.waitForLog((r) => r.msg === 'became leader', 'replica-a to lead');
  const second = await startOperator({ controlNamespace: namespace, identity: 'replica-b', leaseDurationSeconds: 6 }, output);
  t.teardown(() => second.stop());

  const texts = () => robot.accepted().map((request) => String((request.json as { text?: { content?: string } }).text?.content ?? markdownOf(request).text));
  const annotations = { 'herald.gitops.dev/subscribe.on-revision': CHANNEL };
  for (let i = 0; i < 10; i++) await scenario.createApp({ name: `app-${i}`, revision: `${i}`.padEnd(40, 'a'), annotations });
  await waitFor(() => texts().length >= 10, 'ten messages from the leader');
  await sleep(1500);
  t.is(texts().length, 10, 'one message per app while two replicas run');
  t.false(second.isLeader(), 'replica-b follows');

  await first.kill();
  const killedAt = Date.now();
  for (let i = 0; i < 10; i++) await scenario.setStatus(`app-${i}`, { revision: `${i}`.padEnd(40, 'b') });
  await second.waitForLog((r) => r.msg === 'became leader', 'replica-b to take over', 30_000);
  const takeover = (Date.now() - killedAt) / 1000;
  await waitFor(() => texts().length >= 20, 'the changes made while nobody led', 30_000);
  await sleep(1500);
  t.log(`replica-b took over ${takeover.toFixed(1)} s after replica-a was killed`);
  t.true(takeover <= 30, `takeover within 30 s (${takeover.toFixed(1)} s)`);
  const got = texts();
  const expected = Array.from({ length: 10 }, (_, i) => [`ArgoCD app-${i} ${`${i}`.padEnd(40, 'a')}`, `ArgoCD app-${i} ${`${i}`.padEnd(40, 'b')}`]).flat();
  t.deepEqual([...got].sort(), expected.sort(), 'every message exactly once');
  assertNoSecretsIn(t, output, scenario);
});
