// Digest: many waiting messages merged into one markdown message, for a channel that
// would otherwise exceed DingTalk's 20-a-minute limit (pure).
//
// A few messages are shown in full (a section each); many, or ones too large to show
// in full, become one line each (app, event, revision, link). What does not fit is
// not lost: the caller sends it in the next message, and the digest says so.
import type { MessageSummary } from '../channel.js';
import type { DingTalkAt, DingTalkBody, DingTalkMarkdownBody } from './body.js';
import { hasMentions, invalidMessage, titleFrom, truncateChars, withMentionTokens } from './body.js';
import { missingKeyword } from './keywords.js';
import { escapedBytes, jsonBytes, longestPrefixWithin } from './size.js';

export interface DigestItem {
  title: string;
  text: string;
  /** The message's first link, for the one-line form when there is no summary. */
  link?: string;
  summary?: MessageSummary;
}

export interface DigestOptions {
  /** Mentions of the merged messages (see mergeAt). */
  at?: DingTalkAt;
  /** Serialised size limit (default 19000, under DingTalk's 20000). */
  maxBytes?: number;
  /** Each item's text is cut to this many characters first (default 1500), so that more items fit. */
  maxItemChars?: number;
  /** Up to this many messages are shown in full (default 5); more become one line each. */
  maxFullItems?: number;
  /** The robot's keywords: a digest whose items bring none carries the first one in its title and first line. */
  keywords?: string[];
  msgUuid?: string;
}

export interface DigestResult {
  body: DingTalkMarkdownBody;
  /** items[0 .. included-1] are shown (some maybe shortened). */
  included: number;
  /** Items that did not fit, left for the next message; the digest says how many. */
  omitted: number;
  /** 'full': a section per item; 'lines': one line per item. */
  layout: 'full' | 'lines';
}

const SECTION_SEPARATOR = '\n\n---\n\n';
const TITLE_CHARS = 200;

const plural = (count: number): string => `${count} notification${count === 1 ? '' : 's'}`;

const oneLine = (text: string): string => truncateChars(text.replace(/\s*\n\s*/g, ' ').trim(), TITLE_CHARS);

/** Item titles are kept whole (a keyword in a title survives) up to a sane length. */
const heading = (title: string): string => `#### ${oneLine(title)}\n\n`;

const footer = (omitted: number): string =>
  `\n\n*${omitted} more notification${omitted === 1 ? '' : 's'}, continued in the next message.*`;

/** A revision as people quote it: a commit SHA shortened to 7 characters. */
const shortRevision = (revision: string): string => (/^[0-9a-f]{40}$/i.test(revision) ? revision.slice(0, 7) : truncateChars(revision, 40));

/** The one-line form of an item: app, event, revision, link; or its title and link. */
export function digestLine(item: DigestItem): string {
  const summary = item.summary;
  const parts = summary ? [`**${oneLine(summary.app)}**`, oneLine(summary.event)] : [oneLine(item.title)];
  if (summary?.revision) parts.push(`\`${shortRevision(summary.revision)}\``);
  const link = summary?.link ?? item.link;
  if (link) parts.push(`[open](${link})`);
  return `- ${parts.join(' · ')}`;
}

interface Layout {
  /** The text each item contributes, given its index. */
  piece(item: DigestItem, index: number): string;
  /** The text of the first item when even it does not fit: shortened to `budget` bytes, or undefined. */
  shortened(item: DigestItem, budget: number): string | undefined;
}

const fullLayout = (maxItemChars: number): Layout => ({
  piece: (item, index) => `${index === 0 ? '' : SECTION_SEPARATOR}${heading(item.title)}${truncateChars(item.text, maxItemChars)}`,
  shortened: (item, budget) => {
    const head = heading(item.title);
    const rest = longestPrefixWithin(Array.from(item.text), '…', budget - escapedBytes(head));
    return rest === undefined ? undefined : head + rest;
  },
});

const linesLayout: Layout = {
  piece: (item, index) => `${index === 0 ? '' : '\n'}${digestLine(item)}`,
  shortened: (item, budget) => longestPrefixWithin(Array.from(digestLine(item)), '…', budget),
};

/** As many items as fit in `budget` bytes, in order; the first always goes in, shortened if need be. */
function fill(items: DigestItem[], layout: Layout, budget: number): string[] {
  const pieces: string[] = [];
  let left = budget;
  for (const [index, item] of items.entries()) {
    const piece = layout.piece(item, index);
    const cost = escapedBytes(piece);
    if (cost <= left) {
      pieces.push(piece);
      left -= cost;
      continue;
    }
    if (index === 0) {
      const shortened = layout.shortened(item, left);
      if (shortened === undefined) throw invalidMessage('a digest item alone exceeds the size limit');
      pieces.push(shortened);
    }
    break;
  }
  return pieces;
}

/**
 * One markdown message summarising `items` (pure), under the size limit: title
 * `herald: N notifications` counting what it shows; a section per item when there are
 * few and they fit, otherwise one line per item; what does not fit is left for the
 * next message ("continued in the next message"). Mentions of all items are kept.
 */
export function buildDigestBody(items: DigestItem[], options: DigestOptions = {}): DigestResult {
  if (items.length === 0) throw invalidMessage('a digest needs at least one message');
  const maxBytes = options.maxBytes ?? 19_000;
  const maxFullItems = options.maxFullItems ?? 5;
  const keywords = (options.keywords ?? []).filter((k) => k.trim() !== '');
  const at = options.at && hasMentions(options.at) ? options.at : undefined;
  const tokens = [...(at?.atMobiles ?? []), ...(at?.atUserIds ?? [])].map((id) => `@${id}`);

  const titleOf = (shown: number, keyword?: string): string => `${keyword ? `${keyword} · ` : ''}herald: ${plural(shown)}`;
  const compose = (pieces: string[], keyword?: string): DingTalkMarkdownBody => {
    const omitted = items.length - pieces.length;
    const title = titleOf(pieces.length, keyword);
    const head = keyword ? heading(title) : '';
    const text = withMentionTokens(head + pieces.join('') + (omitted > 0 ? footer(omitted) : ''), tokens, '\n\n');
    const body: DingTalkMarkdownBody = { msgtype: 'markdown', markdown: { title, text } };
    if (at) body.at = at;
    if (options.msgUuid) body.msgUuid = options.msgUuid;
    return body;
  };

  // Room for everything but the items: the frame with the largest footer, keyword line
  // and mentions, plus the digits of the largest count (in the title and its line).
  const longestKeyword = keywords.reduce((longest, k) => (k.length > longest.length ? k : longest), '') || undefined;
  const titleGrowth = Math.max(0, escapedBytes(titleOf(items.length, longestKeyword)) - escapedBytes(titleOf(0, longestKeyword)));
  const reserved = jsonBytes(compose([], longestKeyword)) + 2 * titleGrowth;
  const budget = maxBytes - reserved;

  let layout: DigestResult['layout'] = 'lines';
  let pieces: string[] | undefined;
  if (items.length <= maxFullItems) {
    const full = fill(items, fullLayout(options.maxItemChars ?? 1_500), budget);
    if (full.length === items.length || items.length === 1) {
      pieces = full;
      layout = 'full';
    }
  }
  pieces ??= fill(items, linesLayout, budget);

  let body = compose(pieces);
  // The digest is herald's own frame: it must not be dropped for a keyword its items lack.
  if (keywords.length > 0 && missingKeyword(body, keywords)) body = compose(pieces, keywords[0]);
  return { body, included: pieces.length, omitted: items.length - pieces.length, layout };
}

/** The first http(s) link in a markdown or plain text. */
function firstLink(text: string): string | undefined {
  return /\]\((https?:\/\/[^)\s]+)\)/.exec(text)?.[1] ?? /https?:\/\/[^\s)<>"']+/.exec(text)?.[0];
}

/** The title, text and first link a message contributes to a digest (pure). */
export function digestItemOf(body: DingTalkBody): DigestItem {
  const withLink = (item: DigestItem, link: string | undefined): DigestItem => (link ? { ...item, link } : item);
  switch (body.msgtype) {
    case 'text':
      return withLink({ title: titleFrom(body.text.content), text: body.text.content }, firstLink(body.text.content));
    case 'markdown':
      return withLink({ title: body.markdown.title, text: body.markdown.text }, firstLink(body.markdown.text));
    case 'link':
      return { title: body.link.title, text: `${body.link.text}\n\n[${body.link.title}](${body.link.messageUrl})`, link: body.link.messageUrl };
    case 'actionCard': {
      const card = body.actionCard;
      const buttons = card.btns ?? (card.singleTitle && card.singleURL ? [{ title: card.singleTitle, actionURL: card.singleURL }] : []);
      const links = buttons.map((b) => `[${b.title}](${b.actionURL})`).join(' · ');
      return withLink({ title: card.title, text: links ? `${card.text}\n\n${links}` : card.text }, buttons[0]?.actionURL ?? firstLink(card.text));
    }
    case 'feedCard': {
      const links = body.feedCard.links;
      return withLink(
        { title: links[0]?.title ?? 'herald', text: links.map((l) => `- [${l.title}](${l.messageURL})`).join('\n') },
        links[0]?.messageURL,
      );
    }
  }
}
