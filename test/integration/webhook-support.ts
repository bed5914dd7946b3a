// The webhook receiver as the operator runs it, against the test control plane: a real
// Application informer, the real webhook Secret watch and the real refresh patch.
// (Started in-process; the integration tests only talk to it over HTTP and read the
// results from the API server.)
import { request } from 'node:http';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { ANNOTATIONS, APPLICATIONS, ARGO_GROUP, ARGO_VERSION } from '../../src/api/groups.js';
import { Informer } from '../../src/kube/informer.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { createApplicationRefresher } from '../../src/webhook/refresh.js';
import { WebhookSecretsSource } from '../../src/webhook/secrets.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../src/webhook/server.js';
import { testCluster } from '../support/cluster.js';
import type { Delivery } from '../support/webhook-payloads.js';

export interface ReceiverUnderTest {
  port: number;
  /** Log lines (JSON) the receiver and the secrets source wrote. */
  lines: string[];
  metrics: Metrics;
  receiver: WebhookReceiver;
  appCount(): number;
  stop(): Promise<void>;
}

export async function startReceiverUnderTest(namespace: string, options: { bodyLimitBytes?: number } = {}): Promise<ReceiverUnderTest> {
  const kc = testCluster().kc;
  const api = kc.makeApiClient(CustomObjectsApi);
  const lines: string[] = [];
  const log = createLogger('debug', (line) => lines.push(line));
  const metrics = createMetrics({ defaultMetrics: false });
  const apps = new Informer<KubernetesObject>({
    name: 'applications',
    kc,
    path: `/apis/${ARGO_GROUP}/${ARGO_VERSION}/namespaces/${namespace}/${APPLICATIONS}`,
    listPage: (cont) => api.listNamespacedCustomObject({ group: ARGO_GROUP, version: ARGO_VERSION, namespace, plural: APPLICATIONS, _continue: cont }),
    log,
  });
  const secrets = new WebhookSecretsSource({ kc, namespace, log });
  apps.start();
  secrets.start();
  await Promise.all([apps.waitForSync(), secrets.waitForSync()]);
  const receiver = await startWebhookReceiver({
    port: 0,
    host: '127.0.0.1',
    bodyLimitBytes: options.bodyLimitBytes,
    listApplications: () => apps.list(),
    refresh: createApplicationRefresher(kc),
    secrets: () => secrets.current(),
    secretsOrigin: secrets.origin,
    log,
    metrics,
  });
  return {
    port: receiver.port,
    lines,
    metrics,
    receiver,
    appCount: () => apps.list().length,
    async stop() {
      await receiver.close();
      apps.stop();
      secrets.stop();
    },
  };
}

/** Creates or replaces the webhook Secret (Argo CD key names) in the namespace. */
export async function writeWebhookSecret(namespace: string, values: Record<string, string>, name = 'argocd-secret'): Promise<void> {
  const core = testCluster().kc.makeApiClient(CoreV1Api);
  const body = { metadata: { name, namespace }, stringData: values, type: 'Opaque' };
  try {
    await core.replaceNamespacedSecret({ name, namespace, body });
  } catch (error) {
    if ((error as { code?: number }).code !== 404) throw error;
    await core.createNamespacedSecret({ namespace, body });
  }
}

export interface Answer {
  status: number;
  body: string;
}

/** POSTs a delivery; resolves with the answer even when the server cuts the connection afterwards. */
export function deliver(port: number, delivery: Delivery | { headers: Record<string, string>; body: string | Buffer }, path = '/api/webhook'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers: delivery.headers }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.end(delivery.body);
  });
}

/** Names of the Applications in the namespace that carry argocd.argoproj.io/refresh, sorted. */
export async function refreshedApps(namespace: string): Promise<string[]> {
  const api = testCluster().kc.makeApiClient(CustomObjectsApi);
  const list = (await api.listNamespacedCustomObject({ group: ARGO_GROUP, version: ARGO_VERSION, namespace, plural: APPLICATIONS })) as {
    items: Array<{ metadata: { name: string; annotations?: Record<string, string> } }>;
  };
  return list.items
    .filter((app) => app.metadata.annotations?.[ANNOTATIONS.argoRefresh] === 'normal')
    .map((app) => app.metadata.name)
    .sort();
}

/** Removes the refresh annotation from every Application in the namespace (what Argo CD does after refreshing). */
export async function clearRefreshAnnotations(namespace: string): Promise<void> {
  const api = testCluster().kc.makeApiClient(CustomObjectsApi);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  for (const name of await refreshedApps(namespace)) {
    await api.patchNamespacedCustomObject(
      { group: ARGO_GROUP, version: ARGO_VERSION, namespace, plural: APPLICATIONS, name, body: { metadata: { annotations: { [ANNOTATIONS.argoRefresh]: null } } } },
      merge,
    );
  }
}
