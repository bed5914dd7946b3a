// At debug level only: logs `busy` and `idle` when the leader's work starts and drains
// (queues empty, nothing in flight, no dispatcher holding a message, no completion
// patch pending, no coalesced re-queue waiting). bench/engine measures with it.
import type { Logger } from '../observability/logger.js';

export interface IdleProbe {
  appQueueDepth: () => number;
  /** Messages held by the dispatchers. */
  backlog: () => number;
  idle: () => boolean;
}

/** Samples every 20 ms; returns a function that stops sampling. */
export function watchIdle(log: Logger, probe: IdleProbe): () => void {
  if (!log.enabled('debug')) return () => undefined;
  let idle: boolean | undefined;
  // Highest application queue depth and dispatcher backlog seen while busy.
  let maxAppQueueDepth = 0;
  let maxDispatcherBacklog = 0;
  const timer = setInterval(() => {
    maxAppQueueDepth = Math.max(maxAppQueueDepth, probe.appQueueDepth());
    maxDispatcherBacklog = Math.max(maxDispatcherBacklog, probe.backlog());
    const now = probe.idle();
    if (now === idle) return;
    idle = now;
    if (!now) {
      log.debug('busy', { uptimeMs: Math.round(process.uptime() * 1000), appQueueDepth: probe.appQueueDepth() });
      return;
    }
    log.debug('idle', { uptimeMs: Math.round(process.uptime() * 1000), maxAppQueueDepth, maxDispatcherBacklog });
    maxAppQueueDepth = 0;
    maxDispatcherBacklog = 0;
  }, 20);
  timer.unref();
  return () => clearInterval(timer);
}
