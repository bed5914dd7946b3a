// A work queue in the manner of client-go's: a key is queued at most once, is never
// processed by two workers at once (a key added while in flight is processed again
// afterwards), and failed keys come back with per-key capped backoff.
import { backoffDelay } from '../backoff.js';

export type Handler = (key: string) => Promise<void>;

/** Timers and jitter of the rate limiter; tests pass a fake to see the delays grow. */
export interface QueueClock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
  random(): number;
}

const realClock: QueueClock = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
  random: Math.random,
};

export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, unknown>();
  private waiters: Array<() => void> = [];
  private stopped = false;
  private running = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly name: string,
    private readonly onDepth: (depth: number) => void = () => undefined,
    private readonly clock: QueueClock = realClock,
  ) {}

  get depth(): number {
    return this.queue.length - this.head;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.onDepth(this.depth);
    this.waiters.shift()?.();
  }

  /** Adds the key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const existing = this.timers.get(key);
    if (existing) return;
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    this.timers.set(key, timer);
  }

  addRateLimited(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = backoffDelay(failures, 200, 60_000, this.clock.random);
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  private async next(): Promise<string | undefined> {
    while (this.depth === 0) {
      if (this.stopped) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.stopped) return undefined;
    const key = this.queue[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.queued.delete(key);
    this.onDepth(this.depth);
    return key;
  }

  /** Runs `workers` loops until stop(); a handler error is the handler's business. */
  run(workers: number, handler: Handler): void {
    for (let i = 0; i < workers; i++) {
      void (async () => {
        for (;;) {
          const key = await this.next();
          if (key === undefined) return;
          this.processing.add(key);
          this.running++;
          try {
            await handler(key);
          } catch {
            // Handlers report and requeue their own failures; this only keeps the loop alive.
          } finally {
            this.running--;
            this.processing.delete(key);
            if (this.dirty.delete(key)) this.add(key);
            if (this.running === 0 && this.depth === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
          }
        }
      })();
    }
  }

  /** The handler as run() wants it: a key that succeeds is forgotten, one that throws comes back after its backoff. */
  retrying(handler: Handler, failed: (key: string, retryInMs: number, error: unknown) => void): Handler {
    return async (key) => {
      try {
        await handler(key);
        this.forget(key);
      } catch (error) {
        failed(key, Math.round(this.addRateLimited(key)), error);
      }
    };
  }

  /** True when nothing is queued or in flight (delayed keys do not count). */
  isIdle(): boolean {
    return this.running === 0 && this.depth === 0;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) this.clock.clearTimeout(timer);
    this.timers.clear();
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
