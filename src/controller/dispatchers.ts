// The set of per-channel dispatchers of the leader, keyed by `<namespace>/<name>`,
// each created on the first entry for its channel.
import type { Outbox } from './ledger.js';
import type { ChannelDispatcher, DispatchItem } from './dispatcher.js';

/** What the set needs of a dispatcher (ChannelDispatcher; a fake in tests). */
export type Dispatcher = Pick<ChannelDispatcher, 'enqueue' | 'keepOnly' | 'configChanged' | 'drain' | 'stop' | 'size'>;

export class Dispatchers {
  private readonly dispatchers = new Map<string, Dispatcher>();

  constructor(private readonly create: (namespace: string, name: string) => Dispatcher) {}

  /** The channel's dispatcher, created if needed. */
  for(namespace: string, name: string): Dispatcher {
    const key = `${namespace}/${name}`;
    let dispatcher = this.dispatchers.get(key);
    if (!dispatcher) {
      dispatcher = this.create(namespace, name);
      this.dispatchers.set(key, dispatcher);
    }
    return dispatcher;
  }

  enqueue(item: DispatchItem): void {
    this.for(item.entry.channelNamespace, item.entry.channel).enqueue(item);
  }

  /** Every dispatcher drops the app's items that its outbox no longer holds. */
  keepOnly(appKey: string, outbox: Outbox): void {
    for (const dispatcher of this.dispatchers.values()) dispatcher.keepOnly(appKey, outbox);
  }

  /** A channel's spec or Secret changed: a paused channel or parked entries get another chance. */
  configChanged(namespace: string, name: string): void {
    this.dispatchers.get(`${namespace}/${name}`)?.configChanged();
  }

  /** Stops and forgets every dispatcher (leadership lost). */
  clear(): void {
    for (const dispatcher of this.dispatchers.values()) dispatcher.stop();
    this.dispatchers.clear();
  }

  /** Lets requests in flight finish (graceful shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.dispatchers.values()].map((dispatcher) => dispatcher.drain()));
  }

  /** Messages held by all dispatchers. */
  get backlog(): number {
    let total = 0;
    for (const dispatcher of this.dispatchers.values()) total += dispatcher.size;
    return total;
  }
}
