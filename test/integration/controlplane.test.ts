// The ground everything stands on: a real API server, the Application CRD without a
// status subresource, and informers that survive the server closing their watch.
import test from 'ava';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { Informer } from '../../src/kube/informer.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createTestNamespace, testCluster } from '../support/cluster.js';
import { sleep, waitFor } from '../support/wait.js';

test('the control plane is a real kube-apiserver', (t) => {
  const cluster = testCluster();
  t.log(`kube-apiserver ${cluster.version}`);
  const version = JSON.parse(cluster.kubectlOrThrow(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } };
  t.regex(version.serverVersion.gitVersion, /^v1\.\d+\.\d+/);
  t.is(version.serverVersion.gitVersion, cluster.version);
});

test('the test Application CRD mirrors Argo CD: shortNames, no status subresource, unknown fields kept', (t) => {
  const crd = JSON.parse(testCluster().kubectlOrThrow(['get', 'crd', 'applications.argoproj.io', '-o', 'json']));
  t.deepEqual(crd.spec.names.shortNames, ['app', 'apps']);
  t.is(crd.spec.versions[0].name, 'v1alpha1');
  t.is(crd.spec.versions[0].subresources, undefined);
});

test('Application changes made with kubectl and ordinary patches reach an informer, across watch restarts', async (t) => {
  const cluster = testCluster();
  const namespace = await createTestNamespace(import.meta.url);
  const api = cluster.kc.makeApiClient(CustomObjectsApi);
  const seen: string[] = [];
  let restarts = 0;
  const informer = new Informer<KubernetesObject & { status?: { sync?: { status?: string } } }>({
    name: 'applications',
    kc: cluster.kc,
    path: `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/applications`,
    listPage: (cont) => api.listNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'applications', limit: 2, _continue: cont }),
    // The server closes each watch after one second, so the test crosses several restarts.
    watchTimeoutSeconds: 1,
    log: silentLogger,
    onRestart: () => restarts++,
  });
  const record = (verb: string) => (obj: { metadata?: { name?: string }; status?: { sync?: { status?: string } } }) =>
    seen.push(`${verb}:${obj.metadata?.name}:${obj.status?.sync?.status ?? '-'}`);
  informer.on('add', record('add'));
  informer.on('update', record('update'));
  informer.on('delete', record('delete'));
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync();

  cluster.kubectlOrThrow(['apply', '-n', namespace, '-f', '-'], `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
spec:
  project: default
  source: {repoURL: "https://github.com/argoproj/argocd-example-apps.git", path: guestbook, targetRevision: HEAD}
  destination: {server: "https://kubernetes.default.svc", namespace: guestbook}
  someFutureField: kept
`);
  await waitFor(() => seen.includes('add:guestbook:-'), 'add:guestbook:-');

  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const patchStatus = (status: string) =>
    api.patchNamespacedCustomObject(
      { group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'applications', name: 'guestbook', body: { status: { sync: { status } } } },
      merge,
    );
  await patchStatus('OutOfSync');
  await waitFor(() => seen.includes('update:guestbook:OutOfSync'), 'update:guestbook:OutOfSync');
  // Wait past the server-side watch timeout, then change again: the new watch must see it.
  await sleep(2500);
  await patchStatus('Synced');
  await waitFor(() => seen.includes('update:guestbook:Synced'), 'update:guestbook:Synced');
  const stored = informer.get('guestbook', namespace) as { spec?: { someFutureField?: string } } | undefined;
  t.is(stored?.spec?.someFutureField, 'kept');

  cluster.kubectlOrThrow(['delete', '-n', namespace, 'application', 'guestbook']);
  await waitFor(() => seen.includes('delete:guestbook:Synced'), 'delete:guestbook:Synced');
  t.deepEqual(seen, ['add:guestbook:-', 'update:guestbook:OutOfSync', 'update:guestbook:Synced', 'delete:guestbook:Synced']);
  t.is(restarts, 0, 'a server-side close is a normal re-watch, not an error restart');
});
