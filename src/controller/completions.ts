// The completions of one channel's lane that are still being recorded. When the channel
// has accepted a message, its completion (delivery.ts: the transition handed to the
// MailStore, which takes it at once, then the annotation patch) runs in the background
// while the lane sends the next message. At most MAX_PENDING_COMPLETIONS run at once:
// with that many pending, the lane waits for one to finish before its next request.
// So a crash (SIGKILL) repeats at most MAX_PENDING_COMPLETIONS messages per channel
// (a digest counts as one): those accepted whose patch was not written yet, the request
// in flight included. A completion that fails is logged, never an unhandled rejection.

/**
 * Completions one channel may have pending (accepted by the channel, patch not yet
 * written) while it sends; also the most messages of that channel a crash repeats.
 */
export const MAX_PENDING_COMPLETIONS = 8;

export class Completions {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    /** Called with the error of a completion that failed (it logs; it must not throw). */
    private readonly failed: (error: unknown) => void,
    private readonly limit = MAX_PENDING_COMPLETIONS,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** True when the lane has to wait for a completion before its next request. */
  get full(): boolean {
    return this.pending.size >= this.limit;
  }

  /**
   * Starts a completion now (synchronously: whatever `complete` does before its first
   * await, such as handing the transition to the MailStore, is done when this returns).
   */
  start(complete: () => Promise<void>): void {
    let running: Promise<void>;
    try {
      running = complete();
    } catch (error) {
      running = Promise.reject(error);
    }
    const tracked: Promise<void> = running
      .catch((error: unknown) => {
        try {
          this.failed(error);
        } catch {
          // Reporting must not turn into an unhandled rejection.
        }
      })
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** Resolves once fewer than the limit are pending (a completion never rejects here). */
  async room(): Promise<void> {
    while (this.pending.size >= this.limit) await Promise.race(this.pending);
  }

  /** Resolves once none is pending (graceful shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }
}
