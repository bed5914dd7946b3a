// The notification context lives in one place, the ConfigMap herald-context in the
// control namespace, which the running controller watches and `herald template
// notify` reads: against a real API server, the CLI (a subprocess) sends for the same
// Application, template, trigger and channel the very body the controller sent, as
// the local robot received both (issue 13, must-show 7). An edit applies without a
// restart; an invalid version is an Event and changes nothing.
import test from 'ava';
import { testCluster } from '../support/cluster.js';
import type { ReceivedRequest } from '../support/dingtalk-robot.js';
import { REVISIONS } from '../support/fixtures/apps.js';
import { runHerald } from '../support/herald-cli.js';
import { startOperator } from '../support/operator.js';
import { CHANNEL, eventsFor, markdownOf, setupScenario, triggerOf } from '../support/scenario.js';
import { waitFor } from '../support/wait.js';

const FIRST_URL = 'https://argocd.context-test.example';
const SECOND_URL = 'https://cd2.context-test.example';

/** The body as the robot received it, without DingTalk's msgUuid (an idempotency key only the controller sets). */
function bodyWithoutMsgUuid(request: ReceivedRequest): string {
  return request.rawBody.replace(/,"msgUuid":"[^"]*"|"msgUuid":"[^"]*",?/, '');
}

/** The query without the per-request timestamp and sign. */
function stableQuery(request: ReceivedRequest): Record<string, string> {
  const { timestamp: _timestamp, sign: _sign, ...rest } = request.query;
  return rest;
}

const contextConfigMap = (namespace: string, data: Record<string, string>) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'herald-context', namespace }, data });

test('template notify --channel against a running controller sends byte for byte the body the controller sent (context from the same ConfigMap); edits apply live; an invalid version is an Event and keeps the last good one', async (t) => {
  const scenario = await setupScenario(t, import.meta.url);
  const { namespace, robot } = scenario;
  const cluster = testCluster();
  cluster.kubectlOrThrow(['apply', '-f', '-'], contextConfigMap(namespace, { argocdUrl: `${FIRST_URL}/`, team: 'payments' }));
  // No --argocd-url: the controller's context comes from the ConfigMap, as installed.
  const operator = await startOperator({ controlNamespace: namespace, argocdUrl: null });
  t.teardown(() => operator.stop());
  await operator.waitForLog((r) => r.msg === 'notification context loaded', 'the context ConfigMap to be read');

  const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await scenario.createApp({ name: 'guestbook', phase: null, syncStatus: 'OutOfSync', healthStatus: 'Healthy' });
  await scenario.setStatus('guestbook', { phase: 'Running', revision: REVISIONS.first, initiatedBy: 'alice', startedAt: now() });
  const [fromController] = await robot.waitForAccepted(1);
  const trigger = triggerOf(fromController!);
  t.is(trigger, 'on-sync-running');
  t.true(markdownOf(fromController!).text.includes(`(${FIRST_URL}/applications/${namespace}/guestbook)`), markdownOf(fromController!).text);

  const sent = await runHerald(
    ['template', 'notify', 'app-sync-change', 'guestbook', '--channel', CHANNEL, '--trigger', trigger, '-n', namespace, '--control-namespace', namespace, '--explain'],
    { env: { KUBECONFIG: cluster.kubeconfigPath } },
  );
  t.is(sent.code, 0, sent.output);
  t.regex(sent.stdout, new RegExp(`^# context\\.argocdUrl = "${FIRST_URL}" \\(ConfigMap ${namespace}/herald-context\\)$`, 'm'));
  t.regex(sent.stdout, new RegExp(`^# context\\.team = "payments" \\(ConfigMap ${namespace}/herald-context\\)$`, 'm'));
  t.regex(sent.stdout, /^DingTalk answered: errcode 0, errmsg "ok"$/m);
  const [, fromCli] = await robot.waitForAccepted(2);

  // The comparison is of what the robot received, not of herald's own builder.
  t.is(bodyWithoutMsgUuid(fromCli!), bodyWithoutMsgUuid(fromController!), 'the same bytes apart from msgUuid');
  t.deepEqual(stableQuery(fromCli!), stableQuery(fromController!), 'the same URL apart from timestamp and sign');
  t.is(fromCli!.headers['content-type'], fromController!.headers['content-type']);
  t.truthy(fromCli!.query.sign, 'both signed');
  t.truthy(fromController!.query.sign);

  // An invalid version: an Event on the ConfigMap, the last good context stays in force.
  cluster.kubectlOrThrow(['apply', '-f', '-'], contextConfigMap(namespace, { argocdURL: 'argocd.context-test.example' }));
  await waitFor(() => eventsFor(namespace, 'ConfigMap', 'herald-context').some((e) => e.reason === 'InvalidContext'), 'the InvalidContext Event', 30_000);
  const event = eventsFor(namespace, 'ConfigMap', 'herald-context').find((e) => e.reason === 'InvalidContext')!;
  t.is(event.type, 'Warning');
  t.is(event.message, `ConfigMap ${namespace}/herald-context is not a valid notification context: unknown key "argocdURL" (did you mean argocdUrl?); the last valid version stays in force`);
  await scenario.setStatus('guestbook', { phase: 'Succeeded', healthStatus: 'Healthy', revision: REVISIONS.first, initiatedBy: 'alice', startedAt: now() });
  const afterInvalid = (await robot.waitForAccepted(4)).slice(2);
  t.deepEqual(afterInvalid.map(triggerOf).sort(), ['on-deployed', 'on-sync-succeeded']);
  for (const request of afterInvalid) t.true(markdownOf(request).text.includes(`(${FIRST_URL}/applications/`), 'still the last good address');
  t.true(operator.process.exitCode === null, 'the controller is still running');

  // A valid edit applies to the next message, without a restart.
  cluster.kubectlOrThrow(['apply', '-f', '-'], contextConfigMap(namespace, { argocdUrl: SECOND_URL }));
  await operator.waitForLog((r) => r.msg === 'notification context loaded' && JSON.stringify(r.context).includes(SECOND_URL), 'the edited ConfigMap to apply');
  await scenario.setStatus('guestbook', { phase: 'Running', revision: REVISIONS.second, initiatedBy: 'alice', startedAt: now() });
  const [, , , , live] = await robot.waitForAccepted(5);
  t.is(triggerOf(live!), 'on-sync-running');
  t.true(markdownOf(live!).text.includes(`(${SECOND_URL}/applications/${namespace}/guestbook)`), markdownOf(live!).text);

  // Flags win over the ConfigMap, in the CLI as in the controller.
  const overridden = await runHerald(
    ['template', 'notify', 'app-sync-change', 'guestbook', '--stdout', '--explain', '--argocd-url', 'https://flag.example.com', '-n', namespace, '--control-namespace', namespace],
    { env: { KUBECONFIG: cluster.kubeconfigPath } },
  );
  t.is(overridden.code, 0, overridden.output);
  t.regex(overridden.stdout, /^# context\.argocdUrl = "https:\/\/flag\.example\.com" \(--argocd-url\)$/m);
  t.true(overridden.stdout.includes(`(https://flag.example.com/applications/${namespace}/guestbook)`));
  t.false(operator.output.some((line) => line.includes(scenario.token) || line.includes(scenario.secret)), 'no secret in the controller log');
});
