// The DingTalk sender against the local robot over real loopback HTTP.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { DingTalkRobot, type DingTalkRobotOptions } from '../../src/channels/dingtalk/index.js';
import { ChannelConfigurationError, ChannelTransientError, MessageRejectedError } from '../../src/channels/errors.js';
import { TransientError } from '../../src/errors.js';
import type { RenderedNotification } from '../../src/templates/types.js';
import { startDingTalkRobot, type RobotConfig } from '../support/dingtalk-robot.js';
import { freePort } from '../support/net.js';

const newToken = () => `tok${randomBytes(12).toString('hex')}`;
const newSecret = () => `SEC${randomBytes(24).toString('hex')}`;

async function setup(robot: Partial<RobotConfig> = {}, sender: Partial<DingTalkRobotOptions> = {}) {
  const config: RobotConfig = { token: newToken(), ...robot };
  const server = await startDingTalkRobot({ robots: [config] });
  const channel = new DingTalkRobot({ webhookUrl: server.webhookUrl(config.token), signSecret: config.secret, keywords: config.keywords, ...sender });
  return { server, channel, config };
}

/** Everything an error could show: message, String(), inspect, and the JSON of its cause chain. */
function everythingShown(error: unknown): string {
  const parts: string[] = [String(error), inspect(error, { depth: 8 })];
  let current: unknown = error;
  while (current instanceof Error) {
    parts.push(current.message, JSON.stringify(current, Object.getOwnPropertyNames(current)));
    current = current.cause;
  }
  return parts.join('\n');
}

function assertNoSecrets(t: import('ava').ExecutionContext, error: unknown, secrets: Array<string | undefined>) {
  const shown = everythingShown(error);
  for (const secret of secrets) {
    if (secret) t.false(shown.includes(secret), `the error shows a secret: ${shown}`);
  }
}

const markdown = (text: string, extra: Partial<NonNullable<RenderedNotification['dingtalk']>> = {}): RenderedNotification => ({
  dingtalk: { msgType: 'markdown', title: 'ArgoCD: guestbook', text, ...extra },
});

test('every msgType is accepted by the robot and arrives as the body DingTalk documents', async (t) => {
  const { server, channel } = await setup({ keywords: ['ArgoCD'] });
  t.teardown(() => server.close());
  // Each rendered template with the exact body DingTalk must receive (note link's
  // messageUrl/picUrl against feedCard's messageURL/picURL).
  const cases: Array<[RenderedNotification, unknown]> = [
    [{ message: 'ArgoCD plain fallback' }, { msgtype: 'text', text: { content: 'ArgoCD plain fallback' } }],
    [{ dingtalk: { msgType: 'text', text: 'ArgoCD text' } }, { msgtype: 'text', text: { content: 'ArgoCD text' } }],
    [markdown('**synced**'), { msgtype: 'markdown', markdown: { title: 'ArgoCD: guestbook', text: '**synced**' } }],
    [
      { dingtalk: { msgType: 'link', title: 'ArgoCD link', text: 'x', messageURL: 'https://argo/app', picURL: 'https://img/p.png' } },
      { msgtype: 'link', link: { title: 'ArgoCD link', text: 'x', messageUrl: 'https://argo/app', picUrl: 'https://img/p.png' } },
    ],
    [
      { dingtalk: { msgType: 'actionCard', title: 'ArgoCD card', text: 'x', singleTitle: 'Open', singleURL: 'https://argo/app' } },
      { msgtype: 'actionCard', actionCard: { title: 'ArgoCD card', text: 'x', singleTitle: 'Open', singleURL: 'https://argo/app' } },
    ],
    [
      {
        dingtalk: {
          msgType: 'actionCard',
          title: 'ArgoCD card',
          text: 'x',
          btnOrientation: '0',
          btns: [
            { title: 'App', actionURL: 'https://argo/app' },
            { title: 'Diff', actionURL: 'https://git/diff' },
          ],
        },
      },
      {
        msgtype: 'actionCard',
        actionCard: {
          title: 'ArgoCD card',
          text: 'x',
          btns: [
            { title: 'App', actionURL: 'https://argo/app' },
            { title: 'Diff', actionURL: 'https://git/diff' },
          ],
          btnOrientation: '0',
        },
      },
    ],
    [
      { dingtalk: { msgType: 'feedCard', links: [{ title: 'ArgoCD feed', messageURL: 'https://a', picURL: 'https://a.png' }] } },
      { msgtype: 'feedCard', feedCard: { links: [{ title: 'ArgoCD feed', messageURL: 'https://a', picURL: 'https://a.png' }] } },
    ],
  ];
  for (const [rendered] of cases) {
    const receipt = await channel.send({ rendered });
    t.deepEqual(receipt.response, { errcode: 0, errmsg: 'ok' });
  }
  t.is(server.accepted().length, cases.length);
  for (const [i, [, expected]] of cases.entries()) {
    t.deepEqual(server.requests[i]!.json, expected);
    t.is(server.requests[i]!.rawBody, JSON.stringify(expected), 'serialised once, in this field order');
  }
});

test('mentions, including the initiator through the mentions map, reach the robot', async (t) => {
  const { server, channel } = await setup({}, { mentions: { alice: { mobile: '13800000000' } } });
  t.teardown(() => server.close());
  const receipt = await channel.send({
    rendered: markdown('guestbook synced', { at: { userIds: ['ops-lead'], initiator: true } }),
    initiator: 'alice',
  });
  t.deepEqual(receipt.notes, []);
  t.deepEqual(server.requests[0]!.json, {
    msgtype: 'markdown',
    markdown: { title: 'ArgoCD: guestbook', text: 'guestbook synced\n\n@13800000000 @ops-lead' },
    at: { atMobiles: ['13800000000'], atUserIds: ['ops-lead'] },
  });
  const unmapped = await channel.send({ rendered: markdown('again', { at: { initiator: true } }), initiator: 'bob' });
  t.regex(unmapped.notes?.[0] ?? '', /"bob" has no mobile or userId/);
  t.is(server.accepted().length, 2);
});

test('a message without a keyword is refused before any request', async (t) => {
  const { server, channel, config } = await setup({ keywords: ['ArgoCD', 'herald'] });
  t.teardown(() => server.close());
  const error = await t.throwsAsync(channel.send({ rendered: { dingtalk: { msgType: 'markdown', title: 'deploy', text: 'synced' } } }), {
    instanceOf: ChannelConfigurationError,
  });
  t.is(error?.reason, 'KeywordMissing');
  t.regex(error?.message ?? '', /"ArgoCD", "herald"/);
  t.is(server.requests.length, 0);
  assertNoSecrets(t, error, [config.token]);
});

test('a signed request is accepted; the wrong secret is RobotRejected with DingTalk\'s errmsg', async (t) => {
  const secret = newSecret();
  const { server, channel, config } = await setup({ secret });
  t.teardown(() => server.close());
  await channel.send({ rendered: markdown('signed') });
  t.is(server.accepted().length, 1);
  const query = server.requests[0]!.query;
  t.regex(query.timestamp ?? '', /^\d{13}$/);
  t.truthy(query.sign);

  const wrongSecret = newSecret();
  const wrong = new DingTalkRobot({ webhookUrl: server.webhookUrl(config.token), signSecret: wrongSecret });
  const error = await t.throwsAsync(wrong.send({ rendered: markdown('forged') }), { instanceOf: ChannelConfigurationError });
  t.is(error?.reason, 'RobotRejected');
  t.regex(error?.message ?? '', /310000: sign not match/);
  t.deepEqual((error as ChannelConfigurationError).answer, { httpStatus: 200, errcode: 310000 });
  assertNoSecrets(t, error, [config.token, secret, wrongSecret]);

  const unsigned = new DingTalkRobot({ webhookUrl: server.webhookUrl(config.token) });
  const missing = await t.throwsAsync(unsigned.send({ rendered: markdown('unsigned') }), { instanceOf: ChannelConfigurationError });
  t.is(missing?.reason, 'RobotRejected');
  t.regex(missing?.message ?? '', /invalid timestamp/);
  t.is(server.accepted().length, 1);
});

test('a clock more than an hour off is RobotRejected (invalid timestamp)', async (t) => {
  const secret = newSecret();
  const { server, channel } = await setup({ secret }, { now: () => Date.now() - 2 * 3_600_000 });
  t.teardown(() => server.close());
  const error = await t.throwsAsync(channel.send({ rendered: markdown('late') }), { instanceOf: ChannelConfigurationError });
  t.is(error?.reason, 'RobotRejected');
  t.regex(error?.message ?? '', /invalid timestamp/);
});

test('robot-side keyword rejection (310000) is RobotRejected', async (t) => {
  // The sender does not know the robot's keywords, so only DingTalk refuses.
  const { server, channel } = await setup({ keywords: ['secret-word'] }, { keywords: [] });
  t.teardown(() => server.close());
  const error = await t.throwsAsync(channel.send({ rendered: markdown('no keyword') }), { instanceOf: ChannelConfigurationError });
  t.is(error?.reason, 'RobotRejected');
  t.regex(error?.message ?? '', /keywords not in content/);
});

test('an unknown token (300001) is InvalidToken and never shows the token', async (t) => {
  const server = await startDingTalkRobot({ robots: [] });
  t.teardown(() => server.close());
  const token = newToken();
  const channel = new DingTalkRobot({ webhookUrl: server.webhookUrl(token) });
  const error = await t.throwsAsync(channel.send({ rendered: markdown('x') }), { instanceOf: ChannelConfigurationError });
  t.is(error?.reason, 'InvalidToken');
  t.regex(error?.message ?? '', /300001: token is not exist/);
  assertNoSecrets(t, error, [token]);
});

test('send too fast (130101) is a TransientError with the mute delay', async (t) => {
  const { server, channel } = await setup({}, { throttledRetryMs: 90_000 });
  t.teardown(() => server.close());
  server.setMode('*', 'errcode:130101');
  const error = await t.throwsAsync(channel.send({ rendered: markdown('x') }), { instanceOf: ChannelTransientError });
  t.true(error instanceof TransientError);
  t.is(error?.reason, 'Throttled');
  t.is(error?.retryAfterMs, 90_000);
  t.regex(error?.message ?? '', /send too fast/);

  const defaults = new DingTalkRobot({ webhookUrl: server.webhookUrl(newToken()) });
  const muted = await t.throwsAsync(defaults.send({ rendered: markdown('x') }), { instanceOf: ChannelTransientError });
  t.is(muted?.retryAfterMs, 10 * 60_000);
});

test('the robot\'s own rate limit surfaces as Throttled after 20 messages', async (t) => {
  const { server, channel } = await setup();
  t.teardown(() => server.close());
  for (let i = 0; i < 20; i++) await channel.send({ rendered: markdown(`message ${i}`) });
  const error = await t.throwsAsync(channel.send({ rendered: markdown('one too many') }), { instanceOf: ChannelTransientError });
  t.is(error?.reason, 'Throttled');
  t.is(server.accepted().length, 20);
  t.is(server.requests.length, 21);
});

test('other errcodes reject only the message', async (t) => {
  const { server, channel } = await setup();
  t.teardown(() => server.close());
  server.setMode('*', 'errcode:460101');
  const error = await t.throwsAsync(channel.send({ rendered: markdown('x') }), { instanceOf: MessageRejectedError });
  t.is(error?.reason, 'MessageRejected');
  t.regex(error?.message ?? '', /460101: message too long/);
});

test('HTTP 500 is a TransientError', async (t) => {
  const { server, channel, config } = await setup();
  t.teardown(() => server.close());
  server.setMode(config.token, 'http500');
  const error = await t.throwsAsync(channel.send({ rendered: markdown('x') }), { instanceOf: ChannelTransientError });
  t.is(error?.reason, 'Unavailable');
  t.regex(error?.message ?? '', /HTTP 500/);
  t.deepEqual((error as ChannelTransientError).answer, { httpStatus: 500 });
  assertNoSecrets(t, error, [config.token]);
});

test('a hung robot is a TransientError after timeoutMs; it may still accept later (a duplicate on retry)', async (t) => {
  // Long enough for the request to reach the robot on a busy machine.
  const { server, channel, config } = await setup({}, { timeoutMs: 1500 });
  t.teardown(() => server.close());
  server.setMode(config.token, 'hang');
  const error = await t.throwsAsync(channel.send({ rendered: markdown('slow') }), { instanceOf: ChannelTransientError });
  t.regex(error?.message ?? '', /did not answer within 1500 ms/);
  assertNoSecrets(t, error, [config.token]);
  t.is(server.requests.length, 1);
  t.is(server.requests[0]!.answer, undefined);
  server.setMode(config.token, 'ok');
  // The held request is processed now that the robot answers again: DingTalk may have
  // accepted a message herald saw time out, which is why a retry can duplicate it.
  t.is(server.accepted().length, 1);
});

test('a robot that closes the connection is a TransientError without secrets', async (t) => {
  const secret = newSecret();
  const { server, channel, config } = await setup({ secret });
  t.teardown(() => server.close());
  server.setMode(config.token, 'down');
  const error = await t.throwsAsync(channel.send({ rendered: markdown('x') }), { instanceOf: ChannelTransientError });
  t.is(error?.reason, 'Unavailable');
  t.regex(error?.message ?? '', /could not reach DingTalk/);
  assertNoSecrets(t, error, [config.token, secret]);
});

test('nothing listening is a TransientError without secrets', async (t) => {
  const token = newToken();
  const secret = newSecret();
  const port = await freePort();
  const channel = new DingTalkRobot({ webhookUrl: `http://127.0.0.1:${port}/robot/send?access_token=${token}`, signSecret: secret });
  const error = await t.throwsAsync(channel.send({ rendered: markdown('x') }), { instanceOf: ChannelTransientError });
  t.regex(error?.message ?? '', /ECONNREFUSED/);
  assertNoSecrets(t, error, [token, secret]);
});

test('a caller abort stops the request', async (t) => {
  const { server, channel, config } = await setup();
  t.teardown(() => server.close());
  server.setMode(config.token, 'hang');
  const controller = new AbortController();
  const sending = channel.send({ rendered: markdown('x') }, controller.signal);
  setTimeout(() => controller.abort(), 100);
  const error = await t.throwsAsync(sending, { instanceOf: ChannelTransientError });
  t.regex(error?.message ?? '', /cancelled/);
});

test('quotes, backslashes, newlines, {{ and emoji arrive intact as valid JSON', async (t) => {
  const { server, channel } = await setup({ keywords: ['ArgoCD'] });
  t.teardown(() => server.close());
  const nasty = 'ArgoCD "quoted" \'single\' back\\slash \\n not-a-newline\nreal newline\t{{ app.metadata.name }} {% raw %} 🚀👩‍💻 中文 \u2028 </script>';
  const rendered = markdown(nasty, { title: 'ArgoCD "title" {{x}} ✅' });
  await channel.send({ rendered });
  const request = server.requests[0]!;
  t.true(request.accepted);
  const expected = { msgtype: 'markdown', markdown: { title: 'ArgoCD "title" {{x}} ✅', text: nasty } };
  t.is(request.rawBody, JSON.stringify(expected));
  t.deepEqual(JSON.parse(request.rawBody), expected);
  t.is((request.json as { markdown: { text: string } }).markdown.text, nasty);
  t.regex(String(request.headers['content-type']), /^application\/json/);
});

test('a body over 20000 bytes is shortened to fit and accepted', async (t) => {
  const { server, channel } = await setup({ keywords: ['ArgoCD'] });
  t.teardown(() => server.close());
  const receipt = await channel.send({ rendered: markdown('中文日志行\n'.repeat(5000)) });
  t.regex(receipt.notes?.join() ?? '', /shortened/);
  t.true(server.requests[0]!.accepted);
  t.true(Buffer.byteLength(server.requests[0]!.rawBody) <= 20_000);
});

test('an invalid message is refused without a request', async (t) => {
  const { server, channel } = await setup();
  t.teardown(() => server.close());
  const error = await t.throwsAsync(channel.send({ rendered: { dingtalk: { msgType: 'link', title: 't', text: 'x' } } }), {
    instanceOf: MessageRejectedError,
  });
  t.is(error?.reason, 'InvalidMessage');
  t.is(server.requests.length, 0);
});

test('msgUuid is sent when the caller gives an idempotency key; the robot still records every request', async (t) => {
  const { server, channel } = await setup();
  t.teardown(() => server.close());
  await channel.send({ rendered: markdown('x'), idempotencyKey: 'outbox-entry-1' });
  await channel.send({ rendered: markdown('x'), idempotencyKey: 'outbox-entry-1' });
  t.is((server.requests[0]!.json as { msgUuid?: string }).msgUuid, 'outbox-entry-1');
  t.is(server.accepted().length, 2);
});

test('a digest of waiting messages is one accepted markdown message, one line per app', async (t) => {
  const { server, channel } = await setup({ keywords: ['ArgoCD'] }, { mentions: { alice: { userId: 'alice-ding' } } });
  t.teardown(() => server.close());
  const messages = Array.from({ length: 7 }, (_, i) => ({
    rendered: markdown(`app-${i} synced`, { title: `ArgoCD: app-${i}`, at: { initiator: true } }),
    initiator: 'alice',
    ...(i === 0 ? { about: { app: 'argocd/app-0', event: 'on-sync-succeeded', revision: 'v1.2.3', link: 'https://argocd.example.com/applications/argocd/app-0' } } : {}),
  }));
  const receipt = await channel.sendDigest(messages);
  t.is(receipt.included, 7);
  t.is(receipt.omitted, 0);
  t.is(server.accepted().length, 1);
  t.deepEqual(server.requests[0]!.json, {
    msgtype: 'markdown',
    markdown: {
      title: 'herald: 7 notifications',
      text: [
        '- **argocd/app-0** · on-sync-succeeded · `v1.2.3` · [open](https://argocd.example.com/applications/argocd/app-0)',
        ...Array.from({ length: 6 }, (_, i) => `- ArgoCD: app-${i + 1}`),
      ].join('\n') + '\n\n@alice-ding',
    },
    at: { atUserIds: ['alice-ding'] },
  });
});

test('a digest carries the robot\'s keyword when its items do not, and is accepted', async (t) => {
  const { server, channel } = await setup({ keywords: ['ArgoCD'] });
  t.teardown(() => server.close());
  // The keyword is only deep in the texts, which the digest does not show.
  const messages = Array.from({ length: 6 }, (_, i) => ({ rendered: markdown(`${'x'.repeat(3000)} ArgoCD`, { title: `deploy ${i}` }) }));
  const receipt = await channel.sendDigest(messages);
  t.is(receipt.included, 6);
  const body = server.requests[0]!.json as { markdown: { title: string; text: string } };
  t.true(server.requests[0]!.accepted);
  t.is(body.markdown.title, 'ArgoCD · herald: 6 notifications');
  t.is(body.markdown.text, `#### ArgoCD · herald: 6 notifications\n\n${[0, 1, 2, 3, 4, 5].map((i) => `- deploy ${i}`).join('\n')}`);
});

test('a webhook URL that is not a DingTalk robot is UnexpectedResponse or EndpointRejected', async (t) => {
  const { server } = await setup();
  t.teardown(() => server.close());
  const token = newToken();
  const wrongPath = new DingTalkRobot({ webhookUrl: `${server.url}/wrong/path?access_token=${token}` });
  const error = await t.throwsAsync(wrongPath.send({ rendered: markdown('x') }), { instanceOf: ChannelConfigurationError });
  t.is(error?.reason, 'EndpointRejected');
  t.regex(error?.message ?? '', /HTTP 404/);
  assertNoSecrets(t, error, [token]);
});
