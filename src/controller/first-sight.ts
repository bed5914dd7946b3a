// First sight (DESIGN §4 "No stale news"): the first time herald evaluates a trigger
// for an Application and a channel (a fresh install, a new trigger, a new subscription
// or channel), what already holds is old news. It is recorded in the send ledger
// instead of sent, unless the trigger or the controller says Send, or the Application's
// state is news: it began within the first-sight window before herald saw it. Pure.
import type { CompiledTrigger } from '../triggers/index.js';

export type FirstSightMode = 'record' | 'send';

export const FIRST_SIGHT_MODES: readonly FirstSightMode[] = ['record', 'send'];

export interface FirstSightPolicy {
  /** For triggers without spec.onFirstSight (--on-first-sight). */
  mode: FirstSightMode;
  /** A state that began at most this long before herald first saw it is sent (--first-sight-window). */
  windowMs: number;
  /**
   * When this herald process started watching Applications: an Application created since
   * then was seen being created, so its creation counts as news whatever its status says.
   */
  watchingSince: Date;
  /**
   * Whether the Application was in this process's first list of Applications. Settles the
   * second herald started in (creationTimestamp has whole seconds): an app created in that
   * second counts as created under watch only if it arrived after the first list.
   */
  inFirstList?: (app: Record<string, any>) => boolean;
}

export const DEFAULT_FIRST_SIGHT_WINDOW_SECONDS = 600;

export const DEFAULT_FIRST_SIGHT: FirstSightPolicy = Object.freeze({
  mode: 'record',
  windowMs: DEFAULT_FIRST_SIGHT_WINDOW_SECONDS * 1000,
  watchingSince: new Date(8.64e15), // never: no Application counts as created under watch
});

/** The trigger's spec.onFirstSight wins over the controller's default. */
export function firstSightMode(trigger: Pick<CompiledTrigger, 'onFirstSight'>, policy: Pick<FirstSightPolicy, 'mode'>): FirstSightMode {
  if (trigger.onFirstSight === 'Send') return 'send';
  if (trigger.onFirstSight === 'Record') return 'record';
  return policy.mode;
}

function time(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * When the Application's current state began, as far as its own timestamps tell (unix
 * ms; undefined when it carries none): the latest of
 * - its last operation's `finishedAt` (`startedAt` while it runs),
 * - `status.health.lastTransitionTime`,
 * - `metadata.deletionTimestamp`,
 * - `metadata.creationTimestamp`, but only for an Application that never had an
 *   operation, or that was created after `watchingSince` (herald saw it being created;
 *   in the second herald started in, only if it was not in herald's first list).
 *   An Application restored with its old status (backup, migration) is not news.
 */
export function stateSince(app: Record<string, any>, watchingSince: Date, inFirstList = false): number | undefined {
  const operation = app.status?.operationState;
  const candidates = [
    time(operation?.finishedAt) ?? time(operation?.startedAt),
    time(app.status?.health?.lastTransitionTime),
    time(app.metadata?.deletionTimestamp),
  ];
  const created = time(app.metadata?.creationTimestamp);
  // creationTimestamp has whole seconds: compare with the second herald started in.
  const startSecond = Math.floor(watchingSince.getTime() / 1000) * 1000;
  const underWatch = created !== undefined && (created > startSecond || (created === startSecond && !inFirstList));
  if (created !== undefined && (operation === undefined || operation === null || underWatch)) {
    candidates.push(created);
  }
  const known = candidates.filter((value): value is number => value !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
}

/** Whether the Application's state began within the window before `now` (or after it: clock skew). */
export function isNews(app: Record<string, any>, now: Date, policy: Pick<FirstSightPolicy, 'windowMs' | 'watchingSince' | 'inFirstList'>): boolean {
  const since = stateSince(app, policy.watchingSince, policy.inFirstList?.(app) ?? false);
  return since !== undefined && since >= now.getTime() - policy.windowMs;
}
