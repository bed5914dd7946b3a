// Conditions of a DingTalkChannel besides Ready (pure).
import { RATE_LIMITED, Reasons } from '../api/reasons.js';
import { metaTime, type Condition } from './conditions.js';
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
