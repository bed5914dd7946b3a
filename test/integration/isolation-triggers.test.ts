// Issue 14, must-show 2: hostile triggers in a tenant namespace (catastrophic
// backtracking patterns, three nested exists() over 2,000 resources, a runtime budget
// overrun) against the real API server and herald running as a process with the
// Deployment's heap limit. Each trigger's status says what happened and where; another
// namespace's Application still gets its message; herald keeps its pid and /healthz
// answers every probe within the Deployment's probe timeout.
import test from 'ava';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { createTestNamespace, testCluster } from '../support/cluster.js';
import { startDingTalkRobot } from '../support/dingtalk-robot.js';
import { buildApp, REVISIONS } from '../support/fixtures/apps.js';
import { startOperator } from '../support/operator.js';
import { readyOf } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';

const PROBE_TIMEOUT_MS = 3000; // config/manager: livenessProbe.timeoutSeconds
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Probes /healthz every 250 ms until stopped; counts answers and failures. */
function probeHealth(port: number): { stop(): Promise<{ ok: number; failed: string[] }> } {
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        if (res.status === 200) ok += 1;
        else failed.push(`HTTP ${res.status}`);
        await res.arrayBuffer();
      } catch (error) {
        failed.push(`${new Date(started).toISOString()}: ${error instanceof Error ? error.message : String(error)}`);
      }
      await sleep(250);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { ok, failed };
    },
  };
}

function triggerStatus(namespace: string, name: string): { ready?: { status: string; reason: string; message: string }; lastEvaluationError?: string } {
  const object = JSON.parse(testCluster().kubectlOrThrow(['get', 'notificationtrigger', name, '-n', namespace, '-o', 'json'])) as {
    status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }>; lastEvaluationError?: string };
  };
  return { ready: object.status?.conditions?.find((c) => c.type === 'Ready'), lastEvaluationError: object.status?.lastEvaluationError };
}

const NESTED_WHEN = [
  'app.status.resources.exists(a,',
  '  app.status.resources.exists(b,',
  '    app.status.resources.exists(c, a.name == b.name && b.name == c.name)))',
].join('\n');

test('hostile triggers in one namespace: status with the location, other namespaces unaffected, same pid, /healthz answers', async (t) => {
  const cluster = testCluster();
  const control = await createTestNamespace(import.meta.url);
  const tenant = await createTestNamespace(import.meta.url);
  const other = await createTestNamespace(import.meta.url);
  const tokens = { tenant: 'tok-hostile-tenant', other: 'tok-other-team' };
  const robot = await startDingTalkRobot({ robots: Object.values(tokens).map((token) => ({ token })) });
  t.teardown(() => robot.close());
  const apply = (...docs: object[]) => cluster.kubectlOrThrow(['apply', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n---\n'));
  const herald = (kind: string, namespace: string, name: string, spec: object) => ({ apiVersion: 'herald.gitops.dev/v1alpha1', kind, metadata: { name, namespace }, spec });
  const secret = (namespace: string, token: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'robot', namespace }, stringData: { url: robot.webhookUrl(token) } });
  const channel = (namespace: string, name: string) => herald('DingTalkChannel', namespace, name, { webhook: { urlSecretRef: { name: 'robot', key: 'url' } } });
  const text = (namespace: string, name: string, words: string) =>
    herald('NotificationTemplate', namespace, name, { dingtalk: { msgType: 'text', text: `ArgoCD ${words} {{ app.metadata.name }} {{ app.status.sync.revision }}` } });

  apply(
    secret(tenant, tokens.tenant),
    channel(tenant, 'tenant-robot'),
    text(tenant, 'tenant-text', 'tenant'),
    // Catastrophic backtracking in JavaScript's RegExp; linear in RE2. Both fire (the name and message do not match).
    herald('NotificationTrigger', tenant, 'redos', {
      conditions: [
        { name: 'name-redos', when: "!app.metadata.name.matches('^(a+)+$')", send: ['tenant-text'] },
        { name: 'message-redos', when: "!app.status.operationState.message.matches('(a*)*b')", send: ['tenant-text'] },
      ],
    }),
    // Rejected at compile time: 500 × 500 × 500 by the estimate (8e9 on this Application).
    herald('NotificationTrigger', tenant, 'nested', { conditions: [{ when: NESTED_WHEN, send: ['tenant-text'] }] }),
    // Passes the estimate (500 × 500) but meets 2,000 × 2,000 at run time.
    herald('NotificationTrigger', tenant, 'quadratic', {
      conditions: [
        { name: 'nobody', when: "app.metadata.name == 'nobody'", send: ['tenant-text'] },
        { name: 'quadratic', when: "app.status.resources.exists(a, app.status.resources.exists(b, a.name == b.name + 'x'))", send: ['tenant-text'] },
      ],
    }),
    secret(other, tokens.other),
    channel(other, 'other-robot'),
    text(other, 'other-text', 'other'),
    herald('NotificationTrigger', other, 'on-revision', { conditions: [{ when: 'has(app.status.sync.revision)', oncePer: 'app.status.sync.revision', send: ['other-text'] }] }),
  );

  const operator = await startOperator({ controlNamespace: control, namespaces: [control, tenant, other] });
  t.teardown(() => operator.stop());
  const pid = operator.process.pid;
  const health = probeHealth(operator.ports.health!);

  const api = cluster.kc.makeApiClient(CustomObjectsApi);
  const base = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications' };
  const resources = Array.from({ length: 2000 }, (_, i) => ({ version: 'v1', kind: 'ConfigMap', namespace: 'd', name: `cm-${i}`, status: 'Synced' }));
  const hostileName = `${'a'.repeat(48)}-x`;
  await api.createNamespacedCustomObject({
    ...base,
    namespace: tenant,
    body: buildApp({
      namespace: tenant,
      name: hostileName,
      resources,
      operationMessage: 'a'.repeat(10 * 1024),
      annotations: {
        'herald.gitops.dev/subscribe.redos': 'tenant-robot',
        'herald.gitops.dev/subscribe.nested': 'tenant-robot',
        'herald.gitops.dev/subscribe.quadratic': 'tenant-robot',
      },
    }),
  });

  // The compile-time estimate: Ready=False with the condition, line and column.
  await waitFor(() => triggerStatus(tenant, 'nested').ready?.status === 'False', 'the nested trigger to be rejected', 60_000);
  const nested = triggerStatus(tenant, 'nested').ready!;
  t.is(nested.reason, 'CostLimitExceeded');
  t.regex(nested.message, /^conditions\[0\]\.when: line 3, column 26: estimated cost [\d,]+ exceeds the limit of 10,000,000 \(--cel-cost-limit\): exists\(\) at line 3, column 26, reached 500 × 500 × 500 times/);

  // The runtime budget: the trigger stays Ready, its evaluation error names the Application, condition and call.
  await waitFor(() => triggerStatus(tenant, 'quadratic').lastEvaluationError !== undefined, 'the runtime budget error in status', 60_000);
  const quadratic = triggerStatus(tenant, 'quadratic');
  t.is(quadratic.ready?.status, 'True');
  t.regex(quadratic.lastEvaluationError!, new RegExp(`^Application ${tenant}/${hostileName}: conditions\\[1\\]: when: (cost|time) limit exceeded: .*exists\\(\\) at column 53`));

  // The ReDoS patterns were evaluated, with the right answer: both conditions fired.
  await robot.waitForAccepted(2, { token: tokens.tenant, timeoutMs: 60_000 });
  t.is(triggerStatus(tenant, 'redos').ready?.status, 'True');

  // Meanwhile: keep the hostile Application changing (each change is evaluated again),
  // and another team's Application gets its message.
  const otherApp = 'other-app';
  const revisions = [REVISIONS.second, REVISIONS.third, REVISIONS.first];
  for (const [i, revision] of revisions.entries()) {
    await api.patchNamespacedCustomObject(
      { ...base, namespace: tenant, name: hostileName, body: { metadata: { labels: { round: String(i) } }, status: { sync: { status: 'Synced', revision } } } },
      merge,
    );
    if (i === 0) {
      await api.createNamespacedCustomObject({
        ...base,
        namespace: other,
        body: buildApp({ namespace: other, name: otherApp, revision: REVISIONS.second, annotations: { 'herald.gitops.dev/subscribe.on-revision': 'other-robot' } }),
      });
    }
    await sleep(500);
  }
  const [received] = await robot.waitForAccepted(1, { token: tokens.other, timeoutMs: 60_000 });
  t.is((received!.json as { text: { content: string } }).text.content, `ArgoCD other ${otherApp} ${REVISIONS.second}`);
  await sleep(2000);

  const probes = await health.stop();
  t.log(`/healthz: ${probes.ok} probes answered, ${probes.failed.length} failed`);
  t.deepEqual(probes.failed, [], '/healthz answered every probe within the probe timeout');
  t.true(probes.ok >= 10);
  t.is(operator.process.pid, pid);
  t.is(operator.process.exitCode, null, 'herald is still running');
  t.is(operator.records().filter((r) => r.msg === 'herald controller started').length, 1, 'started once, never restarted');
  t.is(robot.accepted(tokens.tenant).length, 2, 'the tenant got exactly its two redos messages, nothing from the rejected or stopped expressions');
  t.is(readyOf(other, 'notificationtrigger', 'on-revision').status, 'True');
});
