// The robot's POST (src/channels/http-post.ts) over real loopback HTTP: plain node:http
// servers on 127.0.0.1 that answer as a test needs (slowly, never, too much, a redirect),
// and the robot's classification of each outcome. test/unit/dingtalk-send.test.ts covers
// the protocol against the DingTalk stand-in.
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { DingTalkRobot } from '../../src/channels/dingtalk/index.js';
import { RESPONSE_LIMIT_BYTES } from '../../src/channels/dingtalk/robot.js';
import { ChannelConfigurationError, ChannelTransientError } from '../../src/channels/errors.js';
import { PostFailure, postText } from '../../src/channels/http-post.js';
import { freePort } from '../support/net.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

interface TestServer {
  port: number;
  /** TCP connections accepted so far. */
  connections: number;
  requests: Received[];
  webhookUrl(token: string): string;
}

const OK = JSON.stringify({ errcode: 0, errmsg: 'ok' });

/** A node:http server on 127.0.0.1 whose handler gets each request with its body read. */
async function serve(t: ExecutionContext, handler: (received: Received, res: ServerResponse) => void): Promise<TestServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      state.requests.push(received);
      handler(received, res);
    });
  });
  server.on('connection', () => (state.connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const state: TestServer = {
    port,
    connections: 0,
    requests: [],
    webhookUrl: (token) => `http://127.0.0.1:${port}/robot/send?access_token=${token}`,
  };
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}

const newToken = () => `tok${randomBytes(12).toString('hex')}`;
const newSecret = () => `SEC${randomBytes(24).toString('hex')}`;
const message = { rendered: { message: 'herald test' } };

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

/** The robot's error for one send, checked to show neither the token nor the signing secret. */
async function sendError(t: ExecutionContext, webhookUrl: string, token: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}) {
  const secret = newSecret();
  const robot = new DingTalkRobot({ webhookUrl, signSecret: secret, timeoutMs: options.timeoutMs ?? 5000 });
  const error = await t.throwsAsync(robot.send(message, options.signal));
  const shown = everythingShown(error);
  t.false(shown.includes(token), `the error shows the token: ${shown}`);
  t.false(shown.includes(secret), `the error shows the signing secret: ${shown}`);
  t.false(/access_token=|sign=/.test(shown), `the error shows the query: ${shown}`);
  return error!;
}

test('a POST sends the JSON body with its headers and reads the answer as text', async (t) => {
  const server = await serve(t, (_, res) => res.writeHead(200, { 'Content-Type': 'application/json', 'Retry-After': '7' }).end(OK));
  const body = JSON.stringify({ msgtype: 'text', text: { content: '中文 🚀' } });
  const answer = await postText(new URL(server.webhookUrl('t1')), body, {
    headers: { 'Content-Type': 'application/json; charset=utf-8', Accept: 'application/json' },
    timeoutMs: 5000,
    maxResponseBytes: RESPONSE_LIMIT_BYTES,
  });
  t.is(answer.status, 200);
  t.is(answer.body, OK);
  t.is(answer.headers['retry-after'], '7');
  const received = server.requests[0]!;
  t.is(received.method, 'POST');
  t.is(received.url, '/robot/send?access_token=t1');
  t.is(received.body, body);
  t.is(received.headers['content-type'], 'application/json; charset=utf-8');
  t.is(received.headers.accept, 'application/json');
  t.is(received.headers['content-length'], String(Buffer.byteLength(body)));
  t.is(received.headers['accept-encoding'], undefined, 'no compression asked for');
});

test('the robot succeeds through it and sends the signed URL', async (t) => {
  const server = await serve(t, (_, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(OK));
  const robot = new DingTalkRobot({ webhookUrl: server.webhookUrl('t2'), signSecret: newSecret() });
  const receipt = await robot.send(message);
  t.deepEqual(receipt.response, { errcode: 0, errmsg: 'ok' });
  t.regex(server.requests[0]!.url, /^\/robot\/send\?access_token=t2&timestamp=\d{13}&sign=/);
  t.deepEqual(JSON.parse(server.requests[0]!.body), { msgtype: 'text', text: { content: 'herald test' } });
});

test('a server that never answers is "DingTalk did not answer within N ms"', async (t) => {
  const server = await serve(t, () => undefined);
  const token = newToken();
  const started = Date.now();
  const error = await sendError(t, server.webhookUrl(token), token, { timeoutMs: 300 });
  t.true(error instanceof ChannelTransientError);
  t.is(error.message, 'DingTalk did not answer within 300 ms');
  t.is((error as ChannelTransientError).reason, 'Unavailable');
  t.true(Date.now() - started < 3000);
  t.is(server.requests.length, 1);
});

test('the timeout bounds the whole request, not only silence: a trickling answer times out', async (t) => {
  const server = await serve(t, (_, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"errcode":0,');
    const timer = setInterval(() => res.write(' '), 50);
    res.on('close', () => clearInterval(timer));
  });
  const token = newToken();
  const error = await sendError(t, server.webhookUrl(token), token, { timeoutMs: 400 });
  t.is(error.message, 'DingTalk did not answer within 400 ms');
});

test("the caller's abort is 'sending to DingTalk was cancelled', before or during the request", async (t) => {
  const controller = new AbortController();
  // Cancelled while the server holds the request, unanswered.
  const server = await serve(t, () => controller.abort());
  const token = newToken();
  const during = await sendError(t, server.webhookUrl(token), token, { signal: controller.signal });
  t.true(during instanceof ChannelTransientError);
  t.is(during.message, 'sending to DingTalk was cancelled');
  t.is(server.requests.length, 1);

  const before = await sendError(t, server.webhookUrl(token), token, { signal: AbortSignal.abort() });
  t.is(before.message, 'sending to DingTalk was cancelled');
  t.is(server.requests.length, 1, 'an aborted signal sends nothing');
});

test("a closed port is 'could not reach DingTalk: ECONNREFUSED …'", async (t) => {
  const port = await freePort();
  const token = newToken();
  const error = await sendError(t, `http://127.0.0.1:${port}/robot/send?access_token=${token}`, token);
  t.true(error instanceof ChannelTransientError);
  t.is(error.message, `could not reach DingTalk: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${port})`);
});

test('a connection closed before or during the answer is ECONNRESET, transient', async (t) => {
  const before = await serve(t, (_, res) => res.socket?.destroy());
  const token = newToken();
  const error = await sendError(t, before.webhookUrl(token), token);
  t.true(error instanceof ChannelTransientError);
  t.regex(error.message, /^could not reach DingTalk: ECONNRESET \(/);

  const during = await serve(t, (_, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
    res.write('{"errcode":0', () => res.socket?.destroy());
  });
  const cut = await sendError(t, during.webhookUrl(token), token);
  t.regex(cut.message, /^could not reach DingTalk: ECONNRESET \(/);
});

test('an answer over 64 KiB aborts the request and is a transient error, whether announced or not', async (t) => {
  const big = 'x'.repeat(RESPONSE_LIMIT_BYTES + 1);
  // Chunked, without Content-Length: noticed while reading; the server would go on forever.
  const endless = await serve(t, (_, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const timer = setInterval(() => res.write(big.slice(0, 16 * 1024)), 1);
    res.on('close', () => clearInterval(timer));
  });
  const token = newToken();
  const started = Date.now();
  const error = await sendError(t, endless.webhookUrl(token), token, { timeoutMs: 10_000 });
  t.true(error instanceof ChannelTransientError);
  t.is((error as ChannelTransientError).reason, 'Unavailable');
  t.is(
    error.message,
    `DingTalk's answer was larger than ${RESPONSE_LIMIT_BYTES} bytes (its answers are under 100): herald stopped reading it and closed the connection`,
  );
  t.true(Date.now() - started < 5000, 'no hang until the timeout');
  // Announced by Content-Length: refused before reading.
  const announced = await serve(t, (_, res) => res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(big.length) }).end(big));
  const refused = await sendError(t, announced.webhookUrl(token), token);
  t.regex(refused.message, /^DingTalk's answer was larger than 65536 bytes/);
});

test('an answer of exactly 64 KiB is read', async (t) => {
  const padded = OK + ' '.repeat(RESPONSE_LIMIT_BYTES - OK.length);
  const server = await serve(t, (_, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(padded);
  });
  const robot = new DingTalkRobot({ webhookUrl: server.webhookUrl(newToken()) });
  t.deepEqual((await robot.send(message)).response, { errcode: 0, errmsg: 'ok' });
});

test('a 302 is an answer, never followed: EndpointRejected, and the Location sees no request', async (t) => {
  const elsewhere = await serve(t, (_, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(OK));
  const redirecting = await serve(t, (_, res) => res.writeHead(302, { Location: elsewhere.webhookUrl('stolen') }).end());
  const token = newToken();
  const error = await sendError(t, redirecting.webhookUrl(token), token);
  t.true(error instanceof ChannelConfigurationError);
  t.is((error as ChannelConfigurationError).reason, 'EndpointRejected');
  t.regex(error.message, /^DingTalk answered HTTP 302 \(a redirect, which herald does not follow/);
  t.is(redirecting.requests.length, 1);
  t.is(elsewhere.requests.length, 0);
  t.is(elsewhere.connections, 0);
});

test('Retry-After of a 429 reaches the error', async (t) => {
  const server = await serve(t, (_, res) => res.writeHead(429, { 'Retry-After': '7' }).end('slow down'));
  const token = newToken();
  const error = await sendError(t, server.webhookUrl(token), token);
  t.true(error instanceof ChannelTransientError);
  t.is((error as ChannelTransientError).retryAfterMs, 7000);
  t.regex(error.message, /^DingTalk answered HTTP 429 "slow down"/);
});

test('sequential POSTs reuse one kept-alive connection', async (t) => {
  const server = await serve(t, (_, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(OK));
  const robot = new DingTalkRobot({ webhookUrl: server.webhookUrl(newToken()) });
  await robot.send(message);
  await robot.send(message);
  await robot.send(message);
  t.is(server.requests.length, 3);
  t.is(server.connections, 1);
  t.is(server.requests[1]!.headers.connection, 'keep-alive');
});

test('a failed request does not leave its connection for the next one', async (t) => {
  let answer = false;
  const server = await serve(t, (_, res) => {
    if (answer) res.writeHead(200, { 'Content-Type': 'application/json' }).end(OK);
  });
  const robot = new DingTalkRobot({ webhookUrl: server.webhookUrl(newToken()), timeoutMs: 200 });
  await t.throwsAsync(robot.send(message), { message: 'DingTalk did not answer within 200 ms' });
  answer = true;
  t.deepEqual((await robot.send(message)).response, { errcode: 0, errmsg: 'ok' });
  t.is(server.connections, 2);
});

test('PostFailure names its kind and node code, and never the URL', async (t) => {
  const port = await freePort();
  const token = newToken();
  const failure = await t.throwsAsync(
    postText(new URL(`http://127.0.0.1:${port}/robot/send?access_token=${token}`), '{}', { headers: {}, timeoutMs: 5000, maxResponseBytes: 10 }),
    { instanceOf: PostFailure },
  );
  t.is(failure!.kind, 'network');
  t.is(failure!.code, 'ECONNREFUSED');
  t.false(everythingShown(failure).includes(token));
  t.is(failure!.cause, undefined, "node's error is not kept");
});
