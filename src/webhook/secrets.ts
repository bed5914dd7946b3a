// The webhook secrets, read from a Secret (Argo CD's own `argocd-secret` by default,
// with Argo CD's key names) and kept current by a watch, so rotating a secret takes
// effect on the next request without a restart. Values are registered with the
// masker the moment they are read, and only which providers are configured is logged.
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { Informer } from '../kube/informer.js';
import type { Logger } from '../observability/logger.js';
import { registerSecret } from '../secrets.js';
import { SECRET_KEYS } from './providers.js';
import { PROVIDERS, type ProviderName, type WebhookSecrets } from './types.js';

export const DEFAULT_WEBHOOK_SECRET_NAME = 'argocd-secret';

/** The secrets in a Secret's `data` (base64 values); empty values count as not configured. */
export function webhookSecretsFromData(data: Record<string, string> | undefined): WebhookSecrets {
  const secrets: Partial<Record<ProviderName, string>> = {};
  for (const provider of PROVIDERS) {
    const encoded = data?.[SECRET_KEYS[provider]];
    if (typeof encoded !== 'string') continue;
    const value = Buffer.from(encoded, 'base64').toString('utf8');
    if (value === '') continue;
    registerSecret(value);
    secrets[provider] = value;
  }
  return Object.freeze(secrets);
}

export interface WebhookSecretsSourceOptions {
  kc: KubeConfig;
  namespace: string;
  /** Default argocd-secret. */
  name?: string;
  log: Logger;
  watchTimeoutSeconds?: number;
}

export class WebhookSecretsSource {
  /** Where the secrets live, for log lines: "Secret <namespace>/<name>". */
  readonly origin: string;
  private snapshot: WebhookSecrets = Object.freeze({});
  private readonly informer: Informer<V1Secret>;
  private readonly log: Logger;
  private readonly name: string;
  private lastReport: string | undefined;

  constructor(private readonly options: WebhookSecretsSourceOptions) {
    this.name = options.name ?? DEFAULT_WEBHOOK_SECRET_NAME;
    this.origin = `Secret ${options.namespace}/${this.name}`;
    this.log = options.log.child({ component: 'webhook-secrets', secret: `${options.namespace}/${this.name}` });
    const core = options.kc.makeApiClient(CoreV1Api);
    const fieldSelector = `metadata.name=${this.name}`;
    this.informer = new Informer<V1Secret>({
      name: 'webhook-secret',
      kc: options.kc,
      path: `/api/v1/namespaces/${options.namespace}/secrets`,
      fieldSelector,
      listPage: (cont) => core.listNamespacedSecret({ namespace: options.namespace, fieldSelector, _continue: cont }),
      // Keep only the webhook keys: nothing else of argocd-secret (admin password,
      // server key) stays in memory.
      transform: (secret) => ({
        metadata: {
          name: secret.metadata?.name,
          namespace: secret.metadata?.namespace,
          resourceVersion: secret.metadata?.resourceVersion,
          uid: secret.metadata?.uid,
        },
        data: Object.fromEntries(
          Object.values(SECRET_KEYS)
            .filter((key) => secret.data?.[key] !== undefined)
            .map((key) => [key, secret.data![key]!]),
        ),
      }),
      watchTimeoutSeconds: options.watchTimeoutSeconds,
      log: options.log,
    });
    const refresh = () => this.reload();
    this.informer.on('add', refresh);
    this.informer.on('update', refresh);
    this.informer.on('delete', refresh);
  }

  /** The secrets as of the latest event; cheap, call it per request. */
  current(): WebhookSecrets {
    return this.snapshot;
  }

  start(): void {
    this.informer.start();
    void this.informer.waitForSync().then(() => this.reload());
  }

  waitForSync(): Promise<void> {
    return this.informer.waitForSync().then(() => this.reload());
  }

  stop(): void {
    this.informer.stop();
  }

  private reload(): void {
    const secret = this.informer.get(this.name, this.options.namespace);
    this.snapshot = webhookSecretsFromData(secret?.data);
    const configured = PROVIDERS.filter((p) => this.snapshot[p] !== undefined);
    // Log what changed in the set of configured providers (a rotated value alone is
    // not worth a line, and is never shown).
    const report = secret ? configured.join(',') : '(no secret)';
    if (report === this.lastReport) return;
    this.lastReport = report;
    if (!secret) {
      this.log.warn(`${this.origin} not found; webhooks of every provider are rejected until it exists`);
    } else if (configured.length === 0) {
      this.log.warn(`${this.origin} has none of the webhook keys (${Object.values(SECRET_KEYS).join(', ')}); webhooks are rejected`);
    } else {
      this.log.info('webhook secrets loaded', { configured, notConfigured: PROVIDERS.filter((p) => this.snapshot[p] === undefined) });
    }
  }
}
