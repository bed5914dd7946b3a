// DingTalk's body size limit: fit a body under it, shortening the main text with a
// visible mark where the message type allows (pure).
import { ChannelReasons, MessageRejectedError } from '../errors.js';
import type { DingTalkBody } from './body.js';

/** DingTalk refuses request bodies larger than this ("message too long, exceed 20000 bytes"). */
export const DINGTALK_MAX_BODY_BYTES = 20_000;


export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');
/** Bytes a string adds inside a JSON string literal. */
export const escapedBytes = (text: string): number => Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;

/** The largest prefix (in code points) of `chars` whose escaped form, with `suffix`, fits `budget` bytes. */
export function longestPrefixWithin(chars: string[], suffix: string, budget: number): string | undefined {
  const fits = (n: number) => escapedBytes(chars.slice(0, n).join('') + suffix) <= budget;
  if (!fits(0)) return undefined;
  let low = 0;
  let high = chars.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return chars.slice(0, low).join('') + suffix;
}

const TRUNCATION_MARK = '\n\n… (truncated by herald: DingTalk accepts at most 20000 bytes)';

/**
 * A body that fits `maxBytes` once serialised (pure). Text, markdown and actionCard
 * bodies have their main text shortened with a visible mark; other types, or bodies
 * that cannot be shortened enough, throw MessageRejectedError (MessageTooLarge).
 */
export function fitToSize(body: DingTalkBody, maxBytes = DINGTALK_MAX_BODY_BYTES): { body: DingTalkBody; truncated: boolean } {
  const size = jsonBytes(body);
  if (size <= maxBytes) return { body, truncated: false };
  const tooLarge = () =>
    new MessageRejectedError(
      ChannelReasons.MessageTooLarge,
      `the ${body.msgtype} message is ${size} bytes as JSON; DingTalk accepts at most ${maxBytes}`,
    );
  const shorten = (text: string): string => {
    const others = size - escapedBytes(text);
    const result = longestPrefixWithin(Array.from(text), TRUNCATION_MARK, maxBytes - others);
    if (result === undefined) throw tooLarge();
    return result;
  };
  switch (body.msgtype) {
    case 'text':
      return { body: { ...body, text: { content: shorten(body.text.content) } }, truncated: true };
    case 'markdown':
      return { body: { ...body, markdown: { ...body.markdown, text: shorten(body.markdown.text) } }, truncated: true };
    case 'actionCard':
      return { body: { ...body, actionCard: { ...body.actionCard, text: shorten(body.actionCard.text) } }, truncated: true };
    default:
      throw tooLarge();
  }
}
