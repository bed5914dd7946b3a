// The only writer of herald's two annotations on Applications (notified, outbox).
//
// The app reconciler reads an app's Mail, applies outbox.ts transitions and commits it
// under the app's lock. Delivery outcomes arrive as transitions through change(): they
// are coalesced per app (one merge patch for whatever waits), written a bounded number
// of times, and when the API server keeps refusing (422, conflicts, an app being
// deleted) handed back to the app's work queue, whose reconcile commits them later.
// A channel's lane has a few completions pending at once (completions.ts) and, with
// that many, waits for one at most through those bounded attempts, so a failing app
// cannot stall a channel.
//
// A decision (the reconciler's new outbox) is not written on its own at once: it waits
// in memory, readable by every read(), for at most DECISION_WRITE_DELAY_MS, so that the
// channel's acceptance, which usually comes within milliseconds, shares its write: one
// patch records the message as decided and delivered. It is written at once when
// anything else of the app is written first (a later change of the app is reconciled
// with a commit of what waits), after the delay, and on a graceful stop. A crash in that
// time loses nothing the app still shows when herald is back (the decision is made
// again from the same state); it loses a message only when the app changed before
// herald evaluated it again. Every design has that window (a decision is in memory
// until its write returns); this makes it as long as the acceptance takes, at most the
// delay. A delay of 0 keeps the strict order: written before delivery sees it.
import { ANNOTATIONS } from '../api/groups.js';
import { apiMessageOf, statusCodeOf } from '../kube/errors.js';
import type { KubeWriter } from '../kube/patch.js';
import { backoffDelay } from '../backoff.js';
import type { Logger } from '../observability/logger.js';
import type { Application } from './app-reconciler.js';
import { AnnotationWriteError } from './errors.js';
import { parseNotified, parseOutbox, serialiseNotified, serialiseOutbox } from './ledger.js';
import { KeyedMutex } from './mutex.js';
import type { Mail } from './outbox.js';

/** How long a decision waits in memory for a delivery outcome to share its write. */
export const DECISION_WRITE_DELAY_MS = 1000;

/** A change of one app's Mail (outbox.ts); undefined when it changes nothing. */
export type Transition = (mail: Mail) => Mail | undefined;

export interface MailStoreDeps {
  getApp: (namespace: string, name: string) => Application | undefined;
  writer: Pick<KubeWriter, 'patchAppAnnotations'>;
  log: Logger;
  /** A change could not be written after its retries: the app's queue takes it from here. */
  requeue: (appKey: string) => void;
  /** Writes of one coalesced change before it is handed back (default 4). */
  attempts?: number;
  /** First retry delay (default 250 ms; doubles, with jitter). */
  retryBaseMs?: number;
  /** DECISION_WRITE_DELAY_MS unless given; 0 writes every decision before it is handed to delivery. */
  decisionDelayMs?: number;
}

/** An app's Mail as read, with how many waiting transitions it includes. */
export interface MailRead {
  mail: Mail;
  /** Waiting transitions applied on top of the stored state (committing it writes them). */
  applied: number;
  /** Whether those transitions changed anything. */
  changed: boolean;
  /** The store's epoch when read (a reset in between voids a decision made from this read). */
  epoch: number;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/** Compares Kubernetes resourceVersions (etcd revisions); opaque ones compare as unknown. */
function compareResourceVersions(a: string | undefined, b: string | undefined): number | undefined {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return a === b ? 0 : undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export class MailStore {
  /** Annotations this process wrote, until the cache has caught up with them. */
  private readonly written = new Map<string, { resourceVersion: string; notified: string | undefined; outbox: string | undefined }>();
  private readonly locks = new KeyedMutex();
  /** Transitions not yet written, per app, in the order they happened. */
  private readonly pending = new Map<string, Transition[]>();
  private readonly flushing = new Map<string, Promise<void>>();
  /** Apps whose decision waits in memory, with the timer that writes it. */
  private readonly deferred = new Map<string, ReturnType<typeof setTimeout>>();
  private epoch = 0;

  constructor(private readonly deps: MailStoreDeps) {}

  /** Forget everything: a new leader starts from what the API server says. */
  reset(): void {
    this.epoch++;
    this.written.clear();
    this.pending.clear();
    for (const timer of this.deferred.values()) clearTimeout(timer);
    this.deferred.clear();
  }

  /** The app is gone. */
  forget(key: string): void {
    this.written.delete(key);
    this.pending.delete(key);
    clearTimeout(this.deferred.get(key));
    this.deferred.delete(key);
  }

  /** Runs `critical` holding the app's lock (reads and commits of one app never interleave). */
  locked<T>(key: string, critical: () => Promise<T>): Promise<T> {
    return this.locks.run(key, critical);
  }

  hasPending(key: string): boolean {
    return (this.pending.get(key)?.length ?? 0) > 0;
  }

  /** The app's Mail: the cache (or what this process wrote more recently), plus waiting transitions. */
  read(key: string, app: Application): MailRead {
    const mine = this.written.get(key);
    let notified = app.metadata.annotations?.[ANNOTATIONS.notified];
    let outbox = app.metadata.annotations?.[ANNOTATIONS.outbox];
    if (mine) {
      const order = compareResourceVersions(app.metadata.resourceVersion, mine.resourceVersion);
      if (order === undefined || order < 0) {
        notified = mine.notified;
        outbox = mine.outbox;
      } else {
        this.written.delete(key);
      }
    }
    const parsedLedger = parseNotified(notified);
    const parsedOutbox = parseOutbox(outbox);
    if (parsedLedger.damaged || parsedOutbox.damaged) {
      this.deps.log.warn('ignoring malformed herald annotations on an Application', { app: key, notified: parsedLedger.damaged, outbox: parsedOutbox.damaged });
    }
    let mail: Mail = { ledger: parsedLedger.ledger, outbox: parsedOutbox.outbox };
    let changed = false;
    const transitions = this.pending.get(key) ?? [];
    for (const transition of transitions) {
      const next = transition(mail);
      if (next) {
        mail = next;
        changed = true;
      }
    }
    return { mail, applied: transitions.length, changed, epoch: this.epoch };
  }

  /**
   * One merge patch of both annotations (call under the app's lock). On success the
   * `applied` waiting transitions are done. False when the app no longer exists.
   */
  async commit(key: string, app: Application, mail: Mail, applied: number): Promise<boolean> {
    const notified = serialiseNotified(mail.ledger);
    const outboxText = serialiseOutbox(mail.outbox);
    const epoch = this.epoch;
    try {
      const patched = await this.deps.writer.patchAppAnnotations(app.metadata.namespace!, app.metadata.name!, {
        [ANNOTATIONS.notified]: notified,
        [ANNOTATIONS.outbox]: outboxText,
      });
      if (epoch !== this.epoch) return true;
      this.written.set(key, { resourceVersion: patched.metadata?.resourceVersion ?? '', notified: notified ?? undefined, outbox: outboxText ?? undefined });
      const waiting = this.pending.get(key);
      if (waiting) {
        waiting.splice(0, applied);
        if (waiting.length === 0) this.pending.delete(key);
      }
      return true;
    } catch (error) {
      if (statusCodeOf(error) === 404) {
        this.forget(key);
        return false;
      }
      throw new AnnotationWriteError(`cannot write herald annotations on Application ${key}: ${apiMessageOf(error)}`, { cause: error });
    }
  }

  /**
   * Records the app's decided Mail, computed from `read` (call under the app's lock):
   * read() returns it from now on; it is written with the app's next delivery outcome, or
   * after the decision delay. `included`: the waiting transitions `read` applied that are
   * still waiting (0 when they were committed since); those that came after the read
   * apply on top of the decision, as they would on top of a write of it. False when the
   * store was reset since the read (the app is evaluated again), or the app is gone.
   * `writeNow`: written at once (still coalesced with what else waits). With a decision
   * delay of 0 it is written before this resolves, so before delivery sees it (DESIGN §4's
   * strict order: the outbox before the send).
   */
  async decide(key: string, app: Application, mail: Mail, read: MailRead, included: number, writeNow = false): Promise<boolean> {
    if (read.epoch !== this.epoch) return false; // leadership changed meanwhile: the decision is made again
    const delayMs = this.deps.decisionDelayMs ?? DECISION_WRITE_DELAY_MS;
    if (delayMs <= 0) return this.commit(key, app, mail, 0);
    const decision: Transition = () => mail;
    const waiting = this.pending.get(key) ?? [];
    waiting.splice(Math.min(included, waiting.length), 0, decision);
    this.pending.set(key, waiting);
    if (writeNow) {
      void this.flushSoon(key);
      return true;
    }
    if (this.deferred.has(key)) return true;
    const timer = setTimeout(() => {
      this.deferred.delete(key);
      void this.flushSoon(key);
    }, delayMs);
    timer.unref?.();
    this.deferred.set(key, timer);
    return true;
  }

  /**
   * Records a change of an app's Mail (coalesced with others of the same app). Resolves
   * once it is written, or handed back to the app's queue after a bounded number of
   * attempts: a caller that waits (a channel's pending completions, which bound what a
   * crash repeats) waits seconds at most, never for a write that cannot succeed. The
   * transition is taken synchronously: read() sees it before this returns.
   */
  change(key: string, transition: Transition): Promise<void> {
    const waiting = this.pending.get(key);
    if (waiting) waiting.push(transition);
    else this.pending.set(key, [transition]);
    return this.flushSoon(key);
  }

  /** Writes what waits for the app (one flush at a time per app; a decision's timer is no longer needed). */
  private flushSoon(key: string): Promise<void> {
    clearTimeout(this.deferred.get(key));
    this.deferred.delete(key);
    let run = this.flushing.get(key);
    if (!run) {
      run = this.flush(key).finally(() => this.flushing.delete(key));
      this.flushing.set(key, run);
    }
    return run;
  }

  /** Writes what waits for the app now; throws when the API server refuses (the caller retries). */
  async commitPending(key: string): Promise<void> {
    await this.locked(key, async () => {
      const [namespace, name] = splitKey(key);
      const app = this.deps.getApp(namespace, name);
      if (!app) {
        this.forget(key);
        return;
      }
      if (!this.hasPending(key)) return;
      const read = this.read(key, app);
      if (!read.changed) {
        this.pending.get(key)?.splice(0, read.applied);
        if (this.pending.get(key)?.length === 0) this.pending.delete(key);
        return;
      }
      await this.commit(key, app, read.mail, read.applied);
    });
  }

  private async flush(key: string): Promise<void> {
    const attempts = this.deps.attempts ?? 4;
    const epoch = this.epoch;
    for (let attempt = 1; this.hasPending(key) && epoch === this.epoch; attempt++) {
      try {
        await this.commitPending(key);
        attempt = 0;
        continue;
      } catch (error) {
        if (attempt >= attempts) {
          this.deps.log.warn('could not record deliveries on the Application; its work queue retries', { app: key, attempts, error });
          this.deps.requeue(key);
          return;
        }
        const delay = backoffDelay(attempt, this.deps.retryBaseMs ?? 250, 5_000);
        this.deps.log.debug('could not record deliveries on the Application; retrying', { app: key, retryInMs: Math.round(delay), error });
        await new Promise((resolve) => setTimeout(resolve, delay).unref?.());
      }
    }
  }

  /** Resolves when no change is being written (graceful shutdown), or after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const key of [...this.deferred.keys()]) void this.flushSoon(key);
    while (this.flushing.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.all(this.flushing.values()), new Promise((resolve) => setTimeout(resolve, 50).unref?.())]);
    }
  }

  /** Something is being written, or a decision waits to be. */
  get busy(): boolean {
    return this.flushing.size > 0 || this.deferred.size > 0;
  }
}
