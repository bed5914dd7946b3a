// Refresh requests run in the background with bounded concurrency, so a burst of
// pushes cannot open hundreds of API requests at once, and an app that is already
// waiting for its refresh is not queued a second time.
import { errorMessage } from '../errors.js';
import type { ApplicationRef } from './types.js';

export interface RefreshOutcome {
  refreshed: ApplicationRef[];
  failed: Array<{ app: ApplicationRef; error: string }>;
}

export class RefreshQueue {
  private active = 0;
  private readonly slots: Array<() => void> = [];
  private readonly waiting = new Map<string, Promise<void>>();
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly refresh: (app: ApplicationRef) => Promise<void>,
    private readonly concurrency: number,
    private readonly capacity: number,
  ) {}

  /** Whether `count` more refreshes fit (apps already waiting are not counted twice). */
  hasRoomFor(count: number): boolean {
    return this.waiting.size + count <= this.capacity;
  }

  /** Refreshes every app; never rejects, failures are reported in the outcome. */
  refreshAll(apps: readonly ApplicationRef[]): Promise<RefreshOutcome> {
    const settled = Promise.allSettled(apps.map((app) => this.schedule(app))).then((results) => {
      const outcome: RefreshOutcome = { refreshed: [], failed: [] };
      results.forEach((result, i) => {
        if (result.status === 'fulfilled') outcome.refreshed.push(apps[i]!);
        else outcome.failed.push({ app: apps[i]!, error: errorMessage(result.reason) });
      });
      return outcome;
    });
    this.running.add(settled);
    void settled.finally(() => this.running.delete(settled));
    return settled;
  }

  /** Resolves when every refresh requested so far has finished. */
  async drained(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private schedule(app: ApplicationRef): Promise<void> {
    const key = `${app.namespace}/${app.name}`;
    const queued = this.waiting.get(key);
    if (queued) return queued;
    const task = (async () => {
      await this.acquire();
      this.waiting.delete(key);
      try {
        await this.refresh(app);
      } finally {
        this.release();
      }
    })();
    this.waiting.set(key, task);
    return task;
  }

  private acquire(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.slots.push(resolve));
  }

  private release(): void {
    const next = this.slots.shift();
    if (next) next();
    else this.active -= 1;
  }
}
