// The local DingTalk robot's own rules, probed with raw HTTP requests (fetch), so that
// they are checked independently of herald's sender.
import test from 'ava';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  ROBOT_ERRORS,
  formatMessageForHumans,
  parseRobotArgs,
  robotSignature,
  startDingTalkRobot,
  type DingTalkRobotServer,
} from '../support/dingtalk-robot.js';
import { freePort } from '../support/net.js';
import { spawnTied, terminate } from '../support/process.js';
import { waitFor } from '../support/wait.js';

interface PostOptions {
  query?: Record<string, string>;
  contentType?: string;
}

async function post(server: DingTalkRobotServer, token: string, body: unknown, options: PostOptions = {}) {
  const url = new URL(server.webhookUrl(token));
  for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': options.contentType ?? 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: JSON.parse(text) as { errcode: number; errmsg: string } };
}

const text = (content: string) => ({ msgtype: 'text', text: { content } });
const signed = (secret: string, timestamp: number) => ({ timestamp: String(timestamp), sign: robotSignature(secret, String(timestamp)) });

/** A clock the test moves by hand (the robot's rules are about time; no real waiting). */
function manualClock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

test('an unknown token is 300001 and still recorded', async (t) => {
  const server = await startDingTalkRobot({ robots: [{ token: 'known-token' }] });
  t.teardown(() => server.close());
  const answer = await post(server, 'unknown-token', text('hi'));
  t.deepEqual(answer, { status: 200, json: ROBOT_ERRORS.tokenNotExist });
  t.is(server.requests.length, 1);
  t.is(server.requests[0]!.token, 'unknown-token');
  t.false(server.requests[0]!.accepted);
  t.deepEqual(server.accepted(), []);
});

test('signature: accepted within the window, refused outside it or with a wrong or missing sign', async (t) => {
  const clock = manualClock();
  const secret = 'SECrobotsecret000000000000000001';
  const server = await startDingTalkRobot({ robots: [{ token: 'signed-robot', secret }], now: clock.now });
  t.teardown(() => server.close());
  const now = clock.now();
  t.is((await post(server, 'signed-robot', text('a'), { query: signed(secret, now - 59 * 60_000) })).json.errcode, 0);
  t.is((await post(server, 'signed-robot', text('b'), { query: signed(secret, now + 59 * 60_000) })).json.errcode, 0);
  t.deepEqual((await post(server, 'signed-robot', text('c'), { query: signed(secret, now - 61 * 60_000) })).json, ROBOT_ERRORS.invalidTimestamp);
  t.deepEqual((await post(server, 'signed-robot', text('d'), { query: signed(secret, now + 61 * 60_000) })).json, ROBOT_ERRORS.invalidTimestamp);
  t.deepEqual((await post(server, 'signed-robot', text('e'))).json, ROBOT_ERRORS.invalidTimestamp);
  t.deepEqual((await post(server, 'signed-robot', text('f'), { query: { timestamp: String(now) } })).json, ROBOT_ERRORS.signNotMatch);
  t.deepEqual(
    (await post(server, 'signed-robot', text('g'), { query: signed('SECsomeothersecret', now) })).json,
    ROBOT_ERRORS.signNotMatch,
  );
  t.deepEqual((await post(server, 'signed-robot', text('h'), { query: { timestamp: String(now), sign: 'c2lnbg==' } })).json, ROBOT_ERRORS.signNotMatch);
  t.is(server.accepted('signed-robot').length, 2);
});

test('a custom signature window', async (t) => {
  const clock = manualClock();
  const secret = 'SECwindowsecret';
  const server = await startDingTalkRobot({ robots: [{ token: 'windowed', secret }], signatureWindowMs: 1000, now: clock.now });
  t.teardown(() => server.close());
  t.is((await post(server, 'windowed', text('a'), { query: signed(secret, clock.now() - 1000) })).json.errcode, 0);
  t.is((await post(server, 'windowed', text('b'), { query: signed(secret, clock.now() - 1001) })).json.errcode, 310000);
});

test('rate limit: at most perMinute accepted messages in any rolling 60 s, per robot', async (t) => {
  const clock = manualClock();
  const server = await startDingTalkRobot({ robots: [{ token: 'busy-robot' }, { token: 'quiet-robot' }], now: clock.now });
  t.teardown(() => server.close());
  for (let i = 0; i < 10; i++) t.is((await post(server, 'busy-robot', text(`first ${i}`))).json.errcode, 0);
  clock.advance(30_000);
  for (let i = 0; i < 10; i++) t.is((await post(server, 'busy-robot', text(`second ${i}`))).json.errcode, 0);
  t.deepEqual((await post(server, 'busy-robot', text('21st'))).json, ROBOT_ERRORS.sendTooFast);
  t.is((await post(server, 'quiet-robot', text('other robot'))).json.errcode, 0, 'the limit is per robot');
  // Refused messages do not count; the first ten leave the window 60 s after they came.
  clock.advance(29_999);
  t.is((await post(server, 'busy-robot', text('still too fast'))).json.errcode, 130101);
  clock.advance(1);
  for (let i = 0; i < 10; i++) t.is((await post(server, 'busy-robot', text(`third ${i}`))).json.errcode, 0);
  t.is((await post(server, 'busy-robot', text('again too fast'))).json.errcode, 130101);
  t.is(server.accepted('busy-robot').length, 30);
});

test('rate limit: with muteMs the robot refuses everything for that long after exceeding', async (t) => {
  const clock = manualClock();
  const server = await startDingTalkRobot({ robots: [{ token: 'muted-robot' }], perMinute: 2, muteMs: 600_000, now: clock.now });
  t.teardown(() => server.close());
  t.is((await post(server, 'muted-robot', text('1'))).json.errcode, 0);
  t.is((await post(server, 'muted-robot', text('2'))).json.errcode, 0);
  t.is((await post(server, 'muted-robot', text('3'))).json.errcode, 130101);
  clock.advance(120_000);
  t.is((await post(server, 'muted-robot', text('4'))).json.errcode, 130101, 'muted beyond the minute');
  clock.advance(480_001);
  t.is((await post(server, 'muted-robot', text('5'))).json.errcode, 0);
});

test('mute(token, ms): 130101 for everything that robot would accept, for that long; unmutesAt says until when', async (t) => {
  const clock = manualClock();
  const server = await startDingTalkRobot({ robots: [{ token: 'quiet-robot' }, { token: 'other-robot' }], now: clock.now });
  t.teardown(() => server.close());
  t.is(server.unmutesAt('quiet-robot'), undefined);
  server.mute('quiet-robot', 30_000);
  t.is(server.unmutesAt('quiet-robot'), clock.now() + 30_000);
  t.deepEqual((await post(server, 'quiet-robot', text('while muted'))).json, ROBOT_ERRORS.sendTooFast);
  t.is((await post(server, 'other-robot', text('another robot'))).json.errcode, 0, 'only that robot is muted');
  clock.advance(29_999);
  t.is((await post(server, 'quiet-robot', text('still muted'))).json.errcode, 130101);
  clock.advance(1);
  t.is(server.unmutesAt('quiet-robot'), undefined);
  t.is((await post(server, 'quiet-robot', text('after the mute'))).json.errcode, 0);
  server.mute('quiet-robot', 60_000);
  server.mute('quiet-robot', 0);
  t.is((await post(server, 'quiet-robot', text('unmuted early'))).json.errcode, 0);
  t.is(server.accepted('quiet-robot').length, 2, 'refused messages are not accepted');
});

test('body checks: content type, JSON, size, and the fields each msgtype needs', async (t) => {
  const server = await startDingTalkRobot({ robots: [{ token: 'strict-robot' }] });
  t.teardown(() => server.close());
  const send = async (body: unknown, options?: PostOptions) => (await post(server, 'strict-robot', body, options)).json;
  t.deepEqual(await send('{"msgtype": "text", "text": {"content": "unterminated'), ROBOT_ERRORS.missingJson);
  t.deepEqual(await send('[1,2]'), ROBOT_ERRORS.missingJson);
  t.deepEqual(await send(text('form post'), { contentType: 'application/x-www-form-urlencoded' }), ROBOT_ERRORS.invalidContentType);
  t.deepEqual(await send(text('x'.repeat(20_001))), ROBOT_ERRORS.tooLong);
  t.deepEqual(await send({ msgtype: 'markdown', markdown: { text: 'x' } }), ROBOT_ERRORS.markdownTitle);
  t.deepEqual(await send({ msgtype: 'markdown', markdown: { title: 'x' } }), ROBOT_ERRORS.markdownText);
  const refusals: unknown[] = [
    { text: { content: 'no msgtype' } },
    { msgtype: 'image', image: {} },
    { msgtype: 'text', text: {} },
    { msgtype: 'link', link: { title: 't', text: 'x' } },
    { msgtype: 'actionCard', actionCard: { title: 't', text: 'x' } },
    { msgtype: 'actionCard', actionCard: { title: 't', text: 'x', btns: [{ title: 'a' }] } },
    { msgtype: 'feedCard', feedCard: { links: [] } },
    { msgtype: 'feedCard', feedCard: { links: [{ title: 'a', messageURL: 'https://a' }] } },
    { msgtype: 'text', text: { content: 'x' }, at: { atMobiles: '138' } },
  ];
  for (const body of refusals) {
    const answer = await send(body);
    t.not(answer.errcode, 0, JSON.stringify(body));
    t.regex(answer.errmsg, /^(miss param|param error) : /);
  }
  t.is((await send({ msgtype: 'text', text: { content: 'x' }, at: { atMobiles: ['138'], isAtAll: false } })).errcode, 0);
  t.is(server.accepted().length, 1);
  t.is(server.requests.length, 16);
  t.is(server.requests[0]!.json, undefined, 'invalid JSON is recorded raw');
  t.is(server.requests[0]!.rawBody, '{"msgtype": "text", "text": {"content": "unterminated');
});

test('keywords: a message must contain one in its title, text or labels', async (t) => {
  const server = await startDingTalkRobot({ robots: [{ token: 'keyword-robot', keywords: ['ArgoCD', 'herald'] }] });
  t.teardown(() => server.close());
  const send = async (body: unknown) => (await post(server, 'keyword-robot', body)).json;
  t.deepEqual(await send(text('no key word')), ROBOT_ERRORS.keywordsNotInContent);
  t.deepEqual(await send(text('argocd is not ArgoCD… wait')), ROBOT_ERRORS.ok);
  t.deepEqual(await send(text('argocd in lower case')), ROBOT_ERRORS.keywordsNotInContent);
  t.deepEqual(await send({ msgtype: 'markdown', markdown: { title: 'herald', text: 'x' } }), ROBOT_ERRORS.ok);
  t.deepEqual(
    await send({ msgtype: 'actionCard', actionCard: { title: 't', text: 'x', singleTitle: 'Open ArgoCD', singleURL: 'https://a' } }),
    ROBOT_ERRORS.ok,
  );
  t.deepEqual(
    await send({ msgtype: 'feedCard', feedCard: { links: [{ title: 'a', messageURL: 'https://ArgoCD', picURL: 'https://p' }] } }),
    ROBOT_ERRORS.keywordsNotInContent,
  );
});

test('nothing is de-duplicated: the same body twice is two accepted messages', async (t) => {
  const server = await startDingTalkRobot({ robots: [{ token: 'dup-robot' }] });
  t.teardown(() => server.close());
  const body = { ...text('same'), msgUuid: 'same-key' };
  await post(server, 'dup-robot', body);
  await post(server, 'dup-robot', body);
  t.is(server.accepted('dup-robot').length, 2);
  t.is(server.requests[0]!.rawBody, server.requests[1]!.rawBody);
});

test('modes: http500, errcode:<n>, down, hang (released by a mode change or closed after hangMs)', async (t) => {
  const server = await startDingTalkRobot({ robots: [{ token: 'moody-robot' }], hangMs: 300 });
  t.teardown(() => server.close());
  server.setMode('moody-robot', 'http500');
  const failing = await fetch(server.webhookUrl('moody-robot'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  t.is(failing.status, 500);
  await failing.text();

  server.setMode('moody-robot', 'errcode:130101');
  t.deepEqual((await post(server, 'moody-robot', text('x'))).json, ROBOT_ERRORS.sendTooFast);

  server.setMode('moody-robot', 'down');
  await t.throwsAsync(post(server, 'moody-robot', text('x')));
  t.deepEqual(server.requests.at(-1)!.answer, { kind: 'closed', why: 'down' });

  server.setMode('moody-robot', 'hang');
  const held = post(server, 'moody-robot', text('held'));
  await waitFor(() => server.requests.length === 4, 'the held request to arrive');
  t.is(server.requests[3]!.answer, undefined);
  server.setMode('moody-robot', 'ok');
  t.deepEqual((await held).json, ROBOT_ERRORS.ok);
  t.true(server.requests[3]!.accepted);

  server.setMode('*', 'hang');
  await t.throwsAsync(post(server, 'moody-robot', text('dropped')));
  t.deepEqual(server.requests[4]!.answer, { kind: 'closed', why: 'hang-timeout' });
  t.false(server.requests[4]!.accepted);
});

test('robots can be added, rotated and removed at runtime; clear() forgets requests', async (t) => {
  const server = await startDingTalkRobot({ robots: [{ token: 'rotating', secret: 'SECold' }] });
  t.teardown(() => server.close());
  t.is((await post(server, 'rotating', text('old'), { query: signed('SECold', Date.now()) })).json.errcode, 0);
  server.addRobot({ token: 'rotating', secret: 'SECnew' });
  t.is((await post(server, 'rotating', text('old'), { query: signed('SECold', Date.now()) })).json.errcode, 310000);
  t.is((await post(server, 'rotating', text('new'), { query: signed('SECnew', Date.now()) })).json.errcode, 0);
  server.addRobot({ token: 'second-robot' });
  t.is((await post(server, 'second-robot', text('hi'))).json.errcode, 0);
  server.removeRobot('second-robot');
  t.is((await post(server, 'second-robot', text('hi'))).json.errcode, 300001);
  t.is(server.requests.length, 5);
  server.clear();
  t.is(server.requests.length, 0);
  t.deepEqual(server.accepted(), []);
});

test('waitForAccepted resolves with the messages, or says what arrived', async (t) => {
  const server = await startDingTalkRobot({ robots: [{ token: 'waited' }] });
  t.teardown(() => server.close());
  setTimeout(() => void post(server, 'waited', text('late')), 50);
  const accepted = await server.waitForAccepted(1, { token: 'waited' });
  t.is(accepted.length, 1);
  await post(server, 'nope-token', text('x'));
  const error = await t.throwsAsync(server.waitForAccepted(3, { timeoutMs: 200 }));
  t.regex(error?.message ?? '', /expected 3 accepted DingTalk messages, got 1; requests: #1 errcode 0, #2 errcode 300001/);
});

test('formatMessageForHumans shows type, title, text, buttons, links and mentions', (t) => {
  t.is(
    formatMessageForHumans({
      msgtype: 'markdown',
      markdown: { title: 'ArgoCD: guestbook', text: '### Synced\nrevision abc' },
      at: { atMobiles: ['138'], atUserIds: ['u1'], isAtAll: true },
    }),
    '[markdown] ArgoCD: guestbook\n  ### Synced\n  revision abc\n  @ 138, u1, everyone',
  );
  t.is(
    formatMessageForHumans({
      msgtype: 'actionCard',
      actionCard: { title: 'T', text: 'x', btns: [{ title: 'App', actionURL: 'https://a' }] },
    }),
    '[actionCard] T\n  x\n  [App] → https://a',
  );
  t.is(
    formatMessageForHumans({ msgtype: 'feedCard', feedCard: { links: [{ title: 'F', messageURL: 'https://f', picURL: 'p' }] } }),
    '[feedCard]\n  • F → https://f',
  );
  t.is(formatMessageForHumans({ msgtype: 'link', link: { title: 'L', text: 'x', messageUrl: 'https://l' } }), '[link] L\n  x\n  → https://l');
  t.is(formatMessageForHumans('nope'), '(not a JSON object) "nope"');
});

test('parseRobotArgs: --secret and --keyword belong to the token before them', (t) => {
  const { options } = parseRobotArgs(['--port', '9000', '--token', 'a', '--secret', 'SECa', '--keyword', 'ArgoCD', '--keyword', 'x', '--token', 'b', '--per-minute', '5']);
  t.is(options.port, 9000);
  t.is(options.perMinute, 5);
  t.deepEqual(options.robots, [{ token: 'a', secret: 'SECa', keywords: ['ArgoCD', 'x'] }, { token: 'b' }]);
  t.throws(() => parseRobotArgs(['--secret', 'SECa']), { message: /--secret must follow a --token/ });
  t.throws(() => parseRobotArgs(['--port', 'abc', '--token', 'a']), { message: /--port must be a non-negative integer/ });
  t.throws(() => parseRobotArgs([]), { message: /at least one --token/ });
  t.throws(() => parseRobotArgs(['--token', 'a', '--bogus']), { message: /unknown argument "--bogus"/ });
  t.true(parseRobotArgs(['--help']).help);
});

test('standalone: the robot runs as a process and prints received messages readably', async (t) => {
  const port = await freePort();
  const script = fileURLToPath(new URL('../support/dingtalk-robot.js', import.meta.url));
  const child = spawnTied(process.execPath, [script, '--port', String(port), '--token', 'demo-token', '--keyword', 'ArgoCD'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => terminate(child, 2000));
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(() => output.includes('listening'), 'the robot to start', 10_000);
  t.true(output.includes(`DingTalk robot listening: http://127.0.0.1:${port}/robot/send?access_token=demo-token (keywords ArgoCD)`));
  const response = await fetch(`http://127.0.0.1:${port}/robot/send?access_token=demo-token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ msgtype: 'markdown', markdown: { title: 'ArgoCD: guestbook', text: 'Synced ✅' }, at: { atMobiles: ['138'] } }),
  });
  t.deepEqual(await response.json(), { errcode: 0, errmsg: 'ok' });
  await waitFor(() => output.includes('Synced ✅'), 'the message to be printed', 10_000);
  t.regex(output, /#1 robot demo-token: accepted\n {2}\[markdown\] ArgoCD: guestbook\n {4}Synced ✅\n {4}@ 138/);
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  t.is(code, 0);
});

test('maxBodyBytes: a body over the limit gets DingTalk\'s 460101, and the limit can change while running', async (t) => {
  const server = await startDingTalkRobot({ robots: [{ token: 'small' }], maxBodyBytes: 100 });
  t.teardown(() => server.close());
  const long = text('x'.repeat(200));
  t.deepEqual((await post(server, 'small', long)).json, ROBOT_ERRORS.tooLong);
  t.deepEqual((await post(server, 'small', text('short'))).json, ROBOT_ERRORS.ok);
  server.setMaxBodyBytes(20_000);
  t.deepEqual((await post(server, 'small', long)).json, ROBOT_ERRORS.ok);
});
