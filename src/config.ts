// Flags and environment, parsed once into a frozen Config. Every flag has an
// environment twin (HERALD_<FLAG_IN_CAPS>); a flag wins over the environment.
import { hostname } from 'node:os';
import { integerFlag as integer, keyValues, parseFlags, splitList, UsageError, type FlagSpec } from './flags.js';
import { parseAllowedHosts, type HostAllowList } from './channels/allowlist.js';
import { isLogLevel, type LogLevel } from './observability/logger.js';
import { DEFAULT_CEL_LIMITS, type CelLimits } from './triggers/budget.js';
import { DECISION_WRITE_DELAY_MS } from './controller/mail-store.js';
import { DEFAULT_FIRST_SIGHT_WINDOW_SECONDS, FIRST_SIGHT_MODES, type FirstSightMode } from './controller/first-sight.js';
import { DEFAULT_RENDER_LIMITS, type RenderLimits } from './templates/limits.js';
import { DEFAULT_ARGOCD_URL, DEFAULT_CONTEXT_CONFIGMAP, normaliseArgocdUrl, resolveContext, type ContextOverrides } from './context/index.js';

export { DEFAULT_ARGOCD_URL };

export interface Config {
  kubeconfig: string | undefined;
  controlNamespace: string;
  /** Application namespaces to watch; empty = all namespaces. */
  namespaces: string[];
  /** Template `context` from flags, environment and defaults alone (without the ConfigMap). */
  context: Record<string, string>;
  /** What --argocd-url and --context say: they win over the context ConfigMap. */
  contextOverrides: ContextOverrides;
  /** The context ConfigMap in the control namespace; empty: none. */
  contextConfigMap: string;
  bindAddress: string;
  webhookPort: number | undefined;
  healthPort: number;
  metricsPort: number;
  webhookSecretName: string;
  webhookSecretNamespace: string;
  webhookMaxBodyBytes: number;
  webhookMaxBufferedBytes: number;
  leaderElection: boolean;
  leaseName: string;
  leaseDurationSeconds: number;
  identity: string;
  workers: number;
  logLevel: LogLevel;
  /** Seconds the API server keeps one watch open (shorter in tests). */
  watchTimeoutSeconds: number;
  /** Cost and time bounds of trigger (CEL) expressions. */
  cel: Readonly<CelLimits>;
  /** Time, memory and output budgets of template rendering, and the render processes. */
  render: Readonly<RenderLimits>;
  /** Hosts DingTalkChannels may send to: https://oapi.dingtalk.com plus --dingtalk-allowed-hosts. */
  dingtalkAllowedHosts: HostAllowList;
  /** What a trigger without spec.onFirstSight does with the state it finds first (--on-first-sight). */
  onFirstSight: FirstSightMode;
  /** A state that began at most this many seconds before herald first saw it is sent anyway. */
  firstSightWindowSeconds: number;
  /** Seconds a channel sends nothing after DingTalk answered 130101 (DingTalk mutes the robot for 10 minutes). */
  dingtalkMuteSeconds: number;
  /** A Normal Event NotificationSent on the Application for every delivered message (one more API write each). */
  sentEvents: boolean;
  /** Milliseconds a decision may wait in memory for its channel's acceptance (one write for both); 0: written before it is sent. */
  decisionWriteDelayMs: number;
}

/** Template rendering budgets: the controller's and the CLI's (template notify/render, trigger run) alike. */
export const renderFlags: readonly FlagSpec[] = [
  { name: 'template-render-timeout', value: 'MS', env: 'HERALD_TEMPLATE_RENDER_TIMEOUT', default: String(DEFAULT_RENDER_LIMITS.timeoutMs), help: 'Milliseconds one template render may take; a longer one is stopped (its render process killed and replaced) and that message fails with RenderTimeLimit' },
  { name: 'template-render-memory', value: 'MIB', env: 'HERALD_TEMPLATE_RENDER_MEMORY', default: String(DEFAULT_RENDER_LIMITS.memoryMiB), help: 'Heap (MiB) of each render process; a render that needs more fails with RenderMemoryLimit' },
  { name: 'template-max-output-bytes', value: 'BYTES', env: 'HERALD_TEMPLATE_MAX_OUTPUT_BYTES', default: String(DEFAULT_RENDER_LIMITS.maxOutputBytes), help: 'Bytes the rendered fields of one message may add up to; past it the render stops with RenderOutputLimit' },
  { name: 'template-render-processes', value: 'N', env: 'HERALD_TEMPLATE_RENDER_PROCESSES', default: String(DEFAULT_RENDER_LIMITS.processes), help: "Render processes (at least 2); the renders for one namespace's Applications use at most N-1 of them at once" },
];

/** The render budgets from parsed flags (controller or CLI). */
export function renderLimitsOf(one: (name: string) => string, minProcesses = 2): Readonly<RenderLimits> {
  return Object.freeze({
    timeoutMs: integer('template-render-timeout', one('template-render-timeout'), 10, 600_000),
    memoryMiB: integer('template-render-memory', one('template-render-memory'), 16, 16_384),
    maxOutputBytes: integer('template-max-output-bytes', one('template-max-output-bytes'), 1024, 64 * 1024 * 1024),
    // Two at least in the controller: with one, a namespace could hold it alone.
    processes: integer('template-render-processes', one('template-render-processes'), minProcesses, 64),
  });
}

export const controllerFlags: readonly FlagSpec[] = [
  { name: 'kubeconfig', value: 'PATH', env: 'HERALD_KUBECONFIG', help: 'Path to a kubeconfig; default: $KUBECONFIG, ~/.kube/config, then the in-cluster service account' },
  { name: 'control-namespace', value: 'NAMESPACE', env: 'HERALD_CONTROL_NAMESPACE', default: 'argocd', help: "herald's own namespace: its resources there apply to every watched Application; the leader Lease lives there" },
  { name: 'namespaces', value: 'NAMESPACES', env: 'HERALD_NAMESPACES', default: '', help: 'Comma-separated Application namespaces to watch; empty watches all namespaces' },
  { name: 'argocd-url', value: 'URL', env: 'HERALD_ARGOCD_URL', help: `Argo CD UI base URL, available to templates as context.argocdUrl; overrides argocdUrl of the context ConfigMap; when neither sets it: ${DEFAULT_ARGOCD_URL}` },
  { name: 'context', value: 'KEY=VALUE', env: 'HERALD_CONTEXT', repeatable: true, help: 'Extra template context as key=value, overriding that key of the context ConfigMap (env: comma-separated)' },
  { name: 'context-configmap', value: 'NAME', env: 'HERALD_CONTEXT_CONFIGMAP', default: DEFAULT_CONTEXT_CONFIGMAP, help: 'ConfigMap in the control namespace holding the template context (argocdUrl and more), watched: changes apply without a restart; herald template notify reads the same one; empty disables' },
  { name: 'bind-address', value: 'ADDRESS', env: 'HERALD_BIND_ADDRESS', default: '0.0.0.0', help: 'Address the HTTP servers listen on' },
  { name: 'webhook-port', value: 'PORT', env: 'HERALD_WEBHOOK_PORT', default: '8080', help: 'Git webhook receiver port (POST /api/webhook); "off" disables it, 0 picks a free port' },
  { name: 'health-port', value: 'PORT', env: 'HERALD_HEALTH_PORT', default: '8081', help: 'Health probes port (/healthz, /readyz); 0 picks a free port' },
  { name: 'metrics-port', value: 'PORT', env: 'HERALD_METRICS_PORT', default: '9001', help: 'Prometheus metrics port (/metrics); 0 picks a free port' },
  { name: 'webhook-secret-name', value: 'NAME', env: 'HERALD_WEBHOOK_SECRET_NAME', default: 'argocd-secret', help: 'Secret holding the Git webhook secrets (Argo CD key names)' },
  { name: 'webhook-secret-namespace', value: 'NAMESPACE', env: 'HERALD_WEBHOOK_SECRET_NAMESPACE', default: '', help: 'Namespace of that Secret; default: the control namespace' },
  { name: 'webhook-max-body-bytes', value: 'BYTES', env: 'HERALD_WEBHOOK_MAX_BODY_BYTES', default: String(10 * 1024 * 1024), help: 'Largest webhook payload accepted (413 above it)' },
  { name: 'webhook-max-buffered-bytes', value: 'BYTES', env: 'HERALD_WEBHOOK_MAX_BUFFERED_BYTES', default: String(32 * 1024 * 1024), help: 'Bytes of webhook bodies buffered at once across all requests, at least --webhook-max-body-bytes; when full, the request holding the most gets 503 with Retry-After' },
  { name: 'leader-election', env: 'HERALD_LEADER_ELECTION', default: 'true', help: 'Elect a leader through a Lease; only the leader sends (set false for a single replica)' },
  { name: 'lease-name', value: 'NAME', env: 'HERALD_LEASE_NAME', default: 'herald-leader', help: 'Name of the leader election Lease in the control namespace' },
  { name: 'lease-duration', value: 'SECONDS', env: 'HERALD_LEASE_DURATION', default: '15', help: 'Seconds a leader Lease stays valid without renewal' },
  { name: 'identity', value: 'ID', env: 'HERALD_IDENTITY', default: '', help: 'Leader election identity; default: hostname and process id' },
  { name: 'workers', value: 'N', env: 'HERALD_WORKERS', default: '8', help: 'Applications reconciled concurrently' },
  { name: 'log-level', value: 'LEVEL', env: 'HERALD_LOG_LEVEL', default: 'info', help: 'debug, info, warn or error' },
  { name: 'watch-timeout', value: 'SECONDS', env: 'HERALD_WATCH_TIMEOUT', default: '300', help: 'Seconds before the API server closes and herald renews each watch' },
  { name: 'cel-cost-limit', value: 'UNITS', env: 'HERALD_CEL_COST_LIMIT', default: String(DEFAULT_CEL_LIMITS.costLimit), help: 'Cost one trigger expression may use per evaluation (comprehension steps, regex characters); an expression estimated above it does not compile' },
  { name: 'cel-list-size-estimate', value: 'N', env: 'HERALD_CEL_LIST_SIZE_ESTIMATE', default: String(DEFAULT_CEL_LIMITS.listSizeEstimate), help: 'Elements the compile-time cost estimate assumes for an Application list' },
  { name: 'dingtalk-allowed-hosts', value: 'HOSTS', env: 'HERALD_DINGTALK_ALLOWED_HOSTS', repeatable: true, help: 'More hosts DingTalkChannel URLs may name besides https://oapi.dingtalk.com: host, host:port or host:* (https only), http://host[:port|:*] to allow plain http too; repeatable or comma-separated' },
  { name: 'dingtalk-mute-seconds', value: 'SECONDS', env: 'HERALD_DINGTALK_MUTE_SECONDS', default: '600', help: 'Seconds a DingTalkChannel sends nothing after DingTalk answered 130101 (DingTalk mutes the robot for 10 minutes); waiting messages are kept and go out, as digests when many, once it ends' },
  { name: 'sent-events', env: 'HERALD_SENT_EVENTS', default: 'false', help: 'Record a Normal Event NotificationSent on the Application for every delivered message (one more API write per message); failures always get a Warning Event, and every send is in the ledger, the log and herald_deliveries_total' },
  { name: 'decision-write-delay', value: 'MS', env: 'HERALD_DECISION_WRITE_DELAY', default: String(DECISION_WRITE_DELAY_MS), help: "Milliseconds a decided message may wait in memory for its channel's acceptance, so that one write records it as decided and delivered; it is written at once when its Application changes again or herald stops; 0 writes every decision before it is sent" },
  { name: 'cel-timeout', value: 'MS', env: 'HERALD_CEL_TIMEOUT', default: String(DEFAULT_CEL_LIMITS.timeoutMs), help: 'Milliseconds one trigger expression may run per evaluation' },
  { name: 'on-first-sight', value: 'MODE', env: 'HERALD_ON_FIRST_SIGHT', default: 'record', help: "What herald does with the state an Application is in when it first evaluates a trigger for it and a channel (fresh install, new trigger, subscription or channel): record (write it to the send ledger without sending; only later changes are sent) or send (report the current state too); a trigger's spec.onFirstSight overrides it" },
  { name: 'first-sight-window', value: 'SECONDS', env: 'HERALD_FIRST_SIGHT_WINDOW', default: String(DEFAULT_FIRST_SIGHT_WINDOW_SECONDS), help: "With record: an Application whose state began at most this many seconds before herald first saw it (last operation finished or started, health changed, deleted, or created while herald ran) is news and is sent; 0 records everything" },
  ...renderFlags,
];

export function controllerConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  const flags = parseFlags(argv, controllerFlags, { env, positionals: false });
  const one = (name: string) => flags.one(name) ?? '';
  const logLevel = one('log-level');
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level must be debug, info, warn or error, got "${logLevel}"`);
  const contextOverrides = contextOverridesOf(flags.one('argocd-url'), flags.flags.get('context') ?? []);
  const controlNamespace = one('control-namespace');
  if (!controlNamespace) throw new UsageError('--control-namespace must not be empty');
  const webhookPort = one('webhook-port');
  const webhookMaxBodyBytes = integer('webhook-max-body-bytes', one('webhook-max-body-bytes'), 1024, 1024 ** 3);
  const webhookMaxBufferedBytes = integer('webhook-max-buffered-bytes', one('webhook-max-buffered-bytes'), 1024, 16 * 1024 ** 3);
  if (webhookMaxBufferedBytes < webhookMaxBodyBytes) {
    throw new UsageError(`--webhook-max-buffered-bytes (${webhookMaxBufferedBytes}) must be at least --webhook-max-body-bytes (${webhookMaxBodyBytes})`);
  }
  const onFirstSight = one('on-first-sight');
  if (!(FIRST_SIGHT_MODES as readonly string[]).includes(onFirstSight)) throw new UsageError(`--on-first-sight must be record or send, got "${onFirstSight}"`);
  return Object.freeze({
    kubeconfig: one('kubeconfig') || undefined,
    controlNamespace,
    namespaces: splitList(one('namespaces')),
    context: Object.freeze(resolveContext(contextOverrides).values),
    contextOverrides,
    contextConfigMap: one('context-configmap'),
    bindAddress: one('bind-address'),
    webhookPort: webhookPort === 'off' ? undefined : integer('webhook-port', webhookPort, 0, 65535),
    healthPort: integer('health-port', one('health-port'), 0, 65535),
    metricsPort: integer('metrics-port', one('metrics-port'), 0, 65535),
    webhookSecretName: one('webhook-secret-name'),
    webhookSecretNamespace: one('webhook-secret-namespace') || controlNamespace,
    webhookMaxBodyBytes,
    webhookMaxBufferedBytes,
    leaderElection: flags.has('leader-election'),
    leaseName: one('lease-name'),
    leaseDurationSeconds: integer('lease-duration', one('lease-duration'), 2, 3600),
    identity: one('identity') || `${hostname()}-${process.pid}`,
    workers: integer('workers', one('workers'), 1, 256),
    logLevel,
    watchTimeoutSeconds: integer('watch-timeout', one('watch-timeout'), 1, 3600),
    dingtalkAllowedHosts: parseAllowedHosts((flags.flags.get('dingtalk-allowed-hosts') ?? []).flatMap(splitList)),
    onFirstSight: onFirstSight as FirstSightMode,
    firstSightWindowSeconds: integer('first-sight-window', one('first-sight-window'), 0, 7 * 24 * 3600),
    render: renderLimitsOf(one),
    dingtalkMuteSeconds: integer('dingtalk-mute-seconds', one('dingtalk-mute-seconds'), 1, 86_400),
    sentEvents: flags.has('sent-events'),
    decisionWriteDelayMs: integer('decision-write-delay', one('decision-write-delay'), 0, 10_000),
    cel: Object.freeze({
      costLimit: integer('cel-cost-limit', one('cel-cost-limit'), 1000, 1e12),
      listSizeEstimate: integer('cel-list-size-estimate', one('cel-list-size-estimate'), 1, 1_000_000),
      timeoutMs: integer('cel-timeout', one('cel-timeout'), 1, 60_000),
    }),
  });
}

/** --argocd-url (validated, no trailing slash) and --context pairs (controller and CLI alike). */
export function contextOverridesOf(argocdUrl: string | undefined, pairs: readonly string[]): ContextOverrides {
  let url: string | undefined;
  if (argocdUrl !== undefined) {
    const checked = normaliseArgocdUrl(argocdUrl);
    if (!checked.ok) throw new UsageError(`--argocd-url: ${checked.problem}`);
    url = checked.url;
  }
  return Object.freeze({ ...(url !== undefined ? { argocdUrl: url } : {}), values: Object.freeze(keyValues('context', pairs)) });
}
