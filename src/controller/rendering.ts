// Template rendering for the controller: every render runs in the render pool
// (src/sandbox/), under the time, memory and output budgets, with one namespace's
// Applications using at most processes-1 render processes at once. A render that goes over a budget fails
// that message only; the template's status.lastBudgetFailure and an Event on the
// template say what was stopped, and where.
import { HERALD_GROUP, HERALD_VERSION } from '../api/groups.js';
import type { EventSink } from '../kube/events.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { RenderPool, RenderUnavailableError } from '../sandbox/pool.js';
import { BudgetReasons, TemplateBudgetError, type RenderLimits } from '../templates/limits.js';
import type { RenderedNotification, TemplateContext } from '../templates/types.js';
import { metaTime } from './conditions.js';
import { TemplateNotUsable } from './errors.js';
import { resolveScoped, type ObjectRef } from './routing.js';
import type { ConfigStore, TemplateBudgetFailure } from './store.js';


/** Where a render happens, for the budget failure's "where". */
export interface RenderSite {
  /** The Application, namespace/name. */
  app: string;
  trigger: string;
  channel: ObjectRef;
}

export interface TemplateRendererDeps {
  store: ConfigStore;
  controlNamespace: string;
  limits: Readonly<RenderLimits>;
  events: EventSink;
  log: Logger;
  /** herald_template_budget_exceeded_total (optional in tests). */
  metrics?: Pick<Metrics, 'templateBudgetExceeded'>;
  /** The template's entry has a new lastBudgetFailure: write its status. */
  statusChanged: (namespace: string, name: string) => void;
  now?: () => Date;
  /** Makes the pool (tests). */
  createPool?: (limits: Readonly<RenderLimits>, log: Logger) => Pick<RenderPool, 'render' | 'stop'>;
}

/** Longest message kept in status.lastBudgetFailure (the CRD allows 4096). */
const MAX_FAILURE_MESSAGE = 1024;

/**
 * How long a namespace whose renders went over the time or memory budget is held back:
 * such namespaces together may have processes-1 renders in progress; more are refused
 * as transient (the Application is retried with backoff), so that their Applications
 * neither hold every reconcile worker while they wait for a render process nor, several
 * hostile namespaces together, every render process.
 */
const OVERRUN_MEMORY_MS = 60_000;

export class TemplateRenderer {
  private pool: Pick<RenderPool, 'render' | 'stop'> | undefined;
  private readonly now: () => Date;
  /** Renders in progress (waiting or running) by namespace. */
  private readonly running = new Map<string, number>();
  /** When renders for a namespace last went over the time or memory budget. */
  private readonly overrunAt = new Map<string, number>();
  private readonly maxRunning: number;

  constructor(private readonly deps: TemplateRendererDeps) {
    this.now = deps.now ?? (() => new Date());
    this.maxRunning = Math.max(1, deps.limits.processes - 1);
  }

  /** Starts the render processes (once). */
  start(): void {
    if (this.pool) return;
    const { limits, log } = this.deps;
    this.pool = this.deps.createPool ? this.deps.createPool(limits, log) : new RenderPool({ limits, log });
    log.info('template render processes started', { processes: limits.processes, timeoutMs: limits.timeoutMs, memoryMiB: limits.memoryMiB, maxOutputBytes: limits.maxOutputBytes });
  }

  /** Stops the render processes; renders in flight fail as transient (their apps are retried by the next leader). */
  async stop(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.stop();
  }

  /**
   * Renders the template the app's namespace resolves `templateName` to.
   * @throws TemplateNotUsable when there is no such template or it does not compile
   * @throws TemplateBudgetError when the render went over a budget (reported on the template)
   * @throws RenderUnavailableError (transient) when the pool cannot render now
   */
  async render(appNamespace: string, templateName: string, context: TemplateContext, site: RenderSite): Promise<RenderedNotification> {
    const { store, controlNamespace } = this.deps;
    const ref = resolveScoped(store.templates, appNamespace, controlNamespace, templateName);
    if (!ref) throw new TemplateNotUsable(`no NotificationTemplate "${templateName}" in namespace ${appNamespace}${appNamespace === controlNamespace ? '' : ` or ${controlNamespace}`}`);
    const entry = store.templates.get(ref.namespace, ref.name)!;
    if (!entry.compiled) throw new TemplateNotUsable(`NotificationTemplate ${ref.namespace}/${ref.name} is not Ready: ${entry.problem?.message ?? 'not compiled'}`);
    const pool = this.pool;
    if (!pool) throw new RenderUnavailableError('template rendering is not running');
    // The Applications' namespace is the unit of fairness: a tenant's templates render
    // only for its own Applications, and the control namespace's templates for each
    // namespace count against that namespace.
    const group = appNamespace;
    const running = this.running.get(group) ?? 0;
    if (this.overran(group)) {
      // Such namespaces together, not only each, keep a process free for the others.
      const busy = Math.max(running, this.runningOverran());
      if (busy >= this.maxRunning) {
        throw new RenderUnavailableError(
          `renders for namespace ${group} went over their time or memory budget in the last ${OVERRUN_MEMORY_MS / 1000} s; ${busy} renders of such namespaces are in progress (at most ${this.maxRunning}), this one is retried later`,
        );
      }
    }
    const { object, generation } = entry;
    this.running.set(group, running + 1);
    try {
      return await pool.render({
        group,
        key: `${ref.namespace}/${ref.name}/${object.metadata.uid ?? ''}@${generation ?? 0}`,
        spec: object.spec,
        context,
      });
    } catch (error) {
      if (error instanceof TemplateBudgetError) {
        this.deps.metrics?.templateBudgetExceeded.inc({ namespace: ref.namespace, reason: error.reason });
        if (error.reason !== BudgetReasons.output) this.overrunAt.set(group, Date.now());
        this.reportBudget(ref, generation, error, site);
      }
      throw error;
    } finally {
      const left = (this.running.get(group) ?? 1) - 1;
      if (left <= 0) this.running.delete(group);
      else this.running.set(group, left);
    }
  }

  /** Renders in progress for namespaces that overran lately. */
  private runningOverran(): number {
    let total = 0;
    for (const [group, count] of this.running) if (this.overran(group)) total += count;
    return total;
  }

  /** Whether renders for the namespace ran into the deadline or the heap limit lately. */
  private overran(group: string): boolean {
    const at = this.overrunAt.get(group);
    if (at === undefined) return false;
    if (Date.now() - at <= OVERRUN_MEMORY_MS) return true;
    this.overrunAt.delete(group);
    return false;
  }

  private reportBudget(ref: ObjectRef, generation: number | undefined, error: TemplateBudgetError, site: RenderSite): void {
    const entry = this.deps.store.templates.get(ref.namespace, ref.name);
    // Changed (or gone) while it rendered: the failure was of a version that no longer exists.
    if (!entry || entry.generation !== generation) return;
    const failure: TemplateBudgetFailure = {
      reason: error.reason,
      message: error.message.length > MAX_FAILURE_MESSAGE ? `${error.message.slice(0, MAX_FAILURE_MESSAGE - 1)}…` : error.message,
      application: site.app,
      trigger: site.trigger,
      channel: `${site.channel.namespace}/${site.channel.name}`,
      time: metaTime(this.now().getTime()),
      ...(entry.generation === undefined ? {} : { generation: entry.generation }),
    };
    entry.lastBudgetFailure = failure;
    const where = `Application ${failure.application}, trigger ${failure.trigger}, channel ${failure.channel}`;
    this.deps.events.record(
      { apiVersion: `${HERALD_GROUP}/${HERALD_VERSION}`, kind: 'NotificationTemplate', namespace: ref.namespace, name: ref.name, uid: entry.object.metadata.uid },
      'Warning',
      error.reason,
      `${failure.message}; the message for ${where} failed`,
    );
    this.deps.log.warn('template render over budget', { template: `${ref.namespace}/${ref.name}`, app: site.app, trigger: site.trigger, channel: failure.channel, reason: error.reason, error: error.message });
    this.deps.statusChanged(ref.namespace, ref.name);
  }
}
