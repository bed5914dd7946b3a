// What a channel's status says about delivery: lastSentTime, lastError, the delivery
// problem (a paused channel) and a mute (130101), kept on the channel's store entry. A
// change asks for the status to be written again: at once for a problem or a mute, at
// most every CHANNEL_STATUS_EVERY_MS per channel for lastSentTime/lastError.
import { metaTime } from './conditions.js';
import type { ConfigStore } from './store.js';

/** lastSentTime/lastError are written at most this often per channel. */
export const CHANNEL_STATUS_EVERY_MS = 2000;

export interface ChannelStatusDeps {
  store: ConfigStore;
  /** The channel's status should be written again. */
  changed: (namespace: string, name: string) => void;
  /** Runs a callback after a delay (default: an unref'd setTimeout). */
  schedule?: (callback: () => void, ms: number) => void;
  everyMs?: number;
}

export class ChannelStatus {
  private readonly due = new Set<string>();
  private readonly schedule: (callback: () => void, ms: number) => void;

  constructor(private readonly deps: ChannelStatusDeps) {
    this.schedule = deps.schedule ?? ((callback, ms) => setTimeout(callback, ms).unref?.());
  }

  /** The channel accepted a request at `now`. */
  sent(namespace: string, name: string, now: number): void {
    const entry = this.deps.store.channels.get(namespace, name);
    if (!entry) return;
    entry.lastSentTime = metaTime(now);
    entry.lastError = undefined;
    this.soon(namespace, name);
  }

  /** A request failed. */
  failed(namespace: string, name: string, reason: string, message: string): void {
    const entry = this.deps.store.channels.get(namespace, name);
    if (!entry) return;
    entry.lastError = `${reason}: ${message}`;
    this.soon(namespace, name);
  }

  /** The channel as a whole is misconfigured (paused), or healthy again (undefined). */
  problem(namespace: string, name: string, problem: { reason: string; message: string } | undefined): void {
    const entry = this.deps.store.channels.get(namespace, name);
    if (!entry) return;
    if (!problem && !entry.deliveryProblem) return;
    entry.deliveryProblem = problem ? { ...problem, fingerprint: entry.fingerprint } : undefined;
    this.deps.changed(namespace, name);
  }

  /** DingTalk answered 130101: the channel shows RateLimited=True until `until` (written now, not coalesced). */
  muted(namespace: string, name: string, until: number): void {
    const entry = this.deps.store.channels.get(namespace, name);
    if (!entry) return;
    entry.mutedUntil = Math.max(entry.mutedUntil ?? 0, until);
    this.deps.changed(namespace, name);
  }

  private soon(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    if (this.due.has(key)) return;
    this.due.add(key);
    this.schedule(() => {
      this.due.delete(key);
      this.deps.changed(namespace, name);
    }, this.deps.everyMs ?? CHANNEL_STATUS_EVERY_MS);
  }
}
