// The DingTalk custom group robot ("自定义机器人"): a webhook URL carrying an access
// token, optionally signed with a SEC… secret, optionally guarded by keywords.
//
// prepare() is the pure part (build, fit, keyword check), shared with
// `herald template notify`; post() is the only code here that does I/O.
import { maskUrl, registerSecret } from '../../secrets.js';
import { refusal, type HostAllowList } from '../allowlist.js';
import type { Channel, DigestReceipt, OutgoingMessage, SendReceipt } from '../channel.js';
import { ChannelConfigurationError, ChannelReasons } from '../errors.js';
import { PostFailure, postText, type PostAnswer } from '../http-post.js';
import { classifyAnswer, classifyNetworkFailure, DINGTALK_THROTTLE_MS, type DingTalkAnswer } from './answer.js';
import { buildDingTalkBody, mergeAt, type DingTalkBody, type DingTalkMention } from './body.js';
import { buildDigestBody, digestItemOf, type DigestItem } from './digest.js';
import { missingKeyword } from './keywords.js';
import { signedUrl } from './sign.js';
import { DINGTALK_MAX_BODY_BYTES, fitToSize } from './size.js';

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
  /** Clock for signing (default Date.now). */
  now?: () => number;
  /** Hosts the robot may send to (default: no check; the controller always passes its list). */
  allowedHosts?: HostAllowList;
}

/** A body ready to POST, and what preparing it found. */
export interface PreparedMessage {
  /** The body as it would be sent (already fitted to the size limit). */
  body: DingTalkBody;
  /** Unresolved mentions, a shortened text…: worth a log line, not a failure. */
  notes: string[];
  /** Set when none of the robot's keywords appears: DingTalk would drop it, so it is not sent. */
  missingKeyword?: string;
}

export interface PreparedDigest extends PreparedMessage {
  /** How many of the messages (from the front) the digest shows. */
  included: number;
  /** How many did not fit. */
  omitted: number;
}

/** What the robot needs to know to prepare a message: its spec.mentions and spec.keywords. */
export interface PrepareOptions {
  mentions?: Record<string, DingTalkMention>;
  keywords?: string[];
}

/** The largest answer read (DingTalk's are under 100 bytes); a longer one is a transient failure. */
export const RESPONSE_LIMIT_BYTES = 64 * 1024;

/** Fit a body to DingTalk's size limit and check the keywords (pure). */
export function prepareBody(body: DingTalkBody, keywords: string[] = []): PreparedMessage {
  const fitted = fitToSize(body);
  const notes = fitted.truncated ? [`message text shortened to fit DingTalk's ${DINGTALK_MAX_BODY_BYTES}-byte limit`] : [];
  const missing = missingKeyword(fitted.body, keywords);
  return { body: fitted.body, notes, ...(missing ? { missingKeyword: missing } : {}) };
}

/** Build, fit and keyword-check one message (pure): exactly what the robot would send. */
export function prepareMessage(message: OutgoingMessage, options: PrepareOptions = {}): PreparedMessage {
  const built = buildDingTalkBody(message.rendered, {
    mentions: options.mentions,
    initiator: message.initiator,
    msgUuid: message.idempotencyKey,
  });
  const prepared = prepareBody(built.body, options.keywords);
  return { ...prepared, notes: [...built.notes, ...prepared.notes] };
}

/** One digest of several messages, fitted and keyword-checked (pure). */
export function prepareDigest(messages: OutgoingMessage[], options: PrepareOptions = {}): PreparedDigest {
  const notes: string[] = [];
  const bodies: DingTalkBody[] = [];
  const items = messages.map((message, index): DigestItem => {
    try {
      const built = buildDingTalkBody(message.rendered, { mentions: options.mentions, initiator: message.initiator });
      notes.push(...built.notes);
      bodies.push(built.body);
      return { ...digestItemOf(built.body), ...(message.about ? { summary: message.about } : {}) };
    } catch (error) {
      // A message that cannot be built on its own still shows its plain text in the digest.
      notes.push(`digest item ${index}: ${error instanceof Error ? error.message : String(error)}`);
      return { title: 'herald notification', text: message.rendered.message ?? '(no text)', ...(message.about ? { summary: message.about } : {}) };
    }
  });
  const digest = buildDigestBody(items, { at: mergeAt(bodies), keywords: options.keywords });
  const prepared = prepareBody(digest.body, options.keywords);
  return { ...prepared, notes: [...notes, ...prepared.notes], included: digest.included, omitted: digest.omitted };
}

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
    throw new ChannelConfigurationError(ChannelReasons.InvalidWebhookURL, `the webhook URL must be http(s), not ${url.protocol.replace(/:$/, '')}`);
  }
  return url;
}

/**
 * A request URL for printing: the access token and signature replaced by ***, the rest
 * (host, path, timestamp) kept, so that a reader sees which robot is addressed.
 */
export function displayUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '***';
  }
  for (const key of ['access_token', 'sign']) if (parsed.searchParams.has(key)) parsed.searchParams.set(key, '***');
  parsed.username = parsed.username ? '***' : '';
  parsed.password = parsed.password ? '***' : '';
  return maskUrl(parsed.toString());
}

export class DingTalkRobot implements Channel {
  readonly type = 'dingtalk';
  private readonly webhookUrl: string;
  private readonly signSecret: string | undefined;
  private readonly keywords: string[];
  private readonly mentions: Record<string, DingTalkMention>;
  private readonly timeoutMs: number;
  private readonly throttledRetryMs: number;
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
    const url = parseWebhookUrl(options.webhookUrl);
    const refused = options.allowedHosts ? refusal(url, options.allowedHosts) : undefined;
    if (refused) throw new ChannelConfigurationError(ChannelReasons.HostNotAllowed, refused);
    this.webhookUrl = url.toString();
    this.signSecret = secret === '' ? undefined : secret;
    this.keywords = options.keywords ?? [];
    this.mentions = options.mentions ?? {};
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.throttledRetryMs = options.throttledRetryMs ?? DINGTALK_THROTTLE_MS;
    this.now = options.now ?? Date.now;
  }

  /** The body this robot would send for a message (what `herald template notify` shows). */
  prepare(message: OutgoingMessage): PreparedMessage {
    return prepareMessage(message, { mentions: this.mentions, keywords: this.keywords });
  }

  /** The digest this robot would send for several waiting messages. */
  prepareDigest(messages: OutgoingMessage[]): PreparedDigest {
    return prepareDigest(messages, { mentions: this.mentions, keywords: this.keywords });
  }

  /** The URL of the next request, token and signature masked (for the CLI). */
  displayUrl(): string {
    return displayUrl(signedUrl(this.webhookUrl, this.signSecret, this.now()));
  }

  async send(message: OutgoingMessage, signal?: AbortSignal): Promise<SendReceipt> {
    return this.post(this.prepare(message), signal);
  }

  async sendDigest(messages: OutgoingMessage[], signal?: AbortSignal): Promise<DigestReceipt> {
    const digest = this.prepareDigest(messages);
    const receipt = await this.post(digest, signal);
    return { ...receipt, included: digest.included, omitted: digest.omitted };
  }

  /** Sign, POST and classify a prepared body; refuses one without a keyword before any request. */
  async post(prepared: PreparedMessage, signal?: AbortSignal): Promise<SendReceipt & { response: DingTalkAnswer }> {
    if (prepared.missingKeyword) throw new ChannelConfigurationError(ChannelReasons.KeywordMissing, prepared.missingKeyword);
    let response: PostAnswer;
    try {
      // Never follows a redirect (postText does not): it could point anywhere, past the channel allow-list.
      response = await postText(new URL(signedUrl(this.webhookUrl, this.signSecret, this.now())), JSON.stringify(prepared.body), {
        headers: { 'Content-Type': 'application/json; charset=utf-8', Accept: 'application/json' },
        timeoutMs: this.timeoutMs,
        signal,
        maxResponseBytes: RESPONSE_LIMIT_BYTES,
      });
    } catch (error) {
      const kind = error instanceof PostFailure ? error.kind : 'network';
      throw classifyNetworkFailure(error, {
        cancelled: signal?.aborted === true,
        timedOut: kind === 'timeout',
        timeoutMs: this.timeoutMs,
        ...(kind === 'too-large' ? { answerLimitBytes: RESPONSE_LIMIT_BYTES } : {}),
      });
    }
    const retryAfter = response.headers['retry-after'];
    const classified = classifyAnswer(
      {
        status: response.status,
        body: response.body,
        ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
      },
      { nowMs: this.now(), throttledRetryMs: this.throttledRetryMs },
    );
    if (classified.kind !== 'success') throw classified.error;
    return { response: classified.answer, notes: prepared.notes };
  }
}
