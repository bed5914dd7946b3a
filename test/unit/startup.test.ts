// What happens between process start and the first evaluation, against a loopback
// stand-in for the API server that answers lists, holds watches open and keeps a Lease:
// an informer is synced once its list is in the cache (not a round trip later, when the
// watch is answered); a channel's Secrets are listed while the Applications still are;
// the Lease is campaigned for while the caches fill, but leader-only work starts only
// with lead().
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { CustomObjectsApi, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { controllerConfig } from '../../src/config.js';
import { Caches } from '../../src/controller/caches.js';
import { Operator } from '../../src/controller/operator.js';
import { Informer } from '../../src/kube/informer.js';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';

type Answer = (request: IncomingMessage, response: ServerResponse, body: string) => boolean;

/** Lists answer from `lists` (by path, without query) or empty; watches stay open without an answer. */
async function fakeApiServer(t: { teardown(fn: () => void): void }, options: { lists?: Record<string, unknown[]>; hold?: (path: string) => Promise<void> | undefined; answer?: Answer } = {}) {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://x');
      const watch = url.searchParams.get('watch') === 'true';
      requests.push(`${request.method} ${url.pathname}${watch ? ' watch' : ''}`);
      if (options.answer?.(request, response, Buffer.concat(chunks).toString('utf8'))) return;
      if (watch) return; // held open, never answered: as a slow API server's watch
      const items = options.lists?.[url.pathname] ?? [];
      const send = () => {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '7' }, items }));
      };
      const held = options.hold?.(url.pathname);
      if (held) void held.then(send);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'robot', token: 'token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'robot' }],
    currentContext: 'fake',
  });
  return { kc, requests };
}

const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

const waitUntil = async (condition: () => boolean, what: string, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

test('an informer is synced once its list is in the cache, while the API server has not answered the watch yet', async (t) => {
  const path = '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications';
  const apps = [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'guestbook', namespace: 'argocd', resourceVersion: '5' } }];
  const { kc, requests } = await fakeApiServer(t, { lists: { [path]: apps } });
  const custom = kc.makeApiClient(CustomObjectsApi);
  const informer = new Informer<KubernetesObject>({
    name: 'applications',
    kc,
    path,
    log: silentLogger,
    listPage: (cont) => custom.listNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace: 'argocd', plural: 'applications', _continue: cont }) as never,
  });
  informer.start();
  t.teardown(() => informer.stop());
  await within(informer.waitForSync(), 3000, 'synced');
  t.true(informer.hasSynced());
  t.deepEqual(informer.list().map((app) => app.metadata?.name), ['guestbook']);
  await waitUntil(() => requests.includes(`GET ${path} watch`), 'the watch is asked for');
});

test('a channel’s Secrets are listed while the Applications are still being listed', async (t) => {
  let releaseApps!: () => void;
  const appsHeld = new Promise<void>((resolve) => (releaseApps = resolve));
  const channel = { apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'DingTalkChannel', metadata: { name: 'ops', namespace: 'team-a', resourceVersion: '3' }, spec: {} };
  const { kc, requests } = await fakeApiServer(t, {
    lists: { '/apis/herald.gitops.dev/v1alpha1/dingtalkchannels': [channel] },
    hold: (path) => (path === '/apis/argoproj.io/v1alpha1/applications' ? appsHeld : undefined),
  });
  const caches = new Caches({ kc, log: silentLogger, metrics: createMetrics({ defaultMetrics: false }), controlNamespace: 'argocd', namespaces: [], appChanged: () => undefined, configChanged: () => undefined, secretChanged: () => undefined });
  t.teardown(() => caches.stop());
  const started = caches.start();
  await waitUntil(() => requests.includes('GET /api/v1/namespaces/team-a/secrets'), 'the Secrets of the channel’s namespace are listed');
  t.false(requests.includes('GET /api/v1/namespaces/argocd/secrets'), 'only where channels live');
  releaseApps();
  await within(started, 3000, 'caches synced');
  await within(caches.ensureSecrets('team-a'), 3000, 'Secrets synced');
  t.is(requests.filter((request) => request === 'GET /api/v1/namespaces/team-a/secrets').length, 1, 'listed once');
});

test('the Lease is taken while the caches fill; leader-only work starts with lead(), not before', async (t) => {
  let releaseApps!: () => void;
  const appsHeld = new Promise<void>((resolve) => (releaseApps = resolve));
  const leasePath = '/apis/coordination.k8s.io/v1/namespaces/argocd/leases';
  let lease: Record<string, unknown> | undefined;
  const { kc, requests } = await fakeApiServer(t, {
    hold: (path) => (path === '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications' ? appsHeld : undefined),
    answer: (request, response, body) => {
      const url = new URL(request.url ?? '/', 'http://x');
      if (!url.pathname.startsWith(leasePath)) return false;
      if (request.method === 'GET' && !lease) {
        response.writeHead(404, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
        return true;
      }
      if (request.method !== 'GET') lease = { ...(JSON.parse(body) as Record<string, unknown>), metadata: { name: 'herald-leader', namespace: 'argocd', resourceVersion: '9' } };
      response.writeHead(request.method === 'POST' ? 201 : 200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(lease));
      return true;
    },
  });
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger('debug', (line) => void lines.push(JSON.parse(line) as Record<string, unknown>));
  const metrics = createMetrics({ defaultMetrics: false });
  const config = controllerConfig(['--control-namespace', 'argocd', '--namespaces', 'argocd', '--identity', 'replica-a'], {});
  const operator = new Operator({ config, kc, log, metrics });
  t.teardown(() => operator.stop());
  const leading = async () => (await metrics.isLeader.get()).values[0]?.value;
  const started = operator.start();
  await waitUntil(() => lines.some((line) => line.msg === 'lease acquired'), 'the Lease is taken while the Applications are listed');
  t.true(requests.includes(`POST ${leasePath}`));
  t.false(operator.isReady().ready, 'the caches are not synced yet');
  t.not(await leading(), 1);
  releaseApps();
  await within(started, 3000, 'started');
  t.false(lines.some((line) => line.msg === 'became leader'), 'no leader-only work before lead()');
  t.not(await leading(), 1);
  operator.lead();
  t.is(await leading(), 1, 'leads at once: the Lease is already held');
  t.true(lines.some((line) => line.msg === 'became leader'));
});
