// The receiver's memory bounds: requests refused on their headers before any body is
// read, the buffer budget shared by all requests in flight (503 with Retry-After, the
// largest holder first), and the signature computed while the body streams in.
import test from 'ava';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { BodyBudget } from '../../src/webhook/body.js';
import { startWebhookReceiver, type WebhookReceiverOptions } from '../../src/webhook/server.js';
import type { ApplicationRef } from '../../src/webhook/types.js';
import { waitFor } from '../support/wait.js';
import { githubPush, gitlabPush } from '../support/webhook-payloads.js';

const SECRET = 'budget-unit-secret';
const FORGED = `sha256=${'0'.repeat(64)}`;

async function receiver(t: import('ava').ExecutionContext, overrides: Partial<WebhookReceiverOptions> = {}) {
  const refreshed: ApplicationRef[] = [];
  const lines: string[] = [];
  const metrics = createMetrics({ defaultMetrics: false });
  const server = await startWebhookReceiver({
    port: 0,
    host: '127.0.0.1',
    listApplications: () => [
      { metadata: { name: 'guestbook', namespace: 'argocd' }, spec: { source: { repoURL: 'https://github.com/acme/guestbook.git', targetRevision: 'HEAD' } } },
    ],
    refresh: async (app) => void refreshed.push(app),
    secrets: () => ({ github: SECRET, gitlab: 'gitlab-token' }),
    log: createLogger('debug', (line) => lines.push(line)),
    metrics,
    ...overrides,
  });
  t.teardown(() => server.close());
  const count = async (provider: string, result: string) =>
    (await metrics.webhookRequests.get()).values.find((v) => v.labels.provider === provider && v.labels.result === result)?.value ?? 0;
  return { server, refreshed, lines, count };
}

interface RawReply {
  /** The status line and headers, once they arrived. */
  head: Promise<string>;
  socket: Socket;
}

/** A raw client: sends the request head, then whatever the test writes. */
function rawRequest(port: number, headers: Record<string, string>): RawReply {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const head = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n\r\n')) resolve(text);
    });
    socket.on('close', () => resolve(text));
  });
  const lines = Object.entries({ host: '127.0.0.1', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.write(`POST /api/webhook HTTP/1.1\r\n${lines.join('')}\r\n`);
  return { head, socket };
}

test('the budget refuses the largest holder when full, which may be the newcomer itself', (t) => {
  const budget = new BodyBudget(100);
  const evicted: string[] = [];
  const a = budget.open(() => evicted.push('a'));
  const b = budget.open(() => evicted.push('b'));
  const c = budget.open(() => evicted.push('c'));
  t.true(a.grow(60));
  t.true(b.grow(30));
  t.is(budget.bytes, 90);
  t.true(c.grow(20), 'a small newcomer gets in: the largest holder (a) gives way');
  t.deepEqual(evicted, ['a']);
  t.is(budget.bytes, 50);
  const d = budget.open(() => evicted.push('d'));
  t.false(d.grow(70), 'a newcomer that would itself hold the most is refused');
  t.deepEqual(evicted, ['a']);
  t.is(budget.bytes, 50);
  b.release();
  c.release();
  t.is(budget.bytes, 0);
});

test('a GitHub request without a signature header is refused with 401 before its body is read, and cut off if it keeps sending', async (t) => {
  const { server, count, lines } = await receiver(t);
  // Headers promise 10 MiB; not one body byte is sent, yet the answer comes.
  const client = rawRequest(server.port, { 'x-github-event': 'push', 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) });
  t.teardown(() => client.socket.destroy());
  const head = await client.head;
  t.regex(head, /^HTTP\/1\.1 401 /);
  t.is(await count('github', 'unauthorized'), 1);
  t.true(lines.some((line) => line.includes('rejected before its body: no signature header')));
  t.is(server.bufferedBytes(), 0);
  const cut = await new Promise<boolean>((resolve) => {
    const drip = setInterval(() => client.socket.writable && client.socket.write(Buffer.alloc(1024, 'x')), 50);
    client.socket.on('close', () => {
      clearInterval(drip);
      resolve(true);
    });
    setTimeout(() => {
      clearInterval(drip);
      resolve(false);
    }, 10_000).unref();
  });
  t.true(cut, 'the rest of the body is not waited for');
});

test('a GitLab token is checked on the headers: a wrong one is refused before the body', async (t) => {
  const { server, count } = await receiver(t);
  const client = rawRequest(server.port, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'wrong', 'content-length': '5000000' });
  t.teardown(() => client.socket.destroy());
  t.regex(await client.head, /^HTTP\/1\.1 401 /);
  t.is(await count('gitlab', 'unauthorized'), 1);
  const good = gitlabPush({ repo: 'acme/guestbook', ref: 'refs/heads/main' }, 'gitlab-token');
  const reply = await post(server.port, good.headers, [Buffer.from(good.body)]);
  t.is(reply.status, 202);
});

test('Expect: 100-continue without a signature gets 401 and never the go-ahead', async (t) => {
  const { server } = await receiver(t);
  const outcome = await new Promise<{ status: number; continued: boolean }>((resolve) => {
    let continued = false;
    const req = request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/api/webhook', headers: { expect: '100-continue', 'content-length': '5000', 'x-github-event': 'push' } });
    req.on('continue', () => {
      continued = true;
      req.end(Buffer.alloc(5000));
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, continued });
    });
    req.on('error', () => undefined);
    req.flushHeaders();
  });
  t.deepEqual(outcome, { status: 401, continued: false });
});

/** POSTs `chunks` one by one (chunked encoding), a little apart, and reads the answer. */
function post(port: number, headers: Record<string, string>, chunks: Buffer[]): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const { 'content-length': _length, ...rest } = headers;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/webhook', headers: rest }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    let index = 0;
    const next = () => {
      if (index === chunks.length) return void req.end();
      req.write(chunks[index++], () => setTimeout(next, 2));
    };
    next();
  });
}

test('the signature is computed as the body streams in: a push in 100 pieces is accepted, a tampered one is not', async (t) => {
  const { server, refreshed } = await receiver(t);
  const delivery = githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/main' }, SECRET);
  const bytes = Buffer.from(delivery.body);
  const pieces = Array.from({ length: 100 }, (_, i) => bytes.subarray(Math.floor((i * bytes.length) / 100), Math.floor(((i + 1) * bytes.length) / 100)));
  const accepted = await post(server.port, delivery.headers, pieces);
  t.is(accepted.status, 202, accepted.body);
  await server.idle();
  t.deepEqual(refreshed, [{ namespace: 'argocd', name: 'guestbook' }]);
  const tampered = Buffer.from(bytes);
  tampered.writeUInt8(tampered.readUInt8(tampered.length - 2) ^ 1, tampered.length - 2);
  t.is((await post(server.port, delivery.headers, [tampered.subarray(0, 100), tampered.subarray(100)])).status, 401);
  t.is(server.bufferedBytes(), 0);
});

test('when the buffer budget is full the largest body in flight gets 503 with Retry-After, and a small signed push still gets in', async (t) => {
  const limit = 1024 * 1024;
  const { server, count, refreshed } = await receiver(t, { bodyLimitBytes: limit, bufferBudgetBytes: 2 * limit });
  // Two forged bodies that hold all but 300 bytes of the budget and never finish.
  const part = limit - 200;
  const holders = [0, 1].map(() => rawRequest(server.port, { 'x-github-event': 'push', 'x-hub-signature-256': FORGED, 'content-length': String(limit) }));
  t.teardown(() => holders.forEach((h) => h.socket.destroy()));
  holders[0]!.socket.write(Buffer.alloc(part + 100, 'a'));
  holders[1]!.socket.write(Buffer.alloc(part, 'b'));
  await waitFor(() => server.bufferedBytes() === 2 * part + 100, 'both bodies buffered', 10_000);

  const delivery = githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/main' }, SECRET);
  t.true(delivery.body.length > 2 * limit - server.bufferedBytes(), 'the push does not fit without evicting');
  const accepted = await post(server.port, delivery.headers, [Buffer.from(delivery.body)]);
  t.is(accepted.status, 202, accepted.body);
  await server.idle();
  t.deepEqual(refreshed, [{ namespace: 'argocd', name: 'guestbook' }]);

  const evicted = await holders[0]!.head;
  t.regex(evicted, /^HTTP\/1\.1 503 /);
  t.regex(evicted, /retry-after: 10/i);
  t.regex(evicted, /too many webhook bodies in flight/);
  t.is(await count('github', 'busy'), 1);
  t.is(server.bufferedBytes(), part, 'the smaller holder keeps its bytes; the evicted one and the push left nothing behind');

  // A forged body that fits is read to the end, refused (401) and leaves nothing behind.
  const forged = rawRequest(server.port, { 'x-github-event': 'push', 'x-hub-signature-256': FORGED, 'content-length': '100' });
  t.teardown(() => forged.socket.destroy());
  forged.socket.write(Buffer.alloc(100, 'c'));
  t.regex(await forged.head, /^HTTP\/1\.1 401 /);
  t.is(server.bufferedBytes(), part);
});

test('the budget is never smaller than one body', async (t) => {
  const { server, lines } = await receiver(t, { bodyLimitBytes: 4096, bufferBudgetBytes: 1024 });
  t.truthy(server);
  t.true(lines.some((line) => line.includes('"bufferBudgetBytes":4096')));
});
