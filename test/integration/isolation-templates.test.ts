// Issue 14, must-show 1: hostile templates (indent(1e9), center(1e9), a chained
// replace, a recursive macro, nested range loops), each in its own tenant namespace,
// against the real API server and herald running as a process with the Deployment's
// heap limit. herald keeps its pid; each template's status.lastBudgetFailure and an
// Event on it appear within 10 s; another namespace's Application, changed during each
// attack, gets its message through its own channel within 2 s.
import test from 'ava';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { createTestNamespace, testCluster } from '../support/cluster.js';
import { startDingTalkRobot } from '../support/dingtalk-robot.js';
import { buildApp } from '../support/fixtures/apps.js';
import { startOperator } from '../support/operator.js';
import { readyOf } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';
import type { TemplateBudgetFailure } from '../../src/controller/store.js';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const ATTACKS = [
  { name: 'indent', text: '{{ "x" | indent(1000000000) }}', reason: 'RenderOutputLimit' },
  { name: 'center', text: '{{ "x" | center(1000000000) }}', reason: 'RenderOutputLimit' },
  { name: 'replace', text: `{{ "xxxxxxxxxx"${' | replace("x", "xxxxxxxxxx")'.repeat(9)} }}`, reason: 'RenderOutputLimit' },
  { name: 'macro', text: '{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}', reason: 'RenderTimeLimit' },
  {
    name: 'loops',
    text: '{% for i in range(10000) %}{% for j in range(10000) %}{% if i == j and i < 0 %}x{% endif %}{% endfor %}{% endfor %}',
    reason: 'RenderTimeLimit',
  },
] as const;

/** Hostile Applications per tenant: each render of a slow template holds a render process for the whole deadline. */
const HOSTILE_APPS = 3;


function budgetFailure(namespace: string): TemplateBudgetFailure | undefined {
  const object = JSON.parse(testCluster().kubectlOrThrow(['get', 'notificationtemplate', 'msg', '-n', namespace, '-o', 'json'])) as {
    status?: { lastBudgetFailure?: TemplateBudgetFailure };
  };
  return object.status?.lastBudgetFailure;
}

function templateEvents(namespace: string): Array<{ reason: string; type: string; message: string }> {
  const list = JSON.parse(
    testCluster().kubectlOrThrow(['get', 'events', '-n', namespace, '--field-selector', 'involvedObject.kind=NotificationTemplate,involvedObject.name=msg', '-o', 'json']),
  ) as { items: Array<{ reason: string; type: string; message: string }> };
  return list.items;
}

/** Hostile Applications of the namespace with a NotificationFailed Event naming the budget. */
function failedApps(namespace: string, reason: string): Set<string> {
  const list = JSON.parse(
    testCluster().kubectlOrThrow(['get', 'events', '-n', namespace, '--field-selector', 'involvedObject.kind=Application,reason=NotificationFailed', '-o', 'json']),
  ) as { items: Array<{ message: string; involvedObject: { name: string } }> };
  return new Set(list.items.filter((e) => e.message.includes(`: ${reason}: `)).map((e) => e.involvedObject.name));
}

test('hostile templates in tenant namespaces: status and Event within 10 s, other namespaces served within 2 s, same pid', async (t) => {
  const cluster = testCluster();
  const control = await createTestNamespace(import.meta.url);
  const other = await createTestNamespace(import.meta.url);
  const tenants = await Promise.all(ATTACKS.map(() => createTestNamespace(import.meta.url)));
  const token = (namespace: string) => `tok-${namespace}`;
  const robot = await startDingTalkRobot({ robots: [other, ...tenants].map((namespace) => ({ token: token(namespace) })) });
  t.teardown(() => robot.close());
  const apply = (...docs: object[]) => cluster.kubectlOrThrow(['apply', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n---\n'));
  const herald = (kind: string, namespace: string, name: string, spec: object) => ({ apiVersion: 'herald.gitops.dev/v1alpha1', kind, metadata: { name, namespace }, spec });
  const robotIn = (namespace: string) => [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'robot', namespace }, stringData: { url: robot.webhookUrl(token(namespace)) } },
    herald('DingTalkChannel', namespace, 'robot', { webhook: { urlSecretRef: { name: 'robot', key: 'url' } } }),
  ];
  const template = (namespace: string, text: string) => herald('NotificationTemplate', namespace, 'msg', { dingtalk: { msgType: 'text', text } });

  // One trigger and one well-behaved template for everyone, in the control namespace;
  // each tenant shadows the template with its own hostile one and has its own channel.
  apply(
    herald('NotificationTrigger', control, 'on-revision', { conditions: [{ when: 'has(app.status.sync.revision)', oncePer: 'app.status.sync.revision', send: ['msg'] }] }),
    template(control, 'ArgoCD {{ app.metadata.name }} {{ app.status.sync.revision }}'),
    ...robotIn(other),
    ...ATTACKS.flatMap((attack, i) => [...robotIn(tenants[i]!), template(tenants[i]!, attack.text)]),
  );

  const operator = await startOperator({ controlNamespace: control, namespaces: [control, other, ...tenants] });
  t.teardown(() => operator.stop());
  const pid = operator.process.pid;

  const api = cluster.kc.makeApiClient(CustomObjectsApi);
  const base = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications' };
  const subscribed = { 'herald.gitops.dev/subscribe.on-revision': 'robot' };
  const otherApp = 'other-app';
  await api.createNamespacedCustomObject({ ...base, namespace: other, body: buildApp({ namespace: other, name: otherApp, revision: 'rev-start', annotations: subscribed }) });
  await robot.waitForAccepted(1, { token: token(other), timeoutMs: 60_000 });

  for (const [i, attack] of ATTACKS.entries()) {
    const tenant = tenants[i]!;
    const attackStarted = Date.now();
    for (let n = 0; n < HOSTILE_APPS; n++) {
      await api.createNamespacedCustomObject({ ...base, namespace: tenant, body: buildApp({ namespace: tenant, name: `hostile-${n}`, revision: `rev-${attack.name}-${n}`, annotations: subscribed }) });
    }
    // During the attack: another team's Application changes and is worth a message.
    await sleep(300);
    const revision = `rev-during-${attack.name}`;
    const before = robot.accepted(token(other)).length;
    const changed = Date.now();
    await api.patchNamespacedCustomObject({ ...base, namespace: other, name: otherApp, body: { status: { sync: { status: 'Synced', revision } } } }, merge);
    const received = (await robot.waitForAccepted(before + 1, { token: token(other), timeoutMs: 30_000 }))[before]!;
    t.is((received.json as { text: { content: string } }).text.content, `ArgoCD ${otherApp} ${revision}`);
    const latency = received.time - changed;
    t.log(`${attack.name}: the other namespace's message arrived ${latency} ms after its change`);
    t.true(latency <= 2000, `${attack.name}: the other namespace's message took ${latency} ms`);

    // The tenant sees what happened, on the template's status and in an Event.
    await waitFor(() => budgetFailure(tenant) !== undefined && templateEvents(tenant).some((e) => e.reason === attack.reason), `${attack.name}: lastBudgetFailure and its Event`, 30_000);
    const visibleAfter = Date.now() - attackStarted;
    t.log(`${attack.name}: status and Event after ${visibleAfter} ms`);
    t.true(visibleAfter <= 10_000, `${attack.name}: status and Event after ${visibleAfter} ms`);
    const failure = budgetFailure(tenant)!;
    t.is(failure.reason, attack.reason, attack.name);
    t.regex(failure.application!, new RegExp(`^${tenant}/hostile-\\d$`));
    t.is(failure.trigger, 'on-revision');
    t.is(failure.channel, `${tenant}/robot`);
    t.regex(
      failure.message,
      attack.reason === 'RenderTimeLimit'
        ? /^RenderTimeLimit: rendering took longer than 2000 ms and was stopped \(--template-render-timeout\)$/
        : /^RenderOutputLimit: dingtalk\.text: the rendered text passed 65536 bytes and was stopped \(--template-max-output-bytes\)$/,
    );
    const event = templateEvents(tenant).find((e) => e.reason === attack.reason)!;
    t.is(event.type, 'Warning');
    t.regex(event.message, new RegExp(`; the message for Application ${tenant}/hostile-\\d, trigger on-revision, channel ${tenant}/robot failed$`));
    // The template compiles: it stays Ready, only its messages fail.
    t.is(readyOf(tenant, 'notificationtemplate', 'msg').status, 'True');

    // Each hostile Application's message failed with the budget (NotificationFailed on the
    // Application); the attack is over when all have, and the next tenant's begins.
    await waitFor(() => failedApps(tenant, attack.reason).size === HOSTILE_APPS, `${attack.name}: NotificationFailed on every hostile Application`, 60_000);
    t.is(robot.accepted(token(tenant)).length, 0, `${attack.name}: nothing sent`);
  }
  t.is(operator.process.pid, pid);
  t.is(operator.process.exitCode, null, 'herald is still running');
  t.is(operator.records().filter((r) => r.msg === 'herald controller started').length, 1, 'started once, never restarted');
});
