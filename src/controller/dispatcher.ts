// One dispatcher per channel: sends the outbox entries of all apps to that channel,
// one request at a time, within the channel's rate limit. When more messages are
// ready than the rolling minute has room for, the last free slot carries a digest
// of all of them instead of letting them wait for minutes. Failures are classified:
// transient → retried with capped backoff; channel configuration → the channel is
// paused until its spec or Secret changes (DingTalk would mute or ignore us);
// a message the channel can never take → given up with an Event, the rest go on;
// a digest the channel refuses → sent again as two halves, down to single messages.
// An Application's messages go out in the order they were decided (waiting.ts holds
// what waits and says what may go now).
// While the channel is unreachable one message probes it every PROBE_MS; the first
// success lets every waiting message go at once. The rate window (window-keeper.ts) is
// rebuilt from the channel's status.sendWindow and kept there; DingTalk's 130101 mutes
// the whole channel for muteMs, after which what waited goes out (as digests when many).
// The lane does not wait for the record of a message the channel accepted: its completion
// (delivered) runs in the background while the next message goes, at most
// MAX_PENDING_COMPLETIONS of them at once (completions.ts); failures are recorded in line.
import { ConfigurationError, TransientError, errorMessage } from '../errors.js';
import { ChannelReasons, MessageRejectedError } from '../channels/errors.js';
import type { Channel, OutgoingMessage } from '../channels/channel.js';
import { backoffDelay } from '../backoff.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Outbox, OutboxEntry } from './ledger.js';
import { attemptedEntry, parkedEntry } from './outbox.js';
import { WaitingItems } from './waiting.js';
import { Completions } from './completions.js';
import { emptyWindow } from './send-window.js';
import { DINGTALK_MUTE_MS, WindowKeeper, type WindowOptions } from './window-keeper.js';

export interface DispatchItem {
  appKey: string;
  id: string;
  entry: OutboxEntry;
  /** The channel fingerprint when the item was parked; a new fingerprint unparks it. */
  parkedFingerprint?: string;
}

/** What the dispatcher needs to know about the channel right now. */
export interface ChannelRuntime {
  channel: Channel;
  perMinute: number;
  /** Changes whenever the spec or a referenced Secret changes; a paused channel resumes on change. */
  fingerprint: string;
}

export interface DispatchCallbacks {
  /**
   * The channel accepted these items (one request, or one digest). Runs in the background
   * while the lane goes on; what it hands to the MailStore must be handed over before its
   * first await (reads see the items as done at once). A rejection is logged.
   */
  delivered(items: DispatchItem[], response: unknown): Promise<void>;
  /** Transient failure: persist attempts and next time. */
  retry(item: DispatchItem, attempts: number, next: number, reason: string, message: string): Promise<void>;
  /** The item waits for a configuration fix (keyword missing, robot rejected, token invalid). */
  parked(item: DispatchItem, reason: string, message: string): Promise<void>;
  /** The channel will never take this item: record it as handled with an error. */
  rejected(item: DispatchItem, reason: string, message: string): Promise<void>;
  /** The channel as a whole is misconfigured (paused) or healthy again (undefined). */
  channelProblem(problem: { reason: string; message: string } | undefined): void;
}

/** A claim that could not be written is tried again after this long. */
const CLAIM_RETRY_MS = 2000;
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 5 * 60_000;
const PAUSED_PROBE_MS = 10 * 60_000;
const MAX_DIGEST_ITEMS = 50;
/** While the channel is unreachable, one message tries it this often whatever its own backoff says. */
const PROBE_MS = 30_000;

function reasonOf(error: unknown): string {
  if (error instanceof ConfigurationError) return error.reason;
  if (error && typeof error === 'object' && typeof (error as { reason?: unknown }).reason === 'string') return (error as { reason: string }).reason;
  return ChannelReasons.Unavailable;
}

export class ChannelDispatcher {
  private readonly items: WaitingItems;
  private readonly window: WindowKeeper;
  private running = false;
  private stopped = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private paused: { fingerprint: string; until: number } | undefined;
  private abort = new AbortController();
  private draining = false;
  /** Parts of refused digests still to send, first first. */
  private readonly splits: DispatchItem[][] = [];
  /** Set while the channel is unreachable: when it last failed. */
  private outageSince: number | undefined;
  private lastProbe = 0;
  /** Completions of accepted messages still being recorded. */
  private readonly completions: Completions;

  constructor(
    readonly name: string,
    private readonly runtime: () => ChannelRuntime | undefined,
    private readonly callbacks: DispatchCallbacks,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly windowOptions: WindowOptions = {},
  ) {
    // herald_outbox_pending{channel}: what this dispatcher holds, i.e. what waits for the channel.
    this.items = new WaitingItems((size) => metrics.outboxPending.set({ channel: name }, size));
    this.window = new WindowKeeper(windowOptions.initial ?? emptyWindow(), windowOptions.store, now, (error) =>
      log.warn('could not store the rate window on the channel status', { channel: name, error: errorMessage(error) }),
    );
    this.completions = new Completions((error) =>
      log.error('could not record messages the channel accepted; the outbox still holds them', { channel: name, error: errorMessage(error) }),
    );
  }

  get size(): number {
    return this.items.size;
  }

  /** Adds an item unless the same (app, id) is already held (a fold entry is replaced by its newer version). */
  enqueue(item: DispatchItem): void {
    if (this.stopped) return;
    if (this.items.add(item)) this.kick();
  }

  /** Drops the app's items that its outbox no longer holds (folded away, or the app is gone). */
  keepOnly(appKey: string, outbox: Outbox): void {
    this.items.keepOnly(appKey, outbox);
  }

  /** The channel's config changed: a paused channel or parked items get another chance. */
  configChanged(): void {
    this.kick();
  }

  kick(): void {
    if (this.wake) {
      const wake = this.wake;
      this.wake = undefined;
      clearTimeout(this.wakeTimer);
      wake();
      return;
    }
    if (!this.running && !this.stopped && !this.draining) void this.loop();
  }

  /**
   * Graceful shutdown: take nothing new, let the request in flight and every pending
   * completion (the patches that record them) finish, so a restart does not repeat a
   * message DingTalk already took.
   */
  async drain(): Promise<void> {
    this.draining = true;
    this.kick();
    while (this.running) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.completions.settled();
    await this.window.flush(true);
  }

  /** Leadership lost: pending completions finish on their own (their errors are logged). */
  stop(): void {
    this.stopped = true;
    this.window.close();
    this.abort.abort();
    this.items.clear();
    this.splits.length = 0;
    this.metrics.outboxPending.remove({ channel: this.name });
    this.kick();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.wakeTimer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, Math.max(1, ms));
      this.wakeTimer.unref?.();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (!this.stopped && !this.draining) {
        const runtime = this.runtime();
        const now = this.now();
        if (!runtime) {
          if (this.items.size === 0) return;
          await this.sleep(PAUSED_PROBE_MS);
          continue;
        }
        if (this.paused) {
          if (this.paused.fingerprint === runtime.fingerprint && now < this.paused.until) {
            await this.sleep(this.paused.until - now);
            continue;
          }
          this.paused = undefined;
          this.items.unpark();
        }
        this.items.unpark(runtime.fingerprint);
        const split = this.nextSplit();
        const { ready, waiting } = this.items.ready(now);
        if (!split && ready.length === 0) {
          if (waiting.length === 0) {
            // A steady lane claims ahead while idle, so that its next message does not wait for the write.
            if (this.window.claimAhead(runtime.perMinute) && (await this.window.claim(1, runtime.perMinute))) continue;
            return;
          }
          const probeAt = this.outageSince !== undefined ? Math.max(this.lastProbe, this.outageSince) + PROBE_MS : Infinity;
          if (now < probeAt) {
            await this.sleep(Math.min(probeAt, ...waiting.map((item) => item.entry.next)) - now);
            continue;
          }
          ready.push(waiting[0]!);
          this.lastProbe = now;
        }
        const mutedUntil = this.window.mutedUntil();
        if (mutedUntil !== undefined) {
          await this.sleep(mutedUntil - now);
          continue;
        }
        const slots = this.window.free(runtime.perMinute);
        if (slots <= 0) {
          this.metrics.rateLimited.inc({ channel: this.name, source: 'herald' }, split ? split.length : ready.length);
          await this.sleep(this.window.nextFreeAt(runtime.perMinute) - now);
          continue;
        }
        if (this.completions.full) {
          // As many accepted messages as a crash may repeat are still being recorded: wait for one.
          await this.completions.room();
          continue;
        }
        const useDigest = !split && slots === 1 && ready.length > 1 && runtime.channel.sendDigest !== undefined;
        const planned = split || useDigest ? 1 : Math.min(ready.length, slots);
        if (this.window.needsClaim(planned)) {
          // A burst: the record says so before it goes out (then the loop looks again).
          if (!(await this.window.claim(planned, runtime.perMinute))) await this.sleep(CLAIM_RETRY_MS);
          continue;
        }
        if (split) {
          this.splits.shift();
          if (split.length === 1 || runtime.channel.sendDigest === undefined) await this.sendOne(runtime, split[0]!);
          else await this.sendDigest(runtime, split);
          continue;
        }
        if (useDigest) await this.sendDigest(runtime, ready.slice(0, MAX_DIGEST_ITEMS));
        else await this.sendOne(runtime, ready[0]!);
      }
    } catch (error) {
      this.log.error('dispatcher loop failed; restarting it', { channel: this.name, error });
      setTimeout(() => this.kick(), 1000).unref?.();
    } finally {
      this.running = false;
    }
  }

  /** The next part of a refused digest whose items still wait (parked or sent ones drop out). */
  private nextSplit(): DispatchItem[] | undefined {
    while (this.splits.length > 0) {
      const part = this.splits[0]!.filter((item) => this.items.holds(item) && !item.entry.parked);
      if (part.length > 0) {
        this.splits[0] = part;
        return part;
      }
      this.splits.shift();
    }
    return undefined;
  }

  /** The channel took a message: if it was unreachable, every waiting message may go now. */
  private reachable(): void {
    if (this.outageSince === undefined) return;
    this.outageSince = undefined;
    this.items.retryNow();
  }

  /** Counts a send's slot from when its answer arrived (sends are one at a time). */
  private async counted<T>(request: Promise<T>): Promise<T> {
    let accepted = false;
    try {
      const receipt = await request;
      accepted = true;
      return receipt;
    } finally {
      this.window.answered(accepted);
    }
  }

  private async sendOne(runtime: ChannelRuntime, item: DispatchItem): Promise<void> {
    this.window.sent();
    try {
      const receipt = await this.counted(runtime.channel.send(item.entry.body as unknown as OutgoingMessage, this.abort.signal));
      this.items.forget(item);
      this.reachable();
      this.callbacks.channelProblem(undefined);
      this.completions.start(() => this.callbacks.delivered([item], receipt.response));
    } catch (error) {
      await this.failed(runtime, [item], error);
    }
  }

  private async sendDigest(runtime: ChannelRuntime, items: DispatchItem[]): Promise<void> {
    this.window.sent();
    try {
      const receipt = await this.counted(runtime.channel.sendDigest!(items.map((item) => item.entry.body as unknown as OutgoingMessage), this.abort.signal));
      const included = items.slice(0, receipt.included);
      for (const item of included) this.items.forget(item);
      this.reachable();
      this.metrics.digests.inc({ channel: this.name });
      this.callbacks.channelProblem(undefined);
      this.log.info('sent a digest of waiting messages', { channel: this.name, messages: included.length, left: items.length - included.length });
      this.completions.start(() => this.callbacks.delivered(included, receipt.response));
    } catch (error) {
      await this.failed(runtime, items, error);
    }
  }

  private async failed(runtime: ChannelRuntime, items: DispatchItem[], error: unknown): Promise<void> {
    const reason = reasonOf(error);
    const message = errorMessage(error);
    if (reason === ChannelReasons.KeywordMissing) {
      // Deterministic for these messages only; they wait for the channel's keywords to change.
      for (const item of items) {
        item.entry = parkedEntry(item.entry, reason);
        item.parkedFingerprint = runtime.fingerprint;
        await this.callbacks.parked(item, reason, message);
      }
      return;
    }
    if (error instanceof MessageRejectedError) {
      if (items.length > 1) {
        // Nothing in a refused digest is done: its halves go again, down to single messages.
        const half = Math.ceil(items.length / 2);
        this.splits.unshift(items.slice(0, half), items.slice(half));
        this.log.warn('the channel refused a digest; sending it again in two parts', { channel: this.name, messages: items.length, reason, error: message });
        return;
      }
      for (const item of items) {
        this.items.forget(item);
        await this.callbacks.rejected(item, reason, message);
      }
      return;
    }
    if (error instanceof ConfigurationError) {
      this.paused = { fingerprint: runtime.fingerprint, until: this.now() + PAUSED_PROBE_MS };
      this.callbacks.channelProblem({ reason, message });
      for (const item of items) {
        item.entry = parkedEntry(item.entry, reason);
        item.parkedFingerprint = runtime.fingerprint;
        await this.callbacks.parked(item, reason, message);
      }
      this.log.warn('channel paused until its configuration changes', { channel: this.name, reason, error: message });
      return;
    }
    if (reason === ChannelReasons.Unavailable && this.outageSince === undefined) this.outageSince = this.now();
    // 130101: DingTalk mutes the robot; the whole channel waits, then what waited goes out.
    const mutedUntil = reason === ChannelReasons.Throttled ? await this.muted() : undefined;
    for (const item of items) {
      const attempts = item.entry.attempts + 1;
      const retryAfter = error instanceof TransientError ? error.retryAfterMs ?? 0 : 0;
      const next = mutedUntil ?? this.now() + Math.max(retryAfter, backoffDelay(attempts, RETRY_BASE_MS, RETRY_MAX_MS));
      item.entry = attemptedEntry(item.entry, attempts, next);
      this.metrics.retries.inc({ channel: this.name, reason });
      if (reason === ChannelReasons.Throttled) this.metrics.rateLimited.inc({ channel: this.name, source: 'dingtalk' });
      await this.callbacks.retry(item, attempts, next, reason, message);
    }
  }

  private async muted(): Promise<number> {
    const until = this.now() + (this.windowOptions.muteMs ?? DINGTALK_MUTE_MS);
    await this.window.mute(until);
    this.windowOptions.muted?.(until);
    this.log.warn('DingTalk answered 130101: the channel is muted', { channel: this.name, until: new Date(until).toISOString() });
    return until;
  }
}
