// Issue 4: an informer whose watch fails is restarted with backoff and catches up.
// The failure here is real: the resource's CRD is deleted under the watch and created
// again later, so list and watch fail with 404 until it is back.
import test from 'ava';
import { CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';
import { Informer } from '../../src/kube/informer.js';
import { createLogger } from '../../src/observability/logger.js';
import { createTestNamespace, testCluster } from '../support/cluster.js';
import { sleep, waitFor } from '../support/wait.js';

const crd = (group: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.${group}}
spec:
  group: ${group}
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`;

test('a watch that fails (its CRD deleted and re-created) is restarted with backoff and sees later changes', async (t) => {
  const cluster = testCluster();
  const namespace = await createTestNamespace(import.meta.url);
  const group = `${namespace}.restart.test`;
  const establish = () => {
    cluster.kubectlOrThrow(['apply', '-f', '-'], crd(group));
    cluster.kubectlOrThrow(['wait', '--for=condition=Established', '--timeout=60s', `crd/widgets.${group}`]);
  };
  establish();
  t.teardown(() => void cluster.kubectl(['delete', 'crd', `widgets.${group}`, '--wait=false']));
  const api = cluster.kc.makeApiClient(CustomObjectsApi);
  const seen: string[] = [];
  const logs: string[] = [];
  let restarts = 0;
  const informer = new Informer<KubernetesObject>({
    name: 'widgets',
    kc: cluster.kc,
    path: `/apis/${group}/v1/namespaces/${namespace}/widgets`,
    listPage: (cont) => api.listNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'widgets', _continue: cont }) as never,
    log: createLogger('warn', (line) => logs.push(line)),
    onRestart: () => restarts++,
  });
  informer.on('add', (obj) => seen.push(obj.metadata!.name!));
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync();

  cluster.kubectlOrThrow(['delete', 'crd', `widgets.${group}`]);
  await waitFor(() => logs.some((line) => line.includes('watch failed; restarting')), 'the failure to be noticed', 30_000);
  await sleep(1500);
  establish();
  await sleep(500);
  await api.createNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'widgets', body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'after-restart' } } });
  await waitFor(() => seen.includes('after-restart'), 'the object created after the CRD came back', 60_000);
  t.true(restarts >= 1, `restarted ${restarts} time(s)`);
  const delays = logs.map((line) => JSON.parse(line) as { retryInMs?: number }).filter((r) => r.retryInMs !== undefined).map((r) => r.retryInMs!);
  t.log(`restart delays (ms): ${delays.join(', ')}`);
  t.true(delays.every((delay) => delay <= 30_000), 'backoff is capped');
});
