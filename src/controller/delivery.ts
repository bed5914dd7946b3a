// What happens around a channel's answer: one dispatcher per channel sends the
// outbox entries it is given; each outcome becomes an outbox.ts transition handed to
// the MailStore (which makes a channel wait seconds at most), plus metrics, Events and the
// channel's lastSentTime/lastError. Only the leader delivers (start/stop). Each
// dispatcher's rate window is rebuilt from the channel's status.sendWindow and stored
// there; a 130101 from DingTalk mutes the channel (RateLimited condition, written at once).
import { EventReasons } from '../api/reasons.js';
import type { EventSink, InvolvedObject } from '../kube/events.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { ChannelDispatcher, type DispatchItem } from './dispatcher.js';
import type { Outbox, OutboxEntry } from './ledger.js';
import type { MailStore } from './mail-store.js';
import { rebuildWindow, type SendWindowRecord } from './send-window.js';
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
  /** The channel's status (lastSentTime, lastError, delivery problem) should be written again. */
  channelStatusChanged: (namespace: string, name: string) => void;
  /** Merge-patches the channel's status (status.sendWindow); without it the window is not stored. */
  writeChannelStatus?: (namespace: string, name: string, status: Record<string, unknown>) => Promise<unknown>;
  /** How long a 130101 mutes a channel (--dingtalk-mute-seconds). */
  muteMs?: number;
  now?: () => number;
}

/** lastSentTime/lastError are written at most this often per channel. */
const CHANNEL_STATUS_EVERY_MS = 2000;

export class Delivery {
  private readonly dispatchers = new Map<string, ChannelDispatcher>();
  private readonly statusTimers = new Map<string, NodeJS.Timeout>();
  private active = false;
  private readonly now: () => number;

  constructor(private readonly deps: DeliveryDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Leadership gained: entries handed over from now on are sent. */
  start(): void {
    this.active = true;
  }

  /** Leadership lost: stop sending, forget what the dispatchers held. */
  stop(): void {
    this.active = false;
    for (const dispatcher of this.dispatchers.values()) dispatcher.stop();
    this.dispatchers.clear();
  }

  /** Let requests in flight finish (graceful shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.dispatchers.values()].map((dispatcher) => dispatcher.drain()));
  }

  /** Messages held by all dispatchers. */
  get backlog(): number {
    let total = 0;
    for (const dispatcher of this.dispatchers.values()) total += dispatcher.size;
    return total;
  }

  /** A channel's spec or Secret changed: a paused channel or parked entries get another chance. */
  channelChanged(namespace: string, name: string): void {
    this.dispatchers.get(`${namespace}/${name}`)?.configChanged();
  }

  /** Hands an app's outbox to the dispatchers: new entries are added, entries no longer there dropped. */
  deliver(appKey: string, outbox: Outbox): void {
    if (!this.active) return;
    for (const dispatcher of this.dispatchers.values()) dispatcher.keepOnly(appKey, outbox);
    const entries = Object.entries(outbox).sort(([, a], [, b]) => byDecision(a, b));
    for (const [id, entry] of entries) this.dispatcherFor(entry).enqueue({ appKey, id, entry });
  }

  private dispatcherFor(entry: OutboxEntry): ChannelDispatcher {
    const { channelNamespace: namespace, channel: name } = entry;
    const key = `${namespace}/${name}`;
    let dispatcher = this.dispatchers.get(key);
    if (!dispatcher) {
      const { store, log, metrics, writeChannelStatus } = this.deps;
      // Start and leadership both create dispatchers anew: the window goes on from the stored record.
      const stored = store.channels.get(namespace, name);
      const initial = rebuildWindow(stored?.object.status?.sendWindow, {
        now: this.now(),
        perMinute: stored?.perMinute ?? 20,
        lastSentTime: stored?.object.status?.lastSentTime,
      });
      // A merge patch keeps fields it does not mention: what the record no longer holds is removed explicitly.
      const write = writeChannelStatus
        ? async (record: SendWindowRecord) => {
            await writeChannelStatus(namespace, name, { sendWindow: { claim: null, mutedUntil: null, lastSentTime: null, ...record } });
          }
        : undefined;
      dispatcher = new ChannelDispatcher(
        key,
        () => {
          const channel = store.channels.get(namespace, name);
          return channel?.channel ? { channel: channel.channel, perMinute: channel.perMinute, fingerprint: channel.fingerprint } : undefined;
        },
        {
          delivered: (items) => this.delivered(namespace, name, items),
          retry: (item, attempts, next, reason, message) => this.retryLater(namespace, name, item, attempts, next, reason, message),
          parked: (item, reason, message) => this.parked(namespace, name, item, reason, message),
          rejected: (item, reason, message) => this.rejected(namespace, name, item, reason, message),
          channelProblem: (problem) => this.channelProblem(namespace, name, problem),
        },
        metrics,
        log.child({ channel: key }),
        this.now,
        { initial, write, muteMs: this.deps.muteMs, muted: (until) => this.muted(namespace, name, until) },
      );
      this.dispatchers.set(key, dispatcher);
    }
    return dispatcher;
  }

  private statusSoon(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    if (this.statusTimers.has(key)) return;
    const timer = setTimeout(() => {
      this.statusTimers.delete(key);
      this.deps.channelStatusChanged(namespace, name);
    }, CHANNEL_STATUS_EVERY_MS);
    timer.unref?.();
    this.statusTimers.set(key, timer);
  }

  private lastError(namespace: string, name: string, reason: string, message: string): void {
    const entry = this.deps.store.channels.get(namespace, name);
    if (!entry) return;
    entry.lastError = `${reason}: ${message}`;
    this.statusSoon(namespace, name);
  }

  private async delivered(namespace: string, name: string, items: DispatchItem[]): Promise<void> {
    const { metrics, mail, events } = this.deps;
    const now = this.now();
    const channel = `${namespace}/${name}`;
    const entry = this.deps.store.channels.get(namespace, name);
    if (entry) {
      entry.lastSentTime = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
      entry.lastError = undefined;
      this.statusSoon(namespace, name);
    }
    const byApp = new Map<string, DispatchItem[]>();
    for (const item of items) {
      byApp.set(item.appKey, [...(byApp.get(item.appKey) ?? []), item]);
      metrics.deliveries.inc({ trigger: item.entry.trigger, channel, result: items.length > 1 ? 'digested' : 'sent' });
      metrics.deliveryLatency.observe({ channel }, Math.max(0, now - item.entry.decided) / 1000);
    }
    const writes: Array<Promise<void>> = [];
    for (const [appKey, appItems] of byApp) {
      const ids = appItems.map((item) => item.id);
      writes.push(mail.change(appKey, (state) => completed(state, ids, now)));
      const involved = this.deps.involvedFor(appKey);
      if (involved) {
        const triggers = [...new Set(appItems.map((item) => item.entry.trigger))].join(', ');
        events.record(involved, 'Normal', EventReasons.NotificationSent, `trigger ${triggers} → channel ${name}${items.length > 1 ? ` (in a digest of ${items.length})` : ''}`);
      }
    }
    await Promise.all(writes);
  }

  private retryLater(namespace: string, name: string, item: DispatchItem, attempts: number, next: number, reason: string, message: string): Promise<void> {
    const channel = `${namespace}/${name}`;
    this.deps.metrics.deliveries.inc({ trigger: item.entry.trigger, channel, result: 'failed' });
    this.deps.log.warn('delivery failed; will retry', { app: item.appKey, channel, trigger: item.entry.trigger, attempts, retryInMs: next - this.now(), reason, error: message });
    this.lastError(namespace, name, reason, message);
    return this.deps.mail.change(item.appKey, (state) => attempted(state, item.id, attempts, next));
  }

  private parked(namespace: string, name: string, item: DispatchItem, reason: string, message: string): Promise<void> {
    this.deps.metrics.deliveries.inc({ trigger: item.entry.trigger, channel: `${namespace}/${name}`, result: 'failed' });
    this.lastError(namespace, name, reason, message);
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
    this.lastError(namespace, name, reason, message);
    const now = this.now();
    return this.deps.mail.change(item.appKey, (state) => rejected(state, item.id, now));
  }

  /** DingTalk answered 130101: the channel shows RateLimited=True until `until` (written now, not coalesced). */
  private muted(namespace: string, name: string, until: number): void {
    const entry = this.deps.store.channels.get(namespace, name);
    if (!entry) return;
    entry.mutedUntil = Math.max(entry.mutedUntil ?? 0, until);
    this.deps.channelStatusChanged(namespace, name);
  }

  private channelProblem(namespace: string, name: string, problem: { reason: string; message: string } | undefined): void {
    const entry = this.deps.store.channels.get(namespace, name);
    if (!entry) return;
    if (!problem && !entry.deliveryProblem) return;
    entry.deliveryProblem = problem ? { ...problem, fingerprint: entry.fingerprint } : undefined;
    this.deps.channelStatusChanged(namespace, name);
  }
}
