// herald's hot write, the merge patch of an Application's annotations (src/kube/merge-patch.ts),
// against the real API server: it applies, the answer is metadata only
// (PartialObjectMetadata, not the kilobytes of spec and status), refusals keep their
// status code and message, and the writes share one keep-alive connection.
import { join } from 'node:path';
import test from 'ava';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../src/kube/client.js';
import { KubeApiError, apiMessageOf, statusCodeOf } from '../../src/kube/errors.js';
import { KubeWriter } from '../../src/kube/patch.js';
import { createTestNamespace, testCluster } from '../support/cluster.js';
import { connectionsOpenedBy } from '../support/connections.js';
import { repoRoot } from '../support/controlplane/install.js';
import { buildApp, type Application } from '../support/fixtures/apps.js';

const apps = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications' };
let namespace = '';

test.before(async () => {
  namespace = await createTestNamespace(import.meta.url);
  const api = testCluster().kc.makeApiClient(CustomObjectsApi);
  for (const name of ['guestbook', 'reused']) {
    await api.createNamespacedCustomObject({ ...apps, namespace, body: buildApp({ namespace, name }) });
  }
});

type StoredApp = Application & { metadata: { resourceVersion?: string } };
const getApp = (name: string) =>
  testCluster().kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ ...apps, namespace, name }) as Promise<StoredApp>;

test.serial('the patch applies and the API server answers with metadata only, carrying the new resourceVersion', async (t) => {
  const writer = new KubeWriter(loadKubeConfig(testCluster().kubeconfigPath));
  const before = await getApp('guestbook');
  const patched = await writer.patchAppAnnotations(namespace, 'guestbook', { 'herald.gitops.dev/notified': '{"a":1}' });
  t.is(patched.kind, 'PartialObjectMetadata', 'PATCH honours Accept: as=PartialObjectMetadata');
  t.is(patched.apiVersion, 'meta.k8s.io/v1');
  t.false('spec' in patched, 'no spec in the answer');
  t.false('status' in patched, 'no status in the answer');
  t.true(JSON.stringify(patched).length < JSON.stringify(before).length / 2, 'the answer is much smaller than the Application');
  const after = await getApp('guestbook');
  t.not(patched.metadata?.resourceVersion, before.metadata?.resourceVersion);
  t.is(patched.metadata?.resourceVersion, after.metadata?.resourceVersion);
  t.is(after.metadata?.annotations?.['herald.gitops.dev/notified'], '{"a":1}');
  t.deepEqual(after.spec, before.spec, 'the rest of the Application is untouched');
  t.deepEqual(after.status, before.status);

  const removed = await writer.patchAppAnnotations(namespace, 'guestbook', { 'herald.gitops.dev/notified': null });
  t.is(removed.metadata?.annotations?.['herald.gitops.dev/notified'], undefined);
  t.is((await getApp('guestbook')).metadata?.annotations?.['herald.gitops.dev/notified'], undefined, 'null removes the annotation');
});

test.serial('a missing Application is a 404 with the API server’s message', async (t) => {
  const writer = new KubeWriter(loadKubeConfig(testCluster().kubeconfigPath));
  const error = await t.throwsAsync(writer.patchAppAnnotations(namespace, 'no-such-app', { a: 'b' }), { instanceOf: KubeApiError });
  t.is(statusCodeOf(error), 404);
  t.is(apiMessageOf(error), 'applications.argoproj.io "no-such-app" not found');
});

test.serial('an invalid annotation is a 422 with the API server’s message', async (t) => {
  const writer = new KubeWriter(loadKubeConfig(testCluster().kubeconfigPath));
  const error = await t.throwsAsync(writer.patchAppAnnotations(namespace, 'guestbook', { 'not a key!': 'x' }), { instanceOf: KubeApiError });
  t.is(statusCodeOf(error), 422);
  t.regex(apiMessageOf(error), /metadata\.annotations: Invalid value: "not a key!"/);
});

test.serial('a status patch writes the status subresource and answers with metadata only', async (t) => {
  const cluster = testCluster();
  cluster.kubectlOrThrow(['apply', '-n', namespace, '-f', join(repoRoot, 'config/samples')]);
  const writer = new KubeWriter(loadKubeConfig(cluster.kubeconfigPath));
  const patched = await writer.patchHeraldStatus('dingtalkchannels', namespace, 'dingtalk-ops', { lastSentTime: '2026-12-02T05:00:00Z' });
  t.is(patched.kind, 'PartialObjectMetadata');
  t.false('spec' in patched);
  const channel = JSON.parse(cluster.kubectlOrThrow(['get', '-n', namespace, 'dingtalkchannel', 'dingtalk-ops', '-o', 'json'])) as {
    metadata: { resourceVersion: string };
    status?: { lastSentTime?: string };
  };
  t.is(channel.status?.lastSentTime, '2026-12-02T05:00:00Z');
  t.is(patched.metadata?.resourceVersion, channel.metadata.resourceVersion);
});

test.serial('sequential patches share one keep-alive connection', async (t) => {
  const writer = new KubeWriter(loadKubeConfig(testCluster().kubeconfigPath));
  const sockets = await connectionsOpenedBy(async () => {
    for (let i = 0; i < 10; i++) await writer.patchAppAnnotations(namespace, 'reused', { 'herald.gitops.dev/notified': `{"n":${i}}` });
  });
  t.is(sockets, 1);
  t.is((await getApp('reused')).metadata?.annotations?.['herald.gitops.dev/notified'], '{"n":9}');
});
