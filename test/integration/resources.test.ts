// Issue 3: the three kinds as users meet them through kubectl, what the API server
// refuses by itself, and the Ready conditions herald's reconcilers publish.
import test from 'ava';
import { join } from 'node:path';
import { createTestNamespace, testCluster } from '../support/cluster.js';
import { repoRoot } from '../support/controlplane/install.js';
import { startOperator } from '../support/operator.js';
import { readyOf } from '../support/scenario.js';
import { waitFor } from '../support/wait.js';

const cluster = testCluster();

test('kubectl: apply crds/ and config/samples/, printer columns, the herald category, explain', async (t) => {
  const namespace = await createTestNamespace(import.meta.url);
  cluster.kubectlOrThrow(['apply', '-f', join(repoRoot, 'crds')]);
  cluster.kubectlOrThrow(['apply', '-n', namespace, '-f', join(repoRoot, 'config/samples')]);
  const operator = await startOperator({ controlNamespace: namespace });
  t.teardown(() => operator.stop());
  await waitFor(() => /True/.test(cluster.kubectlOrThrow(['get', 'ntrigger', 'on-deployed', '-n', namespace])), 'trigger Ready');

  const triggers = cluster.kubectlOrThrow(['get', 'notificationtriggers', '-n', namespace]);
  t.log(triggers);
  t.regex(triggers.split('\n')[0]!, /^NAME\s+CONDITIONS\s+TEMPLATES\s+READY\s+AGE/);
  t.regex(triggers, /on-deployed\s+1\s+app-sync-change\s+True/);

  await waitFor(() => cluster.kubectl(['get', 'herald', '-n', namespace]).status === 0, 'discovery of the herald category');
  const all = cluster.kubectlOrThrow(['get', 'herald', '-n', namespace]);
  t.regex(all, /notificationtrigger\.herald\.gitops\.dev\/on-deployed/);
  t.regex(all, /notificationtemplate\.herald\.gitops\.dev\/app-sync-change/);
  t.regex(all, /dingtalkchannel\.herald\.gitops\.dev\/dingtalk-ops/);

  const explain = cluster.kubectlOrThrow(['explain', 'notificationtrigger.spec.conditions.when']);
  t.regex(explain, /CEL expression over `app`/);
  const channels = cluster.kubectlOrThrow(['get', 'dingtalk', '-n', namespace]);
  t.regex(channels.split('\n')[0]!, /^NAME\s+READY\s+LAST SENT\s+AGE/);
});

test('the API server refuses malformed manifests at apply time', async (t) => {
  const namespace = await createTestNamespace(import.meta.url);
  const refused = (manifest: string) => {
    const result = cluster.kubectl(['apply', '-n', namespace, '-f', '-'], manifest);
    t.not(result.status, 0, manifest);
    return result.stderr;
  };
  t.regex(refused(`{"apiVersion":"herald.gitops.dev/v1alpha1","kind":"NotificationTrigger","metadata":{"name":"t"},"spec":{"conditions":[{"send":["x"]}]}}`), /spec\.conditions\[0\]\.when: Required value/);
  t.regex(refused(`{"apiVersion":"herald.gitops.dev/v1alpha1","kind":"NotificationTrigger","metadata":{"name":"t"},"spec":{"conditions":[{"when":"true","send":[]}]}}`), /spec\.conditions\[0\]\.send.*should have at least 1 items/);
  // Conditions are identified by name in the send ledger: required with several, unique, DNS labels.
  t.regex(refused(`{"apiVersion":"herald.gitops.dev/v1alpha1","kind":"NotificationTrigger","metadata":{"name":"t"},"spec":{"conditions":[{"name":"a","when":"true","send":["x"]},{"when":"true","send":["x"]}]}}`), /every condition needs a name when a trigger has more than one condition/);
  t.regex(refused(`{"apiVersion":"herald.gitops.dev/v1alpha1","kind":"NotificationTrigger","metadata":{"name":"t"},"spec":{"conditions":[{"name":"a","when":"true","send":["x"]},{"name":"a","when":"false","send":["x"]}]}}`), /condition names must be unique within a trigger/);
  t.regex(refused(`{"apiVersion":"herald.gitops.dev/v1alpha1","kind":"NotificationTrigger","metadata":{"name":"t"},"spec":{"conditions":[{"name":"Not_A_Label","when":"true","send":["x"]}]}}`), /spec\.conditions\[0\]\.name/);
  t.regex(refused(`{"apiVersion":"herald.gitops.dev/v1alpha1","kind":"NotificationTemplate","metadata":{"name":"t"},"spec":{"dingtalk":{"msgType":"video","text":"x"}}}`), /spec\.dingtalk\.msgType: Unsupported value: "video"/);
  const keywords = JSON.stringify(Array.from({ length: 11 }, (_, i) => `k${i}`));
  t.regex(refused(`{"apiVersion":"herald.gitops.dev/v1alpha1","kind":"DingTalkChannel","metadata":{"name":"c"},"spec":{"webhook":{"urlSecretRef":{"name":"s","key":"url"}},"keywords":${keywords}}}`), /spec\.keywords: Too many: 11: must have at most 10 items/);
  t.regex(refused(`{"apiVersion":"herald.gitops.dev/v1alpha1","kind":"NotificationTemplate","metadata":{"name":"t"},"spec":{"dingtalk":{"msgType":"markdown","text":"no title"}}}`), /a markdown message needs title and text/);
});

test('reconcilers: invalid CEL, templates and Secrets give Ready=False with the exact place, and fixing them flips Ready=True', async (t) => {
  const namespace = await createTestNamespace(import.meta.url);
  const operator = await startOperator({ controlNamespace: namespace });
  t.teardown(() => operator.stop());
  const apply = (manifest: string) => cluster.kubectlOrThrow(['apply', '-n', namespace, '-f', '-'], manifest);
  const trigger = (name: string, when: string) =>
    JSON.stringify({ apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'NotificationTrigger', metadata: { name }, spec: { conditions: [{ name: 'always', when: 'true', send: ['x'] }, { name: 'tested', when, send: ['x'] }] } });
  const settle = async (resource: string, name: string, status: 'True' | 'False') => {
    const started = Date.now();
    await waitFor(() => readyOf(namespace, resource, name).status === status, `${resource} ${name} Ready=${status}`, 5_000);
    t.log(`${resource}/${name} Ready=${status} after ${Date.now() - started} ms`);
    return readyOf(namespace, resource, name);
  };

  apply(trigger('syntax', "app.status.sync.status == 'Synced' &&"));
  apply(trigger('typo', "app.statuz.sync.status == 'Synced'"));
  apply(trigger('types', 'app.status.sync.status == 1'));
  const syntax = await settle('ntrigger', 'syntax', 'False');
  t.is(syntax.reason, 'InvalidCondition');
  t.regex(syntax.message!, /^conditions\[1\]\.when: column \d+:/);
  const typo = await settle('ntrigger', 'typo', 'False');
  t.regex(typo.message!, /conditions\[1\]\.when: column \d+: .*statuz/);
  const types = await settle('ntrigger', 'types', 'False');
  t.regex(types.message!, /conditions\[1\]\.when: column \d+: /);
  apply(trigger('typo', "app.status.sync.status == 'Synced'"));
  await settle('ntrigger', 'typo', 'True');

  apply(JSON.stringify({ apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'NotificationTemplate', metadata: { name: 'broken' }, spec: { dingtalk: { msgType: 'markdown', title: 'ok', text: 'line one\nline two\n{{ app.metadata.name }\n' } } }));
  const template = await settle('ntemplate', 'broken', 'False');
  t.is(template.reason, 'InvalidTemplate');
  t.regex(template.message!, /^dingtalk\.text: line 3/);
  apply(JSON.stringify({ apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'NotificationTemplate', metadata: { name: 'broken' }, spec: { dingtalk: { msgType: 'markdown', title: 'ok', text: 'line one\nline two\n{{ app.metadata.name }}\n' } } }));
  await settle('ntemplate', 'broken', 'True');

  apply(JSON.stringify({ apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'DingTalkChannel', metadata: { name: 'robot' }, spec: { webhook: { urlSecretRef: { name: 'robot-secret', key: 'url' }, signSecretRef: { name: 'robot-secret', key: 'sign' } } } }));
  const missing = await settle('dingtalk', 'robot', 'False');
  t.is(missing.reason, 'SecretNotFound');
  t.regex(missing.message!, new RegExp(`spec\\.webhook\\.urlSecretRef: Secret ${namespace}/robot-secret not found`));
  apply(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'robot-secret' }, stringData: { url: 'https://oapi.dingtalk.com/robot/send?access_token=abc123456789' } }));
  await waitFor(() => readyOf(namespace, 'dingtalk', 'robot').reason === 'InvalidSecret', 'InvalidSecret', 5_000);
  t.regex(readyOf(namespace, 'dingtalk', 'robot').message!, /spec\.webhook\.signSecretRef: .* has no .*key "sign"/);
  apply(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'robot-secret' }, stringData: { url: 'not a url', sign: 'SEC0123456789abcdef0123456789abcdef' } }));
  await waitFor(() => readyOf(namespace, 'dingtalk', 'robot').reason !== 'InvalidSecret' || !/signSecretRef/.test(readyOf(namespace, 'dingtalk', 'robot').message!), 'the URL problem', 5_000);
  const badUrl = readyOf(namespace, 'dingtalk', 'robot');
  t.is(badUrl.status, 'False');
  t.log(`malformed URL: ${badUrl.reason}: ${badUrl.message}`);
  t.false(badUrl.message!.includes('SEC0123456789abcdef'), 'the signing secret is not in the status');
  apply(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'robot-secret' }, stringData: { url: 'https://oapi.dingtalk.com/robot/send?access_token=abc123456789', sign: 'SEC0123456789abcdef0123456789abcdef' } }));
  await settle('dingtalk', 'robot', 'True');
  const events = JSON.parse(cluster.kubectlOrThrow(['get', 'events', '-n', namespace, '-o', 'json', '--field-selector', 'involvedObject.name=robot'])) as { items: Array<{ reason: string }> };
  t.true(events.items.some((event) => event.reason === 'SecretNotFound'), 'an Event when Ready went False');
  t.true(events.items.some((event) => event.reason === 'Ready'), 'an Event when Ready went True');
  t.false(operator.output.join('\n').includes('abc123456789'), 'the token is not logged');
});
