// `herald controller`: runs the operator, its probes and metrics servers and the Git
// webhook receiver until SIGTERM/SIGINT.
import type { KubeConfig } from '@kubernetes/client-node';
import { controllerConfig, controllerFlags, type Config } from '../config.js';
import { flagsHelp, parseFlags } from '../flags.js';
import { Operator } from '../controller/operator.js';
import { loadKubeConfig } from '../kube/client.js';
import { startHealthServer } from '../observability/health.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { startMetricsServer, type RunningServer } from '../observability/server.js';
import { createApplicationRefresher } from '../webhook/refresh.js';
import { WebhookSecretsSource } from '../webhook/secrets.js';
import { startWebhookReceiver } from '../webhook/server.js';

export const controllerHelp = `Usage: herald controller [flags]

Runs the herald operator: watches Argo CD Applications and herald's resources,
sends notifications (leader only), serves the Git webhook receiver, health probes
and Prometheus metrics.

Flags (each also read from the environment variable in brackets):
${flagsHelp(controllerFlags)}
`;

export async function runController(argv: string[]): Promise<number> {
  if (parseFlags(argv, controllerFlags, { env: {} }).has('help')) {
    process.stdout.write(controllerHelp);
    return 0;
  }
  const config = controllerConfig(argv);
  const log = createLogger(config.logLevel);
  const kc = loadKubeConfig(config.kubeconfig);
  const metrics = createMetrics();
  const operator = new Operator({ config, kc, log, metrics });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('signal received; shutting down', { signal });
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    void controller.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { error: reason instanceof Error ? reason : String(reason) }));
  const controller = serve({ config, kc, log, metrics }, operator);
  await controller.started;
  await new Promise<never>(() => undefined);
  return 0;
}

/**
 * Probes and metrics first (a pod is live while it syncs), then the operator's caches
 * and workers, the Git webhook receiver, and leadership last. Every replica serves.
 */
function serve({ config, kc, log, metrics }: { config: Config; kc: KubeConfig; log: Logger; metrics: Metrics }, operator: Operator): { started: Promise<void>; stop(): Promise<void> } {
  const servers: RunningServer[] = [];
  let secrets: WebhookSecretsSource | undefined;
  let ready = false;
  const started = (async () => {
    const health = await startHealthServer({ port: config.healthPort, host: config.bindAddress, isReady: () => (ready ? operator.isReady() : { ready: false, reason: 'informers have not synced yet' }), log });
    const metricsServer = await startMetricsServer({ port: config.metricsPort, host: config.bindAddress, registry: metrics.registry, log });
    servers.push(health, metricsServer);
    const ports: { webhook?: number; health?: number; metrics?: number } = { health: health.port, metrics: metricsServer.port };
    if (config.webhookPort !== undefined) {
      secrets = new WebhookSecretsSource({ kc, namespace: config.webhookSecretNamespace, name: config.webhookSecretName, log, watchTimeoutSeconds: config.watchTimeoutSeconds });
      secrets.start();
    }
    await Promise.all([operator.start(), secrets?.waitForSync()]);
    if (config.webhookPort !== undefined && secrets) {
      const source = secrets;
      const webhook = await startWebhookReceiver({
        port: config.webhookPort,
        host: config.bindAddress,
        bodyLimitBytes: config.webhookMaxBodyBytes,
        bufferBudgetBytes: config.webhookMaxBufferedBytes,
        listApplications: () => operator.applications(),
        refresh: createApplicationRefresher(kc),
        secrets: () => source.current(),
        secretsOrigin: source.origin,
        log,
        metrics,
      });
      servers.unshift(webhook);
      ports.webhook = webhook.port;
    }
    ready = true;
    operator.lead();
    log.info('herald controller started', {
      controlNamespace: config.controlNamespace,
      namespaces: config.namespaces.length ? config.namespaces : 'all',
      ports,
      leaderElection: config.leaderElection,
      identity: config.identity,
    });
  })();
  return {
    started,
    async stop() {
      await operator.stop();
      secrets?.stop();
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}
