// The DingTalk custom group robot ("自定义机器人"): a webhook URL carrying an access
// token, optionally signed with a SEC… secret, optionally guarded by keywords.
//
// Pure parts (body building, keyword check, signing, digest, size fitting) come first;
// the sender at the end is the only code that does I/O. docs/reference/dingtalk.md
// explains the protocol details and the decisions taken here.
import { createHmac } from 'node:crypto';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { DingTalkChannelSpec } from '../api/generated.js';
import { maskSecrets, registerSecret } from '../secrets.js';
import type { RenderedDingTalk, RenderedNotification } from '../templates/types.js';
import type { Channel, DigestReceipt, OutgoingMessage, SendReceipt } from './channel.js';
import {
  ChannelConfigurationError,
  ChannelReasons,
  ChannelTransientError,
  MessageRejectedError,
  NetworkFailure,
  type ChannelAnswer,
} from './errors.js';

// ---------------------------------------------------------------------------
// Request bodies, exactly as DingTalk names the fields (note the mixed casing:
// link uses messageUrl/picUrl, feedCard uses messageURL/picURL).

export interface DingTalkAt {
  atMobiles?: string[];
  atUserIds?: string[];
  isAtAll?: boolean;
}

interface BodyCommon {
  /** DingTalk's optional idempotency key (see docs/reference/dingtalk.md: best effort only). */
  msgUuid?: string;
}

export interface DingTalkTextBody extends BodyCommon {
  msgtype: 'text';
  text: { content: string };
  at?: DingTalkAt;
}

export interface DingTalkMarkdownBody extends BodyCommon {
  msgtype: 'markdown';
  markdown: { title: string; text: string };
  at?: DingTalkAt;
}

export interface DingTalkLinkBody extends BodyCommon {
  msgtype: 'link';
  link: { title: string; text: string; messageUrl: string; picUrl?: string };
}

export interface DingTalkActionCardBody extends BodyCommon {
  msgtype: 'actionCard';
  actionCard: {
    title: string;
    text: string;
    singleTitle?: string;
    singleURL?: string;
    btnOrientation?: '0' | '1';
    btns?: Array<{ title: string; actionURL: string }>;
  };
  at?: DingTalkAt;
}

export interface DingTalkFeedCardBody extends BodyCommon {
  msgtype: 'feedCard';
  feedCard: { links: Array<{ title: string; messageURL: string; picURL: string }> };
}

export type DingTalkBody =
  | DingTalkTextBody
  | DingTalkMarkdownBody
  | DingTalkLinkBody
  | DingTalkActionCardBody
  | DingTalkFeedCardBody;

/** A DingTalk account to mention, from DingTalkChannel spec.mentions. */
export interface DingTalkMention {
  mobile?: string;
  userId?: string;
}

export interface BuildOptions {
  /** spec.mentions: Argo CD user name → DingTalk account. */
  mentions?: Record<string, DingTalkMention>;
  /** Who started the sync (for `at.initiator: true`). */
  initiator?: string;
  /** Sent as DingTalk's msgUuid when set. */
  msgUuid?: string;
}

export interface BuiltDingTalkMessage {
  body: DingTalkBody;
  /** Mentions that could not be made, and other things worth a log line. */
  notes: string[];
}

/** DingTalk refuses request bodies larger than this ("message too long, exceed 20000 bytes"). */
export const DINGTALK_MAX_BODY_BYTES = 20_000;

const nonBlank = (value: string | undefined): string | undefined =>
  value !== undefined && value.trim() !== '' ? value : undefined;

const unique = (values: string[]): string[] => [...new Set(values.map((v) => v.trim()).filter((v) => v !== ''))];

/** A short title from the first non-empty line of a text, without markdown markers. */
function titleFrom(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  const plain = line.replace(/^[\s#>*\-+]+/, '').trim();
  return truncateChars(plain === '' ? 'herald' : plain, 64);
}

/** Cut to at most `max` characters (code points, so no emoji is split), marking the cut. */
function truncateChars(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

function invalid(message: string): MessageRejectedError {
  return new MessageRejectedError(ChannelReasons.InvalidMessage, message);
}

interface ResolvedMentions {
  at: DingTalkAt;
  /** `@mobile` / `@userId` tokens DingTalk wants to see in the text. */
  tokens: string[];
  notes: string[];
}

function resolveMentions(at: RenderedDingTalk['at'], options: BuildOptions): ResolvedMentions {
  const notes: string[] = [];
  const mobiles = [...(at?.mobiles ?? [])];
  const userIds = [...(at?.userIds ?? [])];
  if (at?.initiator) {
    const who = options.initiator;
    if (who === undefined || who === '') {
      notes.push('at.initiator: the sync has no initiator (automated sync?), nobody mentioned');
    } else {
      const account = options.mentions?.[who];
      const mobile = nonBlank(account?.mobile);
      const userId = nonBlank(account?.userId);
      if (mobile) mobiles.push(mobile);
      else if (userId) userIds.push(userId);
      else notes.push(`at.initiator: "${who}" has no mobile or userId in the channel's spec.mentions, not mentioned`);
    }
  }
  const result: DingTalkAt = {};
  const atMobiles = unique(mobiles);
  const atUserIds = unique(userIds);
  if (atMobiles.length > 0) result.atMobiles = atMobiles;
  if (atUserIds.length > 0) result.atUserIds = atUserIds;
  if (at?.all) result.isAtAll = true;
  return { at: result, tokens: [...atMobiles, ...atUserIds].map((id) => `@${id}`), notes };
}

const hasMentions = (at: DingTalkAt): boolean =>
  (at.atMobiles?.length ?? 0) > 0 || (at.atUserIds?.length ?? 0) > 0 || at.isAtAll === true;

/** DingTalk only highlights a mention whose `@mobile` / `@userId` is in the text: add the missing ones. */
function withMentionTokens(text: string, tokens: string[], separator: string): string {
  const missing = tokens.filter((token) => !text.includes(token));
  return missing.length === 0 ? text : `${text}${separator}${missing.join(' ')}`;
}

/**
 * The DingTalk request body for a rendered notification (pure). Without
 * `rendered.dingtalk` it is a text message from `rendered.message`. Throws
 * MessageRejectedError (reason InvalidMessage) when a field the msgType needs is empty.
 */
export function buildDingTalkBody(rendered: RenderedNotification, options: BuildOptions = {}): BuiltDingTalkMessage {
  const body = buildBody(rendered, options);
  if (options.msgUuid) body.body.msgUuid = options.msgUuid;
  return body;
}

function buildBody(rendered: RenderedNotification, options: BuildOptions): BuiltDingTalkMessage {
  const d = rendered.dingtalk;
  if (d === undefined) {
    const content = nonBlank(rendered.message);
    if (!content) throw invalid('the template rendered neither spec.dingtalk nor spec.message: nothing to send');
    return { body: { msgtype: 'text', text: { content } }, notes: [] };
  }
  const msgType = d.msgType ?? 'markdown';
  const mentions = resolveMentions(d.at, options);
  const notes = [...mentions.notes];
  const at = hasMentions(mentions.at) ? mentions.at : undefined;
  const dropMentions = () => {
    if (at) notes.push(`DingTalk ${msgType} messages cannot mention anyone; at.* ignored`);
  };
  switch (msgType) {
    case 'text': {
      const content = nonBlank(d.text) ?? nonBlank(rendered.message);
      if (!content) throw invalid('spec.dingtalk.text (or spec.message) rendered empty: a text message needs it');
      const body: DingTalkTextBody = { msgtype: 'text', text: { content: withMentionTokens(content, mentions.tokens, '\n') } };
      if (at) body.at = at;
      return { body, notes };
    }
    case 'markdown': {
      const text = nonBlank(d.text) ?? nonBlank(rendered.message);
      if (!text) throw invalid('spec.dingtalk.text (or spec.message) rendered empty: a markdown message needs it');
      const title = nonBlank(d.title) ?? titleFrom(text);
      const body: DingTalkMarkdownBody = {
        msgtype: 'markdown',
        markdown: { title, text: withMentionTokens(text, mentions.tokens, '\n\n') },
      };
      if (at) body.at = at;
      return { body, notes };
    }
    case 'link': {
      const text = nonBlank(d.text) ?? nonBlank(rendered.message);
      const messageUrl = nonBlank(d.messageURL);
      if (!text) throw invalid('spec.dingtalk.text (or spec.message) rendered empty: a link message needs it');
      if (!messageUrl) throw invalid('spec.dingtalk.messageURL rendered empty: a link message needs it');
      const link: DingTalkLinkBody['link'] = { title: nonBlank(d.title) ?? titleFrom(text), text, messageUrl };
      const picUrl = nonBlank(d.picURL);
      if (picUrl) link.picUrl = picUrl;
      dropMentions();
      return { body: { msgtype: 'link', link }, notes };
    }
    case 'actionCard': {
      const text = nonBlank(d.text) ?? nonBlank(rendered.message);
      if (!text) throw invalid('spec.dingtalk.text (or spec.message) rendered empty: an actionCard message needs it');
      const card: DingTalkActionCardBody['actionCard'] = { title: nonBlank(d.title) ?? titleFrom(text), text };
      const btns = (d.btns ?? []).filter((b) => nonBlank(b.title) || nonBlank(b.actionURL));
      if (btns.length > 0) {
        btns.forEach((b, i) => {
          if (!nonBlank(b.title) || !nonBlank(b.actionURL)) {
            throw invalid(`spec.dingtalk.btns[${i}] needs both title and actionURL`);
          }
        });
        card.btns = btns.map((b) => ({ title: b.title, actionURL: b.actionURL }));
        if (d.btnOrientation) card.btnOrientation = d.btnOrientation;
      } else {
        const singleTitle = nonBlank(d.singleTitle);
        const singleURL = nonBlank(d.singleURL);
        if (!singleTitle || !singleURL) {
          throw invalid('an actionCard message needs spec.dingtalk.btns or both singleTitle and singleURL');
        }
        card.singleTitle = singleTitle;
        card.singleURL = singleURL;
      }
      // DingTalk documents `at` for text and markdown; it is passed for actionCard too,
      // but numbers are not written into the card text, where they would show verbatim.
      const body: DingTalkActionCardBody = { msgtype: 'actionCard', actionCard: card };
      if (at) body.at = at;
      return { body, notes };
    }
    case 'feedCard': {
      const links = d.links ?? [];
      if (links.length === 0) throw invalid('spec.dingtalk.links is empty: a feedCard message needs at least one link');
      const feedLinks = links.map((l, i) => {
        const title = nonBlank(l.title);
        const messageURL = nonBlank(l.messageURL);
        const picURL = nonBlank(l.picURL);
        if (!title || !messageURL || !picURL) {
          throw invalid(`spec.dingtalk.links[${i}] needs title, messageURL and picURL (DingTalk requires all three)`);
        }
        return { title, messageURL, picURL };
      });
      dropMentions();
      return { body: { msgtype: 'feedCard', feedCard: { links: feedLinks } }, notes };
    }
    default: {
      const unknown: never = msgType;
      throw invalid(`spec.dingtalk.msgType "${String(unknown)}" is not one of text, markdown, link, actionCard, feedCard`);
    }
  }
}

// ---------------------------------------------------------------------------
// Keywords

/**
 * The fields herald treats as the message's visible text for the keyword check.
 * DingTalk does not document the exact set; these are what a reader sees (titles,
 * texts, button and entry labels), see docs/reference/dingtalk.md.
 */
export function visibleText(body: DingTalkBody): Array<[field: string, value: string]> {
  switch (body.msgtype) {
    case 'text':
      return [['text.content', body.text.content]];
    case 'markdown':
      return [
        ['markdown.title', body.markdown.title],
        ['markdown.text', body.markdown.text],
      ];
    case 'link':
      return [
        ['link.title', body.link.title],
        ['link.text', body.link.text],
      ];
    case 'actionCard': {
      const card = body.actionCard;
      const fields: Array<[string, string]> = [
        ['actionCard.title', card.title],
        ['actionCard.text', card.text],
      ];
      if (card.singleTitle) fields.push(['actionCard.singleTitle', card.singleTitle]);
      (card.btns ?? []).forEach((b, i) => fields.push([`actionCard.btns[${i}].title`, b.title]));
      return fields;
    }
    case 'feedCard':
      return body.feedCard.links.map((l, i): [string, string] => [`feedCard.links[${i}].title`, l.title]);
  }
}

/**
 * undefined when the robot has no keywords or one of them (case-sensitive) appears in
 * the message's visible text; otherwise an explanation for the caller's error.
 */
export function missingKeyword(body: DingTalkBody, keywords: string[]): string | undefined {
  const wanted = keywords.filter((k) => k.trim() !== '');
  if (wanted.length === 0) return undefined;
  const fields = visibleText(body);
  if (wanted.some((keyword) => fields.some(([, value]) => value.includes(keyword)))) return undefined;
  const list = wanted.map((k) => JSON.stringify(k)).join(', ');
  const where = fields.map(([field]) => field).join(', ');
  return (
    `none of the robot's keywords (${list}) appears in the ${body.msgtype} message (${where}); ` +
    'DingTalk would drop it: put a keyword into the template, or fix the channel\'s spec.keywords'
  );
}

// ---------------------------------------------------------------------------
// Signing

/** The DingTalk signature of a timestamp: base64(HMAC-SHA256(secret, `${timestamp}\n${secret}`)). */
export function dingTalkSignature(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/**
 * The webhook URL with `timestamp` and `sign` query parameters (URL-encoded by
 * URLSearchParams: + / = become %2B %2F %3D). Without a secret, the URL unchanged.
 */
export function signedUrl(webhookUrl: string, signSecret: string | undefined, nowMs: number): string {
  if (!signSecret) return webhookUrl;
  const url = new URL(webhookUrl);
  const timestamp = Math.trunc(nowMs);
  url.searchParams.set('timestamp', String(timestamp));
  url.searchParams.set('sign', dingTalkSignature(signSecret, timestamp));
  return url.toString();
}

// ---------------------------------------------------------------------------
// Size

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');
/** Bytes a string adds inside a JSON string literal. */
const escapedBytes = (text: string): number => Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;

/** The largest prefix (in code points) of `chars` whose escaped form, with `suffix`, fits `budget` bytes. */
function longestPrefixWithin(chars: string[], suffix: string, budget: number): string | undefined {
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

// ---------------------------------------------------------------------------
// Digest: many waiting messages merged into one markdown message

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
  if (items.length === 0) throw invalid('a digest needs at least one message');
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
      if (shortened === undefined) throw invalid('a digest item title alone exceeds the size limit');
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

/** All mentions of several bodies together. */
export function mergeAt(bodies: DingTalkBody[]): DingTalkAt {
  const mobiles: string[] = [];
  const userIds: string[] = [];
  let all = false;
  for (const body of bodies) {
    if (!('at' in body) || !body.at) continue;
    mobiles.push(...(body.at.atMobiles ?? []));
    userIds.push(...(body.at.atUserIds ?? []));
    all ||= body.at.isAtAll === true;
  }
  const at: DingTalkAt = {};
  if (mobiles.length > 0) at.atMobiles = unique(mobiles);
  if (userIds.length > 0) at.atUserIds = unique(userIds);
  if (all) at.isAtAll = true;
  return at;
}

// ---------------------------------------------------------------------------
// The sender

export interface DingTalkRobotOptions {
  /** The robot's full webhook URL, https://oapi.dingtalk.com/robot/send?access_token=… */
  webhookUrl: string;
  /** The SEC… signing secret, when the robot's security setting is "加签" (signature). */
  signSecret?: string;
  /** The robot's custom keywords; a message without one is refused before sending. */
  keywords?: string[];
  /** spec.mentions. */
  mentions?: Record<string, DingTalkMention>;
  /** Whole-request timeout (default 10000 ms). */
  timeoutMs?: number;
  /** Wait after errcode 130101 (default 10 minutes: DingTalk mutes a robot that long). */
  throttledRetryMs?: number;
  /** HTTP client (default: a fresh axios instance). */
  http?: AxiosInstance;
  /** Clock for signing (default Date.now). */
  now?: () => number;
}

export interface DingTalkAnswer {
  errcode: number;
  errmsg: string;
}

/** DingTalk mutes a robot for 10 minutes after it exceeded 20 messages a minute. */
export const DINGTALK_THROTTLE_MS = 10 * 60_000;

const RESPONSE_LIMIT_BYTES = 64 * 1024;

/** Turn a Secret's value into a webhook URL, or a ConfigurationError that never quotes the value. */
function parseWebhookUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ChannelConfigurationError(
      ChannelReasons.InvalidWebhookURL,
      'the webhook URL Secret value is not a URL; expected https://oapi.dingtalk.com/robot/send?access_token=…',
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ChannelConfigurationError(
      ChannelReasons.InvalidWebhookURL,
      `the webhook URL must be http(s), not ${url.protocol.replace(/:$/, '')}`,
    );
  }
  return url;
}

/** Retry-After (seconds or an HTTP date) in milliseconds, if present and sane. */
function retryAfterMs(response: AxiosResponse, now: number): number | undefined {
  const header = response.headers['retry-after'];
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 3600) * 1000;
  const date = Date.parse(header);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - now), 3_600_000);
}

const snippet = (text: string): string => {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine === '' ? '(empty body)' : JSON.stringify(truncateChars(oneLine, 200));
};

export class DingTalkRobot implements Channel {
  readonly type = 'dingtalk';
  private readonly webhookUrl: string;
  private readonly signSecret: string | undefined;
  private readonly keywords: string[];
  private readonly mentions: Record<string, DingTalkMention>;
  private readonly timeoutMs: number;
  private readonly throttledRetryMs: number;
  private readonly http: AxiosInstance;
  private readonly now: () => number;

  constructor(options: DingTalkRobotOptions) {
    // Register before anything can fail, so that no error below can show them.
    const token = (() => {
      try {
        return new URL(options.webhookUrl.trim()).searchParams.get('access_token') ?? undefined;
      } catch {
        return undefined;
      }
    })();
    registerSecret(token);
    registerSecret(options.webhookUrl.trim());
    const secret = options.signSecret?.trim();
    registerSecret(secret);
    this.webhookUrl = parseWebhookUrl(options.webhookUrl).toString();
    this.signSecret = secret === '' ? undefined : secret;
    this.keywords = options.keywords ?? [];
    this.mentions = options.mentions ?? {};
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.throttledRetryMs = options.throttledRetryMs ?? DINGTALK_THROTTLE_MS;
    this.http = options.http ?? axios.create();
    this.now = options.now ?? Date.now;
  }

  /** The body this robot would send for a message (what `herald template notify --stdout` shows). */
  build(message: OutgoingMessage): BuiltDingTalkMessage {
    return buildDingTalkBody(message.rendered, {
      mentions: this.mentions,
      initiator: message.initiator,
      msgUuid: message.idempotencyKey,
    });
  }

  async send(message: OutgoingMessage, signal?: AbortSignal): Promise<SendReceipt> {
    const built = this.build(message);
    const receipt = await this.sendBody(built.body, signal);
    return { ...receipt, notes: [...built.notes, ...(receipt.notes ?? [])] };
  }

  async sendDigest(messages: OutgoingMessage[], signal?: AbortSignal): Promise<DigestReceipt> {
    const notes: string[] = [];
    const bodies: DingTalkBody[] = [];
    const items = messages.map((message, index): DigestItem => {
      try {
        const built = buildDingTalkBody(message.rendered, { mentions: this.mentions, initiator: message.initiator });
        notes.push(...built.notes);
        bodies.push(built.body);
        return digestItemOf(built.body);
      } catch (error) {
        // A message that cannot be built on its own still shows its plain text in the digest.
        notes.push(`digest item ${index}: ${error instanceof Error ? error.message : String(error)}`);
        return { title: 'herald notification', text: message.rendered.message ?? '(no text)' };
      }
    });
    const digest = buildDigestBody(items, { at: mergeAt(bodies) });
    const receipt = await this.sendBody(digest.body, signal);
    return { ...receipt, notes: [...notes, ...(receipt.notes ?? [])], included: digest.included, omitted: digest.omitted };
  }

  /** Check, sign, POST and classify one body. */
  async sendBody(body: DingTalkBody, signal?: AbortSignal): Promise<SendReceipt & { response: DingTalkAnswer }> {
    const fitted = fitToSize(body);
    const missing = missingKeyword(fitted.body, this.keywords);
    if (missing) throw new ChannelConfigurationError(ChannelReasons.KeywordMissing, missing);
    const payload = JSON.stringify(fitted.body);
    const notes = fitted.truncated ? ['message text shortened to fit DingTalk\'s 20000-byte limit'] : [];

    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: AxiosResponse<unknown>;
    try {
      response = await this.http.request<unknown>({
        method: 'POST',
        url: signedUrl(this.webhookUrl, this.signSecret, this.now()),
        data: payload,
        headers: { 'Content-Type': 'application/json; charset=utf-8', Accept: 'application/json' },
        timeout: this.timeoutMs,
        signal: combined,
        responseType: 'text',
        transformRequest: [(data: unknown) => data],
        transformResponse: [(data: unknown) => data],
        validateStatus: () => true,
        maxRedirects: 0,
        maxContentLength: RESPONSE_LIMIT_BYTES,
      });
    } catch (error) {
      throw this.networkError(error, signal, timeout);
    }
    return { response: this.classify(response), notes };
  }

  private networkError(error: unknown, caller: AbortSignal | undefined, timeout: AbortSignal): Error {
    // Keep only the code and a masked message: the library error holds the URL and config.
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
    const raw = error instanceof Error ? error.message : String(error);
    const cause = new NetworkFailure(code, raw);
    if (caller?.aborted) {
      return new ChannelTransientError(ChannelReasons.Unavailable, 'sending to DingTalk was cancelled', { cause });
    }
    if (timeout.aborted || code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
      return new ChannelTransientError(ChannelReasons.Unavailable, `DingTalk did not answer within ${this.timeoutMs} ms`, { cause });
    }
    return new ChannelTransientError(
      ChannelReasons.Unavailable,
      `could not reach DingTalk: ${code ?? 'network error'} (${maskSecrets(raw)})`,
      { cause },
    );
  }

  private classify(response: AxiosResponse<unknown>): DingTalkAnswer {
    const httpStatus = response.status;
    const text = typeof response.data === 'string' ? response.data : '';
    const answer: ChannelAnswer = { httpStatus };
    if (httpStatus === 429 || httpStatus >= 500) {
      return this.fail(
        new ChannelTransientError(ChannelReasons.Unavailable, `DingTalk answered HTTP ${httpStatus} ${snippet(text)}`, {
          retryAfterMs: retryAfterMs(response, this.now()),
          answer,
        }),
      );
    }
    if (httpStatus >= 300) {
      const hint = httpStatus < 400 ? ' (a redirect: is the webhook URL right?)' : '';
      return this.fail(
        new ChannelConfigurationError(ChannelReasons.EndpointRejected, `DingTalk answered HTTP ${httpStatus}${hint} ${snippet(text)}`, { answer }),
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const errcode = typeof parsed === 'object' && parsed !== null && 'errcode' in parsed ? Number(parsed.errcode) : NaN;
    if (!Number.isInteger(errcode)) {
      return this.fail(
        new ChannelConfigurationError(
          ChannelReasons.UnexpectedResponse,
          `HTTP ${httpStatus} without a DingTalk errcode ${snippet(text)}: is the webhook URL a DingTalk robot?`,
          { answer },
        ),
      );
    }
    const errmsg = typeof parsed === 'object' && parsed !== null && 'errmsg' in parsed ? String(parsed.errmsg) : '';
    const dingtalk: ChannelAnswer = { httpStatus, errcode };
    const said = `DingTalk errcode ${errcode}: ${errmsg || '(no errmsg)'}`;
    switch (errcode) {
      case 0:
        return { errcode, errmsg };
      case 130101:
        return this.fail(
          new ChannelTransientError(ChannelReasons.Throttled, `${said} (robot muted; next attempt in ${Math.round(this.throttledRetryMs / 1000)} s)`, {
            retryAfterMs: this.throttledRetryMs,
            answer: dingtalk,
          }),
        );
      case 310000:
        return this.fail(
          new ChannelConfigurationError(
            ChannelReasons.RobotRejected,
            `${said} (the robot's security settings refused the request: check keywords, signing secret, clock, IP allow-list)`,
            { answer: dingtalk },
          ),
        );
      case 300001:
      case 300005:
        return this.fail(
          new ChannelConfigurationError(ChannelReasons.InvalidToken, `${said} (the webhook URL's access token names no robot)`, {
            answer: dingtalk,
          }),
        );
      case -1:
        // DingTalk's general "system busy".
        return this.fail(new ChannelTransientError(ChannelReasons.Unavailable, said, { answer: dingtalk }));
      default:
        return this.fail(new MessageRejectedError(ChannelReasons.MessageRejected, `DingTalk refused the message: ${said}`, { answer: dingtalk }));
    }
  }

  private fail(error: Error): never {
    throw error;
  }
}

// ---------------------------------------------------------------------------
// From a DingTalkChannel

export interface DingTalkSecrets {
  /** Value of spec.webhook.urlSecretRef. */
  webhookUrl?: string;
  /** Value of spec.webhook.signSecretRef. */
  signSecret?: string;
}

/** A DingTalkRobot for a DingTalkChannel spec and its resolved Secret values. */
export function dingTalkRobotFromSpec(
  spec: DingTalkChannelSpec,
  secrets: DingTalkSecrets,
  options: Pick<DingTalkRobotOptions, 'timeoutMs' | 'throttledRetryMs' | 'http' | 'now'> = {},
): DingTalkRobot {
  if (spec.app !== undefined) {
    throw new ChannelConfigurationError(
      ChannelReasons.Unsupported,
      'spec.app (enterprise internal app robot) is reserved and not implemented yet; use spec.webhook',
    );
  }
  if (spec.webhook === undefined) {
    throw new ChannelConfigurationError(ChannelReasons.InvalidWebhookURL, 'spec.webhook is missing');
  }
  if (!nonBlank(secrets.webhookUrl)) {
    throw new ChannelConfigurationError(
      ChannelReasons.InvalidWebhookURL,
      `Secret ${spec.webhook.urlSecretRef.name} key ${spec.webhook.urlSecretRef.key} is empty`,
    );
  }
  if (spec.webhook.signSecretRef && !nonBlank(secrets.signSecret)) {
    throw new ChannelConfigurationError(
      ChannelReasons.InvalidSignSecret,
      `Secret ${spec.webhook.signSecretRef.name} key ${spec.webhook.signSecretRef.key} is empty`,
    );
  }
  return new DingTalkRobot({
    webhookUrl: secrets.webhookUrl!,
    signSecret: secrets.signSecret,
    keywords: spec.keywords,
    mentions: spec.mentions,
    ...options,
  });
}
