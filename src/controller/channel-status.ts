// What a channel's status says about delivery, and its one writer: lastSentTime,
// lastError and the rate window's record (status.sendWindow, from the dispatcher's
// window-keeper.ts) go out together in one merge patch per write, at most every
// CHANNEL_STATUS_EVERY_MS per channel (from the start of the last write); at once when the window asks (a claim before a
// burst, a 130101 mute, a graceful stop), and such a write carries whatever else waited.
// A mute's write also carries the RateLimited condition. The delivery problem (a paused
// channel: Ready) and the mute are also handed to the config reconciler (`changed`),
// which owns Ready and ends RateLimited.
import { mutedConditions } from './channel-conditions.js';
import { metaTime } from './conditions.js';
import type { ConfigStore } from './store.js';
import type { WindowSource, WindowStore } from './window-keeper.js';

/** A channel's delivery status is written at most this often, unless a write is asked for at once. */
export const CHANNEL_STATUS_EVERY_MS = 2000;
/** Routine changes (lastSentTime, the window's sends) are written at most this often. */
export const CHANNEL_STATUS_BUSY_MS = 30_000;

export interface ChannelStatusDeps {
  store: ConfigStore;
  /** Merge-patches the channel's status subresource. */
  write: (namespace: string, name: string, status: Record<string, unknown>) => Promise<unknown>;
  /** Ready (a delivery problem) or RateLimited (a mute) may have changed: the config reconciler looks at the channel. */
  changed: (namespace: string, name: string) => void;
  /** A write failed (tried again within everyMs); the window's own failures go to its keeper. */
  writeFailed?: (namespace: string, name: string, error: unknown) => void;
  /** Runs a callback after a delay (default: an unref'd setTimeout). */
  schedule?: (callback: () => void, ms: number) => void;
  /** CHANNEL_STATUS_EVERY_MS unless given. */
  everyMs?: number;
  now?: () => number;
}

/** One channel's writes: never two at once, and at most one waiting (it carries every change made before it starts). */
interface Lane {
  namespace: string;
  name: string;
  source: WindowSource | undefined;
  /** Something changed since the last write started. */
  dirty: boolean;
  /** How long after the last write's start the changes waiting since may be written (the shortest asked for). */
  spacing: number;
  /** When the scheduled coalesced write fires, if one is scheduled. */
  dueAt: number | undefined;
  /** When the last write started. */
  started: number;
  /** When the channel last accepted a message (this process). */
  lastSentAt: number;
  chain: Promise<boolean>;
  waiting: Promise<boolean> | undefined;
}

export class ChannelStatus {
  private readonly lanes = new Map<string, Lane>();
  private readonly schedule: (callback: () => void, ms: number) => void;
  private readonly now: () => number;
  private readonly everyMs: number;
  private readonly busyMs: number;

  constructor(private readonly deps: ChannelStatusDeps) {
    this.schedule = deps.schedule ?? ((callback, ms) => setTimeout(callback, ms).unref?.());
    this.now = deps.now ?? Date.now;
    this.everyMs = deps.everyMs ?? CHANNEL_STATUS_EVERY_MS;
    this.busyMs = Math.max(this.everyMs, CHANNEL_STATUS_BUSY_MS);
  }

  /** The channel accepted a request at `now`. */
  sent(namespace: string, name: string, now: number): void {
    const entry = this.deps.store.channels.get(namespace, name);
    if (!entry) return;
    entry.lastSentTime = metaTime(now);
    const recovered = entry.lastError !== undefined;
    entry.lastError = undefined;
    const lane = this.lane(namespace, name);
    // The first send of a quiet spell (or of this process) is news; the sends that follow it are routine.
    const quiet = now - lane.lastSentAt >= this.busyMs;
    lane.lastSentAt = now;
    this.soon(lane, recovered || quiet ? this.everyMs : this.busyMs);
  }

  /** A request failed. */
  failed(namespace: string, name: string, reason: string, message: string): void {
    const entry = this.deps.store.channels.get(namespace, name);
    if (!entry) return;
    entry.lastError = `${reason}: ${message}`;
    this.soon(this.lane(namespace, name), this.everyMs);
  }

  /** The channel as a whole is misconfigured (paused), or healthy again (undefined). */
  problem(namespace: string, name: string, problem: { reason: string; message: string } | undefined): void {
    const entry = this.deps.store.channels.get(namespace, name);
    if (!entry) return;
    if (!problem && !entry.deliveryProblem) return;
    entry.deliveryProblem = problem ? { ...problem, fingerprint: entry.fingerprint } : undefined;
    this.deps.changed(namespace, name);
  }

  /**
   * DingTalk answered 130101: the channel shows RateLimited=True until `until`. The
   * window's mute write (at once) carries the condition; the config reconciler also
   * looks, to end it on time.
   */
  muted(namespace: string, name: string, until: number): void {
    const entry = this.deps.store.channels.get(namespace, name);
    if (!entry) return;
    entry.mutedUntil = Math.max(entry.mutedUntil ?? 0, until);
    this.deps.changed(namespace, name);
  }

  /** A dispatcher's rate window is stored with this channel's status from now on (a newer one replaces it). */
  attach(namespace: string, name: string, source: WindowSource): WindowStore {
    const lane = this.lane(namespace, name);
    lane.source = source;
    return {
      changed: () => {
        if (lane.source === source) this.soon(lane, this.busyMs);
      },
      flush: () => (lane.source === source ? this.write(lane) : Promise.resolve(false)),
      close: () => {
        if (lane.source === source) lane.source = undefined;
      },
    };
  }

  private lane(namespace: string, name: string): Lane {
    const key = `${namespace}/${name}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { namespace, name, source: undefined, dirty: false, spacing: this.busyMs, dueAt: undefined, started: -Infinity, lastSentAt: -Infinity, chain: Promise.resolve(true), waiting: undefined };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  /**
   * Written `spacing` after the last write started, and never sooner than everyMs from now
   * (a burst's changes go out together), unless a write asked for at once carries it first.
   */
  private soon(lane: Lane, spacing: number): void {
    lane.dirty = true;
    lane.spacing = Math.min(lane.spacing, spacing);
    this.plan(lane, Math.max(this.now() + this.everyMs, lane.started + lane.spacing));
  }

  /** One timer per lane: a sooner time replaces a later one (the later one then does nothing). */
  private plan(lane: Lane, at: number): void {
    if (lane.dueAt !== undefined && lane.dueAt <= at) return;
    lane.dueAt = at;
    this.schedule(() => {
      if (lane.dueAt !== at) return;
      lane.dueAt = undefined;
      if (!lane.dirty) return;
      const due = lane.started + lane.spacing;
      if (due > this.now()) this.plan(lane, due);
      else void this.write(lane);
    }, Math.max(0, at - this.now()));
  }

  /** The next write that starts after this call (one already waiting to start is shared). */
  private write(lane: Lane): Promise<boolean> {
    if (lane.waiting) return lane.waiting;
    const next = lane.chain.then(() => {
      lane.waiting = undefined;
      return this.writeNow(lane);
    });
    lane.waiting = next;
    lane.chain = next;
    return next;
  }

  private async writeNow(lane: Lane): Promise<boolean> {
    const { namespace, name } = lane;
    const entry = this.deps.store.channels.get(namespace, name);
    if (!entry) return false; // the channel is gone
    lane.dirty = false;
    lane.spacing = this.busyMs;
    const now = this.now();
    lane.started = now;
    const taken = lane.source?.take(now);
    const status: Record<string, unknown> = { lastError: entry.lastError ?? null };
    if (entry.lastSentTime) status.lastSentTime = entry.lastSentTime;
    if (taken) {
      // A merge patch keeps fields it does not mention: what the record no longer holds is removed explicitly.
      status.sendWindow = { claim: null, mutedUntil: null, lastSentTime: null, ...taken.record };
    }
    const conditions = mutedConditions(entry, taken?.record, now);
    if (conditions) status.conditions = conditions;
    try {
      await this.deps.write(namespace, name, status);
      taken?.stored(true);
      return true;
    } catch (error) {
      if (taken) taken.stored(false, error);
      else this.deps.writeFailed?.(namespace, name, error);
      this.soon(lane, this.everyMs);
      return false;
    }
  }
}
