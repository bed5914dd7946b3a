// Lifecycle and leadership of the running operator: caches feed work queues with
// keys; workers read the newest object from the caches; the leader evaluates, writes
// outboxes and sends through delivery. The HTTP servers are started by the
// controller command (cli/controller.ts).
import type { HeraldKind } from '../api/groups.js';
import { LeaderElector } from '../kube/leader.js';
import { appKeyOf, type Application } from './app-reconciler.js';
import { watchIdle } from './idle.js';
import { wireController, type Components, type ControllerDeps } from './wiring.js';

export type OperatorDeps = ControllerDeps;

export class Operator {
  private readonly parts: Components;
  private readonly elector: LeaderElector | undefined;
  private leading = false;
  private synced = false;
  private appWorkersStarted = false;
  private scopeTimer: NodeJS.Timeout | undefined;
  private readonly pendingScopes = new Set<string>();
  private stopIdleWatch: (() => void) | undefined;

  constructor(private readonly deps: OperatorDeps) {
    this.parts = wireController(deps, { isLeader: () => this.leading, scopeChanged: (namespace) => this.scopeChanged(namespace) });
    const { config, kc, log } = deps;
    if (config.leaderElection) {
      this.elector = new LeaderElector({
        kc,
        log,
        namespace: config.controlNamespace,
        name: config.leaseName,
        identity: config.identity,
        leaseDurationSeconds: config.leaseDurationSeconds,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: () => this.stopLeading(),
      });
    }
  }

  /** Every cached Application (the webhook receiver matches pushes against them). */
  applications(): Iterable<Application> {
    return this.parts.caches.allApps();
  }

  private enqueueApps(filter: (app: Application) => boolean = () => true): void {
    for (const app of this.parts.caches.allApps()) if (filter(app)) this.parts.appQueue.add(appKeyOf(app.metadata.namespace!, app.metadata.name!));
  }

  // ---- reconcile loops -------------------------------------------------------

  private scopeChanged(namespace: string): void {
    this.parts.apps.configChanged();
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
      this.enqueueApps((app) => everything || scopes.has(app.metadata.namespace!));
    }, 200);
    this.scopeTimer.unref?.();
  }

  private async reconcileConfig(key: string): Promise<void> {
    const [kind, namespace, name] = key.split('/') as [HeraldKind, string, string];
    if (kind === 'DingTalkChannel') await this.parts.caches.ensureSecrets(namespace);
    await this.parts.configReconciler.reconcile(kind, namespace, name);
  }

  // ---- leadership ------------------------------------------------------------

  private startLeading(): void {
    this.leading = true;
    this.deps.metrics.isLeader.set(1);
    this.parts.apps.reset();
    this.parts.delivery.start();
    for (const key of this.parts.caches.configKeys()) this.parts.configQueue.add(key);
    this.enqueueApps();
  }

  private stopLeading(): void {
    this.leading = false;
    this.deps.metrics.isLeader.set(0);
    this.parts.delivery.stop();
    this.parts.apps.reset();
  }

  // ---- lifecycle -------------------------------------------------------------

  isReady(): { ready: boolean; reason?: string } {
    return this.synced ? { ready: true } : { ready: false, reason: 'informers have not synced yet' };
  }

  /** Fills the caches, reconciles the configuration, starts the workers; leadership is `lead()`. */
  async start(): Promise<void> {
    const { config, log } = this.deps;
    this.parts.renderer.start();
    this.parts.context.start();
    await Promise.all([this.parts.caches.start(), this.parts.context.waitForSync()]);
    const handleConfigKey = this.parts.configQueue.retrying(
      (key) => this.reconcileConfig(key),
      (key, retryInMs, error) => log.warn('reconcile failed; retrying', { key, retryInMs, error }),
    );
    // Configuration first, so that the first evaluation of every app sees all of it.
    for (const key of this.parts.caches.configKeys()) await handleConfigKey(key);
    this.parts.configQueue.run(2, handleConfigKey);
    // The initial lists already queued every app (informer 'add' events).
    this.appWorkersStarted = true;
    this.parts.appQueue.run(
      config.workers,
      this.parts.appQueue.retrying(
        (key) => this.parts.apps.reconcile(key),
        (app, retryInMs, error) => log.warn('application reconcile failed; retrying', { app, retryInMs, error }),
      ),
    );
    this.synced = true;
  }

  /** Takes part in leader election (or leads at once without it). */
  lead(): void {
    this.stopIdleWatch = watchIdle(this.deps.log, {
      appQueueDepth: () => this.parts.appQueue.depth,
      backlog: () => this.parts.delivery.backlog,
      idle: () => this.leading && this.scopeTimer === undefined && this.isIdle(),
    });
    if (this.elector) this.elector.start();
    else this.startLeading();
  }

  /** True when no work is queued or in flight and every dispatcher is empty (tests, benchmarks). */
  isIdle(): boolean {
    return this.parts.appQueue.isIdle() && this.parts.configQueue.isIdle() && this.parts.delivery.backlog === 0 && !this.parts.mail.busy;
  }

  async stop(): Promise<void> {
    this.deps.log.info('herald controller stopping');
    this.stopIdleWatch?.();
    this.parts.appQueue.stop();
    this.parts.configQueue.stop();
    const drained = this.parts.delivery.drain().then(() => this.parts.mail.idle(10_000));
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    if (this.elector) await this.elector.stop();
    else this.stopLeading();
    this.parts.caches.stop();
    this.parts.context.stop();
    await this.parts.renderer.stop();
  }
}
