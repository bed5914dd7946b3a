// The operator under test in bench/engine: herald, or the anchor (Argo CD's
// notifications-engine, bench/anchor/). Each knows how to configure itself for the
// bench's channels, how to pre-seed an app's send ledger with its current state, how
// to start, and where its log says a message was decided. Everything else (apps,
// churn, robot, measurements) is the same for both.
import { join } from 'node:path';
import type { DingTalkChannel } from '../../src/api/generated.js';
import type { ControlPlane } from '../../test/support/controlplane/controlplane.js';
import { repoRoot } from '../../test/support/controlplane/install.js';
import type { DingTalkRobotServer, RobotConfig } from '../../test/support/dingtalk-robot.js';
import type { Application } from '../../test/support/fixtures/apps.js';
import { sumOf, type Sample } from '../../test/support/scrape.js';
import { anchorLedgers, startAnchor } from '../lib/anchor.js';
import { BenchOperator } from '../lib/operator.js';
import { anchorConfigMap, anchorSecret, CHANNEL_LABEL, type AnchorConfigOptions } from './anchor-config.js';
import { ledgerFor, loadSampleCatalog, type Catalog } from './apps.js';
import { anchorDecisions, heraldDecisions, type DecisionLines } from './delivery.js';

export const ARGOCD_URL = 'https://argocd.example.com';
const SIGNING_SECRET = 'SECbench0123456789abcdef0123456789abcdef0123456789abcdef0123456789';

/** The bench's DingTalk channels: one (herald's sample, every app) or many (apps by label). */
export interface ChannelPlan {
  names: string[];
  tokens: Record<string, string>;
}

export function channelPlan(count: number): ChannelPlan {
  const names = count <= 1 ? ['dingtalk-ops'] : Array.from({ length: count }, (_, i) => `ch-${String(i).padStart(3, '0')}`);
  return { names, tokens: Object.fromEntries(names.map((name) => [name, `bench-${name}`])) };
}

/** The channel an app belongs to (apps are dealt out round-robin). */
export const channelOf = (plan: ChannelPlan, app: number) => plan.names[app % plan.names.length]!;

export interface ColdFigures {
  heapUsedMiB: number;
  appsKnown: number;
  evaluations: number;
}

export interface BenchTarget {
  readonly kind: 'herald' | 'anchor';
  /** Column title: "herald", "engine, 8 processors". */
  readonly label: string;
  /** The robots: herald signs its requests; Argo CD's webhook service cannot. */
  robots(): RobotConfig[];
  configure(cp: ControlPlane, robot: DingTalkRobotServer): Promise<void>;
  /** Ledger annotations for apps whose current state was already notified. */
  ledgers(apps: Application[]): Promise<Array<Record<string, string>>>;
  start(kubeconfig: string): BenchOperator;
  /** After the "started" line: when idle may first count (herald: once it leads). */
  ready(operator: BenchOperator): Promise<{ at: number; leaderMs?: number }>;
  readonly decisions: DecisionLines;
  coldFigures(metrics: Sample[], operator: BenchOperator): ColdFigures;
}

export interface TargetOptions {
  namespace: string;
  plan: ChannelPlan;
  /** herald */
  workers?: number;
  cpuProfileDir?: string;
  /** anchor */
  anchorBinary?: string;
  processors: number;
  kubeQps: number;
  kubeBurst: number;
}

const channelLabels = (plan: ChannelPlan, app: Application, index: number) =>
  plan.names.length > 1 ? { ...app.metadata.labels, [CHANNEL_LABEL]: channelOf(plan, index) } : app.metadata.labels;

/** Adds the channel label (several channels only); benchApp's labels stay as they are otherwise. */
export function labelForChannel(plan: ChannelPlan, app: Application, index: number): Application {
  app.metadata.labels = channelLabels(plan, app, index);
  return app;
}

class HeraldTarget implements BenchTarget {
  readonly kind = 'herald';
  readonly label = 'herald';
  readonly decisions = heraldDecisions;
  private catalog: Catalog;
  private channels: DingTalkChannel[];

  constructor(private readonly options: TargetOptions) {
    this.catalog = loadSampleCatalog(options.namespace);
    this.channels = this.channelManifests();
  }

  robots(): RobotConfig[] {
    return this.options.plan.names.map((name) => ({ token: this.options.plan.tokens[name]!, secret: SIGNING_SECRET, keywords: ['ArgoCD'] }));
  }

  /** One channel: herald's sample. Several: the sample's spec, one per channel, each routing its apps by label. */
  private channelManifests(): DingTalkChannel[] {
    const { plan, namespace } = this.options;
    if (plan.names.length === 1) return [this.catalog.channel];
    return plan.names.map(
      (name): DingTalkChannel => ({
        ...this.catalog.channel,
        metadata: { name, namespace },
        spec: {
          ...this.catalog.channel.spec,
          webhook: { urlSecretRef: { name: `${name}-robot`, key: 'url' }, signSecretRef: { name: `${name}-robot`, key: 'secret' } },
          rateLimit: { perMinute: 20 },
          subscriptions: [{ triggers: ['on-sync-running', 'on-deployed', 'on-sync-failed', 'on-sync-succeeded'], selector: { matchLabels: { [CHANNEL_LABEL]: name } } }],
        },
      }),
    );
  }

  async configure(cp: ControlPlane, robot: DingTalkRobotServer): Promise<void> {
    const { plan, namespace } = this.options;
    const samples = join(repoRoot, 'config/samples');
    if (plan.names.length === 1) {
      cp.kubectlOrThrow(['apply', '-n', namespace, '-f', samples]);
      // 10,000 a minute, the schema's maximum, for the single channel (the robot takes anything).
      cp.kubectlOrThrow(['patch', '-n', namespace, 'dingtalkchannel', 'dingtalk-ops', '--type=merge', '-p', JSON.stringify({ spec: { rateLimit: { perMinute: 10_000 } } })]);
    } else {
      for (const file of ['notificationtriggers.yaml', 'notificationtemplate-app-sync-change.yaml']) cp.kubectlOrThrow(['apply', '-n', namespace, '-f', join(samples, file)]);
      cp.kubectlOrThrow(['apply', '-n', namespace, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: this.channels }));
    }
    const secrets = plan.names.map((name) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${name}-robot`, namespace },
      stringData: { url: robot.webhookUrl(plan.tokens[name]!), secret: SIGNING_SECRET },
    }));
    cp.kubectlOrThrow(['apply', '-n', namespace, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: secrets }));
  }

  async ledgers(apps: Application[]): Promise<Array<Record<string, string>>> {
    const now = new Date();
    return apps.map((app) => ({ 'herald.gitops.dev/notified': JSON.stringify(ledgerFor(app, this.catalog, now, this.channels)) }));
  }

  start(kubeconfig: string): BenchOperator {
    const extraArgs = this.options.workers ? ['--workers', String(this.options.workers)] : [];
    return BenchOperator.start({ kubeconfig, controlNamespace: this.options.namespace, cpuProfileDir: this.options.cpuProfileDir, extraArgs });
  }

  async ready(operator: BenchOperator): Promise<{ at: number; leaderMs: number }> {
    const leader = await operator.waitForLog((r) => r.msg === 'became leader', 'leadership', 120_000);
    const at = Date.parse(leader.time!);
    return { at, leaderMs: at - operator.spawnedAt };
  }

  coldFigures(metrics: Sample[]): ColdFigures {
    return {
      heapUsedMiB: sumOf(metrics, 'herald_nodejs_heap_size_used_bytes') / 2 ** 20,
      appsKnown: metrics.filter((sample) => sample.name === 'herald_app_info').length,
      evaluations: sumOf(metrics, 'herald_trigger_evaluations_total'),
    };
  }
}

class AnchorTarget implements BenchTarget {
  readonly kind = 'anchor';
  readonly label: string;
  readonly decisions = anchorDecisions;
  private config: AnchorConfigOptions | undefined;

  constructor(private readonly options: TargetOptions) {
    this.label = `engine, ${options.processors} processor${options.processors === 1 ? '' : 's'}`;
  }

  robots(): RobotConfig[] {
    return this.options.plan.names.map((name) => ({ token: this.options.plan.tokens[name]!, keywords: ['ArgoCD'] }));
  }

  private configOptions(): AnchorConfigOptions {
    if (!this.config) throw new Error('configure() first');
    return this.config;
  }

  async configure(cp: ControlPlane, robot: DingTalkRobotServer): Promise<void> {
    const { plan, namespace } = this.options;
    this.config = { namespace, robotUrl: `${robot.url}/robot`, channels: plan.tokens, argocdUrl: ARGOCD_URL };
    cp.kubectlOrThrow(['apply', '-n', namespace, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [anchorConfigMap(this.config), anchorSecret(this.config)] }));
  }

  ledgers(apps: Application[]): Promise<Array<Record<string, string>>> {
    return anchorLedgers(this.binary(), anchorConfigMap(this.configOptions()), apps);
  }

  private binary(): string {
    if (!this.options.anchorBinary) throw new Error('no anchor binary');
    return this.options.anchorBinary;
  }

  start(kubeconfig: string): BenchOperator {
    const { namespace, processors, kubeQps, kubeBurst } = this.options;
    return startAnchor({ binary: this.binary(), kubeconfig, namespace, processors, kubeQps, kubeBurst });
  }

  async ready(operator: BenchOperator): Promise<{ at: number }> {
    const started = await operator.waitForLog((r) => r.msg === 'anchor started', 'the anchor to start');
    return { at: Date.parse(started.time!) };
  }

  coldFigures(metrics: Sample[], operator: BenchOperator): ColdFigures {
    const started = operator.records.find((r) => r.msg === 'anchor started');
    return {
      heapUsedMiB: sumOf(metrics, 'go_memstats_heap_alloc_bytes') / 2 ** 20,
      appsKnown: Number(started?.apps ?? 0),
      evaluations: sumOf(metrics, 'argocd_notifications_trigger_eval_total'),
    };
  }
}

export function benchTarget(kind: 'herald' | 'anchor', options: TargetOptions): BenchTarget {
  return kind === 'herald' ? new HeraldTarget(options) : new AnchorTarget(options);
}
