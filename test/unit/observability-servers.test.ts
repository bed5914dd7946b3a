// The health and metrics servers over real loopback HTTP: routes, readiness
// transitions, method and body rules, errors, graceful close.
import test from 'ava';
import { request } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { startHealthServer } from '../../src/observability/health.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { ServerStartError, startMetricsServer, type RunningServer } from '../../src/observability/server.js';
import { registerSecret } from '../../src/secrets.js';
import { delta, parseExposition, scrape, sumOf } from '../support/scrape.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(port: number, path: string, options: { method?: string; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) };
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

async function withServer<T>(start: Promise<RunningServer>, use: (server: RunningServer) => Promise<T>): Promise<T> {
  const server = await start;
  try {
    return await use(server);
  } finally {
    await server.close();
  }
}

test('/healthz answers 200 while /readyz waits for isReady', async (t) => {
  let ready = false;
  await withServer(startHealthServer({ port: 0, host: '127.0.0.1', isReady: () => ready, log: silentLogger }), async ({ port }) => {
    t.is((await call(port, '/healthz')).status, 200);
    const before = await call(port, '/readyz');
    t.is(before.status, 503);
    t.regex(before.body, /not ready/);
    ready = true;
    const after = await call(port, '/readyz');
    t.is(after.status, 200);
    t.is(after.body, 'ok\n');
    t.is(after.headers['cache-control'], 'no-store');
    ready = false;
    t.is((await call(port, '/readyz')).status, 503, 'readiness can be lost again');
  });
});

test('/readyz gives the reason, masks secrets in it, and treats a throwing check as not ready', async (t) => {
  registerSecret('SECabcdef0123456789abcdef0123456789');
  let answer: () => { ready: boolean; reason?: string } = () => ({
    ready: false,
    reason: 'waiting for informers: applications, secrets (token SECabcdef0123456789abcdef0123456789)',
  });
  await withServer(startHealthServer({ port: 0, host: '127.0.0.1', isReady: () => answer(), log: silentLogger }), async ({ port }) => {
    const waiting = await call(port, '/readyz');
    t.is(waiting.status, 503);
    t.regex(waiting.body, /waiting for informers: applications, secrets/);
    t.false(waiting.body.includes('SECabcdef0123456789abcdef0123456789'));

    answer = () => {
      throw new Error('cache exploded');
    };
    const failing = await call(port, '/readyz');
    t.is(failing.status, 503);
    t.regex(failing.body, /readiness check failed: cache exploded/);
    t.is((await call(port, '/healthz')).status, 200, 'liveness does not depend on readiness');

    answer = () => ({ ready: true });
    t.is((await call(port, '/readyz')).status, 200);
  });
});

test('the servers accept GET and HEAD only, no bodies, and known paths only', async (t) => {
  await withServer(startHealthServer({ port: 0, host: '127.0.0.1', isReady: () => true, log: silentLogger }), async ({ port }) => {
    const post = await call(port, '/healthz', { method: 'POST', body: 'x' });
    t.is(post.status, 405);
    t.is(post.headers.allow, 'GET, HEAD');
    t.is((await call(port, '/readyz', { method: 'DELETE' })).status, 405);

    const head = await call(port, '/readyz', { method: 'HEAD' });
    t.is(head.status, 200);
    t.is(head.body, '');

    t.is((await call(port, '/healthz', { body: 'unexpected' })).status, 413);

    const missing = await call(port, '/metrics');
    t.is(missing.status, 404);
    t.regex(missing.body, /\/healthz, \/readyz/);
    t.is((await call(port, '/healthz?verbose=1')).status, 200, 'a query string does not change the route');
  });
});

test('/metrics serves the registry in the Prometheus text format', async (t) => {
  const metrics = createMetrics();
  metrics.deliveries.inc({ trigger: 'on-sync-succeeded', channel: 'team-a', result: 'sent' }, 3);
  metrics.deliveryLatency.observe({ channel: 'team-a' }, 0.3);
  metrics.appInfo.set({ namespace: 'apps', name: 'guestbook', project: 'default', health_status: 'Healthy', sync_status: 'Synced' }, 1);
  await withServer(startMetricsServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, log: silentLogger }), async ({ port }) => {
    const reply = await call(port, '/metrics');
    t.is(reply.status, 200);
    t.regex(String(reply.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    t.regex(reply.body, /^# HELP herald_deliveries_total /m);
    t.regex(reply.body, /^# TYPE herald_deliveries_total counter$/m);
    t.regex(reply.body, /^herald_deliveries_total\{trigger="on-sync-succeeded",channel="team-a",result="sent"\} 3$/m);
    t.regex(reply.body, /^herald_delivery_latency_seconds_bucket\{le="0\.5",channel="team-a"\} 1$/m);
    t.regex(reply.body, /^herald_app_info\{namespace="apps",name="guestbook",project="default",health_status="Healthy",sync_status="Synced"\} 1$/m);
    t.regex(reply.body, /^herald_process_cpu_seconds_total /m, 'default process metrics are included');
    t.is((await call(port, '/healthz')).status, 404, 'probes live on their own port');
  });
});

test('a failing collector gives 500 with the reason, and the server keeps serving', async (t) => {
  const registry = new Registry();
  let fail = true;
  new Gauge({
    name: 'herald_test_flaky',
    help: 'fails on demand',
    registers: [registry],
    collect() {
      if (fail) throw new Error('collector broke');
      this.set(1);
    },
  });
  await withServer(startMetricsServer({ port: 0, host: '127.0.0.1', registry, log: silentLogger }), async ({ port }) => {
    const broken = await call(port, '/metrics');
    t.is(broken.status, 500);
    t.regex(broken.body, /collector broke/);
    fail = false;
    const healed = await call(port, '/metrics');
    t.is(healed.status, 200);
    t.regex(healed.body, /^herald_test_flaky 1$/m);
  });
});

test('close() lets an in-flight scrape finish, then refuses connections; it is idempotent', async (t) => {
  const registry = new Registry();
  let release: () => void = () => undefined;
  const collecting = new Promise<void>((resolve) => (release = resolve));
  let started: () => void = () => undefined;
  const collectStarted = new Promise<void>((resolve) => (started = resolve));
  new Gauge({
    name: 'herald_test_slow',
    help: 'waits until released',
    registers: [registry],
    async collect() {
      started();
      await collecting;
      this.set(7);
    },
  });
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', registry, log: silentLogger });
  const inFlight = call(server.port, '/metrics');
  await collectStarted;
  const closed = server.close();
  t.is(server.close(), closed, 'a second close() returns the same promise');
  release();
  const reply = await inFlight;
  t.is(reply.status, 200);
  t.regex(reply.body, /^herald_test_slow 7$/m);
  await closed;
  const error = await t.throwsAsync(call(server.port, '/metrics'));
  t.is((error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
});

test('a port that is taken gives a ServerStartError naming the server and the port', async (t) => {
  const first = await startHealthServer({ port: 0, host: '127.0.0.1', isReady: () => true, log: silentLogger });
  t.teardown(() => first.close());
  const error = await t.throwsAsync(
    startMetricsServer({ port: first.port, host: '127.0.0.1', registry: new Registry(), log: silentLogger }),
    { instanceOf: ServerStartError },
  );
  t.regex(error?.message ?? '', new RegExp(`metrics server cannot listen on 127\\.0\\.0\\.1:${first.port}: EADDRINUSE`));
  t.true(error?.cause instanceof Error);
});

test('scrape helpers parse the served text and measure how a counter and a histogram moved', async (t) => {
  const metrics = createMetrics({ defaultMetrics: false });
  await withServer(startMetricsServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, log: silentLogger }), async ({ port }) => {
    const url = `http://127.0.0.1:${port}/metrics`;
    metrics.deliveries.inc({ trigger: 'on-sync', channel: 'team "a"', result: 'sent' });
    const before = (await scrape(url)).samples;
    metrics.deliveries.inc({ trigger: 'on-sync', channel: 'team "a"', result: 'sent' }, 2);
    metrics.deliveries.inc({ trigger: 'on-sync', channel: 'team-b', result: 'failed' });
    metrics.deliveryLatency.observe({ channel: 'team-b' }, 0.2);
    const after = await scrape(url);
    t.is(delta(before, after.samples, 'herald_deliveries_total', { channel: 'team "a"', result: 'sent' }), 2);
    t.is(delta(before, after.samples, 'herald_deliveries_total'), 3);
    t.is(delta(before, after.samples, 'herald_delivery_latency_seconds_count', { channel: 'team-b' }), 1);
    t.is(sumOf(after.samples, 'herald_delivery_latency_seconds_bucket', { channel: 'team-b', le: '0.1' }), 0);
    t.is(sumOf(after.samples, 'herald_delivery_latency_seconds_bucket', { channel: 'team-b', le: '+Inf' }), 1);
  });
  t.throws(() => parseExposition('not a metric line at all'), { message: /not a sample line/ });
});
