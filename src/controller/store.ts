// What the controller currently knows about herald's own resources, compiled:
// triggers and templates ready to evaluate/render, channels ready to send, and
// the problems to report on their status. Filled by the config reconciler.
import type { DingTalkChannel, NotificationTemplate, NotificationTrigger } from '../api/generated.js';
import type { Channel } from '../channels/channel.js';
import type { CompiledTrigger } from '../triggers/index.js';
import type { CompiledTemplate } from '../templates/index.js';
import type { NamespacedLookup } from './routing.js';

export interface Problem {
  reason: string;
  message: string;
}

export interface TriggerEntry {
  object: NotificationTrigger;
  generation: number | undefined;
  compiled?: CompiledTrigger;
  problem?: Problem;
  /** Last runtime evaluation error (not a compile error), for status.lastEvaluationError. */
  lastEvaluationError?: string;
}

export interface TemplateEntry {
  object: NotificationTemplate;
  generation: number | undefined;
  compiled?: CompiledTemplate;
  problem?: Problem;
  /** The last render stopped by a budget, for status.lastBudgetFailure (this generation only). */
  lastBudgetFailure?: TemplateBudgetFailure;
}

export type TemplateBudgetFailure = NonNullable<NonNullable<NotificationTemplate['status']>['lastBudgetFailure']>;

export interface ChannelEntry {
  object: DingTalkChannel;
  /** Changes when the spec or a referenced Secret changes. */
  fingerprint: string;
  channel?: Channel;
  perMinute: number;
  /** Configuration problem found while reconciling (Secret missing, malformed…). */
  problem?: Problem;
  /** Problem reported by DingTalk while sending (token rejected…), for this fingerprint. */
  deliveryProblem?: Problem & { fingerprint: string };
  lastSentTime?: string;
  lastError?: string;
  /** DingTalk answered 130101: muted until then (ms), for the RateLimited condition. */
  mutedUntil?: number;
}

/** Entries by namespace and name. */
export class Scoped<T> implements NamespacedLookup<T> {
  private readonly byNamespace = new Map<string, Map<string, T>>();
  get(namespace: string, name: string): T | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }
  list(namespace: string): T[] {
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }
  all(): T[] {
    return [...this.byNamespace.values()].flatMap((map) => [...map.values()]);
  }
  set(namespace: string, name: string, value: T): void {
    let map = this.byNamespace.get(namespace);
    if (!map) this.byNamespace.set(namespace, (map = new Map()));
    map.set(name, value);
  }
  delete(namespace: string, name: string): void {
    const map = this.byNamespace.get(namespace);
    map?.delete(name);
    if (map?.size === 0) this.byNamespace.delete(namespace);
  }
}

export class ConfigStore {
  readonly triggers = new Scoped<TriggerEntry>();
  readonly templates = new Scoped<TemplateEntry>();
  readonly channels = new Scoped<ChannelEntry>();
  /** Channel objects, for routing. */
  readonly channelObjects: NamespacedLookup<DingTalkChannel> = {
    get: (namespace, name) => this.channels.get(namespace, name)?.object,
    list: (namespace) => this.channels.list(namespace).map((entry) => entry.object),
  };

  /** Names of the namespace's channels that refer to this Secret. */
  channelsUsingSecret(namespace: string, secret: string | undefined): string[] {
    return this.channels
      .list(namespace)
      .filter(({ object: { spec } }) => spec.webhook?.urlSecretRef.name === secret || spec.webhook?.signSecretRef?.name === secret)
      .map(({ object }) => object.metadata.name as string);
  }
}
