// What DingTalk's answers mean (pure): success, throttled, configuration, message rejected, transient.
import test from 'ava';
import { classifyAnswer, classifyNetworkFailure, retryAfterMs, type HttpAnswer } from '../../src/channels/dingtalk/answer.js';
import { ChannelConfigurationError, ChannelTransientError, MessageRejectedError } from '../../src/channels/errors.js';
import { registerSecret } from '../../src/secrets.js';

const NOW = Date.parse('2024-05-01T08:00:00Z');
const options = { nowMs: NOW, throttledRetryMs: 600_000 };
const dingtalk = (errcode: number, errmsg: string): HttpAnswer => ({ status: 200, body: JSON.stringify({ errcode, errmsg }) });

test('errcode 0 is success with DingTalk\'s answer', (t) => {
  t.deepEqual(classifyAnswer(dingtalk(0, 'ok'), options), { kind: 'success', answer: { errcode: 0, errmsg: 'ok' } });
});

test('errcode 130101 is throttled: transient, after the mute', (t) => {
  const result = classifyAnswer(dingtalk(130101, 'send too fast, exceed 20 times per minute'), options);
  t.is(result.kind, 'throttled');
  if (result.kind !== 'throttled') return;
  t.true(result.error instanceof ChannelTransientError);
  t.is(result.error.reason, 'Throttled');
  t.is(result.error.retryAfterMs, 600_000);
  t.is(result.error.message, 'DingTalk errcode 130101: send too fast, exceed 20 times per minute (robot muted; next attempt in 600 s)');
  t.deepEqual(result.error.answer, { httpStatus: 200, errcode: 130101 });
});

test('310000, 300001 and 300005 are configuration problems of the channel', (t) => {
  const cases: Array<[number, string, string]> = [
    [310000, 'sign not match', 'RobotRejected'],
    [310000, 'keywords not in content', 'RobotRejected'],
    [300001, 'token is not exist', 'InvalidToken'],
    [300005, 'token is not exist', 'InvalidToken'],
  ];
  for (const [errcode, errmsg, reason] of cases) {
    const result = classifyAnswer(dingtalk(errcode, errmsg), options);
    t.is(result.kind, 'configuration');
    if (result.kind !== 'configuration') continue;
    t.true(result.error instanceof ChannelConfigurationError);
    t.is(result.error.reason, reason);
    t.true(result.error.message.startsWith(`DingTalk errcode ${errcode}: ${errmsg} (`));
  }
});

test('-1 (system busy) is transient; any other errcode rejects only the message', (t) => {
  const busy = classifyAnswer(dingtalk(-1, 'system busy'), options);
  t.is(busy.kind, 'transient');
  const tooLong = classifyAnswer(dingtalk(460101, 'message too long, exceed 20000 bytes'), options);
  t.is(tooLong.kind, 'rejected');
  if (tooLong.kind !== 'rejected') return;
  t.true(tooLong.error instanceof MessageRejectedError);
  t.is(tooLong.error.reason, 'MessageRejected');
  t.is(tooLong.error.message, 'DingTalk refused the message: DingTalk errcode 460101: message too long, exceed 20000 bytes');
});

test('HTTP 5xx and 429 are transient, with Retry-After in seconds or as a date', (t) => {
  const seconds = classifyAnswer({ status: 429, body: '', retryAfter: '30' }, options);
  t.is(seconds.kind, 'transient');
  if (seconds.kind === 'transient') t.is(seconds.error.retryAfterMs, 30_000);
  const date = classifyAnswer({ status: 503, body: 'busy', retryAfter: new Date(NOW + 90_000).toUTCString() }, options);
  if (date.kind === 'transient') {
    t.is(date.error.retryAfterMs, 90_000);
    t.is(date.error.message, 'DingTalk answered HTTP 503 "busy"');
  } else t.fail(date.kind);
  t.is(retryAfterMs('99999', NOW), 3_600_000, 'at most an hour');
  t.is(retryAfterMs('soon', NOW), undefined);
  t.is(retryAfterMs(undefined, NOW), undefined);
});

test('a redirect, a 4xx and a 200 without errcode are configuration problems', (t) => {
  const redirect = classifyAnswer({ status: 302, body: '' }, options);
  t.is(redirect.kind, 'configuration');
  if (redirect.kind === 'configuration') {
    t.is(redirect.error.reason, 'EndpointRejected');
    t.regex(redirect.error.message, /HTTP 302 \(a redirect, which herald does not follow/);
  }
  const notFound = classifyAnswer({ status: 404, body: 'not found' }, options);
  if (notFound.kind === 'configuration') t.is(notFound.error.reason, 'EndpointRejected');
  else t.fail(notFound.kind);
  const html = classifyAnswer({ status: 200, body: '<html>login</html>' }, options);
  if (html.kind === 'configuration') {
    t.is(html.error.reason, 'UnexpectedResponse');
    t.is(html.error.message, 'HTTP 200 without a DingTalk errcode "<html>login</html>": is the webhook URL a DingTalk robot?');
  } else t.fail(html.kind);
});

test('no answer: cancelled, timed out or unreachable, masked', (t) => {
  registerSecret('answertesttoken0001');
  const refused = Object.assign(new Error('connect ECONNREFUSED http://x/robot/send?access_token=answertesttoken0001'), { code: 'ECONNREFUSED' });
  const unreachable = classifyNetworkFailure(refused, { cancelled: false, timedOut: false, timeoutMs: 1000 });
  t.is(unreachable.reason, 'Unavailable');
  t.false(unreachable.message.includes('answertesttoken0001'));
  t.false(String((unreachable.cause as Error).message).includes('answertesttoken0001'));
  t.regex(unreachable.message, /^could not reach DingTalk: ECONNREFUSED/);
  t.is(classifyNetworkFailure(refused, { cancelled: true, timedOut: true, timeoutMs: 1000 }).message, 'sending to DingTalk was cancelled');
  t.is(classifyNetworkFailure(new Error('aborted'), { cancelled: false, timedOut: true, timeoutMs: 1000 }).message, 'DingTalk did not answer within 1000 ms');
});
