// Digest: many waiting messages merged into one markdown message, for a channel that
// would otherwise exceed DingTalk's 20-a-minute limit (pure).
import type { DingTalkAt, DingTalkBody, DingTalkMarkdownBody } from './body.js';
import { hasMentions, invalidMessage, titleFrom, truncateChars, withMentionTokens } from './body.js';
import { escapedBytes, jsonBytes, longestPrefixWithin } from './size.js';

export interface DigestItem {
  title: string;
  text: string;
}

export interface DigestOptions {
  /** Mentions of the merged messages (see mergeAt). */
  at?: DingTalkAt;
  /** Serialised size limit (default 19000, under DingTalk's 20000). */
  maxBytes?: number;
  /** Each item's text is cut to this many characters first (default 1500), so that more items fit. */
  maxItemChars?: number;
  msgUuid?: string;
}

export interface DigestResult {
  body: DingTalkMarkdownBody;
  /** items[0 .. included-1] are shown (some maybe shortened). */
  included: number;
  /** Items cut because the message was full; the digest says how many. */
  omitted: number;
}

const DIGEST_SEPARATOR = '\n\n---\n\n';

/** Item titles are kept whole (a keyword in a title survives) up to a sane length. */
const digestHeading = (title: string): string => `#### ${truncateChars(title.replace(/\n/g, ' '), 200)}\n\n`;

const digestSection = (item: DigestItem): string => `${digestHeading(item.title)}${item.text}`;

const digestFooter = (omitted: number): string =>
  `${DIGEST_SEPARATOR}*… and ${omitted} more notification${omitted === 1 ? '' : 's'} not shown (DingTalk's size limit).*`;

/**
 * One markdown message summarising `items` (pure): title `herald: N notifications`,
 * one section per item in order, cut to stay under the size limit, saying how many
 * were cut. Item titles are kept whole, so a keyword in a title survives.
 */
export function buildDigestBody(items: DigestItem[], options: DigestOptions = {}): DigestResult {
  if (items.length === 0) throw invalidMessage('a digest needs at least one message');
  const maxBytes = options.maxBytes ?? 19_000;
  const maxItemChars = options.maxItemChars ?? 1_500;
  const at = options.at && hasMentions(options.at) ? options.at : undefined;
  const title = `herald: ${items.length} notification${items.length === 1 ? '' : 's'}`;
  const tokens = [...(at?.atMobiles ?? []), ...(at?.atUserIds ?? [])].map((id) => `@${id}`);
  const mentionLine = tokens.length > 0 ? `\n\n${tokens.join(' ')}` : '';

  const skeleton: DingTalkMarkdownBody = { msgtype: 'markdown', markdown: { title, text: '' } };
  if (at) skeleton.at = at;
  if (options.msgUuid) skeleton.msgUuid = options.msgUuid;
  // Reserve room for the mention line and the largest possible footer.
  const reserved = jsonBytes(skeleton) + escapedBytes(mentionLine) + escapedBytes(digestFooter(items.length));
  let budget = maxBytes - reserved;

  const sections: string[] = [];
  for (const [index, item] of items.entries()) {
    const separator = index === 0 ? '' : DIGEST_SEPARATOR;
    const full = separator + digestSection({ title: item.title, text: truncateChars(item.text, maxItemChars) });
    const cost = escapedBytes(full);
    if (cost <= budget) {
      sections.push(full);
      budget -= cost;
      continue;
    }
    if (index === 0) {
      // The first item always goes in, shortened to whatever room there is.
      const head = digestHeading(item.title);
      const shortened = longestPrefixWithin(Array.from(item.text), '…', budget - escapedBytes(head));
      if (shortened === undefined) throw invalidMessage('a digest item title alone exceeds the size limit');
      sections.push(head + shortened);
    }
    break;
  }
  const omitted = items.length - sections.length;
  const text = withMentionTokens(sections.join('') + (omitted > 0 ? digestFooter(omitted) : ''), tokens, '\n\n');
  return { body: { ...skeleton, markdown: { title, text } }, included: sections.length, omitted };
}

/** The title and text a message contributes to a digest (pure). */
export function digestItemOf(body: DingTalkBody): DigestItem {
  switch (body.msgtype) {
    case 'text':
      return { title: titleFrom(body.text.content), text: body.text.content };
    case 'markdown':
      return { title: body.markdown.title, text: body.markdown.text };
    case 'link':
      return { title: body.link.title, text: `${body.link.text}\n\n[${body.link.title}](${body.link.messageUrl})` };
    case 'actionCard': {
      const card = body.actionCard;
      const buttons = card.btns ?? (card.singleTitle && card.singleURL ? [{ title: card.singleTitle, actionURL: card.singleURL }] : []);
      const links = buttons.map((b) => `[${b.title}](${b.actionURL})`).join(' · ');
      return { title: card.title, text: links ? `${card.text}\n\n${links}` : card.text };
    }
    case 'feedCard': {
      const links = body.feedCard.links;
      return { title: links[0]?.title ?? 'herald', text: links.map((l) => `- [${l.title}](${l.messageURL})`).join('\n') };
    }
  }
}
