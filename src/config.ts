// Flags and environment, parsed once into a frozen Config. Every flag has an
// environment twin (HERALD_<FLAG_IN_CAPS>); a flag wins over the environment.
import { hostname } from 'node:os';
import { isLogLevel, type LogLevel } from './observability/logger.js';

export interface Config {
  kubeconfig: string | undefined;
  controlNamespace: string;
  /** Application namespaces to watch; empty = all namespaces. */
  namespaces: string[];
  /** Operator-wide values for templates (`context`), e.g. argocdUrl. */
  context: Record<string, string>;
  bindAddress: string;
  webhookPort: number | undefined;
  healthPort: number;
  metricsPort: number;
  webhookSecretName: string;
  webhookSecretNamespace: string;
  webhookMaxBodyBytes: number;
  leaderElection: boolean;
  leaseName: string;
  leaseDurationSeconds: number;
  identity: string;
  workers: number;
  logLevel: LogLevel;
  /** Seconds the API server keeps one watch open (shorter in tests). */
  watchTimeoutSeconds: number;
}

export interface FlagSpec {
  name: string;
  env: string;
  help: string;
  default?: string;
  boolean?: boolean;
  repeatable?: boolean;
}

export const controllerFlags: FlagSpec[] = [
  { name: 'kubeconfig', env: 'HERALD_KUBECONFIG', help: 'Path to a kubeconfig; default: $KUBECONFIG, ~/.kube/config, then the in-cluster service account' },
  { name: 'control-namespace', env: 'HERALD_CONTROL_NAMESPACE', default: 'argocd', help: "herald's own namespace: its resources there apply to every watched Application; the leader Lease lives there" },
  { name: 'namespaces', env: 'HERALD_NAMESPACES', default: '', help: 'Comma-separated Application namespaces to watch; empty watches all namespaces' },
  { name: 'argocd-url', env: 'HERALD_ARGOCD_URL', default: 'https://argocd.example.com', help: 'Argo CD UI base URL, available to templates as context.argocdUrl' },
  { name: 'context', env: 'HERALD_CONTEXT', repeatable: true, help: 'Extra template context as key=value (repeatable; env: comma-separated)' },
  { name: 'bind-address', env: 'HERALD_BIND_ADDRESS', default: '0.0.0.0', help: 'Address the HTTP servers listen on' },
  { name: 'webhook-port', env: 'HERALD_WEBHOOK_PORT', default: '8080', help: 'Git webhook receiver port (POST /api/webhook); "off" disables it, 0 picks a free port' },
  { name: 'health-port', env: 'HERALD_HEALTH_PORT', default: '8081', help: 'Health probes port (/healthz, /readyz); 0 picks a free port' },
  { name: 'metrics-port', env: 'HERALD_METRICS_PORT', default: '9001', help: 'Prometheus metrics port (/metrics); 0 picks a free port' },
  { name: 'webhook-secret-name', env: 'HERALD_WEBHOOK_SECRET_NAME', default: 'argocd-secret', help: 'Secret holding the Git webhook secrets (Argo CD key names)' },
  { name: 'webhook-secret-namespace', env: 'HERALD_WEBHOOK_SECRET_NAMESPACE', default: '', help: 'Namespace of that Secret; default: the control namespace' },
  { name: 'webhook-max-body-bytes', env: 'HERALD_WEBHOOK_MAX_BODY_BYTES', default: String(10 * 1024 * 1024), help: 'Largest webhook payload accepted (413 above it)' },
  { name: 'leader-election', env: 'HERALD_LEADER_ELECTION', default: 'true', boolean: true, help: 'Elect a leader through a Lease; only the leader sends (set false for a single replica)' },
  { name: 'lease-name', env: 'HERALD_LEASE_NAME', default: 'herald-leader', help: 'Name of the leader election Lease in the control namespace' },
  { name: 'lease-duration', env: 'HERALD_LEASE_DURATION', default: '15', help: 'Seconds a leader Lease stays valid without renewal' },
  { name: 'identity', env: 'HERALD_IDENTITY', default: '', help: 'Leader election identity; default: hostname and process id' },
  { name: 'workers', env: 'HERALD_WORKERS', default: '8', help: 'Applications reconciled concurrently' },
  { name: 'log-level', env: 'HERALD_LOG_LEVEL', default: 'info', help: 'debug, info, warn or error' },
  { name: 'watch-timeout', env: 'HERALD_WATCH_TIMEOUT', default: '300', help: 'Seconds before the API server closes and herald renews each watch' },
];

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses `--name value`, `--name=value` and `--flag` / `--no-flag` for booleans. */
export function parseFlags(argv: string[], specs: FlagSpec[], env: NodeJS.ProcessEnv = process.env): Map<string, string[]> {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const values = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let spec = byName.get(name);
    if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.boolean) {
      spec = byName.get(name.slice(3));
      name = name.slice(3);
      value = 'false';
    }
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (value === undefined) {
      if (spec.boolean) value = 'true';
      else {
        value = argv[++i];
        if (value === undefined) throw new UsageError(`flag --${name} needs a value`);
      }
    }
    values.set(name, spec.repeatable ? [...(values.get(name) ?? []), value] : [value]);
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument ${positional[0]}`);
  for (const spec of specs) {
    if (values.has(spec.name)) continue;
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      values.set(spec.name, spec.repeatable ? fromEnv.split(',').map((s) => s.trim()).filter(Boolean) : [fromEnv]);
    } else if (spec.default !== undefined) {
      values.set(spec.name, [spec.default]);
    }
  }
  return values;
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer between ${min} and ${max}, got "${text}"`);
  }
  return value;
}

function boolean(name: string, text: string): boolean {
  if (/^(true|1|yes)$/i.test(text)) return true;
  if (/^(false|0|no)$/i.test(text)) return false;
  throw new UsageError(`--${name} must be true or false, got "${text}"`);
}

export function controllerConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const flags = parseFlags(argv, controllerFlags, env);
  const one = (name: string) => flags.get(name)?.[0] ?? '';
  const logLevel = one('log-level');
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level must be debug, info, warn or error, got "${logLevel}"`);
  const context: Record<string, string> = { argocdUrl: one('argocd-url').replace(/\/+$/, '') };
  for (const pair of flags.get('context') ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--context needs key=value, got "${pair}"`);
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const controlNamespace = one('control-namespace');
  if (!controlNamespace) throw new UsageError('--control-namespace must not be empty');
  const webhookPort = one('webhook-port');
  return Object.freeze({
    kubeconfig: one('kubeconfig') || undefined,
    controlNamespace,
    namespaces: one('namespaces').split(',').map((s) => s.trim()).filter(Boolean),
    context: Object.freeze(context),
    bindAddress: one('bind-address'),
    webhookPort: webhookPort === 'off' ? undefined : integer('webhook-port', webhookPort, 0, 65535),
    healthPort: integer('health-port', one('health-port'), 0, 65535),
    metricsPort: integer('metrics-port', one('metrics-port'), 0, 65535),
    webhookSecretName: one('webhook-secret-name'),
    webhookSecretNamespace: one('webhook-secret-namespace') || controlNamespace,
    webhookMaxBodyBytes: integer('webhook-max-body-bytes', one('webhook-max-body-bytes'), 1024, 1024 ** 3),
    leaderElection: boolean('leader-election', one('leader-election')),
    leaseName: one('lease-name'),
    leaseDurationSeconds: integer('lease-duration', one('lease-duration'), 2, 3600),
    identity: one('identity') || `${hostname()}-${process.pid}`,
    workers: integer('workers', one('workers'), 1, 256),
    logLevel,
    watchTimeoutSeconds: integer('watch-timeout', one('watch-timeout'), 1, 3600),
  });
}

export function flagsHelp(specs: FlagSpec[]): string {
  return specs
    .map((spec) => {
      const def = spec.default !== undefined && spec.default !== '' ? ` (default ${spec.default})` : '';
      return `  --${spec.name}${spec.boolean ? '' : ' VALUE'}\n      ${spec.help}${def} [env ${spec.env}]`;
    })
    .join('\n');
}
