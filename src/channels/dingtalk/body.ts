// DingTalk request bodies: their types (exactly as DingTalk names the fields), and
// building one from a rendered notification, mentions included (pure).
import type { RenderedDingTalk, RenderedNotification } from '../../templates/types.js';
import { ChannelReasons, MessageRejectedError } from '../errors.js';

// Note the mixed casing DingTalk uses: link has messageUrl/picUrl, feedCard messageURL/picURL.
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


export const nonBlank = (value: string | undefined): string | undefined =>
  value !== undefined && value.trim() !== '' ? value : undefined;

export const unique = (values: string[]): string[] => [...new Set(values.map((v) => v.trim()).filter((v) => v !== ''))];

/** A short title from the first non-empty line of a text, without markdown markers. */
export function titleFrom(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  const plain = line.replace(/^[\s#>*\-+]+/, '').trim();
  return truncateChars(plain === '' ? 'herald' : plain, 64);
}

/** Cut to at most `max` characters (code points, so no emoji is split), marking the cut. */
export function truncateChars(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

export function invalidMessage(message: string): MessageRejectedError {
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

export const hasMentions = (at: DingTalkAt): boolean =>
  (at.atMobiles?.length ?? 0) > 0 || (at.atUserIds?.length ?? 0) > 0 || at.isAtAll === true;

/** DingTalk only highlights a mention whose `@mobile` / `@userId` is in the text: add the missing ones. */
export function withMentionTokens(text: string, tokens: string[], separator: string): string {
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
    if (!content) throw invalidMessage('the template rendered neither spec.dingtalk nor spec.message: nothing to send');
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
      if (!content) throw invalidMessage('spec.dingtalk.text (or spec.message) rendered empty: a text message needs it');
      const body: DingTalkTextBody = { msgtype: 'text', text: { content: withMentionTokens(content, mentions.tokens, '\n') } };
      if (at) body.at = at;
      return { body, notes };
    }
    case 'markdown': {
      const text = nonBlank(d.text) ?? nonBlank(rendered.message);
      if (!text) throw invalidMessage('spec.dingtalk.text (or spec.message) rendered empty: a markdown message needs it');
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
      if (!text) throw invalidMessage('spec.dingtalk.text (or spec.message) rendered empty: a link message needs it');
      if (!messageUrl) throw invalidMessage('spec.dingtalk.messageURL rendered empty: a link message needs it');
      const link: DingTalkLinkBody['link'] = { title: nonBlank(d.title) ?? titleFrom(text), text, messageUrl };
      const picUrl = nonBlank(d.picURL);
      if (picUrl) link.picUrl = picUrl;
      dropMentions();
      return { body: { msgtype: 'link', link }, notes };
    }
    case 'actionCard': {
      const text = nonBlank(d.text) ?? nonBlank(rendered.message);
      if (!text) throw invalidMessage('spec.dingtalk.text (or spec.message) rendered empty: an actionCard message needs it');
      const card: DingTalkActionCardBody['actionCard'] = { title: nonBlank(d.title) ?? titleFrom(text), text };
      const btns = (d.btns ?? []).filter((b) => nonBlank(b.title) || nonBlank(b.actionURL));
      if (btns.length > 0) {
        btns.forEach((b, i) => {
          if (!nonBlank(b.title) || !nonBlank(b.actionURL)) {
            throw invalidMessage(`spec.dingtalk.btns[${i}] needs both title and actionURL`);
          }
        });
        card.btns = btns.map((b) => ({ title: b.title, actionURL: b.actionURL }));
        if (d.btnOrientation) card.btnOrientation = d.btnOrientation;
      } else {
        const singleTitle = nonBlank(d.singleTitle);
        const singleURL = nonBlank(d.singleURL);
        if (!singleTitle || !singleURL) {
          throw invalidMessage('an actionCard message needs spec.dingtalk.btns or both singleTitle and singleURL');
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
      if (links.length === 0) throw invalidMessage('spec.dingtalk.links is empty: a feedCard message needs at least one link');
      const feedLinks = links.map((l, i) => {
        const title = nonBlank(l.title);
        const messageURL = nonBlank(l.messageURL);
        const picURL = nonBlank(l.picURL);
        if (!title || !messageURL || !picURL) {
          throw invalidMessage(`spec.dingtalk.links[${i}] needs title, messageURL and picURL (DingTalk requires all three)`);
        }
        return { title, messageURL, picURL };
      });
      dropMentions();
      return { body: { msgtype: 'feedCard', feedCard: { links: feedLinks } }, notes };
    }
    default: {
      const unknown: never = msgType;
      throw invalidMessage(`spec.dingtalk.msgType "${String(unknown)}" is not one of text, markdown, link, actionCard, feedCard`);
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
