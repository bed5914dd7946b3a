// Reading webhook bodies within two bounds: each body (the per-request limit, 413) and
// the bytes buffered across every request in flight (the shared budget, 503). When the
// budget is full, the request holding the most bytes gives way, so that a few large
// slow bodies cannot keep small genuine pushes out. The signature's HMAC is computed
// chunk by chunk as the body arrives.
import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The bytes buffered by all requests in flight, shared by one receiver. */
export class BodyBudget {
  private used = 0;
  private readonly holders = new Set<BudgetShare>();

  constructor(readonly capacityBytes: number) {}

  /** Bytes buffered right now. */
  get bytes(): number {
    return this.used;
  }

  /** A share for one request; `evicted` runs if a later request needs its room. */
  open(evicted: () => void): BudgetShare {
    const share = new BudgetShare(this, evicted);
    this.holders.add(share);
    return share;
  }

  /** @internal Adds bytes to a share, evicting the largest holders while over capacity. */
  grow(share: BudgetShare, bytes: number): boolean {
    share.size += bytes;
    this.used += bytes;
    while (this.used > this.capacityBytes) {
      let largest = share;
      for (const holder of this.holders) if (holder.size > largest.size) largest = holder;
      this.release(largest);
      if (largest === share) return false;
      largest.evicted();
    }
    return true;
  }

  /** @internal */
  release(share: BudgetShare): void {
    if (!this.holders.delete(share)) return;
    this.used -= share.size;
    share.size = 0;
  }
}

export class BudgetShare {
  size = 0;

  constructor(
    private readonly budget: BodyBudget,
    readonly evicted: () => void,
  ) {}

  /** False when these bytes do not fit (the share is then released). */
  grow(bytes: number): boolean {
    return this.budget.grow(this, bytes);
  }

  release(): void {
    this.budget.release(this);
  }
}

export type BodyOutcome =
  | { kind: 'body'; body: Buffer; hmac?: Buffer }
  /** Passed the per-request limit. */
  | { kind: 'too_large' }
  /** The shared budget had no room for it. */
  | { kind: 'busy' }
  /** The client went away. */
  | { kind: 'aborted' };

export interface ReadBodyOptions {
  limitBytes: number;
  budget: BodyBudget;
  /** Secret to compute the body's HMAC-SHA256 with, while it streams in. */
  hmacSecret?: string;
}

/**
 * Reads a whole body within the limit and the budget. The caller answers; the bytes
 * stay counted in the budget until `done()` (call it once the body is no longer needed).
 */
export function readBody(req: IncomingMessage, options: ReadBodyOptions): { outcome: Promise<BodyOutcome>; done: () => void } {
  let share: BudgetShare | undefined;
  const outcome = new Promise<BodyOutcome>((resolve) => {
    const chunks: Buffer[] = [];
    const hmac = options.hmacSecret === undefined ? undefined : createHmac('sha256', options.hmacSecret);
    let size = 0;
    let settled = false;
    const finish = (value: BodyOutcome) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      if (value.kind !== 'body') {
        chunks.length = 0;
        share?.release();
        req.pause();
      }
      resolve(value);
    };
    share = options.budget.open(() => finish({ kind: 'busy' }));
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > options.limitBytes) return finish({ kind: 'too_large' });
      if (!share!.grow(chunk.length)) return finish({ kind: 'busy' });
      hmac?.update(chunk);
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => finish({ kind: 'body', body: Buffer.concat(chunks, size), ...(hmac ? { hmac: hmac.digest() } : {}) }));
    req.on('error', () => finish({ kind: 'aborted' }));
    req.on('close', () => finish({ kind: 'aborted' }));
  });
  return { outcome, done: () => share?.release() };
}

/** Reads and throws away a body (for answers that do not need it), buffering nothing. */
export function discardBody(req: IncomingMessage): Promise<boolean> {
  return new Promise((resolve) => {
    if (req.complete) return resolve(true);
    req.on('end', () => resolve(true));
    req.on('close', () => resolve(req.complete));
    req.on('error', () => resolve(false));
    req.resume();
  });
}
