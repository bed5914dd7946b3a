// How a channel says why a message was not delivered. The class tells the caller
// what to do; `reason` is the status-condition / Event reason.
//
//   ConfigurationError (src/errors.ts)  the channel is misconfigured: mark it Ready=False,
//                                       keep the message, do not retry until it changes.
//   TransientError     (src/errors.ts)  may go away by itself: retry with backoff
//                                       (after `retryAfterMs` when the channel says so).
//   MessageRejectedError (here)         this one message can never be delivered as it is
//                                       (bad fields, too large): the channel stays usable.
import { ConfigurationError, HeraldError, TransientError } from '../errors.js';

/** Reasons channel errors carry; used as status-condition and Event reasons. */
export const ChannelReasons = {
  /** The webhook URL Secret value is missing or not an http(s) URL. */
  InvalidWebhookURL: 'InvalidWebhookURL',
  /** The webhook URL's host (or plain http to it) is not on the allow-list (--dingtalk-allowed-hosts). */
  HostNotAllowed: 'HostNotAllowed',
  /** The signing secret is referenced but empty. */
  InvalidSignSecret: 'InvalidSignSecret',
  /** A mode or channel type herald does not implement (yet). */
  Unsupported: 'Unsupported',
  /** None of the robot's keywords appears in the message: DingTalk would drop it. */
  KeywordMissing: 'KeywordMissing',
  /** DingTalk errcode 310000: keyword, signature, timestamp or IP allow-list check failed. */
  RobotRejected: 'RobotRejected',
  /** DingTalk errcode 300001: the access token does not name a robot (deleted robot, wrong URL). */
  InvalidToken: 'InvalidToken',
  /** An HTTP 4xx other than 429: the endpoint refuses us (wrong URL, blocked). */
  EndpointRejected: 'EndpointRejected',
  /** HTTP 200 without a DingTalk answer in the body (not a DingTalk robot endpoint?). */
  UnexpectedResponse: 'UnexpectedResponse',
  /** DingTalk refused this message (any other errcode). */
  MessageRejected: 'MessageRejected',
  /** The rendered message lacks a field its msgType needs. */
  InvalidMessage: 'InvalidMessage',
  /** The serialised body exceeds DingTalk's size limit. */
  MessageTooLarge: 'MessageTooLarge',
  /** DingTalk errcode 130101: more than 20 messages in a minute. */
  Throttled: 'Throttled',
  /** HTTP 5xx / 429, network error, timeout. */
  Unavailable: 'Unavailable',
} as const;
export type ChannelReason = (typeof ChannelReasons)[keyof typeof ChannelReasons];

/** What the channel's endpoint answered, when it answered (never the URL or a secret). */
export interface ChannelAnswer {
  httpStatus?: number;
  errcode?: number;
}

export class ChannelConfigurationError extends ConfigurationError {
  constructor(reason: ChannelReason, message: string, options: { cause?: unknown; answer?: ChannelAnswer } = {}) {
    super(reason, message, { cause: options.cause });
    this.answer = options.answer ?? {};
  }
  readonly answer: ChannelAnswer;
}

export class ChannelTransientError extends TransientError {
  constructor(
    readonly reason: ChannelReason,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number; answer?: ChannelAnswer } = {},
  ) {
    super(message, { cause: options.cause, retryAfterMs: options.retryAfterMs });
    this.answer = options.answer ?? {};
  }
  readonly answer: ChannelAnswer;
}

/** This message cannot be delivered as it is; other messages to the same channel can. */
export class MessageRejectedError extends HeraldError {
  constructor(
    readonly reason: ChannelReason,
    message: string,
    options: { cause?: unknown; answer?: ChannelAnswer } = {},
  ) {
    super(message, { cause: options.cause });
    this.answer = options.answer ?? {};
  }
  readonly answer: ChannelAnswer;
}

/**
 * A network-level failure reduced to what is safe to keep: the error code and a
 * masked message. An HTTP library's errors can carry the request URL, headers and
 * options, which hold the access token, so they are never kept as a `cause`.
 */
export class NetworkFailure extends HeraldError {
  constructor(readonly code: string | undefined, message: string) {
    super(message);
  }
}
