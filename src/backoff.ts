/**
 * Capped exponential backoff with equal jitter: attempt 1 waits up to base, attempt n
 * up to base·2^(n-1), never more than max. Jitter spreads retries of many messages.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}
