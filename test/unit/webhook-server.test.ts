// The receiver's HTTP behaviour against a local socket: routing, limits, timeouts,
// responses, metrics, logs and graceful close. Applications and the refresh call are
// the receiver's own callbacks here; the integration tests use the real API server.
import test from 'ava';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { startWebhookReceiver, type WebhookReceiverOptions } from '../../src/webhook/server.js';
import type { ApplicationLike, ApplicationRef } from '../../src/webhook/types.js';
import { githubPing, githubPush, gitlabPush } from '../support/webhook-payloads.js';

const SECRET = 'receiver-unit-secret';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(port: number, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: Agent }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, agent: options.agent, method: options.method ?? 'POST', path: options.path ?? '/api/webhook', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function receiver(t: import('ava').ExecutionContext, overrides: Partial<WebhookReceiverOptions> = {}) {
  const lines: string[] = [];
  const refreshed: ApplicationRef[] = [];
  const metrics = createMetrics({ defaultMetrics: false });
  const apps: ApplicationLike[] = [
    { metadata: { name: 'guestbook', namespace: 'argocd' }, spec: { source: { repoURL: 'https://github.com/acme/guestbook.git', targetRevision: 'HEAD' } } },
    { metadata: { name: 'other', namespace: 'argocd' }, spec: { source: { repoURL: 'https://github.com/acme/other.git', targetRevision: 'HEAD' } } },
  ];
  const server = await startWebhookReceiver({
    port: 0,
    host: '127.0.0.1',
    listApplications: () => apps,
    refresh: async (app) => {
      refreshed.push(app);
    },
    secrets: () => ({ github: SECRET }),
    secretsOrigin: 'Secret argocd/argocd-secret',
    log: createLogger('debug', (line) => lines.push(line)),
    metrics,
    ...overrides,
  });
  t.teardown(() => server.close());
  const count = async (provider: string, result: string) =>
    (await metrics.webhookRequests.get()).values.find((v) => v.labels.provider === provider && v.labels.result === result)?.value ?? 0;
  return { server, lines, refreshed, metrics, count, apps };
}

test('a signed push answers 202 with the apps it refreshes, refreshes them, counts and logs it', async (t) => {
  const { server, lines, refreshed, count, metrics } = await receiver(t);
  const delivery = githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/main' }, SECRET);
  const reply = await send(server.port, { headers: delivery.headers, body: delivery.body });
  t.is(reply.status, 202);
  t.deepEqual(JSON.parse(reply.body).applications, ['argocd/guestbook']);
  await server.idle();
  t.deepEqual(refreshed, [{ namespace: 'argocd', name: 'guestbook' }]);
  t.is(await count('github', 'accepted'), 1);
  t.is((await metrics.refreshRequests.get()).values.find((v) => v.labels.result === 'ok')?.value, 1);
  const line = lines.map((l) => JSON.parse(l)).find((l) => l.msg.startsWith('Received push event'));
  t.truthy(line);
  t.is(line.msg, 'Received push event repo: https://github.com/acme/guestbook, revision: main, touchedHead: true; refreshed 1 app(s): argocd/guestbook');
  t.deepEqual(line.refreshed, ['argocd/guestbook']);
  t.false(lines.join('\n').includes(SECRET));
});

test('failed refreshes are counted and logged as such', async (t) => {
  const { server, lines, metrics } = await receiver(t, {
    refresh: async () => {
      throw new Error('applications.argoproj.io "guestbook" is forbidden');
    },
  });
  const delivery = githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/main' }, SECRET);
  t.is((await send(server.port, { headers: delivery.headers, body: delivery.body })).status, 202);
  await server.idle();
  t.is((await metrics.refreshRequests.get()).values.find((v) => v.labels.result === 'error')?.value, 1);
  const line = lines.map((l) => JSON.parse(l)).find((l) => l.msg.startsWith('Received push event'));
  t.is(line.level, 'warn');
  t.regex(line.msg, /refreshed 0 app\(s\); 1 refresh\(es\) failed/);
  t.regex(line.failed[0].error, /forbidden/);
});

test('only POST /api/webhook: 404 elsewhere, 405 with Allow for other methods', async (t) => {
  const { server } = await receiver(t);
  t.is((await send(server.port, { path: '/' })).status, 404);
  t.is((await send(server.port, { path: '/api/webhook/x' })).status, 404);
  const get = await send(server.port, { method: 'GET' });
  t.is(get.status, 405);
  t.is(get.headers.allow, 'POST');
  t.is((await send(server.port, { method: 'PUT', body: '{}' })).status, 405);
  const ping = githubPing(SECRET);
  t.is((await send(server.port, { path: '/api/webhook?source=github', headers: ping.headers, body: ping.body })).status, 200);
});

test('a 404 or 405 with a body leaves the keep-alive connection usable for the next request', async (t) => {
  const { server } = await receiver(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const ping = githubPing(SECRET);
  const framed = { 'content-length': '5000' };
  t.is((await send(server.port, { agent, method: 'DELETE', path: '/elsewhere', headers: framed, body: 'x'.repeat(5000) })).status, 404);
  t.is((await send(server.port, { agent, method: 'GET', headers: framed, body: 'y'.repeat(5000) })).status, 405);
  t.is((await send(server.port, { agent, headers: ping.headers, body: ping.body })).status, 200);
});

test('401, 403 and 400 come back as JSON with a message', async (t) => {
  const { server, lines, count } = await receiver(t);
  const wrong = githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/main' }, 'not-the-secret');
  const unauthorized = await send(server.port, { headers: wrong.headers, body: wrong.body });
  t.is(unauthorized.status, 401);
  t.regex(JSON.parse(unauthorized.body).message, /signature or token does not match/);
  const gitlab = gitlabPush({ repo: 'acme/guestbook', ref: 'refs/heads/main' }, 'token');
  const forbidden = await send(server.port, { headers: gitlab.headers, body: gitlab.body });
  t.is(forbidden.status, 403);
  t.true(lines.some((l) => l.includes('GitLab webhook rejected: no secret configured (Secret argocd/argocd-secret has no key webhook.gitlab.secret)')));
  t.false(forbidden.body.includes('argocd-secret'), 'the sender is not told where secrets live');
  const unknown = await send(server.port, { headers: { 'content-type': 'application/json' }, body: '{}' });
  t.is(unknown.status, 400);
  t.is(await count('github', 'unauthorized'), 1);
  t.is(await count('gitlab', 'not_configured'), 1);
  t.is(await count('unknown', 'malformed'), 1);
});

test('413 when Content-Length is over the limit, without reading the body', async (t) => {
  const { server, count } = await receiver(t, { bodyLimitBytes: 1024 });
  const delivery = githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/main', commits: Array.from({ length: 50 }, () => ({ modified: ['x'.repeat(40)] })) }, SECRET);
  t.true(delivery.body.length > 1024);
  const reply = await send(server.port, { headers: delivery.headers, body: delivery.body });
  t.is(reply.status, 413);
  t.regex(JSON.parse(reply.body).message, /exceeds the limit of 1024 bytes/);
  t.is(await count('github', 'too_large'), 1);
});

test('413 while streaming a chunked body that passes the limit', async (t) => {
  const { server, count } = await receiver(t, { bodyLimitBytes: 4096 });
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/api/webhook', headers: { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}`, 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => undefined); // the server cuts the connection after answering
    const chunk = Buffer.alloc(1024, 'a');
    let sent = 0;
    const pump = () => {
      if (sent > 64 || req.destroyed) return;
      sent++;
      req.write(chunk, () => setTimeout(pump, 5));
    };
    pump();
    setTimeout(() => reject(new Error('no answer')), 10_000).unref();
  });
  t.is(status, 413);
  t.is(await count('github', 'too_large'), 1);
});

test('413 before the body is sent to a client that asks with Expect: 100-continue', async (t) => {
  const { server } = await receiver(t, { bodyLimitBytes: 1024 });
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
  t.deepEqual(outcome, { status: 413, continued: false });
});

test('a client that sends its headers too slowly is disconnected (slowloris)', async (t) => {
  const { server } = await receiver(t, { headersTimeoutMs: 500, readTimeoutMs: 1000 });
  const closed = await new Promise<boolean>((resolve) => {
    const socket = connect(server.port, '127.0.0.1', () => socket.write('POST /api/webhook HTTP/1.1\r\nHost: x\r\n'));
    const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 100);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(drip);
      resolve(true);
    });
    setTimeout(() => {
      clearInterval(drip);
      socket.destroy();
      resolve(false);
    }, 15_000).unref();
  });
  t.true(closed);
});

test('a client that stalls in the middle of its body is disconnected', async (t) => {
  const { server, refreshed } = await receiver(t, { headersTimeoutMs: 500, readTimeoutMs: 1000 });
  const closed = await new Promise<boolean>((resolve) => {
    const socket = connect(server.port, '127.0.0.1', () =>
      socket.write(`POST /api/webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=${'0'.repeat(64)}\r\nContent-Length: 100\r\n\r\n{"ref":`),
    );
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(true));
    setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, 15_000).unref();
  });
  t.true(closed);
  t.deepEqual(refreshed, []);
});

test('close() waits for in-flight refreshes and then stops answering', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const done: string[] = [];
  const { server } = await receiver(t, {
    refresh: async (app) => {
      await gate;
      done.push(app.name);
    },
  });
  const delivery = githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/main' }, SECRET);
  t.is((await send(server.port, { headers: delivery.headers, body: delivery.body })).status, 202);
  const closing = server.close();
  setTimeout(release, 100);
  await closing;
  t.deepEqual(done, ['guestbook']);
  await t.throwsAsync(send(server.port, { headers: delivery.headers, body: delivery.body }), { code: 'ECONNREFUSED' });
});

test('a port already in use is a clear error', async (t) => {
  const { server } = await receiver(t);
  await t.throwsAsync(
    startWebhookReceiver({
      port: server.port,
      host: '127.0.0.1',
      listApplications: () => [],
      refresh: async () => undefined,
      secrets: () => ({}),
      log: createLogger('error', () => undefined),
      metrics: createMetrics({ defaultMetrics: false }),
    }),
    { name: 'ServerStartError', message: /^webhook receiver cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE$/ },
  );
});
