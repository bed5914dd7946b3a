// herald import end to end: the classic Argo CD → DingTalk ConfigMap converted by the
// binary, checked with herald check, applied to the real API server, and driven through
// the classic scenario (Running → Succeeded + Healthy → Degraded) with the running
// operator. The local robot must receive the messages the original configuration
// describes (test/fixtures/import/classic-messages.ts), one per event.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { classicMessage, type Markdown } from '../fixtures/import/classic-messages.js';
import { createTestNamespace, testCluster } from '../support/cluster.js';
import { startDingTalkRobot } from '../support/dingtalk-robot.js';
import { buildApp, REVISIONS, type AppOptions } from '../support/fixtures/apps.js';
import { runHerald } from '../support/herald-cli.js';
import { startOperator } from '../support/operator.js';
import { markdownOf } from '../support/scenario.js';
import { sleep } from '../support/wait.js';

const CLASSIC = 'test/fixtures/import/argocd-notifications-cm.yaml';
const ARGOCD_URL = 'https://argocd.example.com';
// Argo CD's RepoURLToHTTPS keeps a trailing .git and herald's filter drops it; with
// a URL without .git both print the same.
const REPO_URL = 'https://github.com/argoproj/argocd-example-apps';

test('an imported classic ConfigMap passes herald check, applies, and delivers the messages the original describes', async (t) => {
  const cluster = testCluster();
  const namespace = await createTestNamespace(import.meta.url);
  const token = `tok${randomBytes(12).toString('hex')}`;
  // The classic robot's security setting: the keyword ArgoCD.
  const robot = await startDingTalkRobot({ robots: [{ token, keywords: ['ArgoCD'] }] });
  t.teardown(() => robot.close());

  const dir = mkdtempSync(join(tmpdir(), 'herald-import-'));
  const imported = await runHerald(['import', CLASSIC, '--namespace', namespace, '-o', dir]);
  t.is(imported.code, 0, imported.stderr);
  const checked = await runHerald(['check', dir]);
  t.is(checked.code, 0, checked.output);
  t.regex(checked.stdout, /herald check: 13 herald resources in 13 files checked, no errors, 1 other document ignored/);

  // The files hold a placeholder Secret; the line the import printed fills it in (here
  // with the local robot's URL instead of a DingTalk one), after the files are applied.
  const channelFile = readFileSync(join(dir, 'dingtalkchannel-dingtalk.yaml'), 'utf8');
  t.true(channelFile.includes('url: REPLACE_ME'), channelFile);
  cluster.kubectlOrThrow(['apply', '-f', dir]);
  const fillIn = /^ +kubectl (create secret generic dingtalk-robot .*) \| kubectl apply -f -$/m.exec(imported.stderr);
  if (!fillIn) throw new Error(`no kubectl line in the report:\n${imported.stderr}`);
  const createArgs = fillIn[1]!.split(' ').map((word) => (word.startsWith("--from-literal=url='") ? `--from-literal=url=${robot.webhookUrl(token)}` : word));
  t.deepEqual(createArgs.slice(0, 6), ['create', 'secret', 'generic', 'dingtalk-robot', '-n', namespace]);
  cluster.kubectlOrThrow(['apply', '-f', '-'], cluster.kubectlOrThrow(createArgs));

  const operator = await startOperator({ controlNamespace: namespace, argocdUrl: ARGOCD_URL });
  t.teardown(() => operator.stop());

  const api = cluster.kc.makeApiClient(CustomObjectsApi);
  const base = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', namespace };
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const state = (options: AppOptions) => buildApp({ namespace, name: 'guestbook', repoURL: REPO_URL, ...options });
  const setStatus = (options: AppOptions) =>
    api.patchNamespacedCustomObject({ ...base, name: 'guestbook', body: [{ op: 'add', path: '/status', value: state(options).status }] }, jsonPatch);

  await api.createNamespacedCustomObject({ ...base, body: state({ phase: null, syncStatus: 'OutOfSync' }) });
  const running: AppOptions = { phase: 'Running', revision: REVISIONS.first, initiatedBy: 'alice' };
  await setStatus(running);
  await robot.waitForAccepted(1, { timeoutMs: 30_000 });
  const succeeded: AppOptions = { phase: 'Succeeded', healthStatus: 'Healthy', revision: REVISIONS.first, initiatedBy: 'alice' };
  await setStatus(succeeded);
  await robot.waitForAccepted(3, { timeoutMs: 30_000 });
  const degraded: AppOptions = { ...succeeded, healthStatus: 'Degraded', healthMessage: 'Deployment "guestbook-ui" exceeded its progress deadline' };
  await setStatus(degraded);
  await robot.waitForAccepted(4, { timeoutMs: 30_000 });
  await sleep(2000);

  const received = robot.accepted().map(markdownOf);
  const expected: Markdown[] = [
    classicMessage('on-sync-running', state(running), ARGOCD_URL),
    classicMessage('on-sync-succeeded', state(succeeded), ARGOCD_URL),
    classicMessage('on-deployed', state(succeeded), ARGOCD_URL),
    classicMessage('on-health-degraded', state(degraded), ARGOCD_URL),
  ];
  t.is(received.length, 4, JSON.stringify(received, null, 2));
  t.deepEqual(received[0], expected[0]);
  // on-sync-succeeded and on-deployed fire on the same change, in either order.
  const byTitle = (a: Markdown, b: Markdown) => (a.title < b.title ? -1 : 1);
  t.deepEqual(received.slice(1, 3).sort(byTitle), expected.slice(1, 3).sort(byTitle));
  t.deepEqual(received[3], expected[3]);
  // The Go template's range and conditional parts came through.
  t.true(received[3]!.text.includes('> - 原因: Deployment "guestbook-ui" exceeded its progress deadline'));
  t.true(received.some((m) => m.title.startsWith('ArgoCD 同步成功') && m.text.includes('> - Service guestbook-ui: Synced\n> - Deployment guestbook-ui: Synced\n')));
});
