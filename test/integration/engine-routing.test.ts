// Issue 4, must-show 9: annotation subscriptions, selector subscriptions, namespace
// self-service (a team's own channel, trigger and template), shadowing, and no way
// for one namespace to reach another namespace's channel.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { createTestNamespace, testCluster } from '../support/cluster.js';
import { startDingTalkRobot } from '../support/dingtalk-robot.js';
import { buildApp } from '../support/fixtures/apps.js';
import { startOperator } from '../support/operator.js';
import { eventsFor } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';

test('routing: annotations, selectors, self-service namespaces, shadowing, and no third-namespace channel', async (t) => {
  const cluster = testCluster();
  const control = await createTestNamespace(import.meta.url);
  const teamA = await createTestNamespace(import.meta.url);
  const teamB = await createTestNamespace(import.meta.url);
  const tokens = { ops: 'tok-ops', shared: 'tok-shared', teamA: 'tok-team-a', teamB: 'tok-team-b' };
  const robot = await startDingTalkRobot({ robots: Object.values(tokens).map((token) => ({ token, keywords: ['ArgoCD'] })) });
  t.teardown(() => robot.close());
  const secret = (namespace: string, token: string) =>
    `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"robot","namespace":"${namespace}"},"stringData":{"url":"${robot.webhookUrl(token)}"}}`;
  const channel = (namespace: string, name: string, subscriptions: unknown[] = []) =>
    JSON.stringify({ apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'DingTalkChannel', metadata: { name, namespace }, spec: { webhook: { urlSecretRef: { name: 'robot', key: 'url' } }, keywords: ['ArgoCD'], subscriptions } });
  const trigger = (namespace: string, template: string) =>
    JSON.stringify({ apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'NotificationTrigger', metadata: { name: 'on-revision', namespace }, spec: { conditions: [{ when: 'has(app.status.sync.revision)', oncePer: 'app.status.sync.revision', send: [template] }] } });
  const template = (namespace: string, name: string, prefix: string) =>
    JSON.stringify({ apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'NotificationTemplate', metadata: { name, namespace }, spec: { dingtalk: { msgType: 'text', text: `ArgoCD ${prefix} {{ app.metadata.namespace }}/{{ app.metadata.name }}` } } });
  const apply = (...docs: string[]) => cluster.kubectlOrThrow(['apply', '-f', '-'], docs.join('\n---\n'));

  apply(
    secret(control, tokens.ops),
    trigger(control, 'plain'),
    template(control, 'plain', 'platform'),
    channel(control, 'ops', [{ triggers: ['on-revision'], selector: { matchLabels: { team: 'platform' } } }]),
  );
  // `shared` is a control-namespace channel with its own Secret (a second robot).
  apply(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"robot-shared","namespace":"${control}"},"stringData":{"url":"${robot.webhookUrl(tokens.shared)}"}}`,
    JSON.stringify({ apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'DingTalkChannel', metadata: { name: 'shared', namespace: control }, spec: { webhook: { urlSecretRef: { name: 'robot-shared', key: 'url' } }, keywords: ['ArgoCD'] } }));
  // Team A shadows the control namespace's `ops` channel with its own.
  apply(secret(teamA, tokens.teamA), channel(teamA, 'ops', [{ triggers: ['on-revision'], selector: { matchLabels: { team: 'platform' } } }]));
  // Team B has a private channel and its own trigger and template (self-service).
  apply(secret(teamB, tokens.teamB), channel(teamB, 'private-b'), trigger(teamB, 'team-b'), template(teamB, 'team-b', 'team-b'));

  const operator = await startOperator({ controlNamespace: control, namespaces: [control, teamA, teamB] });
  t.teardown(() => operator.stop());
  const api = cluster.kc.makeApiClient(CustomObjectsApi);
  const create = (namespace: string, name: string, labels: Record<string, string>, annotations: Record<string, string> = {}) =>
    api.createNamespacedCustomObject({
      group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'applications',
      body: buildApp({ namespace, name, labels, annotations, revision: randomBytes(20).toString('hex') }),
    });
  const subscribe = (channels: string) => ({ 'herald.gitops.dev/subscribe.on-revision': channels });

  await create(control, 'platform-app', { team: 'platform' });
  await create(control, 'other-app', { team: 'web' });
  await create(teamA, 'a-selected', { team: 'platform' });
  await create(teamA, 'a-to-shared', {}, subscribe('shared'));
  await create(teamB, 'b-private', {}, subscribe('private-b'));
  await create(teamA, 'a-steals', {}, subscribe(`private-b;${teamB}/private-b`));

  const byToken = (token: string) => robot.accepted(token).map((r) => String((r.json as { text: { content: string } }).text.content));
  await waitFor(() => robot.accepted().length >= 4, 'four messages');
  await waitFor(() => eventsFor(teamA, 'Application', 'a-steals').some((e) => e.reason === 'SubscriptionInvalid'), 'an Event on the app naming a foreign channel');
  await sleep(2000);

  t.deepEqual(byToken(tokens.ops), [`ArgoCD platform ${control}/platform-app`], 'selector subscription in the control namespace');
  t.deepEqual(byToken(tokens.teamA), [`ArgoCD platform ${teamA}/a-selected`], "team A's own `ops` shadows the control namespace's");
  t.deepEqual(byToken(tokens.shared), [`ArgoCD platform ${teamA}/a-to-shared`], 'an annotation reaches a control-namespace channel');
  t.deepEqual(byToken(tokens.teamB), [`ArgoCD team-b ${teamB}/b-private`], "team B's own trigger and template, to its own channel");
  t.is(robot.accepted().length, 4, 'nothing else: other-app matches no selector, a-steals reaches no channel of team B');
  const messages = eventsFor(teamA, 'Application', 'a-steals').map((e) => e.message).join('\n');
  t.regex(messages, /no DingTalkChannel "private-b"/);
  t.regex(messages, /not a channel name/);
});
