// What waits for one channel: the dispatcher's items, one per (app, outbox entry),
// and the order they may go in. An Application's messages go in the order they were
// decided: one that waits for a retry holds back the app's later ones (not other
// apps'); parked ones hold back nothing. The size is reported on every change
// (herald_outbox_pending{channel}).
import type { Outbox } from './ledger.js';
import { byDecision, unparkedEntry } from './outbox.js';
import type { DispatchItem } from './dispatcher.js';

/** One item per app and outbox entry id. */
const itemKey = (item: Pick<DispatchItem, 'appKey' | 'id'>): string => `${item.appKey}\u0000${item.id}`;

export class WaitingItems {
  private readonly items = new Map<string, DispatchItem>();

  constructor(private readonly sizeChanged: (size: number) => void) {}

  get size(): number {
    return this.items.size;
  }

  values(): IterableIterator<DispatchItem> {
    return this.items.values();
  }

  /**
   * Adds an item unless the same (app, id) is already held; true when added. A fold
   * entry that counts more folded messages now replaces the one held (which may be in flight).
   */
  add(item: DispatchItem): boolean {
    const key = itemKey(item);
    const held = this.items.get(key);
    if (held) {
      if (held.entry.folded && item.entry.folded?.count !== held.entry.folded.count) this.items.set(key, item);
      return false;
    }
    this.items.set(key, item);
    this.sizeChanged(this.items.size);
    return true;
  }

  /** True while this very item (not a replacement) waits. */
  holds(item: DispatchItem): boolean {
    return this.items.get(itemKey(item)) === item;
  }

  /**
   * The item is done. A fold entry replaced while this version was on its way goes too:
   * the completion write keeps what was folded since in the outbox, and the app hands that over again.
   */
  forget(item: DispatchItem): void {
    const key = itemKey(item);
    const held = this.items.get(key);
    if (held === item || (held && item.entry.folded)) {
      this.items.delete(key);
      this.sizeChanged(this.items.size);
    }
  }

  /** Drops the app's items that its outbox no longer holds (folded away, or the app is gone). */
  keepOnly(appKey: string, outbox: Outbox): void {
    let dropped = false;
    for (const [key, item] of this.items) {
      if (item.appKey === appKey && !(item.id in outbox)) {
        this.items.delete(key);
        dropped = true;
      }
    }
    if (dropped) this.sizeChanged(this.items.size);
  }

  clear(): void {
    this.items.clear();
  }

  /** Items that may go now, oldest decision first, and those that wait (for a retry). */
  ready(now: number): { ready: DispatchItem[]; waiting: DispatchItem[] } {
    const ready: DispatchItem[] = [];
    const waiting: DispatchItem[] = [];
    const heldBack = new Set<string>();
    const sorted = [...this.items.values()].filter((item) => !item.entry.parked).sort((a, b) => byDecision(a.entry, b.entry));
    for (const item of sorted) {
      if (!heldBack.has(item.appKey) && item.entry.next <= now) {
        ready.push(item);
        continue;
      }
      waiting.push(item);
      heldBack.add(item.appKey);
    }
    return { ready, waiting };
  }

  /** Parked items get another chance: all of them, or those parked under another channel fingerprint. */
  unpark(fingerprint?: string): void {
    for (const item of this.items.values()) {
      if (item.entry.parked && (fingerprint === undefined || item.parkedFingerprint !== fingerprint)) item.entry = unparkedEntry(item.entry);
    }
  }

  /** The channel is reachable again: every item waiting for a retry may go now. */
  retryNow(): void {
    for (const item of this.items.values()) if (item.entry.next > 0) item.entry = { ...item.entry, next: 0 };
  }
}
