// The initial list of an informer reads every page: custom objects come back from
// CustomObjectsApi as raw JSON, whose continue token is `metadata.continue` (typed
// lists call it `_continue`). Found by bench/engine: with 10,000 Applications the
// operator's cache held only the first page of 500.
import test from 'ava';
import { CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';
import { Informer } from '../../src/kube/informer.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createTestNamespace, testCluster } from '../support/cluster.js';

test('an informer lists every page of custom objects, not only the first', async (t) => {
  const cluster = testCluster();
  const namespace = await createTestNamespace(import.meta.url);
  const api = cluster.kc.makeApiClient(CustomObjectsApi);
  const base = { group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'applications' };
  const names = Array.from({ length: 7 }, (_, i) => `app-${i}`);
  for (const name of names) {
    await api.createNamespacedCustomObject({ ...base, body: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name }, spec: { project: 'default' } } });
  }
  let pages = 0;
  const added: string[] = [];
  const informer = new Informer<KubernetesObject>({
    name: 'applications',
    kc: cluster.kc,
    path: `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/applications`,
    listPage: (cont) => {
      pages++;
      return api.listNamespacedCustomObject({ ...base, limit: 3, _continue: cont });
    },
    log: silentLogger,
  });
  informer.on('add', (object) => added.push(object.metadata!.name!));
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync();
  t.is(pages, 3, '7 objects in pages of 3');
  t.deepEqual(informer.list().map((object) => object.metadata!.name).sort(), names);
  t.deepEqual(added.sort(), names);
});
