// config/rbac against a real API server: everything herald does is allowed for its
// ServiceAccount, and what it must never do (delete or create Applications, write
// Secrets, edit users' herald specs, take Leases elsewhere) is Forbidden.
import test from 'ava';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  PatchStrategy,
  V1MicroTime,
  Watch,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { ARGO_GROUP, ARGO_VERSION, APPLICATIONS, HERALD_GROUP, HERALD_VERSION, KINDS } from '../../src/api/groups.js';
import { createTestNamespace, testCluster } from '../support/cluster.js';
import { heraldServiceAccount, type ServiceAccountAccess } from '../support/serviceaccount.js';
import { waitFor } from '../support/wait.js';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let access: ServiceAccountAccess;
let control: string; // the control namespace: ServiceAccount, Lease
let team: string; // another namespace with Applications, herald resources, Secrets

/** 'ok' when the call succeeds, else the HTTP status it failed with. */
async function outcome(call: () => Promise<unknown>): Promise<'ok' | 403 | string> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    const { code, body } = error as { code?: unknown; body?: unknown };
    // Forbidden is the expected failure; anything else carries its reason for the report.
    if (code === 403) return 403;
    return typeof code === 'number' ? `${code}: ${typeof body === 'string' ? body : JSON.stringify(body)}` : String(error);
  }
}

const application = (name: string) => ({
  apiVersion: `${ARGO_GROUP}/${ARGO_VERSION}`,
  kind: 'Application',
  metadata: { name },
  spec: {
    project: 'default',
    source: { repoURL: 'https://github.com/argoproj/argocd-example-apps.git', path: 'guestbook', targetRevision: 'HEAD' },
    destination: { server: 'https://kubernetes.default.svc', namespace: 'guestbook' },
  },
});

const heraldObjects = {
  [KINDS.NotificationTrigger.plural]: {
    kind: KINDS.NotificationTrigger.kind,
    spec: { conditions: [{ when: "app.status.sync.status == 'Synced'", send: ['synced'] }] },
  },
  [KINDS.NotificationTemplate.plural]: { kind: KINDS.NotificationTemplate.kind, spec: { message: 'Application {{ app.metadata.name }} synced' } },
  [KINDS.DingTalkChannel.plural]: {
    kind: KINDS.DingTalkChannel.kind,
    spec: { webhook: { urlSecretRef: { name: 'robot', key: 'url' } } },
  },
};

test.before(async () => {
  control = await createTestNamespace(import.meta.url);
  team = await createTestNamespace(import.meta.url);
  access = await heraldServiceAccount(control);
  const admin = testCluster();
  for (const namespace of [control, team]) {
    admin.kubectlOrThrow(['apply', '-n', namespace, '-f', '-'], JSON.stringify(application('guestbook')));
    admin.kubectlOrThrow(['create', 'secret', 'generic', 'robot', '-n', namespace, '--from-literal=url=https://oapi.dingtalk.com/robot/send?access_token=test']);
    for (const [, object] of Object.entries(heraldObjects)) {
      admin.kubectlOrThrow(
        ['apply', '-n', namespace, '-f', '-'],
        JSON.stringify({ apiVersion: `${HERALD_GROUP}/${HERALD_VERSION}`, kind: object.kind, metadata: { name: 'example' }, spec: object.spec }),
      );
    }
  }
});

test.after.always(() => access?.cleanup());

const custom = (kc: KubeConfig) => kc.makeApiClient(CustomObjectsApi);

test('the ServiceAccount lists Applications in every namespace and watches them', async (t) => {
  const api = custom(access.kc);
  const list = (await api.listClusterCustomObject({ group: ARGO_GROUP, version: ARGO_VERSION, plural: APPLICATIONS })) as {
    items: Array<{ metadata: { namespace: string; name: string } }>;
  };
  const names = list.items.map((item) => `${item.metadata.namespace}/${item.metadata.name}`);
  t.true(names.includes(`${control}/guestbook`));
  t.true(names.includes(`${team}/guestbook`));

  const seen: string[] = [];
  let watchError: unknown;
  const watch = await new Watch(access.kc).watch(
    `/apis/${ARGO_GROUP}/${ARGO_VERSION}/${APPLICATIONS}`,
    {},
    (phase, obj: { metadata: { namespace: string; name: string } }) => seen.push(`${phase}:${obj.metadata.namespace}/${obj.metadata.name}`),
    (error: unknown) => {
      watchError = error;
    },
  );
  t.teardown(() => watch.abort());
  await waitFor(() => seen.includes(`ADDED:${team}/guestbook`) || watchError !== undefined, 'the watch to deliver the team Application');
  t.is(watchError, undefined);
  t.true(seen.includes(`ADDED:${team}/guestbook`));
});

test('the ServiceAccount patches Application annotations but cannot create, update or delete Applications', async (t) => {
  const api = custom(access.kc);
  const target = { group: ARGO_GROUP, version: ARGO_VERSION, namespace: team, plural: APPLICATIONS, name: 'guestbook' };
  t.is(
    await outcome(() => api.patchNamespacedCustomObject({ ...target, body: { metadata: { annotations: { 'argocd.argoproj.io/refresh': 'normal' } } } }, merge)),
    'ok',
  );
  const stored = (await custom(testCluster().kc).getNamespacedCustomObject(target)) as { metadata: { annotations?: Record<string, string> } };
  t.is(stored.metadata.annotations?.['argocd.argoproj.io/refresh'], 'normal');

  t.is(await outcome(() => api.deleteNamespacedCustomObject(target)), 403);
  t.is(await outcome(() => api.createNamespacedCustomObject({ ...target, body: application('intruder') })), 403);
  t.is(await outcome(() => api.replaceNamespacedCustomObject({ ...target, body: stored })), 403);
});

test('the ServiceAccount reads Secrets but cannot create, change or delete them', async (t) => {
  const core = access.kc.makeApiClient(CoreV1Api);
  t.is(await outcome(() => core.readNamespacedSecret({ namespace: team, name: 'robot' })), 'ok');
  t.is(await outcome(() => core.listSecretForAllNamespaces({ limit: 1 })), 'ok');
  t.is(
    await outcome(() => core.createNamespacedSecret({ namespace: team, body: { metadata: { name: 'stolen' }, stringData: { a: 'b' } } })),
    403,
  );
  t.is(await outcome(() => core.patchNamespacedSecret({ namespace: team, name: 'robot', body: { stringData: { url: 'x' } } }, merge)), 403);
  t.is(await outcome(() => core.deleteNamespacedSecret({ namespace: team, name: 'robot' })), 403);
});

test('the ServiceAccount reads herald resources and writes only their status', async (t) => {
  const api = custom(access.kc);
  for (const plural of Object.keys(heraldObjects)) {
    const target = { group: HERALD_GROUP, version: HERALD_VERSION, namespace: team, plural, name: 'example' };
    t.is(await outcome(() => api.listClusterCustomObject({ group: HERALD_GROUP, version: HERALD_VERSION, plural })), 'ok', plural);
    const condition = { type: 'Ready', status: 'True', reason: 'Valid', message: 'checked by the RBAC test', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    t.is(
      await outcome(() => api.patchNamespacedCustomObjectStatus({ ...target, body: { status: { observedGeneration: 1, conditions: [condition] } } }, merge)),
      'ok',
      `${plural} status patch`,
    );
    const current = (await api.getNamespacedCustomObjectStatus(target)) as { status?: { conditions?: Array<{ message: string }> } };
    t.is(current.status?.conditions?.[0]?.message, 'checked by the RBAC test', plural);
    t.is(await outcome(() => api.replaceNamespacedCustomObjectStatus({ ...target, body: current })), 'ok', `${plural} status update`);

    t.is(await outcome(() => api.patchNamespacedCustomObject({ ...target, body: { metadata: { labels: { changed: 'yes' } } } }, merge)), 403, `${plural} spec patch`);
    t.is(await outcome(() => api.deleteNamespacedCustomObject(target)), 403, `${plural} delete`);
  }
});

test('the ServiceAccount records Events through both Events APIs in any namespace', async (t) => {
  const core = access.kc.makeApiClient(CoreV1Api);
  const events = access.kc.makeApiClient(EventsV1Api);
  const now = new Date();
  const regarding = { apiVersion: `${HERALD_GROUP}/${HERALD_VERSION}`, kind: KINDS.DingTalkChannel.kind, namespace: team, name: 'example' };
  t.is(
    await outcome(() =>
      core.createNamespacedEvent({
        namespace: team,
        body: {
          metadata: { generateName: 'example.' },
          involvedObject: regarding,
          reason: 'DeliveryFailed',
          message: 'test',
          type: 'Warning',
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          source: { component: 'herald' },
        },
      }),
    ),
    'ok',
  );
  t.is(
    await outcome(() =>
      events.createNamespacedEvent({
        namespace: team,
        body: {
          // events.k8s.io validates generateName as a whole DNS name, so give a full name.
          metadata: { name: `example.${Date.now().toString(16)}` },
          eventTime: new V1MicroTime(now.getTime()),
          reportingController: 'herald.gitops.dev/controller',
          reportingInstance: 'herald-test',
          action: 'Deliver',
          reason: 'DeliveryFailed',
          note: 'test',
          type: 'Warning',
          regarding,
        },
      }),
    ),
    'ok',
  );
  const listed = await testCluster().kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: team });
  t.true(listed.items.filter((event) => event.involvedObject.name === 'example').length >= 2);
});

test('the ServiceAccount holds a Lease in the control namespace only', async (t) => {
  const leases = access.kc.makeApiClient(CoordinationV1Api);
  const body = {
    metadata: { name: 'herald-leader' },
    // MicroTime fields: the API server wants microseconds, which V1MicroTime serialises.
    spec: { holderIdentity: 'herald-test', leaseDurationSeconds: 15, acquireTime: new V1MicroTime(), renewTime: new V1MicroTime() },
  };
  t.is(await outcome(() => leases.createNamespacedLease({ namespace: control, body })), 'ok');
  const lease = await leases.readNamespacedLease({ namespace: control, name: 'herald-leader' });
  lease.spec = { ...lease.spec, renewTime: new V1MicroTime() };
  t.is(await outcome(() => leases.replaceNamespacedLease({ namespace: control, name: 'herald-leader', body: lease })), 'ok');

  t.is(await outcome(() => leases.createNamespacedLease({ namespace: team, body })), 403);
  t.is(await outcome(() => leases.deleteNamespacedLease({ namespace: control, name: 'herald-leader' })), 403);
});

test('the ServiceAccount reads and watches the context ConfigMap in the control namespace, and no other ConfigMap', async (t) => {
  const admin = testCluster();
  for (const [namespace, name] of [[control, 'herald-context'], [control, 'other'], [team, 'herald-context']] as const) {
    admin.kubectlOrThrow(['create', 'configmap', name, '-n', namespace, '--from-literal=argocdUrl=https://cd.example.com']);
  }
  const core = access.kc.makeApiClient(CoreV1Api);
  const fieldSelector = 'metadata.name=herald-context';
  t.is(await outcome(() => core.readNamespacedConfigMap({ namespace: control, name: 'herald-context' })), 'ok');
  const listed = await core.listNamespacedConfigMap({ namespace: control, fieldSelector });
  t.deepEqual(listed.items.map((cm) => cm.metadata?.name), ['herald-context']);
  const seen: string[] = [];
  let watchError: unknown;
  const watch = await new Watch(access.kc).watch(
    `/api/v1/namespaces/${control}/configmaps`,
    { fieldSelector },
    (phase, obj: { metadata: { name: string } }) => seen.push(`${phase}:${obj.metadata.name}`),
    (error: unknown) => {
      watchError = error;
    },
  );
  t.teardown(() => watch.abort());
  admin.kubectlOrThrow(['patch', 'configmap', 'herald-context', '-n', control, '--type=merge', '-p', '{"data":{"env":"prod"}}']);
  await waitFor(() => seen.includes('MODIFIED:herald-context') || watchError !== undefined, 'the watch to deliver the edit');
  t.is(watchError, undefined);

  t.is(await outcome(() => core.readNamespacedConfigMap({ namespace: control, name: 'other' })), 403);
  t.is(await outcome(() => core.readNamespacedConfigMap({ namespace: team, name: 'herald-context' })), 403);
  t.is(await outcome(() => core.listNamespacedConfigMap({ namespace: control, fieldSelector: 'metadata.name=other' })), 403);
  t.is(await outcome(() => core.patchNamespacedConfigMap({ namespace: control, name: 'herald-context', body: { data: { argocdUrl: 'https://evil' } } }, merge)), 403);
});

test('the ServiceAccount cannot touch unrelated resources', async (t) => {
  const core = access.kc.makeApiClient(CoreV1Api);
  t.is(await outcome(() => core.listNamespacedPod({ namespace: team })), 403);
  t.is(await outcome(() => core.listNamespacedConfigMap({ namespace: control })), 403);
  t.is(await outcome(() => core.createNamespace({ body: { metadata: { name: `${team}-x` } } })), 403);
});
