// Wiring of the running operator: informers feed work queues with keys; workers
// read the newest object from the cache; the leader evaluates, writes outboxes and
// sends through per-channel dispatchers; every replica serves probes, metrics and
// the Git webhook receiver.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject, type V1Secret } from '@kubernetes/client-node';
import { APPLICATIONS, ARGO_GROUP, ARGO_VERSION, HERALD_GROUP, HERALD_VERSION, KINDS, type HeraldKind } from '../api/groups.js';
import type { DingTalkChannel, NotificationTemplate, NotificationTrigger } from '../api/generated.js';
import type { Config } from '../config.js';
import { ContextSource } from '../context/source.js';
import { EventRecorder, type EventSink } from '../kube/events.js';
import { Informer } from '../kube/informer.js';
import { LeaderElector } from '../kube/leader.js';
import { KubeWriter } from '../kube/patch.js';
import { startHealthServer } from '../observability/health.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { startMetricsServer, type RunningServer } from '../observability/server.js';
import { createApplicationRefresher } from '../webhook/refresh.js';
import { WebhookSecretsSource } from '../webhook/secrets.js';
import { startWebhookReceiver, type WebhookReceiver } from '../webhook/server.js';
import { AppReconciler, appKeyOf, type Application } from './app-reconciler.js';
import { ConfigReconciler } from './config-reconciler.js';
import { Delivery } from './delivery.js';
import { MailStore } from './mail-store.js';
import { TemplateRenderer } from './rendering.js';
import { WorkQueue } from './queue.js';
import { ConfigStore } from './store.js';

type HeraldObject = NotificationTrigger | NotificationTemplate | DingTalkChannel;

export interface OperatorDeps {
  config: Config;
  kc: KubeConfig;
  log: Logger;
  metrics: Metrics;
}

/** Fields herald never reads; dropping them keeps thousands of cached apps small. */
function slimApplication(app: Application): Application {
  const metadata = { ...app.metadata } as Application['metadata'] & { managedFields?: unknown };
  delete metadata.managedFields;
  return { ...app, metadata };
}

export class Operator {
  private readonly store = new ConfigStore();
  private readonly writer: KubeWriter;
  private readonly events: EventSink;
  private readonly appQueue: WorkQueue;
  private readonly configQueue: WorkQueue;
  private readonly appInformers: Informer<Application & KubernetesObject>[] = [];
  private readonly heraldInformers = new Map<HeraldKind, Informer<HeraldObject & KubernetesObject>[]>();
  private readonly secretInformers = new Map<string, Informer<V1Secret>>();
  private readonly mail: MailStore;
  private readonly delivery: Delivery;
  private readonly apps: AppReconciler;
  private readonly renderer: TemplateRenderer;
  private readonly configReconciler: ConfigReconciler;
  private readonly elector: LeaderElector | undefined;
  private readonly context: ContextSource;
  private leading = false;
  private servers: RunningServer[] = [];
  private webhook: WebhookReceiver | undefined;
  private webhookSecrets: WebhookSecretsSource | undefined;
  private synced = false;
  private appWorkersStarted = false;
  private scopeTimer: NodeJS.Timeout | undefined;
  private readonly pendingScopes = new Set<string>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: OperatorDeps) {
    const { config, kc, log, metrics } = deps;
    this.writer = new KubeWriter(kc);
    this.events = new EventRecorder(kc, config.identity, log);
    this.appQueue = new WorkQueue('applications', (depth) => metrics.queueDepth.set({ queue: 'applications' }, depth));
    this.configQueue = new WorkQueue('config', (depth) => metrics.queueDepth.set({ queue: 'config' }, depth));
    const context = (this.context = new ContextSource({ kc, namespace: config.controlNamespace, name: config.contextConfigMap, overrides: config.contextOverrides, log, events: this.events, watchTimeoutSeconds: config.watchTimeoutSeconds }));
    this.mail = new MailStore({
      getApp: (namespace, name) => this.getApp(namespace, name),
      writer: this.writer,
      log,
      requeue: (appKey) => this.appQueue.addRateLimited(appKey),
    });
    this.delivery = new Delivery({
      store: this.store,
      mail: this.mail,
      events: this.events,
      metrics,
      log,
      involvedFor: (appKey) => this.apps.involvedFor(appKey),
      channelStatusChanged: (namespace, name) => this.configQueue.add(`DingTalkChannel/${namespace}/${name}`),
      writeChannelStatus: (namespace, name, status) => this.writer.patchHeraldStatus('dingtalkchannels', namespace, name, status),
      muteMs: config.dingtalkMuteSeconds * 1000,
    });
    this.renderer = new TemplateRenderer({ store: this.store, controlNamespace: config.controlNamespace, limits: config.render, events: this.events, log, metrics, statusChanged: (namespace, name) => this.configQueue.addAfter(`NotificationTemplate/${namespace}/${name}`, 1000) });
    this.apps = new AppReconciler({
      renderer: this.renderer,
      getApp: (namespace, name) => this.getApp(namespace, name),
      store: this.store,
      mail: this.mail,
      events: this.events,
      log,
      metrics,
      controlNamespace: config.controlNamespace,
      get context() { return context.current(); }, // the ConfigMap as of now: edits apply without a restart
      isLeader: () => this.leading,
      deliver: (appKey, outbox) => this.delivery.deliver(appKey, outbox),
      firstSight: { mode: config.onFirstSight, windowMs: config.firstSightWindowSeconds * 1000 },
      evaluationError: (trigger, message) => {
        const entry = this.store.triggers.get(trigger.namespace, trigger.name);
        if (!entry || entry.lastEvaluationError === message) return;
        entry.lastEvaluationError = message;
        this.configQueue.addAfter(`NotificationTrigger/${trigger.namespace}/${trigger.name}`, 1000);
      },
    });
    this.configReconciler = new ConfigReconciler({
      store: this.store,
      sources: {
        trigger: (namespace, name) => this.heraldGet('NotificationTrigger', namespace, name) as NotificationTrigger | undefined,
        template: (namespace, name) => this.heraldGet('NotificationTemplate', namespace, name) as NotificationTemplate | undefined,
        channel: (namespace, name) => this.heraldGet('DingTalkChannel', namespace, name) as DingTalkChannel | undefined,
        secret: (namespace, name) => this.secretInformers.get(namespace)?.get(name, namespace),
      },
      writer: this.writer,
      events: this.events,
      log,
      metrics,
      isLeader: () => this.leading,
      celLimits: config.cel,
      allowedHosts: config.dingtalkAllowedHosts,
      scopeChanged: (namespace) => this.scopeChanged(namespace),
      channelChanged: (namespace, name) => this.delivery.channelChanged(namespace, name),
      muteMs: config.dingtalkMuteSeconds * 1000,
      recheckChannel: (namespace, name, ms) => this.configQueue.addAfter(`DingTalkChannel/${namespace}/${name}`, ms),
    });
    if (config.leaderElection) {
      this.elector = new LeaderElector({
        kc,
        namespace: config.controlNamespace,
        name: config.leaseName,
        identity: config.identity,
        leaseDurationSeconds: config.leaseDurationSeconds,
        log,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: () => this.stopLeading(),
      });
    }
  }

  // ---- informers -------------------------------------------------------------

  private watchedNamespaces(): string[] | undefined {
    const { namespaces, controlNamespace } = this.deps.config;
    if (namespaces.length === 0) return undefined;
    return [...new Set([controlNamespace, ...namespaces])];
  }

  private getApp(namespace: string, name: string): Application | undefined {
    for (const informer of this.appInformers) {
      const app = informer.get(name, namespace);
      if (app) return app;
    }
    return undefined;
  }

  private *allApps(): Iterable<Application> {
    for (const informer of this.appInformers) yield* informer.list();
  }

  private heraldGet(kind: HeraldKind, namespace: string, name: string): HeraldObject | undefined {
    for (const informer of this.heraldInformers.get(kind) ?? []) {
      const object = informer.get(name, namespace);
      if (object) return object;
    }
    return undefined;
  }

  private createInformers(): void {
    const { kc, log, metrics, config } = this.deps;
    const custom = kc.makeApiClient(CustomObjectsApi);
    const namespaces = this.watchedNamespaces();
    const appNamespaces = config.namespaces.length > 0 ? config.namespaces : undefined;
    const scopes = (list: string[] | undefined) => (list ? list.map((ns) => ns as string | undefined) : [undefined]);

    for (const namespace of scopes(appNamespaces)) {
      const path = namespace
        ? `/apis/${ARGO_GROUP}/${ARGO_VERSION}/namespaces/${namespace}/${APPLICATIONS}`
        : `/apis/${ARGO_GROUP}/${ARGO_VERSION}/${APPLICATIONS}`;
      const informer = new Informer<Application & KubernetesObject>({
        name: `applications${namespace ? `/${namespace}` : ''}`,
        kc,
        path,
        log,
        watchTimeoutSeconds: config.watchTimeoutSeconds,
        transform: slimApplication as (app: Application & KubernetesObject) => Application & KubernetesObject,
        onRestart: () => metrics.informerRestarts.inc({ informer: 'applications' }),
        listPage: (cont) =>
          (namespace
            ? custom.listNamespacedCustomObject({ group: ARGO_GROUP, version: ARGO_VERSION, namespace, plural: APPLICATIONS, limit: 500, _continue: cont })
            : custom.listClusterCustomObject({ group: ARGO_GROUP, version: ARGO_VERSION, plural: APPLICATIONS, limit: 500, _continue: cont })) as never,
      });
      const enqueue = (app: Application) => this.appQueue.add(appKeyOf(app.metadata.namespace!, app.metadata.name!));
      informer.on('add', enqueue);
      informer.on('update', enqueue);
      informer.on('delete', enqueue);
      this.appInformers.push(informer);
    }

    for (const kind of Object.keys(KINDS) as HeraldKind[]) {
      const { plural } = KINDS[kind];
      const list: Informer<HeraldObject & KubernetesObject>[] = [];
      for (const namespace of scopes(namespaces)) {
        const path = namespace
          ? `/apis/${HERALD_GROUP}/${HERALD_VERSION}/namespaces/${namespace}/${plural}`
          : `/apis/${HERALD_GROUP}/${HERALD_VERSION}/${plural}`;
        const informer = new Informer<HeraldObject & KubernetesObject>({
          name: `${plural}${namespace ? `/${namespace}` : ''}`,
          kc,
          path,
          log,
          watchTimeoutSeconds: config.watchTimeoutSeconds,
          onRestart: () => metrics.informerRestarts.inc({ informer: plural }),
          listPage: (cont) =>
            (namespace
              ? custom.listNamespacedCustomObject({ group: HERALD_GROUP, version: HERALD_VERSION, namespace, plural, _continue: cont })
              : custom.listClusterCustomObject({ group: HERALD_GROUP, version: HERALD_VERSION, plural, _continue: cont })) as never,
        });
        const enqueue = (object: KubernetesObject) => this.configQueue.add(`${kind}/${object.metadata!.namespace}/${object.metadata!.name}`);
        informer.on('add', enqueue);
        informer.on('update', enqueue);
        informer.on('delete', enqueue);
        list.push(informer);
      }
      this.heraldInformers.set(kind, list);
    }
  }

  /** Secrets are watched per namespace, only where channels live, and only their data is kept. */
  private async ensureSecretInformer(namespace: string): Promise<void> {
    let informer = this.secretInformers.get(namespace);
    if (!informer) {
      const { kc, log, metrics, config } = this.deps;
      const core = kc.makeApiClient(CoreV1Api);
      informer = new Informer<V1Secret>({
        name: `secrets/${namespace}`,
        kc,
        path: `/api/v1/namespaces/${namespace}/secrets`,
        log,
        watchTimeoutSeconds: config.watchTimeoutSeconds,
        onRestart: () => metrics.informerRestarts.inc({ informer: 'secrets' }),
        transform: (secret) => ({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: secret.metadata?.name, namespace: secret.metadata?.namespace, resourceVersion: secret.metadata?.resourceVersion },
          data: secret.data,
        }),
        listPage: (cont) => core.listNamespacedSecret({ namespace, _continue: cont }),
      });
      const changed = (secret: V1Secret) => {
        for (const entry of this.store.channels.list(namespace)) {
          const webhook = entry.object.spec.webhook;
          if (webhook?.urlSecretRef.name === secret.metadata?.name || webhook?.signSecretRef?.name === secret.metadata?.name) {
            this.configQueue.add(`DingTalkChannel/${namespace}/${entry.object.metadata.name}`);
          }
        }
      };
      informer.on('add', changed);
      informer.on('update', changed);
      informer.on('delete', changed);
      this.secretInformers.set(namespace, informer);
      informer.start();
    }
    await informer.waitForSync();
  }

  // ---- reconcile loops -------------------------------------------------------

  private scopeChanged(namespace: string): void {
    this.apps.configChanged();
    // Until the app workers start, every app is queued anyway: no second pass.
    if (!this.appWorkersStarted) return;
    this.pendingScopes.add(namespace);
    if (this.scopeTimer) return;
    // Coalesce bursts (a kubectl apply of many resources) into one pass over the apps.
    this.scopeTimer = setTimeout(() => {
      this.scopeTimer = undefined;
      const scopes = new Set(this.pendingScopes);
      this.pendingScopes.clear();
      const everything = scopes.has(this.deps.config.controlNamespace);
      for (const app of this.allApps()) {
        if (everything || scopes.has(app.metadata.namespace!)) this.appQueue.add(appKeyOf(app.metadata.namespace!, app.metadata.name!));
      }
    }, 200);
    this.scopeTimer.unref?.();
  }

  private async handleConfigKey(key: string): Promise<void> {
    const [kind, namespace, name] = key.split('/') as [HeraldKind, string, string];
    try {
      if (kind === 'DingTalkChannel') await this.ensureSecretInformer(namespace);
      await this.configReconciler.reconcile(kind, namespace, name);
      this.configQueue.forget(key);
    } catch (error) {
      const delay = this.configQueue.addRateLimited(key);
      this.deps.log.warn('reconcile failed; retrying', { key, retryInMs: Math.round(delay), error });
    }
  }

  private async handleAppKey(key: string): Promise<void> {
    try {
      await this.apps.reconcile(key);
      this.appQueue.forget(key);
    } catch (error) {
      const delay = this.appQueue.addRateLimited(key);
      this.deps.log.warn('application reconcile failed; retrying', { app: key, retryInMs: Math.round(delay), error });
    }
  }

  // ---- leadership ------------------------------------------------------------

  private startLeading(): void {
    this.leading = true;
    this.deps.metrics.isLeader.set(1);
    this.apps.reset();
    this.delivery.start();
    for (const kind of Object.keys(KINDS) as HeraldKind[]) {
      for (const informer of this.heraldInformers.get(kind) ?? []) {
        for (const object of informer.list()) this.configQueue.add(`${kind}/${object.metadata!.namespace}/${object.metadata!.name}`);
      }
    }
    for (const app of this.allApps()) this.appQueue.add(appKeyOf(app.metadata.namespace!, app.metadata.name!));
  }

  private stopLeading(): void {
    this.leading = false;
    this.deps.metrics.isLeader.set(0);
    this.delivery.stop();
    this.apps.reset();
  }

  // ---- lifecycle -------------------------------------------------------------

  isReady(): { ready: boolean; reason?: string } {
    if (!this.synced) return { ready: false, reason: 'informers have not synced yet' };
    return { ready: true };
  }

  /** Ports actually bound (0 in the config picks a free one). */
  ports: { webhook?: number; health?: number; metrics?: number } = {};

  async start(): Promise<void> {
    const { config, log, metrics, kc } = this.deps;
    const health = await startHealthServer({ port: config.healthPort, host: config.bindAddress, isReady: () => this.isReady(), log });
    const metricsServer = await startMetricsServer({ port: config.metricsPort, host: config.bindAddress, registry: metrics.registry, log });
    this.servers.push(health, metricsServer);
    this.ports.health = health.port;
    this.ports.metrics = metricsServer.port;

    this.renderer.start();
    this.createInformers();
    for (const informer of this.appInformers) informer.start();
    for (const informers of this.heraldInformers.values()) for (const informer of informers) informer.start();
    this.context.start();
    if (config.webhookPort !== undefined) {
      this.webhookSecrets = new WebhookSecretsSource({ kc, namespace: config.webhookSecretNamespace, name: config.webhookSecretName, log, watchTimeoutSeconds: config.watchTimeoutSeconds });
      this.webhookSecrets.start();
    }
    await Promise.all([
      ...this.appInformers.map((informer) => informer.waitForSync()),
      ...[...this.heraldInformers.values()].flat().map((informer) => informer.waitForSync()),
      ...(this.webhookSecrets ? [this.webhookSecrets.waitForSync()] : []),
      this.context.waitForSync(),
    ]);
    // Configuration first, so that the first evaluation of every app sees all of it.
    const configKeys = [...this.heraldInformers.entries()].flatMap(([kind, informers]) =>
      informers.flatMap((informer) => informer.list().map((object) => `${kind}/${object.metadata!.namespace}/${object.metadata!.name}`)),
    );
    for (const key of configKeys) await this.handleConfigKey(key);
    this.configQueue.run(2, (key) => this.handleConfigKey(key));
    // The initial lists already queued every app (informer 'add' events).
    this.appWorkersStarted = true;
    this.appQueue.run(config.workers, (key) => this.handleAppKey(key));

    if (config.webhookPort !== undefined && this.webhookSecrets) {
      const secrets = this.webhookSecrets;
      this.webhook = await startWebhookReceiver({
        port: config.webhookPort,
        host: config.bindAddress,
        bodyLimitBytes: config.webhookMaxBodyBytes,
        bufferBudgetBytes: config.webhookMaxBufferedBytes,
        listApplications: () => this.allApps(),
        refresh: createApplicationRefresher(kc),
        secrets: () => secrets.current(),
        secretsOrigin: secrets.origin,
        log,
        metrics,
      });
      this.ports.webhook = this.webhook.port;
    }
    this.synced = true;
    this.watchIdle();
    if (this.elector) this.elector.start();
    else this.startLeading();
    log.info('herald controller started', {
      controlNamespace: config.controlNamespace,
      namespaces: config.namespaces.length ? config.namespaces : 'all',
      ports: this.ports,
      leaderElection: config.leaderElection,
      identity: config.identity,
    });
  }

  /** True when no work is queued or in flight and every dispatcher is empty (tests, benchmarks). */
  isIdle(): boolean {
    return this.appQueue.isIdle() && this.configQueue.isIdle() && this.delivery.backlog === 0 && !this.mail.busy;
  }

  /**
   * At debug level only: logs `busy` and `idle` when the leader's work starts and drains
   * (queues empty, nothing in flight, no dispatcher holding a message, no completion
   * patch pending, no coalesced re-queue waiting). bench/engine measures with it.
   */
  private watchIdle(): void {
    const { log } = this.deps;
    if (!log.enabled('debug')) return;
    let idle: boolean | undefined;
    // Highest application queue depth and dispatcher backlog seen (every 20 ms) while busy.
    let maxAppQueueDepth = 0;
    let maxDispatcherBacklog = 0;
    this.idleTimer = setInterval(() => {
      const backlog = this.delivery.backlog;
      maxAppQueueDepth = Math.max(maxAppQueueDepth, this.appQueue.depth);
      maxDispatcherBacklog = Math.max(maxDispatcherBacklog, backlog);
      const now = this.leading && this.scopeTimer === undefined && this.isIdle();
      if (now === idle) return;
      idle = now;
      if (!now) {
        log.debug('busy', { uptimeMs: Math.round(process.uptime() * 1000), appQueueDepth: this.appQueue.depth });
        return;
      }
      log.debug('idle', { uptimeMs: Math.round(process.uptime() * 1000), maxAppQueueDepth, maxDispatcherBacklog });
      maxAppQueueDepth = 0;
      maxDispatcherBacklog = 0;
    }, 20);
    this.idleTimer.unref();
  }

  async stop(): Promise<void> {
    this.deps.log.info('herald controller stopping');
    clearInterval(this.idleTimer);
    this.appQueue.stop();
    this.configQueue.stop();
    const drained = this.delivery.drain().then(() => this.mail.idle(10_000));
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    if (this.elector) await this.elector.stop();
    else this.stopLeading();
    await this.webhook?.close();
    for (const informer of this.appInformers) informer.stop();
    for (const informers of this.heraldInformers.values()) for (const informer of informers) informer.stop();
    for (const informer of this.secretInformers.values()) informer.stop();
    this.webhookSecrets?.stop();
    this.context.stop();
    await Promise.all(this.servers.map((server) => server.close()));
    await this.renderer.stop();
  }
}

