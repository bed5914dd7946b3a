// What happens around a channel's answer: one dispatcher per channel sends the
// outbox entries it is given; each outcome becomes an outbox.ts transition handed to
// the MailStore (which makes a channel wait seconds at most), plus metrics, Events and the
// channel's lastSentTime/lastError. Only the leader delivers (start/stop). Each
// dispatcher's rate window is rebuilt from the channel's status.sendWindow and stored
// there by the channel's one status writer (channel-status.ts), in the same patches as
// lastSentTime; a 130101 from DingTalk mutes the channel (RateLimited condition, written at once).
import { EventReasons } from '../api/reasons.js';
import type { EventSink, InvolvedObject } from '../kube/events.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { ChannelStatus } from './channel-status.js';
import { ChannelDispatcher, type ChannelRuntime, type DispatchCallbacks, type DispatchItem } from './dispatcher.js';
import { Dispatchers, type Dispatcher } from './dispatchers.js';
import type { Outbox } from './ledger.js';
import type { MailStore } from './mail-store.js';
import { rebuildWindow } from './send-window.js';
import type { WindowOptions } from './window-keeper.js';
import { attempted, byDecision, completed, parked, rejected } from './outbox.js';
import type { ConfigStore } from './store.js';

export interface DeliveryDeps {
  store: ConfigStore;
  mail: Pick<MailStore, 'change'>;
  events: EventSink;
  metrics: Metrics;
  log: Logger;
  /** The Application as an Event's involved object, while it exists. */
  involvedFor: (appKey: string) => InvolvedObject | undefined;
  /** The channel's lastSentTime, lastError, delivery problem and mute; its writer stores the rate window too. */
  channelStatus: Pick<ChannelStatus, 'sent' | 'failed' | 'problem' | 'muted' | 'attach'>;
  /** A Normal Event per delivered message on its Application (--sent-events; default off: one API write less per message). */
  sentEvents?: boolean;
  /** How long a 130101 mutes a channel (--dingtalk-mute-seconds). */
  muteMs?: number;
  /** Makes a channel's dispatcher (default: a ChannelDispatcher). */
  createDispatcher?: (name: string, runtime: () => ChannelRuntime | undefined, callbacks: DispatchCallbacks, window: WindowOptions) => Dispatcher;
  now?: () => number;
}

export class Delivery {
  private readonly dispatchers: Dispatchers;
  private active = false;
  private readonly now: () => number;

  constructor(private readonly deps: DeliveryDeps) {
    this.now = deps.now ?? Date.now;
    const { store, metrics, log } = deps;
    const create = deps.createDispatcher ?? ((key, runtime, callbacks, window) => new ChannelDispatcher(key, runtime, callbacks, metrics, log.child({ channel: key }), this.now, window));
    this.dispatchers = new Dispatchers((namespace, name) =>
      create(
        `${namespace}/${name}`,
        () => {
          const channel = store.channels.get(namespace, name);
          return channel?.channel ? { channel: channel.channel, perMinute: channel.perMinute, fingerprint: channel.fingerprint } : undefined;
        },
        {
          delivered: (items) => this.delivered(namespace, name, items),
          retry: (item, attempts, next, reason, message) => this.retryLater(namespace, name, item, attempts, next, reason, message),
          parked: (item, reason, message) => this.parked(namespace, name, item, reason, message),
          rejected: (item, reason, message) => this.rejected(namespace, name, item, reason, message),
          channelProblem: (problem) => deps.channelStatus.problem(namespace, name, problem),
        },
        this.windowOptions(namespace, name),
      ),
    );
  }

  /** Start and leadership both create dispatchers anew: the window goes on from the stored record. */
  private windowOptions(namespace: string, name: string): WindowOptions {
    const { store, muteMs, channelStatus } = this.deps;
    const stored = store.channels.get(namespace, name);
    const initial = rebuildWindow(stored?.object.status?.sendWindow, {
      now: this.now(),
      perMinute: stored?.perMinute ?? 20,
      lastSentTime: stored?.object.status?.lastSentTime,
    });
    // One writer per channel: the record goes out with lastSentTime and lastError.
    return { initial, store: (source) => channelStatus.attach(namespace, name, source), muteMs, muted: (until) => channelStatus.muted(namespace, name, until) };
  }

  /** Leadership gained: entries handed over from now on are sent. */
  start(): void {
    this.active = true;
  }

  /** Leadership lost: stop sending, forget what the dispatchers held. */
  stop(): void {
    this.active = false;
    this.dispatchers.clear();
  }

  /** Let requests in flight finish (graceful shutdown). */
  drain(): Promise<void> {
    return this.dispatchers.drain();
  }

  /** Messages held by all dispatchers. */
  get backlog(): number {
    return this.dispatchers.backlog;
  }

  /** A channel's spec or Secret changed: a paused channel or parked entries get another chance. */
  channelChanged(namespace: string, name: string): void {
    this.dispatchers.configChanged(namespace, name);
  }

  /** Hands an app's outbox to the dispatchers: new entries are added, entries no longer there dropped. */
  deliver(appKey: string, outbox: Outbox): void {
    if (!this.active) return;
    this.dispatchers.keepOnly(appKey, outbox);
    const entries = Object.entries(outbox).sort(([, a], [, b]) => byDecision(a, b));
    for (const [id, entry] of entries) this.dispatchers.enqueue({ appKey, id, entry });
  }

  private async delivered(namespace: string, name: string, items: DispatchItem[]): Promise<void> {
    const { metrics, mail, events } = this.deps;
    const now = this.now();
    const channel = `${namespace}/${name}`;
    this.deps.channelStatus.sent(namespace, name, now);
    const byApp = new Map<string, DispatchItem[]>();
    for (const item of items) {
      byApp.set(item.appKey, [...(byApp.get(item.appKey) ?? []), item]);
      metrics.deliveries.inc({ trigger: item.entry.trigger, channel, result: items.length > 1 ? 'digested' : 'sent' });
      metrics.deliveryLatency.observe({ channel }, Math.max(0, now - item.entry.decided) / 1000);
    }
    const writes: Array<Promise<void>> = [];
    for (const [appKey, appItems] of byApp) {
      const ids = appItems.map((item) => item.id);
      const sent: Outbox = Object.fromEntries(appItems.map((item) => [item.id, item.entry]));
      writes.push(mail.change(appKey, (state) => completed(state, ids, now, sent)));
      const triggers = [...new Set(appItems.map((item) => item.entry.trigger))].join(', ');
      this.deps.log.info('notification sent', { app: appKey, trigger: triggers, channel, ...(items.length > 1 ? { digestOf: items.length } : {}) });
      const involved = this.deps.sentEvents ? this.deps.involvedFor(appKey) : undefined;
      if (involved) {
        events.record(involved, 'Normal', EventReasons.NotificationSent, `trigger ${triggers} → channel ${name}${items.length > 1 ? ` (in a digest of ${items.length})` : ''}`);
      }
    }
    await Promise.all(writes);
  }

  private retryLater(namespace: string, name: string, item: DispatchItem, attempts: number, next: number, reason: string, message: string): Promise<void> {
    const channel = `${namespace}/${name}`;
    this.deps.metrics.deliveries.inc({ trigger: item.entry.trigger, channel, result: 'failed' });
    this.deps.log.warn('delivery failed; will retry', { app: item.appKey, channel, trigger: item.entry.trigger, attempts, retryInMs: next - this.now(), reason, error: message });
    this.deps.channelStatus.failed(namespace, name, reason, message);
    return this.deps.mail.change(item.appKey, (state) => attempted(state, item.id, attempts, next));
  }

  private parked(namespace: string, name: string, item: DispatchItem, reason: string, message: string): Promise<void> {
    this.deps.metrics.deliveries.inc({ trigger: item.entry.trigger, channel: `${namespace}/${name}`, result: 'failed' });
    this.deps.channelStatus.failed(namespace, name, reason, message);
    const involved = this.deps.involvedFor(item.appKey);
    if (involved) {
      this.deps.events.record(involved, 'Warning', EventReasons.NotificationFailed, `trigger ${item.entry.trigger} → channel ${name}: ${reason}: ${message} (kept in the outbox until the channel is fixed)`);
    }
    return this.deps.mail.change(item.appKey, (state) => parked(state, item.id, reason));
  }

  /** One message the channel refused on its own (a refused digest never gets here: it is split). */
  private rejected(namespace: string, name: string, item: DispatchItem, reason: string, message: string): Promise<void> {
    const channel = `${namespace}/${name}`;
    this.deps.metrics.deliveries.inc({ trigger: item.entry.trigger, channel, result: 'rejected' });
    this.deps.log.error('the channel refused a message for good', { app: item.appKey, channel, trigger: item.entry.trigger, reason, error: message });
    const involved = this.deps.involvedFor(item.appKey);
    if (involved) this.deps.events.record(involved, 'Warning', EventReasons.NotificationFailed, `trigger ${item.entry.trigger} → channel ${name}: ${reason}: ${message} (not retried)`);
    this.deps.channelStatus.failed(namespace, name, reason, message);
    const now = this.now();
    return this.deps.mail.change(item.appKey, (state) => rejected(state, item.id, now));
  }
}
