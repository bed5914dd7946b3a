// Driving the webhook receiver of the running operator (`herald controller`, started
// by test/support/operator.ts) and reading the results back from the API server.
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ANNOTATIONS, APPLICATIONS, ARGO_GROUP, ARGO_VERSION } from '../../src/api/groups.js';
import { testCluster } from '../support/cluster.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { parseExposition, sumOf } from '../support/scrape.js';
import type { Delivery } from '../support/webhook-payloads.js';

/** The operator, watching Applications in `namespace` and reading `argocd-secret` there. */
export async function startOperatorWithWebhook(namespace: string, options: { bodyLimitBytes?: number } = {}): Promise<RunningOperator & { webhookPort: number }> {
  const operator = await startOperator({
    controlNamespace: namespace,
    leaderElection: false,
    extraArgs: options.bodyLimitBytes ? ['--webhook-max-body-bytes', String(options.bodyLimitBytes)] : [],
  });
  const webhookPort = operator.ports.webhook;
  if (!webhookPort) throw new Error('the operator did not report a webhook port');
  return Object.assign(operator, { webhookPort });
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

/** A fresh commit id, so that the receiver's log line of one push can be told from the others. */
export function commitId(): string {
  return randomBytes(20).toString('hex');
}

/** Waits for the line the receiver logs once every refresh of the push with this `after` commit settled. */
export function pushHandled(operator: RunningOperator, after: string) {
  return operator.waitForLog((r) => typeof r.msg === 'string' && r.msg.startsWith('Received push event') && r.after === after, `the push log line for ${after}`);
}

/** Names of the Applications in the namespace that carry argocd.argoproj.io/refresh=normal, sorted. */
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

/** herald_webhook_requests_total for one provider and result, scraped from the operator. */
export async function webhookRequestCount(operator: RunningOperator, provider: string, result: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${operator.ports.metrics}/metrics`)).text();
  return sumOf(parseExposition(text), 'herald_webhook_requests_total', { provider, result });
}
