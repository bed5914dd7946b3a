// Reconciles herald's own resources: compiles triggers and templates, asks the
// channel registry for each channel's sender (the factory reads the Secrets), and
// publishes Ready conditions, observedGeneration and Events. Invalid configuration is a status, never retried.
import type { V1Secret } from '@kubernetes/client-node';
import { HERALD_API_VERSION, KINDS, type HeraldKind } from '../api/groups.js';
import type { DingTalkChannel, NotificationTemplate, NotificationTrigger } from '../api/generated.js';
import { READY, Reasons } from '../api/reasons.js';
import { DEFAULT_ALLOWED_HOSTS, type HostAllowList } from '../channels/allowlist.js';
import { resolveChannel } from '../channels/registry.js';
import type { EventSink } from '../kube/events.js';
import type { KubeWriter } from '../kube/patch.js';
import { apiMessageOf, statusCodeOf } from '../kube/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { compileTemplate, formatTemplateErrors } from '../templates/index.js';
import { compileTrigger, formatTriggerErrors, type CelLimits } from '../triggers/index.js';
import { conditionsEqual, findCondition, setCondition, type Condition } from './conditions.js';
import { rateLimitedCondition } from './channel-conditions.js';
import type { ChannelEntry, ConfigStore, Problem, Scoped, TemplateEntry, TriggerEntry } from './store.js';

export interface ConfigSources {
  trigger(namespace: string, name: string): NotificationTrigger | undefined;
  template(namespace: string, name: string): NotificationTemplate | undefined;
  channel(namespace: string, name: string): DingTalkChannel | undefined;
  /** A Secret from the cache; undefined when absent (the caller makes sure its namespace is watched). */
  secret(namespace: string, name: string): V1Secret | undefined;
}

export interface ConfigReconcilerDeps {
  store: ConfigStore;
  sources: ConfigSources;
  writer: KubeWriter;
  events: EventSink;
  log: Logger;
  metrics: Metrics;
  isLeader: () => boolean;
  /** The compiled meaning of a resource changed: re-evaluate the apps it can reach. */
  scopeChanged: (namespace: string) => void;
  /** A channel's runtime changed (new Secret, spec, or Ready state). */
  channelChanged: (namespace: string, name: string) => void;
  channelTimeoutMs?: number;
  /** Hosts channels may send to (default: https://oapi.dingtalk.com only). */
  allowedHosts?: HostAllowList;
  /** Bounds of trigger expressions (default: DEFAULT_CEL_LIMITS). */
  celLimits?: Readonly<CelLimits>;
  /** How long DingTalk's 130101 mutes a channel (--dingtalk-mute-seconds), for the channel's error messages. */
  muteMs?: number;
  /** Reconcile this channel again after `ms` (its RateLimited condition ends then). */
  recheckChannel?: (namespace: string, name: string, ms: number) => void;
  now?: () => number;
}

function readyCondition(problem: Problem | undefined, generation: number | undefined, message: string): Omit<Condition, 'lastTransitionTime'> {
  return problem
    ? { type: READY, status: 'False', reason: problem.reason, message: problem.message, observedGeneration: generation }
    : { type: READY, status: 'True', reason: Reasons.Ready, message, observedGeneration: generation };
}

/** A Secret's data decoded (the channel factory trims the values it uses). */
function secretData(secret: V1Secret): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [key, encoded] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(encoded, 'base64').toString('utf8');
  return data;
}

/** A Secret's part of a channel fingerprint (Secret names hold neither `|` nor `@`). */
const secretVersion = (name: string, secret: { metadata?: { resourceVersion?: string } } | undefined): string => `${name}@${secret?.metadata?.resourceVersion ?? 'absent'}`;

/** What a channel was resolved from: its generation and the version of each Secret it read, `gen|name@rv|…`. */
const channelFingerprint = (object: DingTalkChannel, secretVersions: string[]): string => [String(object.metadata.generation ?? 0), ...secretVersions].join('|');

export class ConfigReconciler {
  constructor(private readonly deps: ConfigReconcilerDeps) {}

  async reconcile(kind: HeraldKind, namespace: string, name: string): Promise<void> {
    const end = this.deps.metrics.reconcileDuration.startTimer({ kind });
    try {
      if (kind === 'NotificationTrigger') await this.reconcileTrigger(namespace, name);
      else if (kind === 'NotificationTemplate') await this.reconcileTemplate(namespace, name);
      else await this.reconcileChannel(namespace, name);
    } finally {
      end();
    }
  }

  /**
   * The store's entry for a compiled resource, compiled again (by `compile`, which gets
   * the previous entry) only when the generation changed; undefined when the object is gone.
   */
  private compiledEntry<K extends 'NotificationTrigger' | 'NotificationTemplate', O extends { metadata: { generation?: number } }, E extends { object: O; generation: number | undefined }>(
    kind: K,
    scoped: Scoped<E>,
    namespace: string,
    name: string,
    object: O | undefined,
    compile: (object: O, previous: E | undefined) => E,
  ): E | undefined {
    if (!object) {
      this.forget(kind, scoped, namespace, name);
      return undefined;
    }
    const entry = scoped.get(namespace, name);
    if (entry && entry.generation === object.metadata.generation) {
      entry.object = object;
      return entry;
    }
    const compiled = compile(object, entry);
    scoped.set(namespace, name, compiled);
    return compiled;
  }

  private async reconcileTrigger(namespace: string, name: string): Promise<void> {
    const { store, sources } = this.deps;
    const entry = this.compiledEntry('NotificationTrigger', store.triggers, namespace, name, sources.trigger(namespace, name), (object, previous): TriggerEntry => {
      const generation = object.metadata.generation;
      const result = compileTrigger(object.spec, this.deps.celLimits);
      const reason = !result.ok && result.errors.every((e) => e.code === 'cost_limit_exceeded') ? Reasons.CostLimitExceeded : Reasons.InvalidCondition;
      const next: TriggerEntry = result.ok
        ? { object, generation, compiled: result.trigger }
        : { object, generation, problem: { reason, message: formatTriggerErrors(result.errors) } };
      // A trigger that was and stays invalid changes nothing an app could see.
      if (!previous || previous.compiled !== undefined || next.compiled !== undefined) this.deps.scopeChanged(namespace);
      return next;
    });
    if (!entry) return;
    const { object } = entry;
    const templates = [...new Set(object.spec.conditions.flatMap((condition) => condition.send))];
    const conditionCount = object.spec.conditions.length;
    await this.publish('NotificationTrigger', object, entry.problem, `${conditionCount} condition(s) compiled and type-checked`, {
      conditionCount,
      templates: templates.join(','),
      ...(entry.lastEvaluationError !== undefined ? { lastEvaluationError: entry.lastEvaluationError } : {}),
    });
  }

  private async reconcileTemplate(namespace: string, name: string): Promise<void> {
    const { store, sources } = this.deps;
    const entry = this.compiledEntry('NotificationTemplate', store.templates, namespace, name, sources.template(namespace, name), (object): TemplateEntry => {
      const generation = object.metadata.generation;
      const result = compileTemplate(object.spec);
      const next: TemplateEntry = result.ok
        ? { object, generation, compiled: result.template }
        : { object, generation, problem: { reason: Reasons.InvalidTemplate, message: formatTemplateErrors(result.errors) } };
      // A budget failure outlives a restart, not a change of the template.
      const failure = object.status?.lastBudgetFailure;
      if (failure && generation !== undefined && failure.generation === generation) next.lastBudgetFailure = failure;
      this.deps.scopeChanged(namespace);
      return next;
    });
    if (!entry) return;
    await this.publish('NotificationTemplate', entry.object, entry.problem, 'every field compiles', { lastBudgetFailure: entry.lastBudgetFailure ?? null });
  }

  /** Asks the channel registry for the channel's sender; the fingerprint covers the spec and every Secret it read. */
  private async resolveChannel(object: DingTalkChannel): Promise<Omit<ChannelEntry, 'deliveryProblem' | 'lastSentTime' | 'lastError' | 'mutedUntil'>> {
    const namespace = object.metadata.namespace!;
    // Each Secret's version as it was read (it may change while the channel resolves).
    const versions: string[] = [];
    const readSecret = (name: string) => {
      const secret = this.deps.sources.secret(namespace, name);
      versions.push(secretVersion(name, secret));
      return secret ? secretData(secret) : undefined;
    };
    const resolution = await resolveChannel('dingtalk', {
      namespace,
      spec: object.spec,
      readSecret,
      options: { timeoutMs: this.deps.channelTimeoutMs, allowedHosts: this.deps.allowedHosts ?? DEFAULT_ALLOWED_HOSTS, throttledRetryMs: this.deps.muteMs },
    });
    const base = { object, perMinute: object.spec.rateLimit?.perMinute ?? 20, fingerprint: channelFingerprint(object, versions) };
    return resolution.ok ? { ...base, channel: resolution.channel } : { ...base, problem: { reason: resolution.problem.reason, message: resolution.problem.message } };
  }

  /** Whether a channel resolved with `fingerprint` would resolve the same now: the same generation and every Secret it read unchanged. */
  private stillResolved(fingerprint: string, object: DingTalkChannel): boolean {
    const secretNames = fingerprint.split('|').slice(1).map((version) => version.slice(0, version.lastIndexOf('@')));
    const versions = secretNames.map((name) => secretVersion(name, this.deps.sources.secret(object.metadata.namespace!, name)));
    return channelFingerprint(object, versions) === fingerprint;
  }

  private async reconcileChannel(namespace: string, name: string): Promise<void> {
    const { store, sources } = this.deps;
    const object = sources.channel(namespace, name);
    const previous = store.channels.get(namespace, name);
    if (!object) {
      if (this.forget('DingTalkChannel', store.channels, namespace, name)) this.deps.channelChanged(namespace, name);
      return;
    }
    // The echo of a status write (lastSentTime, the window) changes neither the spec nor a Secret: no new sender.
    const resolved = previous && this.stillResolved(previous.fingerprint, object) ? previous : await this.resolveChannel(object);
    let entry: ChannelEntry;
    if (previous && previous.fingerprint === resolved.fingerprint) {
      entry = previous;
      entry.object = object;
    } else {
      entry = {
        ...resolved,
        lastSentTime: previous?.lastSentTime ?? object.status?.lastSentTime,
        lastError: previous?.lastError ?? object.status?.lastError,
        mutedUntil: previous?.mutedUntil,
      };
      store.channels.set(namespace, name, entry);
      const subscriptionsChanged = JSON.stringify(previous?.object.spec.subscriptions) !== JSON.stringify(object.spec.subscriptions);
      if (!previous || subscriptionsChanged) this.deps.scopeChanged(namespace);
      this.deps.channelChanged(namespace, name);
    }
    const delivery = entry.deliveryProblem && entry.deliveryProblem.fingerprint === entry.fingerprint ? entry.deliveryProblem : undefined;
    const problem = entry.problem ?? delivery;
    // lastSentTime, lastError and sendWindow are channel-status.ts's to write (delivery's one writer per channel).
    const now = (this.deps.now ?? Date.now)();
    const rateLimited = rateLimitedCondition(entry, object.status?.sendWindow, object.metadata.generation, now);
    if (rateLimited.endsInMs !== undefined) this.deps.recheckChannel?.(namespace, name, rateLimited.endsInMs + 500);
    await this.publish('DingTalkChannel', object, problem, 'Secrets found and well formed', {}, [rateLimited.condition]);
  }

  /** A deleted resource leaves the store and the metrics; the apps it reached are re-evaluated. */
  private forget(kind: HeraldKind, scoped: { get(namespace: string, name: string): unknown; delete(namespace: string, name: string): void }, namespace: string, name: string): boolean {
    if (!scoped.get(namespace, name)) return false;
    scoped.delete(namespace, name);
    this.deps.metrics.resourceReady.remove({ kind, namespace, name });
    this.deps.scopeChanged(namespace);
    return true;
  }

  /** Writes status when it changed (leader only) and emits an Event when Ready flips. */
  private async publish(
    kind: HeraldKind,
    object: NotificationTrigger | NotificationTemplate | DingTalkChannel,
    problem: Problem | undefined,
    okMessage: string,
    extra: Record<string, unknown>,
    more: Array<Omit<Condition, 'lastTransitionTime'>> = [],
  ): Promise<void> {
    const { namespace, name, generation } = object.metadata as { namespace: string; name: string; generation?: number };
    this.deps.metrics.resourceReady.set({ kind, namespace, name }, problem ? 0 : 1);
    if (!this.deps.isLeader()) return;
    const current = (object.status?.conditions ?? []) as Condition[];
    const at = new Date();
    const conditions = more.reduce((list, condition) => setCondition(list, condition, at), setCondition(current, readyCondition(problem, generation, okMessage), at));
    const before = findCondition(current, READY);
    const after = findCondition(conditions, READY)!;
    const status: Record<string, unknown> = { observedGeneration: generation, conditions, ...extra };
    const unchanged =
      conditionsEqual(current, conditions) &&
      object.status?.observedGeneration === generation &&
      Object.entries(extra).every(([key, value]) => JSON.stringify((object.status as Record<string, unknown> | undefined)?.[key] ?? null) === JSON.stringify(value));
    if (unchanged) return;
    try {
      await this.deps.writer.patchHeraldStatus(KINDS[kind].plural, namespace, name, status);
    } catch (error) {
      if (statusCodeOf(error) === 404) return;
      this.deps.log.warn('could not write status', { kind, namespace, name, error: apiMessageOf(error) });
      throw error;
    }
    if (!before || before.status !== after.status || before.reason !== after.reason) {
      this.deps.events.record(
        { apiVersion: HERALD_API_VERSION, kind, namespace, name, uid: object.metadata.uid },
        problem ? 'Warning' : 'Normal',
        problem ? problem.reason : Reasons.Ready,
        problem ? problem.message : `${kind} is Ready: ${okMessage}`,
      );
      this.deps.log.info(problem ? `${kind} is not Ready` : `${kind} is Ready`, { namespace, name, reason: after.reason, message: after.message });
    }
  }
}
