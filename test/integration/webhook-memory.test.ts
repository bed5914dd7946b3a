// The webhook receiver's memory stays bounded under a flood of large slow bodies: 60
// connections each sending 10 MiB slowly (with a forged signature header, so that they
// pass the header checks and are buffered) against the running operator, started with
// the Deployment's heap limit. The operator's peak RSS (VmHWM in /proc/<pid>/status)
// stays below 300 MiB, and a signed push sent meanwhile is answered 202 and refreshes
// its Applications.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { createTestNamespace, testCluster } from '../support/cluster.js';
import { buildApp } from '../support/fixtures/apps.js';
import { deploymentNodeOptions } from '../support/operator.js';
import { waitFor } from '../support/wait.js';
import { githubPush } from '../support/webhook-payloads.js';
import { commitId, deliver, pushHandled, refreshedApps, startOperatorWithWebhook, webhookRequestCount, writeWebhookSecret } from './webhook-support.js';

const SECRET = 'memory-test-secret';
const CONNECTIONS = 60;
const BODY_BYTES = 10 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
const CHUNK_EVERY_MS = 40;
const RSS_LIMIT_MIB = 300;

/** VmRSS and VmHWM (peak) of a process, in MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

interface Sender {
  socket: Socket;
  /** The status code the server answered, or undefined if it closed without one. */
  done: Promise<number | undefined>;
  sent: () => number;
}

/** One connection sending a 10 MiB body slowly until it is answered, cut off or done. */
function slowSender(port: number): Sender {
  const socket = connect(port, '127.0.0.1');
  let sent = 0;
  let answer = '';
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  const chunk = Buffer.alloc(CHUNK_BYTES, '{');
  const timer = setInterval(() => {
    if (!socket.writable || sent >= BODY_BYTES || answer !== '') return clearInterval(timer);
    socket.write(chunk);
    sent += chunk.length;
  }, CHUNK_EVERY_MS);
  socket.write(
    'POST /api/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\n' +
      `X-Hub-Signature-256: sha256=${'0'.repeat(64)}\r\nContent-Length: ${BODY_BYTES}\r\n\r\n`,
  );
  const done = new Promise<number | undefined>((resolve) => {
    const finish = () => {
      clearInterval(timer);
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1];
      resolve(status === undefined ? undefined : Number(status));
    };
    socket.on('close', finish);
    socket.on('data', () => {
      if (/\r\n\r\n/.test(answer)) {
        // Answered: stop sending and leave.
        socket.destroy();
      }
    });
  });
  return { socket, done, sent: () => sent };
}

test('60 slow 10 MiB bodies: the operator stays below 300 MiB RSS and a signed push meanwhile is accepted and refreshes its apps', async (t) => {
  const namespace = await createTestNamespace(import.meta.url);
  await writeWebhookSecret(namespace, { 'webhook.github.secret': SECRET });
  const api = testCluster().kc.makeApiClient(CustomObjectsApi);
  for (const name of ['guestbook', 'guestbook-prod']) {
    const app = buildApp({ name, namespace, repoURL: 'https://github.com/acme/guestbook.git', targetRevision: 'HEAD' });
    await api.createNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'applications', body: app });
  }
  const operator = await startOperatorWithWebhook(namespace);
  t.teardown(() => operator.stop());
  const pid = operator.process.pid!;
  // Started the way the Deployment starts it: the same heap limit.
  t.true(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').some((entry) => entry.startsWith('NODE_OPTIONS=') && entry.includes(deploymentNodeOptions())));
  const before = memoryOf(pid);

  let sampled = 0;
  let highest = before.rss;
  const sampler = setInterval(() => {
    highest = Math.max(highest, memoryOf(pid).rss);
    sampled++;
  }, 100);
  t.teardown(() => clearInterval(sampler));

  const senders = Array.from({ length: CONNECTIONS }, () => slowSender(operator.webhookPort));
  t.teardown(() => senders.forEach((sender) => sender.socket.destroy()));

  // Once the receiver has had to refuse a body for lack of room, its budget is full: push now.
  await waitFor(async () => (await webhookRequestCount(operator, 'github', 'busy')) > 0, 'the buffer budget to fill up', 60_000);
  const after = commitId();
  const push = githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/main', after }, SECRET);
  const answer = await deliver(operator.webhookPort, push);
  const stillSending = senders.filter((sender) => sender.socket.writable).length;
  t.is(answer.status, 202, answer.body);
  t.deepEqual(JSON.parse(answer.body).applications, [`${namespace}/guestbook`, `${namespace}/guestbook-prod`]);
  await pushHandled(operator, after);
  t.deepEqual(await refreshedApps(namespace), ['guestbook', 'guestbook-prod']);

  const statuses = await Promise.all(senders.map((sender) => sender.done));
  clearInterval(sampler);
  const end = memoryOf(pid);
  const busy = statuses.filter((status) => status === 503).length;
  const forged = statuses.filter((status) => status === 401).length;
  const sentMiB = senders.reduce((sum, sender) => sum + sender.sent(), 0) / 1024 / 1024;
  t.log(
    `operator RSS: ${before.rss.toFixed(0)} MiB before, highest sampled ${highest.toFixed(0)} MiB (${sampled} samples), ` +
      `peak (VmHWM) ${end.peak.toFixed(0)} MiB; heap limit ${deploymentNodeOptions()}`,
  );
  t.log(`${CONNECTIONS} senders: ${busy} answered 503, ${forged} answered 401 (forged signature), ${statuses.length - busy - forged} other; ${sentMiB.toFixed(0)} MiB sent; ${stillSending} still sending when the push was answered`);
  t.true(stillSending > 0, 'the push was answered while the flood went on');
  t.true(busy > 0);
  // 408: a sender the machine slowed past the read timeout is cut off too.
  t.true(statuses.every((status) => status === 503 || status === 401 || status === 408), `every forged body is refused: ${statuses.join(',')}`);
  t.true(end.peak < RSS_LIMIT_MIB, `peak RSS ${end.peak.toFixed(0)} MiB`);
  t.is(operator.process.exitCode, null, 'the operator is still running');
});
