// Per Application: keep app_info current, deliver what its outbox holds, and decide
// (engine.ts) what its current state is worth. Decided messages are queued in the
// outbox (outbox.ts; folded when it is full) and written (mail-store.ts) before anything
// is sent; the channel's acceptance later moves each into the notified ledger. Only the
// leader does any of this beyond the metric.
import { ARGO_GROUP, ARGO_VERSION, ANNOTATIONS } from '../api/groups.js';
import { EventReasons } from '../api/reasons.js';
import type { EventSink, InvolvedObject } from '../kube/events.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { TransientError } from '../errors.js';
import { initiatorOf } from '../templates/index.js';
import { complete, plan, type RenderOutcome } from './engine.js';
import { DEFAULT_FIRST_SIGHT, type FirstSightPolicy } from './first-sight.js';
import type { Outbox } from './ledger.js';
import type { MailStore } from './mail-store.js';
import { ledgerBytes, outboxLimits, queue, type FoldReport, type Mail } from './outbox.js';
import { resolveScoped, routesFor, type ObjectRef } from './routing.js';
import type { TemplateRenderer } from './rendering.js';
import type { ConfigStore } from './store.js';

export interface Application {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, any>;
  status?: Record<string, any>;
}

/** @deprecated the name before outbox.ts: an app's ledger and outbox. */
export type AppState = Mail;

export interface AppReconcilerDeps {
  getApp: (namespace: string, name: string) => Application | undefined;
  store: ConfigStore;
  /** The only reader and writer of the two annotations. */
  mail: MailStore;
  events: EventSink;
  log: Logger;
  metrics: Metrics;
  controlNamespace: string;
  context: Record<string, string>;
  isLeader: () => boolean;
  /** Hands the app's outbox to the channels' dispatchers (idempotent; drops what left it). */
  deliver: (appKey: string, outbox: Outbox) => void;
  /** Renders templates in the render processes, under their budgets. */
  renderer: Pick<TemplateRenderer, 'render'>;
  /** Trigger evaluation errors, for the trigger's status. */
  evaluationError: (trigger: ObjectRef, message: string) => void;
  /** --on-first-sight and --first-sight-window, and whether an app was in the first list; watchingSince: when this process started. */
  firstSight?: Omit<FirstSightPolicy, 'watchingSince'>;
  now?: () => Date;
}

/** Bytes of an app's annotations other than herald's two (keys and values, as the API server counts). */
function otherAnnotationBytes(app: Application): number {
  let total = 0;
  for (const [key, value] of Object.entries(app.metadata.annotations ?? {})) {
    if (key === ANNOTATIONS.outbox || key === ANNOTATIONS.notified) continue;
    total += Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  return total;
}

export function appKeyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function splitKey(key: string): [namespace: string, name: string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

export function isFresh(app: Application): boolean {
  // Argo CD updates health and sync in the reconcile after an operation; until then a
  // finished operation next to stale health would produce a premature message.
  const finishedAt = app.status?.operationState?.finishedAt;
  const reconciledAt = app.status?.reconciledAt;
  if (typeof finishedAt !== 'string' || typeof reconciledAt !== 'string') return true;
  return Date.parse(finishedAt) <= Date.parse(reconciledAt);
}

export class AppReconciler {
  private readonly appInfo = new Map<string, Record<string, string>>();
  /** What each app looked like when it was last evaluated, to skip the echoes of herald's own writes. */
  private readonly evaluated = new Map<string, string>();
  private configEpoch = 0;
  private readonly now: () => Date;
  private readonly firstSight: FirstSightPolicy;

  constructor(private readonly deps: AppReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
    // Applications created from now on are seen being created: their creation is news.
    this.firstSight = { ...DEFAULT_FIRST_SIGHT, ...deps.firstSight, watchingSince: this.now() };
  }

  /** Forget everything written: a new leader starts from what the API server says. */
  reset(): void {
    this.deps.mail.reset();
    this.evaluated.clear();
  }

  /** Triggers, templates or channels changed: every app is worth evaluating again. */
  configChanged(): void {
    this.configEpoch++;
  }

  private involved(app: Application): InvolvedObject {
    return { apiVersion: `${ARGO_GROUP}/${ARGO_VERSION}`, kind: 'Application', namespace: app.metadata.namespace!, name: app.metadata.name!, uid: app.metadata.uid };
  }

  private updateAppInfo(key: string, app: Application | undefined): void {
    const previous = this.appInfo.get(key);
    const labels = app
      ? {
          namespace: app.metadata.namespace ?? '',
          name: app.metadata.name ?? '',
          project: String(app.spec?.project ?? ''),
          health_status: String(app.status?.health?.status ?? 'Unknown'),
          sync_status: String(app.status?.sync?.status ?? 'Unknown'),
        }
      : undefined;
    if (previous && (!labels || JSON.stringify(previous) !== JSON.stringify(labels))) {
      this.deps.metrics.appInfo.remove(previous);
      this.appInfo.delete(key);
    }
    if (labels && (!previous || JSON.stringify(previous) !== JSON.stringify(labels))) {
      this.deps.metrics.appInfo.set(labels, 1);
      this.appInfo.set(key, labels);
    }
  }

  async reconcile(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const app = this.deps.getApp(namespace, name);
    this.updateAppInfo(key, app);
    if (!app) {
      this.deps.mail.forget(key);
      this.evaluated.delete(key);
      return;
    }
    if (!this.deps.isLeader()) return;
    const end = this.deps.metrics.reconcileDuration.startTimer({ kind: 'Application' });
    try {
      await this.deps.mail.locked(key, () => this.reconcileLocked(key, app));
    } finally {
      end();
    }
  }

  private async reconcileLocked(key: string, cached: Application): Promise<void> {
    const app = this.deps.getApp(cached.metadata.namespace!, cached.metadata.name!) ?? cached;
    const read = this.deps.mail.read(key, app);
    const state = read.mail;
    // Waiting transitions the state includes that will still be waiting when it is decided on.
    let included = read.applied;
    if (read.changed) {
      // What waits (delivery outcomes, a decision not yet written) is written now: the app
      // changed, so a decision waiting in memory could no longer be made again from it.
      if (!(await this.deps.mail.commit(key, app, read.mail, read.applied))) return;
      included = 0;
      this.handOver(key, app);
    } else {
      // Nothing awaited since the read: the outbox read is the current one.
      this.deps.deliver(key, state.outbox);
    }
    if (!isFresh(app)) {
      this.deps.log.debug('waiting for Argo CD to reconcile the finished operation', { app: key });
      return;
    }
    const { store, controlNamespace } = this.deps;
    const appNamespace = app.metadata.namespace!;
    const { routes, problems } = routesFor(
      { namespace: appNamespace, labels: app.metadata.labels, annotations: app.metadata.annotations },
      controlNamespace,
      store.channelObjects,
    );
    for (const problem of problems) {
      this.deps.events.record(this.involved(app), 'Warning', EventReasons.SubscriptionInvalid, problem);
    }
    if (routes.length === 0) return;
    // Without spec/status changes (metadata.generation counts both, as the Application
    // has no status subresource) and without configuration changes, a new evaluation
    // can only differ through notified(); the usual case is the echo of herald's own
    // annotation patch, two per notification.
    const evaluationKey = this.evaluationKey(app, state);
    if (this.evaluated.get(key) === evaluationKey && !this.routesReadLedger(routes.map((route) => route.trigger), appNamespace)) return;
    const initiator = initiatorOf(app);
    const now = this.now();
    const planned = plan({
      app: app as unknown as Record<string, any>,
      appUid: app.metadata.uid ?? key,
      now,
      routes,
      context: this.deps.context,
      initiator,
      ledger: state.ledger,
      outbox: state.outbox,
      firstSight: this.firstSight,
      trigger: (triggerName) => {
        const ref = resolveScoped(store.triggers, appNamespace, controlNamespace, triggerName);
        if (!ref) return undefined;
        return { ref, compiled: store.triggers.get(ref.namespace, ref.name)?.compiled };
      },
    });
    // Rendering runs in the render processes, under its budgets (rendering.ts).
    const outcomes = await Promise.all(
      planned.renders.map((render): Promise<RenderOutcome> =>
        this.deps.renderer.render(appNamespace, render.template, render.context, { app: key, trigger: render.trigger, channel: render.channel }).then(
          (rendered) => ({ ok: true, rendered }),
          (error: unknown) => ({ ok: false, error }),
        ),
      ),
    );
    // The pool could not render now (stopping, full): nothing is decided, the app is retried.
    const unavailable = outcomes.find((outcome) => !outcome.ok && outcome.error instanceof TransientError);
    if (unavailable && !unavailable.ok) throw unavailable.error;
    const decision = complete(planned, outcomes, { appUid: app.metadata.uid ?? key, now, initiator });
    for (const evaluation of decision.evaluations) {
      this.deps.metrics.triggerEvaluations.inc({ trigger: evaluation.trigger, result: evaluation.outcome });
    }
    for (const error of decision.evaluationErrors) {
      const message = `Application ${key}: conditions[${error.index}]: ${error.message}`;
      this.deps.evaluationError(error.trigger, message);
      this.deps.log.warn('trigger evaluation failed', { trigger: `${error.trigger.namespace}/${error.trigger.name}`, app: key, condition: error.index, error: error.message });
    }
    for (const problem of decision.problems) {
      const where = problem.template ? ` (template ${problem.template}${problem.channel ? `, channel ${problem.channel.name}` : ''})` : '';
      this.deps.events.record(this.involved(app), 'Warning', EventReasons.NotificationFailed, `trigger ${problem.trigger}${where}: ${problem.message}`);
      this.deps.log.warn('cannot notify', { app: key, trigger: problem.trigger, template: problem.template, channel: problem.channel?.name, error: problem.message });
    }
    // Recorded at first sight: written with the ledger, never sent (nothing to deliver).
    if (decision.newEntries.length === 0 && decision.rearmed.length === 0 && decision.rearmPending.length === 0 && decision.recorded.length === 0) {
      this.evaluated.set(key, evaluationKey);
      return;
    }

    const nowMs = this.now().getTime();
    // decision.ledger: legacy keys migrated to condition names (rearmed ones removed again by queue).
    const queued = queue({ ...state, ledger: decision.ledger }, decision, {
      // The ledger is written with the outbox, so its new size counts against the outbox's budget.
      limits: outboxLimits(otherAnnotationBytes(app) + ledgerBytes(state.ledger) + ANNOTATIONS.notified.length + ANNOTATIONS.outbox.length),
      nowMs,
      app: key,
      keyword: (namespace, name) => store.channels.get(namespace, name)?.object.spec.keywords?.[0],
    });
    // Written with the channel's acceptance when it comes soon, otherwise on its own
    // (mail-store.ts). What first sight records is written at once: it is what later
    // processes go by (an app without its marker is seen for the first time again).
    if (!(await this.deps.mail.decide(key, app, queued.mail, read, included, decision.recorded.length > 0))) return;
    this.evaluated.set(key, evaluationKey);
    if (decision.recorded.length > 0) this.deps.log.debug('first sight: recorded, not sent', { app: key, keys: decision.recorded });
    for (const { entry } of decision.newEntries) {
      this.deps.log.info('notification decided', { app: key, trigger: entry.trigger, template: entry.template, channel: `${entry.channelNamespace}/${entry.channel}` });
    }
    if (queued.folded.length > 0) this.reportFolded(app, queued.folded);
    this.handOver(key, app);
  }

  /**
   * Hands the app's outbox to delivery as it is now, not as it was read before an await:
   * a message the channel accepted meanwhile has its completion waiting in the MailStore,
   * and handing over the older copy would send it again.
   */
  private handOver(key: string, app: Application): void {
    this.deps.deliver(key, this.deps.mail.read(key, app).mail.outbox);
  }

  private reportFolded(app: Application, reports: FoldReport[]): void {
    for (const report of reports) {
      this.deps.metrics.outboxFolded.inc({ channel: report.channel }, report.count);
      const superseded = report.superseded > 0 ? ` (${report.superseded} superseded by a newer message for the same trigger)` : '';
      const message = `the outbox reached its limit while channel ${report.channel} could not take its messages: ${report.count} folded into one message that says how many${superseded}`;
      this.deps.events.record(this.involved(app), 'Warning', EventReasons.NotificationsFolded, message);
      this.deps.log.warn('outbox full; messages folded', { app: `${app.metadata.namespace}/${app.metadata.name}`, channel: report.channel, folded: report.count, superseded: report.superseded });
    }
  }

  private evaluationKey(app: Application, state: AppState): string {
    const annotations = { ...app.metadata.annotations };
    delete annotations[ANNOTATIONS.notified];
    delete annotations[ANNOTATIONS.outbox];
    const metadata = app.metadata as Application['metadata'] & { generation?: number; deletionTimestamp?: string };
    // A delivered message normally moves its key from the outbox to the ledger, which
    // suppresses the same things; a re-armed one leaves no key behind, so its leaving
    // the outbox may let the condition send again.
    const rearmed = Object.keys(state.outbox).filter((id) => state.outbox[id]!.rearm);
    return JSON.stringify([this.configEpoch, metadata.generation, metadata.deletionTimestamp, app.metadata.labels, annotations, rearmed]);
  }

  /** Whether any routed trigger calls notified(), whose answer changes with the ledger alone. */
  private routesReadLedger(triggers: string[], appNamespace: string): boolean {
    const { store, controlNamespace } = this.deps;
    return triggers.some((name) => {
      const ref = resolveScoped(store.triggers, appNamespace, controlNamespace, name);
      const compiled = ref ? store.triggers.get(ref.namespace, ref.name)?.compiled : undefined;
      return compiled?.conditions.some((condition) => /\bnotified\s*\(/.test(`${condition.when} ${condition.oncePer ?? ''}`)) ?? false;
    });
  }

  involvedFor(key: string): InvolvedObject | undefined {
    const [namespace, name] = splitKey(key);
    const app = this.deps.getApp(namespace, name);
    return app ? this.involved(app) : undefined;
  }

}
