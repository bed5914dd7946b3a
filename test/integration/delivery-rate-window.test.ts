// Issue 13, must-show 4: DingTalk's 20-a-minute window survives a restart of the
// operator (the robot, in this process, keeps counting across it), and a robot that
// answers 130101 shows on the channel as RateLimited=True until the mute ends, after
// which everything that waited arrives. Nothing is lost in either.
import test from 'ava';
import { testCluster } from '../support/cluster.js';
import type { DingTalkRobotServer } from '../support/dingtalk-robot.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { CHANNEL, assertNoSecretsIn, markdownOf, setupScenario, type Scenario } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';

const TRIGGER = 'on-burst';
const SUBSCRIPTION = { [`herald.gitops.dev/subscribe.${TRIGGER}`]: CHANNEL };
const appName = (i: number) => `burst-${String(i).padStart(2, '0')}`;
/** Revision of app i in round r: 'a…' before any round (no message), 'b<r>…' after. */
const revision = (i: number, round: number) => (round === 0 ? `a0${String(i).padStart(2, '0')}` : `b${round}${String(i).padStart(2, '0')}`).padEnd(40, '0');

/** One trigger that sends "ArgoCD <app> <revision>" once per revision starting with b: creating the apps sends nothing. */
function useBurstTrigger(scenario: Scenario): void {
  testCluster().kubectlOrThrow(['patch', '-n', scenario.namespace, 'dingtalkchannel', CHANNEL, '--type=merge', '-p', '{"spec":{"subscriptions":null}}']);
  scenario.applyYaml(`apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTemplate
metadata: {name: burst}
spec:
  dingtalk: {msgType: markdown, title: "ArgoCD {{ app.metadata.name }} {{ app.status.sync.revision }}", text: "ArgoCD {{ app.metadata.name }} {{ app.status.sync.revision }}"}
---
apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTrigger
metadata: {name: ${TRIGGER}}
spec:
  conditions:
    - when: app.status.sync.revision.startsWith('b')
      oncePer: app.status.sync.revision
      send: [burst]
`);
}

async function createApps(scenario: Scenario, count: number): Promise<void> {
  for (let i = 1; i <= count; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, count - i + 1) }, (_, k) => scenario.createApp({ name: appName(i + k), revision: revision(i + k, 0), annotations: SUBSCRIPTION })),
    );
  }
}

async function syncAll(scenario: Scenario, count: number, round: number): Promise<void> {
  for (let i = 1; i <= count; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, count - i + 1) }, (_, k) => scenario.setStatus(appName(i + k), { revision: revision(i + k, round) })));
  }
}

/** Apps whose ledger records the round's message and whose outbox is empty: delivered, and known to be. */
async function delivered(scenario: Scenario, count: number, round: number): Promise<string[]> {
  const done: string[] = [];
  for (let i = 1; i <= count; i++) {
    const app = await scenario.getApp(appName(i));
    const annotations = app.metadata.annotations ?? {};
    const ledger = JSON.parse(annotations['herald.gitops.dev/notified'] ?? '{}') as Record<string, number>;
    if (annotations['herald.gitops.dev/outbox'] === undefined && Object.keys(ledger).some((key) => key.startsWith(`${revision(i, round)}:${TRIGGER}:`))) done.push(appName(i));
  }
  return done;
}

/** The most requests the robot received in any 60 s. */
function busiestMinute(robot: DingTalkRobotServer): number {
  const times = robot.requests.map((request) => request.time).sort((a, b) => a - b);
  return Math.max(0, ...times.map((start) => times.filter((time) => time >= start && time < start + 60_000).length));
}

interface ChannelStatus {
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  sendWindow?: { sends?: Array<{ at: string; count: number }>; mutedUntil?: string; complete?: boolean; claim?: { slots: number } };
}

function channelStatus(namespace: string): ChannelStatus {
  return (JSON.parse(testCluster().kubectlOrThrow(['get', 'dingtalkchannel', CHANNEL, '-n', namespace, '-o', 'json'])) as { status?: ChannelStatus }).status ?? {};
}

const rateLimited = (namespace: string) => channelStatus(namespace).conditions?.find((condition) => condition.type === 'RateLimited');

test.serial('a burst of 20, SIGTERM, a restart and a second burst: never a 130101, the second burst waits for the window and arrives digested, nothing lost', async (t) => {
  const scenario = await setupScenario(t, import.meta.url, { robotPerMinute: 20 });
  const { robot, namespace } = scenario;
  useBurstTrigger(scenario);
  const output: string[] = [];
  let operator: RunningOperator = await startOperator({ controlNamespace: namespace }, output);
  t.teardown(() => operator.stop());
  await createApps(scenario, 20);
  await sleep(3000);
  t.is(robot.requests.length, 0, 'creating the apps sends nothing');

  await syncAll(scenario, 20, 1);
  await robot.waitForAccepted(20, { timeoutMs: 60_000 });
  const firstBurstStart = Math.min(...robot.accepted().map((request) => request.time));
  await operator.stop();
  const stored = channelStatus(namespace).sendWindow;
  t.log(`stored on SIGTERM: ${JSON.stringify(stored)}`);
  t.true(stored?.complete, 'a graceful stop stores the complete window');
  t.is((stored?.sends ?? []).reduce((sum, group) => sum + group.count, 0), 20, 'with all 20 requests');

  operator = await startOperator({ controlNamespace: namespace }, output);
  await syncAll(scenario, 20, 2);
  await waitFor(async () => (await delivered(scenario, 20, 2)).length === 20, 'the second burst delivered and recorded', 150_000);

  const refused = robot.requests.filter((request) => !request.accepted);
  t.deepEqual(refused.map((request) => request.answer), [], 'the robot never answered 130101 (nor anything else)');
  t.true(busiestMinute(robot) <= 20, `at most 20 requests in any 60 s (saw ${busiestMinute(robot)})`);
  const second = robot.accepted().slice(20);
  t.true(second.every((request) => request.time >= firstBurstStart + 60_000), 'the restarted operator waited for the minute of the first burst');
  // The window frees as the first burst's seconds age out. When all 20 went out within one
  // second, all 20 slots free at once and 20 single requests are right; otherwise the
  // second burst meets fewer free slots than messages and must be digested.
  if ((stored?.sends ?? []).length > 1) t.true(second.length < 20, `the second burst arrived in fewer requests (${second.length}): digests`);
  else t.true(second.length <= 20, `the first burst went out within one second: up to 20 requests (${second.length})`);
  const texts = second.map((request) => `${markdownOf(request).title}\n${markdownOf(request).text}`).join('\n');
  for (let i = 1; i <= 20; i++) t.true(texts.includes(appName(i)), `${appName(i)} is in what arrived after the restart`);
  t.deepEqual(await delivered(scenario, 20, 1), Array.from({ length: 20 }, (_, i) => appName(i + 1)), 'the first burst is recorded too');
  assertNoSecretsIn(t, output, scenario);
});

test.serial('a robot that answers 130101: the channel shows RateLimited=True within 5 s, nothing is sent during the mute, then the backlog arrives and nothing is lost', async (t) => {
  const scenario = await setupScenario(t, import.meta.url, { robotPerMinute: 20 });
  const { robot, namespace, token } = scenario;
  useBurstTrigger(scenario);
  const apps = 25;
  const muteSeconds = 6;
  const operator = await startOperator({ controlNamespace: namespace, extraArgs: ['--dingtalk-mute-seconds', String(muteSeconds)] });
  t.teardown(() => operator.stop());
  await createApps(scenario, apps);
  await waitFor(() => rateLimited(namespace)?.reason === 'Accepting', 'RateLimited=False Accepting on a channel that was never muted');
  t.is(rateLimited(namespace)?.status, 'False');

  robot.mute(token, 10_000);
  const robotUnmutes = robot.unmutesAt(token)!;
  await scenario.setStatus(appName(1), { revision: revision(1, 1) });
  await waitFor(() => robot.requests.some((request) => request.answer?.kind === 'answered' && request.answer.errcode === 130101), 'a 130101 answer');
  const refusedAt = robot.requests.find((request) => !request.accepted)!.time;
  await waitFor(() => rateLimited(namespace)?.status === 'True', 'RateLimited=True', 5000);
  t.true(Date.now() - refusedAt <= 5000, 'shown within 5 s of the answer');
  const condition = rateLimited(namespace)!;
  t.is(condition.reason, 'Muted');
  const until = /until (\S+Z);/.exec(condition.message)?.[1];
  t.truthy(until, condition.message);
  t.true(Math.abs(Date.parse(until!) - (refusedAt + muteSeconds * 1000)) <= 2000, `the message says when the mute ends: ${condition.message}`);
  t.is(channelStatus(namespace).sendWindow?.mutedUntil, until, 'status.sendWindow.mutedUntil holds the same time');
  // NAME READY REASON RATE LIMITED LAST SENT AGE
  t.regex(testCluster().kubectlOrThrow(['get', 'dingtalkchannel', CHANNEL, '-n', namespace, '-o', 'wide']), /RATE LIMITED[\s\S]*\n\S+\s+True\s+Ready\s+True\s/, 'kubectl get -o wide shows it');

  // More messages while muted: they wait.
  await syncAll(scenario, apps, 1);
  await waitFor(async () => (await delivered(scenario, apps, 1)).length === apps, 'the backlog delivered after the mute', 120_000);
  const requests = robot.requests;
  const refused = requests.filter((request) => !request.accepted);
  t.true(refused.every((request) => request.answer?.kind === 'answered' && request.answer.errcode === 130101 && request.time < robotUnmutes), 'refused only while the robot was muted');
  for (let i = 1; i < requests.length; i++) {
    if (!requests[i - 1]!.accepted) t.true(requests[i]!.time - requests[i - 1]!.time >= muteSeconds * 1000 - 200, `nothing sent during herald's mute (request #${requests[i]!.seq})`);
  }
  const accepted = robot.accepted();
  t.true(accepted.every((request) => request.time >= robotUnmutes));
  t.true(accepted.length < apps, `the backlog arrived in fewer requests than messages (${accepted.length}): a digest`);
  const texts = accepted.map((request) => `${markdownOf(request).title}\n${markdownOf(request).text}`).join('\n');
  for (let i = 1; i <= apps; i++) t.true(texts.includes(appName(i)), `${appName(i)} arrived`);
  await waitFor(() => rateLimited(namespace)?.status === 'False', 'RateLimited=False after the mute', 15_000);
  t.is(rateLimited(namespace)?.reason, 'Accepting');
  assertNoSecretsIn(t, operator.output, scenario);
});
