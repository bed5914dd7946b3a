// Conditions of a DingTalkChannel besides Ready (pure).
import { RATE_LIMITED, Reasons } from '../api/reasons.js';
import { findCondition, metaTime, setCondition, type Condition } from './conditions.js';
import type { SendWindowRecord } from './send-window.js';
import type { ChannelEntry } from './store.js';

/**
 * RateLimited: True (Muted, the end in the message) while DingTalk's 130101 mutes the
 * channel, from this process's dispatcher or from the stored status.sendWindow (a
 * previous leader's); False (Accepting) otherwise. `endsInMs`: when to look again.
 */
export function rateLimitedCondition(
  entry: Pick<ChannelEntry, 'mutedUntil' | 'perMinute'>,
  record: SendWindowRecord | undefined,
  generation: number | undefined,
  now: number,
): { condition: Omit<Condition, 'lastTransitionTime'>; endsInMs?: number } {
  const stored = record?.mutedUntil !== undefined ? Date.parse(record.mutedUntil) : NaN;
  const until = Math.max(entry.mutedUntil ?? 0, Number.isNaN(stored) ? 0 : stored);
  if (until > now) {
    return {
      condition: {
        type: RATE_LIMITED,
        status: 'True',
        reason: Reasons.Muted,
        message: `DingTalk answered 130101 (more than its limit of messages a minute): herald sends nothing to this robot until ${metaTime(Math.ceil(until / 1000) * 1000)}; waiting messages are kept and go out then, as digests when many`,
        observedGeneration: generation,
      },
      endsInMs: until - now,
    };
  }
  return {
    condition: {
      type: RATE_LIMITED,
      status: 'False',
      reason: Reasons.Accepting,
      message: `sending at most ${entry.perMinute} messages per rolling minute`,
      observedGeneration: generation,
    },
  };
}

/**
 * The channel's conditions with RateLimited=True, when a mute (this process's, or the
 * record about to be stored) is not yet in the conditions the cache holds; otherwise
 * undefined (the config reconciler owns Ready and the end of a mute).
 */
export function mutedConditions(
  entry: Pick<ChannelEntry, 'mutedUntil' | 'perMinute' | 'object'>,
  record: SendWindowRecord | undefined,
  now: number,
): Condition[] | undefined {
  const { condition } = rateLimitedCondition(entry, record, entry.object.metadata.generation, now);
  if (condition.status !== 'True') return undefined;
  const current = (entry.object.status?.conditions ?? []) as Condition[];
  const before = findCondition(current, RATE_LIMITED);
  if (before && before.status === condition.status && before.reason === condition.reason && before.message === condition.message) return undefined;
  return setCondition(current, condition, new Date(now));
}
