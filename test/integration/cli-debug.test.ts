// herald template notify and herald trigger run against the real API server: the
// sample catalog applied into a namespace, an Application created there, the binary
// run as a subprocess with the test cluster's kubeconfig (read only).
import test from 'ava';
import { ANNOTATIONS } from '../../src/api/groups.js';
import { testCluster } from '../support/cluster.js';
import { REVISIONS } from '../support/fixtures/apps.js';
import { runHerald } from '../support/herald-cli.js';
import { CHANNEL, markdownOf, patchAppAnnotations, setupScenario } from '../support/scenario.js';

test('template notify app-sync-change guestbook: --stdout prints the request; --channel sends it to the robot and prints errcode 0, never the token or secret', async (t) => {
  const scenario = await setupScenario(t, import.meta.url);
  const { namespace, robot } = scenario;
  await scenario.createApp({ name: 'guestbook', initiatedBy: 'alice', revision: REVISIONS.first });
  const cluster = ['-n', namespace, '--kubeconfig', testCluster().kubeconfigPath];

  const printed = await runHerald(['template', 'notify', 'app-sync-change', 'guestbook', '--stdout', ...cluster]);
  t.is(printed.code, 0, printed.output);
  t.regex(printed.stdout, new RegExp(`^# NotificationTemplate ${namespace}/app-sync-change for Application ${namespace}/guestbook \\(trigger template-notify; cluster https://`, 'm'));
  t.regex(printed.stdout, /^POST <the channel robot webhook URL>$/m);
  const body = JSON.parse(printed.stdout.slice(printed.stdout.indexOf('\n{') + 1)) as { msgtype: string; markdown: { title: string; text: string } };
  t.is(body.msgtype, 'markdown');
  t.is(body.markdown.title, 'ArgoCD同步状态: guestbook Succeeded/Healthy');
  t.true(body.markdown.text.includes(`- 应用 (Application): ${namespace}/guestbook`), body.markdown.text);
  t.true(body.markdown.text.includes(`- 版本 (Revision): ${REVISIONS.first.slice(0, 12)}`), body.markdown.text);
  t.is(robot.requests.length, 0, '--stdout sends nothing');

  // The kubeconfig from $KUBECONFIG works the same as --kubeconfig.
  const sent = await runHerald(['template', 'notify', 'app-sync-change', 'guestbook', '--channel', CHANNEL, '-n', namespace], { env: { KUBECONFIG: testCluster().kubeconfigPath } });
  t.is(sent.code, 0, sent.output);
  t.regex(sent.stdout, /^POST http:\/\/127\.0\.0\.1:\d+\/robot\/send\?access_token=\*\*\*&timestamp=\d+&sign=\*\*\*$/m);
  t.regex(sent.stdout, /^DingTalk answered: errcode 0, errmsg "ok"$/m);
  const [received] = await robot.waitForAccepted(1);
  t.deepEqual(markdownOf(received!), body.markdown, 'the robot received what --stdout printed');
  t.is(received!.query.access_token, scenario.token);
  t.truthy(received!.query.sign, 'signed with the channel secret');
  for (const result of [printed, sent]) {
    t.false(result.output.includes(scenario.token), 'no access token in the output');
    t.false(result.output.includes(scenario.secret), 'no signing secret in the output');
  }
});

test('trigger run on-sync-succeeded guestbook: each condition, its result and oncePer value; suppressed once the ledger has the key', async (t) => {
  const scenario = await setupScenario(t, import.meta.url);
  const { namespace } = scenario;
  await scenario.createApp({ name: 'guestbook', revision: REVISIONS.second });
  const args = ['trigger', 'run', 'on-sync-succeeded', 'guestbook', '-n', namespace, '--control-namespace', namespace, '--kubeconfig', testCluster().kubeconfigPath];

  const fresh = await runHerald(args);
  t.is(fresh.code, 0, fresh.output);
  t.regex(fresh.stdout, new RegExp(`^NotificationTrigger ${namespace}/on-sync-succeeded: A sync operation succeeded`, 'm'));
  t.regex(fresh.stdout, /^conditions\[0\] default: fired$/m);
  t.regex(fresh.stdout, /^  when: {4}app\.status\.operationState\.phase == 'Succeeded'$/m);
  t.regex(fresh.stdout, /^  oncePer: has\(app\.status\.operationState\.syncResult\.revision\) \? /m);
  t.regex(fresh.stdout, new RegExp(`^  oncePer value: "${REVISIONS.second}"$`, 'm'));
  // Never evaluated by the operator and its last sync long past: first sight records it.
  t.regex(fresh.stdout, new RegExp(`^  channel ${namespace}/${CHANNEL}: first sight: would be recorded in the ledger, not sent`, 'm'));
  const key = new RegExp(`ledger key: (${REVISIONS.second}:on-sync-succeeded:default:${CHANNEL})`).exec(fresh.stdout)?.[1];
  t.truthy(key, fresh.stdout);

  // Once the operator has seen the app with this trigger and channel, the same state sends.
  const marker = `:on-sync-succeeded:*:${CHANNEL}`;
  await patchAppAnnotations(namespace, 'guestbook', { [ANNOTATIONS.notified]: JSON.stringify({ [marker]: 1714550000 }) });
  const seen = await runHerald(args);
  t.is(seen.code, 0, seen.output);
  t.regex(seen.stdout, new RegExp(`^  channel ${namespace}/${CHANNEL}: would send app-sync-change$`, 'm'));
  t.true(seen.stdout.includes(`\n  ${marker}  2024-05-01T07:53:20Z  (first sight`), seen.stdout);

  await patchAppAnnotations(namespace, 'guestbook', { [ANNOTATIONS.notified]: JSON.stringify({ [marker]: 1714550000, [key!]: 1714550435 }) });
  const after = await runHerald(args);
  t.is(after.code, 0, after.output);
  t.regex(after.stdout, new RegExp(`^  channel ${namespace}/${CHANNEL}: suppressed: already notified at 2024-05-01T08:00:35Z \\(in the ledger\\)$`, 'm'));
  t.is(scenario.robot.requests.length, 0, 'trigger run never sends');
  const app = await scenario.getApp('guestbook');
  t.deepEqual(Object.keys(app.metadata.annotations ?? {}), [ANNOTATIONS.notified], 'trigger run writes nothing');
});

test('against a cluster: a missing Application is a clear error', async (t) => {
  const scenario = await setupScenario(t, import.meta.url);
  const missing = await runHerald(['trigger', 'run', 'on-sync-succeeded', 'nope', '-n', scenario.namespace, '--kubeconfig', testCluster().kubeconfigPath]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, new RegExp(`^herald: Application ${scenario.namespace}/nope not found \\(cluster https://`, 'm'));
});
