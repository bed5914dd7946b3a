// Per Application: keep app_info current, deliver what its outbox holds, and decide
// (engine.ts) what its current state is worth. Decided messages are written to the
// outbox annotation before anything is sent; the dispatcher's acceptance moves each
// into the notified ledger with one merge patch. Only the leader does any of this
// beyond the metric.
import { ARGO_GROUP, ARGO_VERSION, ANNOTATIONS } from '../api/groups.js';
import { EventReasons } from '../api/reasons.js';
import type { EventSink, InvolvedObject } from '../kube/events.js';
import { apiMessageOf, statusCodeOf } from '../kube/errors.js';
import type { KubeWriter } from '../kube/patch.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { initiatorOf, renderTemplate } from '../templates/index.js';
import { AnnotationWriteError, TemplateNotUsable } from './errors.js';
import { decide } from './engine.js';
import { parseNotified, parseOutbox, serialiseNotified, serialiseOutbox, type NotifiedLedger, type Outbox, type OutboxEntry } from './ledger.js';
import { KeyedMutex } from './mutex.js';
import { resolveScoped, routesFor, type ObjectRef } from './routing.js';
import type { ConfigStore } from './store.js';

export interface Application {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, any>;
  status?: Record<string, any>;
}

export interface AppState {
  ledger: NotifiedLedger;
  outbox: Outbox;
}

export interface AppReconcilerDeps {
  getApp: (namespace: string, name: string) => Application | undefined;
  store: ConfigStore;
  writer: KubeWriter;
  events: EventSink;
  log: Logger;
  metrics: Metrics;
  controlNamespace: string;
  context: Record<string, string>;
  isLeader: () => boolean;
  /** Hands an outbox entry to its channel's dispatcher (idempotent). */
  dispatch: (appKey: string, id: string, entry: OutboxEntry) => void;
  /** Trigger evaluation errors, for the trigger's status. */
  evaluationError: (trigger: ObjectRef, message: string) => void;
  now?: () => Date;
}

/** Compares Kubernetes resourceVersions (etcd revisions); opaque ones compare as unknown. */
function compareResourceVersions(a: string | undefined, b: string | undefined): number | undefined {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return a === b ? 0 : undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
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
  /** Annotations this process wrote, until the cache has caught up with them. */
  private readonly written = new Map<string, { resourceVersion: string; notified: string | undefined; outbox: string | undefined }>();
  private readonly locks = new KeyedMutex();
  private readonly appInfo = new Map<string, Record<string, string>>();
  /** What each app looked like when it was last evaluated, to skip the echoes of herald's own writes. */
  private readonly evaluated = new Map<string, string>();
  private configEpoch = 0;
  private readonly now: () => Date;

  constructor(private readonly deps: AppReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Forget everything written: a new leader starts from what the API server says. */
  reset(): void {
    this.written.clear();
    this.evaluated.clear();
  }

  /** Triggers, templates or channels changed: every app is worth evaluating again. */
  configChanged(): void {
    this.configEpoch++;
  }

  private involved(app: Application): InvolvedObject {
    return { apiVersion: `${ARGO_GROUP}/${ARGO_VERSION}`, kind: 'Application', namespace: app.metadata.namespace!, name: app.metadata.name!, uid: app.metadata.uid };
  }

  /** The app's ledger and outbox: the cache, unless this process has written something newer. */
  state(key: string, app: Application): AppState {
    const mine = this.written.get(key);
    let notified = app.metadata.annotations?.[ANNOTATIONS.notified];
    let outbox = app.metadata.annotations?.[ANNOTATIONS.outbox];
    if (mine) {
      const order = compareResourceVersions(app.metadata.resourceVersion, mine.resourceVersion);
      if (order === undefined || order < 0) {
        notified = mine.notified;
        outbox = mine.outbox;
      } else {
        this.written.delete(key);
      }
    }
    const parsedLedger = parseNotified(notified);
    const parsedOutbox = parseOutbox(outbox);
    if (parsedLedger.damaged || parsedOutbox.damaged) {
      this.deps.log.warn('ignoring malformed herald annotations on an Application', { app: key, notified: parsedLedger.damaged, outbox: parsedOutbox.damaged });
    }
    return { ledger: parsedLedger.ledger, outbox: parsedOutbox.outbox };
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
      this.written.delete(key);
      this.evaluated.delete(key);
      return;
    }
    if (!this.deps.isLeader()) return;
    const end = this.deps.metrics.reconcileDuration.startTimer({ kind: 'Application' });
    try {
      await this.locks.run(key, () => this.reconcileLocked(key, app));
    } finally {
      end();
    }
  }

  private async reconcileLocked(key: string, cached: Application): Promise<void> {
    const app = this.deps.getApp(cached.metadata.namespace!, cached.metadata.name!) ?? cached;
    const state = this.state(key, app);
    for (const [id, entry] of Object.entries(state.outbox)) this.deps.dispatch(key, id, entry);
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
    const decision = decide({
      app: app as unknown as Record<string, any>,
      appUid: app.metadata.uid ?? key,
      now: this.now(),
      routes,
      context: this.deps.context,
      initiator,
      ledger: state.ledger,
      outbox: state.outbox,
      trigger: (triggerName) => {
        const ref = resolveScoped(store.triggers, appNamespace, controlNamespace, triggerName);
        if (!ref) return undefined;
        return { ref, compiled: store.triggers.get(ref.namespace, ref.name)?.compiled };
      },
      render: (templateName, context) => {
        const ref = resolveScoped(store.templates, appNamespace, controlNamespace, templateName);
        if (!ref) throw new TemplateNotUsable(`no NotificationTemplate "${templateName}" in namespace ${appNamespace}${appNamespace === controlNamespace ? '' : ` or ${controlNamespace}`}`);
        const entry = store.templates.get(ref.namespace, ref.name)!;
        if (!entry.compiled) throw new TemplateNotUsable(`NotificationTemplate ${ref.namespace}/${ref.name} is not Ready: ${entry.problem?.message ?? 'not compiled'}`);
        return renderTemplate(entry.compiled, context);
      },
    });
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
    if (decision.newEntries.length === 0 && decision.rearmed.length === 0 && decision.rearmPending.length === 0) {
      this.evaluated.set(key, evaluationKey);
      return;
    }

    const outbox: Outbox = { ...state.outbox };
    for (const id of decision.rearmPending) outbox[id] = { ...outbox[id]!, rearm: true };
    for (const { id, entry } of decision.newEntries) outbox[id] = entry;
    const ledger: NotifiedLedger = { ...state.ledger };
    for (const keyToRearm of decision.rearmed) delete ledger[keyToRearm];
    const written = await this.write(key, app, ledger, outbox);
    if (!written) return;
    this.evaluated.set(key, evaluationKey);
    for (const { id, entry } of decision.newEntries) {
      this.deps.log.info('notification decided', { app: key, trigger: entry.trigger, template: entry.template, channel: `${entry.channelNamespace}/${entry.channel}` });
      this.deps.dispatch(key, id, entry);
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

  /** One merge patch of both annotations; remembers what it wrote until the cache has it. */
  private async write(key: string, app: Application, ledger: NotifiedLedger, outbox: Outbox): Promise<boolean> {
    const notified = serialiseNotified(ledger);
    const outboxText = serialiseOutbox(outbox);
    try {
      const patched = await this.deps.writer.patchAppAnnotations(app.metadata.namespace!, app.metadata.name!, {
        [ANNOTATIONS.notified]: notified,
        [ANNOTATIONS.outbox]: outboxText,
      });
      this.written.set(key, {
        resourceVersion: patched.metadata?.resourceVersion ?? '',
        notified: notified ?? undefined,
        outbox: outboxText ?? undefined,
      });
      return true;
    } catch (error) {
      if (statusCodeOf(error) === 404) {
        this.written.delete(key);
        return false;
      }
      throw new AnnotationWriteError(`cannot write herald annotations on Application ${key}: ${apiMessageOf(error)}`, { cause: error });
    }
  }

  /** Applies a change to an app's ledger/outbox under its lock (dispatcher callbacks). */
  async update(key: string, change: (state: AppState) => boolean): Promise<void> {
    await this.locks.run(key, async () => {
      const [namespace, name] = splitKey(key);
      const app = this.deps.getApp(namespace, name);
      if (!app) return;
      const state = this.state(key, app);
      if (!change(state)) return;
      await this.write(key, app, state.ledger, state.outbox);
    });
  }

  involvedFor(key: string): InvolvedObject | undefined {
    const [namespace, name] = splitKey(key);
    const app = this.deps.getApp(namespace, name);
    return app ? this.involved(app) : undefined;
  }

}
