// What DingTalk's answer means (pure). The robot endpoint answers HTTP 200 with an
// `errcode` in the body; the class of the error returned tells the caller what to do
// (see ../errors.ts). docs/reference/dingtalk.md lists the codes and their sources.
import { maskSecrets } from '../../secrets.js';
import {
  ChannelConfigurationError,
  ChannelReasons,
  ChannelTransientError,
  MessageRejectedError,
  NetworkFailure,
  type ChannelAnswer,
} from '../errors.js';
import { truncateChars } from './body.js';

/** DingTalk mutes a robot for 10 minutes after it exceeded 20 messages a minute. */
export const DINGTALK_THROTTLE_MS = 10 * 60_000;

/** DingTalk's answer to an accepted message. */
export interface DingTalkAnswer {
  errcode: number;
  errmsg: string;
}

/** The HTTP answer as received (never the request URL, which holds the token). */
export interface HttpAnswer {
  status: number;
  /** The response body as text ('' when there was none). */
  body: string;
  /** The Retry-After header, when present. */
  retryAfter?: string;
}

export type AnswerKind = 'success' | 'throttled' | 'configuration' | 'rejected' | 'transient';

export type ClassifiedAnswer =
  | { kind: 'success'; answer: DingTalkAnswer }
  | { kind: 'throttled' | 'transient'; error: ChannelTransientError }
  | { kind: 'configuration'; error: ChannelConfigurationError }
  | { kind: 'rejected'; error: MessageRejectedError };

export interface ClassifyOptions {
  /** The clock, for an HTTP-date Retry-After. */
  nowMs: number;
  /** Wait after errcode 130101 (DingTalk mutes the robot this long). */
  throttledRetryMs: number;
}

/** DingTalk's errcodes herald treats specially; any other non-zero code rejects only the message. */
export const DingTalkErrcodes = {
  ok: 0,
  /** "system busy". */
  busy: -1,
  /** "send too fast, exceed 20 times per minute": the robot is muted for 10 minutes. */
  sendTooFast: 130101,
  /** Keyword, signature, timestamp or IP allow-list check failed. */
  securityCheckFailed: 310000,
  /** "token is not exist". */
  tokenNotExist: 300001,
  /** Token of a robot that was deleted or disabled. */
  tokenInvalid: 300005,
} as const;

/** Retry-After (seconds or an HTTP date) in milliseconds, if present and sane; at most an hour. */
export function retryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 3600) * 1000;
  const date = Date.parse(header);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - nowMs), 3_600_000);
}

/** Characters of DingTalk's errmsg kept in messages (DingTalk's own are under 100). */
const ERRMSG_MAX_CHARS = 200;

/** A response body, short and on one line, for an error message. */
export const snippet = (text: string): string => {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine === '' ? '(empty body)' : JSON.stringify(truncateChars(oneLine, 200));
};

function parseErrcode(text: string): { errcode: number; errmsg: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !('errcode' in parsed)) return undefined;
  const errcode = Number(parsed.errcode);
  if (!Number.isInteger(errcode)) return undefined;
  // The answer ends up in status and Events: one line, bounded (masked where it becomes an error).
  const errmsg = 'errmsg' in parsed ? truncateChars(String(parsed.errmsg).replace(/\s+/g, ' ').trim(), ERRMSG_MAX_CHARS) : '';
  return { errcode, errmsg };
}

/** What an HTTP answer from a robot endpoint means. */
export function classifyAnswer(http: HttpAnswer, options: ClassifyOptions): ClassifiedAnswer {
  const httpStatus = http.status;
  const answer: ChannelAnswer = { httpStatus };
  if (httpStatus === 429 || httpStatus >= 500) {
    return {
      kind: 'transient',
      error: new ChannelTransientError(ChannelReasons.Unavailable, `DingTalk answered HTTP ${httpStatus} ${snippet(http.body)}`, {
        retryAfterMs: retryAfterMs(http.retryAfter, options.nowMs),
        answer,
      }),
    };
  }
  if (httpStatus >= 300) {
    // Redirects are never followed: a redirect could lead anywhere, past the allow-list.
    const hint = httpStatus < 400 ? ' (a redirect, which herald does not follow: is the webhook URL right?)' : '';
    return {
      kind: 'configuration',
      error: new ChannelConfigurationError(ChannelReasons.EndpointRejected, `DingTalk answered HTTP ${httpStatus}${hint} ${snippet(http.body)}`, { answer }),
    };
  }
  const parsed = parseErrcode(http.body);
  if (!parsed) {
    return {
      kind: 'configuration',
      error: new ChannelConfigurationError(
        ChannelReasons.UnexpectedResponse,
        `HTTP ${httpStatus} without a DingTalk errcode ${snippet(http.body)}: is the webhook URL a DingTalk robot?`,
        { answer },
      ),
    };
  }
  const { errcode, errmsg } = parsed;
  const dingtalk: ChannelAnswer = { httpStatus, errcode };
  const said = `DingTalk errcode ${errcode}: ${errmsg || '(no errmsg)'}`;
  switch (errcode) {
    case DingTalkErrcodes.ok:
      return { kind: 'success', answer: { errcode, errmsg } };
    case DingTalkErrcodes.sendTooFast:
      return {
        kind: 'throttled',
        error: new ChannelTransientError(
          ChannelReasons.Throttled,
          `${said} (robot muted; next attempt in ${Math.round(options.throttledRetryMs / 1000)} s)`,
          { retryAfterMs: options.throttledRetryMs, answer: dingtalk },
        ),
      };
    case DingTalkErrcodes.securityCheckFailed:
      return {
        kind: 'configuration',
        error: new ChannelConfigurationError(
          ChannelReasons.RobotRejected,
          `${said} (the robot's security settings refused the request: check keywords, signing secret, clock, IP allow-list)`,
          { answer: dingtalk },
        ),
      };
    case DingTalkErrcodes.tokenNotExist:
    case DingTalkErrcodes.tokenInvalid:
      return {
        kind: 'configuration',
        error: new ChannelConfigurationError(ChannelReasons.InvalidToken, `${said} (the webhook URL's access token names no robot)`, { answer: dingtalk }),
      };
    case DingTalkErrcodes.busy:
      return { kind: 'transient', error: new ChannelTransientError(ChannelReasons.Unavailable, said, { answer: dingtalk }) };
    default:
      return {
        kind: 'rejected',
        error: new MessageRejectedError(ChannelReasons.MessageRejected, `DingTalk refused the message: ${said}`, { answer: dingtalk }),
      };
  }
}

export interface NetworkFailureContext {
  /** The caller cancelled (shutdown, lost leadership). */
  cancelled: boolean;
  /** The per-request timeout fired. */
  timedOut: boolean;
  timeoutMs: number;
  /** Set when the answer was longer than this many bytes and the request was aborted. */
  answerLimitBytes?: number;
}

/**
 * A request that got no (usable) answer, as a transient error. Only the error code and a
 * masked message are kept, never the error itself: an HTTP library's error can hold the
 * URL (hence the token) and the request's options.
 */
export function classifyNetworkFailure(error: unknown, context: NetworkFailureContext): ChannelTransientError {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  const raw = error instanceof Error ? error.message : String(error);
  const cause = new NetworkFailure(code, raw); // masked on construction
  if (context.cancelled) {
    return new ChannelTransientError(ChannelReasons.Unavailable, 'sending to DingTalk was cancelled', { cause });
  }
  if (context.timedOut || code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
    return new ChannelTransientError(ChannelReasons.Unavailable, `DingTalk did not answer within ${context.timeoutMs} ms`, { cause });
  }
  if (context.answerLimitBytes !== undefined) {
    return new ChannelTransientError(
      ChannelReasons.Unavailable,
      `DingTalk's answer was larger than ${context.answerLimitBytes} bytes (its answers are under 100): herald stopped reading it and closed the connection`,
      { cause },
    );
  }
  return new ChannelTransientError(ChannelReasons.Unavailable, `could not reach DingTalk: ${code ?? 'network error'} (${maskSecrets(raw)})`, { cause });
}
