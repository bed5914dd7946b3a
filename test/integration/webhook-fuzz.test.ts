// Fuzzing the receiver: more than 10,000 random and mutated deliveries (mutations of
// valid signed pushes, re-signed or not, random headers, truncated and garbled bodies,
// huge numbers, wrong types, deep nesting, oversized bodies, raw garbage on the
// socket), deterministic through a seeded PRNG, sent to the running operator. It must
// not crash or log an unhandled rejection, no answer may be a 500, and afterwards it
// must still turn a valid push into a refresh in the real API server.
import test from 'ava';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { signBody } from '../../src/webhook/signature.js';
import { createTestNamespace, testCluster } from '../support/cluster.js';
import { seededRandom } from '../support/random.js';
import { buildApp } from '../support/fixtures/apps.js';
import { waitFor } from '../support/wait.js';
import {
  bitbucketCloudPush,
  bitbucketServerPing,
  bitbucketServerPush,
  githubPing,
  githubPush,
  gitlabPush,
  gogsPush,
  type Delivery,
} from '../support/webhook-payloads.js';
import { commitId, pushHandled, refreshedApps, startOperatorWithWebhook, writeWebhookSecret } from './webhook-support.js';

const DELIVERIES = 10_500;
const RAW_GARBAGE = 300;
const SEED = 0x5eed_f00d;
const BODY_LIMIT = 256 * 1024;

const SECRET = {
  github: 'fuzz-github-secret',
  gitlab: 'fuzz-gitlab-token',
  bitbucket: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
  bitbucketserver: 'fuzz-bbs-secret',
  gogs: 'fuzz-gogs-secret',
};


const random = seededRandom(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
const chance = (p: number) => random() < p;

const REPOS = ['acme/guestbook', 'acme/other', 'platform/deploy/guestbook'];
const REFS = ['refs/heads/main', 'refs/heads/develop', 'refs/tags/v1.0.0', 'refs/heads/', 'refs/pull/1/head', 'main', ''];

function validDelivery(): Delivery {
  const options = { repo: pick(REPOS), ref: pick(REFS), commits: Array.from({ length: int(4) }, () => ({ modified: [`apps/${pick(['a', 'b', 'guestbook'])}/x.yaml`] })) };
  switch (int(7)) {
    case 0:
      return githubPush(options, SECRET.github);
    case 1:
      return gitlabPush(options, SECRET.gitlab, { systemHook: chance(0.2) });
    case 2:
      return bitbucketCloudPush(options, SECRET.bitbucket);
    case 3:
      return bitbucketServerPush({ ...options, repo: 'proj/guestbook' }, SECRET.bitbucketserver);
    case 4:
      return gogsPush(options, SECRET.gogs);
    case 5:
      return githubPing(SECRET.github);
    default:
      return bitbucketServerPing(SECRET.bitbucketserver);
  }
}

const STRANGE_VALUES: Array<() => unknown> = [
  () => null,
  () => true,
  () => 0,
  () => -1,
  () => 1e308,
  () => -1e308,
  () => 2 ** 64,
  () => 123456789012345678901234567890,
  () => '',
  () => 'x'.repeat(int(20_000)),
  () => '\u0000\ud83d\ude00\u202e',
  () => 'refs/heads/' + 'a/'.repeat(int(500)),
  () => 'git@evil:../../etc/passwd',
  () => [],
  () => [null, 1, 'a', {}],
  () => ({}),
  () => ({ href: 42, name: ['x'] }),
  () => JSON.parse('['.repeat(2000) + ']'.repeat(2000)),
];

/** Replaces, removes or adds one value somewhere in the document. */
function mutateValue(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object' || chance(0.15)) return pick(STRANGE_VALUES)();
  if (Array.isArray(value)) {
    const copy = [...value];
    if (copy.length === 0 || chance(0.2)) copy.push(pick(STRANGE_VALUES)());
    else copy[int(copy.length)] = mutateValue(copy[int(copy.length)], depth + 1);
    return copy;
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return pick(STRANGE_VALUES)();
  const key = pick(keys);
  const roll = random();
  if (roll < 0.2) delete copy[key];
  else if (roll < 0.3) copy[`${key}_${int(9)}`] = pick(STRANGE_VALUES)();
  else copy[key] = mutateValue(copy[key], depth + 1);
  return copy;
}

/** Byte-level damage: truncation, flipped bytes, inserted garbage, textual huge numbers. */
function mutateText(text: string): string {
  switch (int(6)) {
    case 0:
      return text.slice(0, int(text.length + 1));
    case 1: {
      const chars = [...text];
      for (let i = 0; i < 1 + int(8); i++) chars[int(chars.length)] = String.fromCharCode(int(256));
      return chars.join('');
    }
    case 2: {
      const at = int(text.length);
      return text.slice(0, at) + Buffer.from(Array.from({ length: int(64) }, () => int(256))).toString('latin1') + text.slice(at);
    }
    case 3:
      return text.replace(/"ref":"[^"]*"/, `"ref":${pick(['1e999999', '-0', '123456789012345678901234567890', '[]', '{}', 'null', 'true'])}`);
    case 4:
      return text.replace(/\d+/g, (digits) => (chance(0.3) ? '9'.repeat(400) : digits));
    default:
      return text + text.slice(0, int(200));
  }
}

/** Recomputes whatever signature or token the delivery carries, so the mutated body reaches the parser. */
function resign(delivery: Delivery): Delivery {
  const headers = { ...delivery.headers };
  if (headers['x-hub-signature-256']) headers['x-hub-signature-256'] = signBody(SECRET.github, delivery.body, 'sha256=');
  if (headers['x-event-key'] && headers['x-hub-signature']) headers['x-hub-signature'] = signBody(SECRET.bitbucketserver, delivery.body, 'sha256=');
  if (headers['x-gogs-signature']) headers['x-gogs-signature'] = signBody(SECRET.gogs, delivery.body);
  return { headers, body: delivery.body };
}

const HEADER_NAMES = ['x-github-event', 'x-gitlab-event', 'x-hook-uuid', 'x-event-key', 'x-gogs-event', 'x-hub-signature-256', 'x-hub-signature', 'x-gitlab-token', 'x-gogs-signature', 'content-type'];
const HEADER_VALUES = ['push', 'ping', 'Push Hook', 'System Hook', 'repo:push', 'repo:refs_changed', 'diagnostics:ping', 'sha256=', 'sha256=' + '0'.repeat(64), 'application/x-www-form-urlencoded', 'application/json', 'x'.repeat(4000), SECRET.bitbucket, ''];

function randomHeaders(base: Record<string, string> = {}): Record<string, string> {
  const headers = { ...base };
  for (let i = 0; i < int(5); i++) {
    const name = pick(HEADER_NAMES);
    if (chance(0.3)) delete headers[name];
    else headers[name] = pick(HEADER_VALUES);
  }
  return headers;
}

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

function nextCase(): Case {
  const roll = random();
  let delivery: Delivery;
  if (roll < 0.35) {
    const valid = validDelivery();
    delivery = { headers: valid.headers, body: JSON.stringify(mutateValue(JSON.parse(valid.body))) };
    if (chance(0.7)) delivery = resign(delivery);
  } else if (roll < 0.6) {
    const valid = validDelivery();
    delivery = { headers: valid.headers, body: mutateText(valid.body) };
    if (chance(0.7)) delivery = resign(delivery);
  } else if (roll < 0.75) {
    const valid = validDelivery();
    delivery = chance(0.5) ? resign({ headers: randomHeaders(valid.headers), body: valid.body }) : { headers: randomHeaders(valid.headers), body: valid.body };
  } else if (roll < 0.85) {
    const bytes = Buffer.from(Array.from({ length: int(2048) }, () => int(256)));
    delivery = resign({ headers: randomHeaders(validDelivery().headers), body: bytes.toString('latin1') });
  } else if (roll < 0.9) {
    const form = `payload=${encodeURIComponent(mutateText(validDelivery().body))}${chance(0.5) ? '&payload=%' : ''}`;
    delivery = resign({ headers: { ...validDelivery().headers, 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  } else if (roll < 0.92) {
    delivery = resign({ headers: validDelivery().headers, body: '{"a":"' + 'z'.repeat(BODY_LIMIT + int(4096)) + '"}' });
  } else if (roll < 0.97) {
    delivery = validDelivery();
  } else {
    delivery = validDelivery();
    // Node's client sends a GET or DELETE body without framing; say its length (raw garbage covers bad framing).
    const headers = { ...delivery.headers, 'content-length': String(Buffer.byteLength(delivery.body)) };
    return { method: pick(['GET', 'PUT', 'DELETE', 'PATCH', 'POST']), path: pick(['/', '/api/webhook/', '/api/webhooks', '/metrics', '/api/webhook?x=1']), headers, body: Buffer.from(delivery.body) };
  }
  return { method: 'POST', path: '/api/webhook', headers: delivery.headers, body: Buffer.from(delivery.body, chance(0.1) ? 'latin1' : 'utf8') };
}

function send(port: number, agent: Agent, c: Case): Promise<number> {
  return new Promise((resolve) => {
    let answered = false;
    const req = request({ host: '127.0.0.1', port, agent, method: c.method, path: c.path, headers: c.headers }, (res) => {
      answered = true;
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(res.statusCode ?? 0));
    });
    // Header values Node refuses to send, and connections the server cut after a 413.
    // A connection the server cut after answering 413 may fail while the body is
    // still being written; any other failure is a defect (-2, not allowed below).
    req.on('error', () => {
      if (!answered) resolve(c.body.length > BODY_LIMIT ? -1 : -2);
    });
    try {
      req.end(c.body);
    } catch {
      resolve(-1);
    }
  });
}

function rawGarbage(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
    socket.on('data', () => undefined);
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.setTimeout(5_000, () => socket.destroy());
  });
}

test('the running operator survives 10,000+ random and mutated deliveries and still refreshes afterwards', async (t) => {
  const namespace = await createTestNamespace(import.meta.url);
  await writeWebhookSecret(namespace, {
    'webhook.github.secret': SECRET.github,
    'webhook.gitlab.secret': SECRET.gitlab,
    'webhook.bitbucket.uuid': SECRET.bitbucket,
    'webhook.bitbucketserver.secret': SECRET.bitbucketserver,
    'webhook.gogs.secret': SECRET.gogs,
  });
  const api = testCluster().kc.makeApiClient(CustomObjectsApi);
  const apps = {
    'fuzz-guestbook': { repoURL: 'https://github.com/acme/guestbook.git', targetRevision: 'HEAD' },
    'fuzz-gitlab': { repoURL: 'git@gitlab.example.com:platform/deploy/guestbook.git', targetRevision: 'develop' },
    'fuzz-after': { repoURL: 'https://github.com/acme/after-fuzz.git', targetRevision: 'main' },
  };
  for (const [name, options] of Object.entries(apps)) {
    await api.createNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'applications', body: buildApp({ ...options, name, namespace }) });
  }
  const operator = await startOperatorWithWebhook(namespace, { bodyLimitBytes: BODY_LIMIT });
  t.teardown(() => operator.stop());
  const port = operator.webhookPort;

  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  t.teardown(() => agent.destroy());
  const statuses = new Map<number, number>();
  const cases = Array.from({ length: DELIVERIES }, nextCase);
  let next = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < cases.length) {
        const status = await send(port, agent, cases[next++]!);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  const garbage = Array.from({ length: RAW_GARBAGE }, () =>
    chance(0.5)
      ? Buffer.from(Array.from({ length: 1 + int(4096) }, () => int(256)))
      : Buffer.from(`POST /api/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: ${pick(['-1', '99999999999999999999', 'abc', '5'])}\r\nX-GitHub-Event: push\r\n${pick(['', 'Transfer-Encoding: chunked\r\n'])}\r\n${'{'.repeat(int(100))}`),
  );
  for (let i = 0; i < garbage.length; i += 20) await Promise.all(garbage.slice(i, i + 20).map((bytes) => rawGarbage(port, bytes)));
  t.log(`${DELIVERIES} deliveries + ${RAW_GARBAGE} raw garbage in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);

  const allowed = new Set([-1, 200, 202, 400, 401, 403, 404, 405, 413]);
  t.deepEqual([...statuses.keys()].filter((status) => !allowed.has(status)), [], 'only expected statuses (no 500, no dropped connection)');
  t.true((statuses.get(202) ?? 0) > 100, 'some deliveries were valid pushes');
  t.true((statuses.get(400) ?? 0) > 500 && (statuses.get(401) ?? 0) > 500 && (statuses.get(413) ?? 0) > 50, 'the fuzzer reached the parsers, the verifier and the limit');

  // Still alive and still correct.
  const after = commitId();
  const delivery = githubPush({ repo: 'acme/after-fuzz', ref: 'refs/heads/main', after }, SECRET.github);
  const answer = await new Promise<number>((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/webhook', headers: delivery.headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.end(delivery.body);
  });
  t.is(answer, 202);
  await pushHandled(operator, after);
  t.true((await refreshedApps(namespace)).includes('fuzz-after'));
  t.is(operator.process.exitCode, null, 'the operator is still running');
  const records = operator.records();
  t.deepEqual(records.filter((r) => r.msg === 'unhandled rejection' || r.level === 'raw'), [], 'no unhandled rejection, no stray output');
  t.deepEqual(records.filter((r) => typeof r.msg === 'string' && r.msg.startsWith('webhook failed')), [], 'no internal error');
  t.false(operator.output.some((line) => Object.values(SECRET).some((secret) => line.includes(secret))), 'no secret in any log line');
});
