// `herald controller`: runs the operator until SIGTERM/SIGINT.
import { controllerConfig, controllerFlags } from '../config.js';
import { flagsHelp, parseFlags } from '../flags.js';
import { Operator } from '../controller/operator.js';
import { loadKubeConfig } from '../kube/client.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';

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
  const operator = new Operator({ config, kc, log, metrics: createMetrics() });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('signal received; shutting down', { signal });
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    void operator.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { error: reason instanceof Error ? reason : String(reason) }));
  await operator.start();
  await new Promise<never>(() => undefined);
  return 0;
}
