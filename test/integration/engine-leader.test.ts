// Issue 4, must-show 7: two replicas; only the leader sends; when the leader is
// killed the other takes over within 30 s and nothing is lost or repeated.
import test from 'ava';
import { startOperator } from '../support/operator.js';
import { REVISION_SUBSCRIPTION, assertNoSecretsIn, revisionMessages, setupScenario, useRevisionTrigger } from '../support/scenario.js';
import { waitFor, sleep } from '../support/wait.js';

test('two replicas: only the leader sends; after the leader is killed the other takes over within 30 s, nothing lost or repeated', async (t) => {
  const scenario = await setupScenario(t, import.meta.url, { perMinute: 10_000, robotPerMinute: 100_000 });
  const { namespace, robot } = scenario;
  useRevisionTrigger(scenario);
  const output: string[] = [];
  const first = await startOperator({ controlNamespace: namespace, identity: 'replica-a', leaseDurationSeconds: 6 }, output);
  t.teardown(() => first.kill());
  await first.waitForLog((r) => r.msg === 'became leader', 'replica-a to lead');
  const second = await startOperator({ controlNamespace: namespace, identity: 'replica-b', leaseDurationSeconds: 6 }, output);
  t.teardown(() => second.stop());

  const texts = () => revisionMessages(robot);
  const annotations = REVISION_SUBSCRIPTION;
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
  const expected = Array.from({ length: 10 }, (_, i) => [`app-${i} ${`${i}`.padEnd(40, 'a')}`, `app-${i} ${`${i}`.padEnd(40, 'b')}`]).flat();
  t.deepEqual([...got].sort(), expected.sort(), 'every message exactly once');
  assertNoSecretsIn(t, output, scenario);
});
