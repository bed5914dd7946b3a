// Issue 14, must-show 4: channels a tenant aims at hosts outside the allow-list.
// Loopback stand-ins only: a sink on 127.0.0.2 serving /latest/meta-data/… plays an
// internal host (a cloud metadata endpoint), and the local robot on 127.0.0.1 is left
// off the list in the first run. herald must refuse them with Ready=False before any
// request, never follow a redirect, and send to the robot once the flag allows it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { createTestNamespace, testCluster } from '../support/cluster.js';
import { startDingTalkRobot } from '../support/dingtalk-robot.js';
import { buildApp, REVISIONS } from '../support/fixtures/apps.js';
import { startOperator } from '../support/operator.js';
import { eventsFor, readyOf } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const SINK_HOST = '127.0.0.2';
/** 127.0.0.2 written as one decimal number: URL parsing turns it back into 127.0.0.2. */
const SINK_HOST_DECIMAL = String((127 << 24) + 2);

interface Sink {
  server: Server;
  port: number;
  hits: string[];
}

/** Stands in for an internal host: counts every request, whatever it is. */
async function startSink(): Promise<Sink> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"errcode":0,"errmsg":"ok","AccessKeyId":"internal-credential"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, SINK_HOST, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port, hits };
}

test('channels outside the allow-list are refused before any request; a redirect is never followed; the flag lets the robot in', async (t) => {
  const cluster = testCluster();
  const namespace = await createTestNamespace(import.meta.url);
  const sink = await startSink();
  t.teardown(() => new Promise<void>((resolve) => sink.server.close(() => resolve())));
  const tokens = { robot: 'tok-allowed-later', redirect: 'tok-redirecting', metadata: 'tok-metadata', decimal: 'tok-decimal' };
  const robot = await startDingTalkRobot({ robots: [{ token: tokens.robot }, { token: tokens.redirect }] });
  t.teardown(() => robot.close());
  const internal = `http://${SINK_HOST}:${sink.port}/latest/meta-data/iam/security-credentials/`;
  robot.setMode(tokens.redirect, `redirect:${internal}`);

  const urls: Record<string, string> = {
    robot: robot.webhookUrl(tokens.robot),
    redirect: robot.webhookUrl(tokens.redirect),
    metadata: `${internal}?access_token=${tokens.metadata}`,
    decimal: `http://${SINK_HOST_DECIMAL}:${sink.port}/latest/meta-data/?access_token=${tokens.decimal}`,
  };
  const herald = (kind: string, name: string, spec: object) => ({ apiVersion: 'herald.gitops.dev/v1alpha1', kind, metadata: { name, namespace }, spec });
  const docs: object[] = [
    herald('NotificationTemplate', 'text', { dingtalk: { msgType: 'text', text: 'ArgoCD {{ app.metadata.name }} {{ app.status.sync.revision }}' } }),
    herald('NotificationTrigger', 'on-revision', { conditions: [{ when: 'has(app.status.sync.revision)', oncePer: 'app.status.sync.revision', send: ['text'] }] }),
  ];
  for (const [name, url] of Object.entries(urls)) {
    docs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-url`, namespace }, stringData: { url } });
    docs.push(herald('DingTalkChannel', name, { webhook: { urlSecretRef: { name: `${name}-url`, key: 'url' } } }));
  }
  cluster.kubectlOrThrow(['apply', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n---\n'));

  const api = cluster.kc.makeApiClient(CustomObjectsApi);
  const base = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', namespace };
  const fresh = () => new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  for (const name of Object.keys(urls)) {
    await api.createNamespacedCustomObject({
      ...base,
      body: buildApp({ namespace, name: `app-${name}`, revision: REVISIONS.first, startedAt: fresh(), annotations: { 'herald.gitops.dev/subscribe.on-revision': name } }),
    });
  }
  /** A new revision for every app: a change herald sends whatever it recorded at first sight. */
  const syncAll = async (revision: string) => {
    for (const name of Object.keys(urls)) {
      await api.patchNamespacedCustomObject({ ...base, name: `app-${name}`, body: { status: { sync: { status: 'Synced', revision } } } }, merge);
    }
  };
  const secretsIn = (text: string) => Object.values(tokens).filter((token) => text.includes(token));

  // Run 1: herald's production default (only https://oapi.dingtalk.com). Every channel is refused.
  const first = await startOperator({ controlNamespace: namespace, dingtalkAllowedHosts: [] });
  await syncAll(REVISIONS.second);
  for (const name of Object.keys(urls)) {
    await waitFor(() => readyOf(namespace, 'dingtalkchannel', name).reason === 'HostNotAllowed', `channel ${name} to be refused`, 30_000);
    const ready = readyOf(namespace, 'dingtalkchannel', name);
    t.is(ready.status, 'False', name);
    t.regex(ready.message!, /--dingtalk-allowed-hosts/, `${name}: the message names the flag`);
    t.deepEqual(secretsIn(JSON.stringify(ready)), [], `${name}: no token in status`);
  }
  t.regex(readyOf(namespace, 'dingtalkchannel', 'decimal').message!, /127\.0\.0\.2/, 'the decimal form is judged as the address it is');
  await sleep(3000);
  t.is(robot.requests.length, 0, 'no request reached the robot while it was off the list');
  t.deepEqual(sink.hits, [], 'no request reached the internal stand-in');
  t.deepEqual(secretsIn(first.output.join('\n')), [], 'no token in the log');
  await first.stop();

  // Run 2: the robot's address is allowed (exactly its port). The internal host still is not.
  const second = await startOperator({ controlNamespace: namespace, dingtalkAllowedHosts: [`http://127.0.0.1:${robot.port}`] });
  t.teardown(() => second.stop());
  await syncAll(REVISIONS.third);
  const [received] = await robot.waitForAccepted(1, { token: tokens.robot, timeoutMs: 60_000 });
  t.regex((received!.json as { text: { content: string } }).text.content, new RegExp(`^ArgoCD app-robot `));
  await waitFor(() => readyOf(namespace, 'dingtalkchannel', 'robot').status === 'True', 'the allowed robot channel to be Ready', 30_000);
  for (const name of ['metadata', 'decimal']) {
    t.is(readyOf(namespace, 'dingtalkchannel', name).reason, 'HostNotAllowed', `${name} stays refused with the robot allowed`);
  }

  // The redirecting endpoint is on the list; its 302 to the internal host is not followed.
  await waitFor(() => robot.requests.some((r) => r.token === tokens.redirect && r.answer?.kind === 'answered'), 'the redirecting robot to be asked', 30_000);
  await waitFor(
    () => /redirect/.test(readyOf(namespace, 'dingtalkchannel', 'redirect').lastError ?? '') || eventsFor(namespace, 'Application', 'app-redirect').some((e) => /redirect/.test(e.message)),
    'herald to report the redirect',
    30_000,
  );
  const redirectReport = [readyOf(namespace, 'dingtalkchannel', 'redirect').lastError ?? '', ...eventsFor(namespace, 'Application', 'app-redirect').map((e) => e.message)].join('\n');
  t.regex(redirectReport, /HTTP 302 \(a redirect, which herald does not follow/);
  t.deepEqual(secretsIn(redirectReport), [], 'no token in the redirect report');
  await sleep(3000);
  t.deepEqual(sink.hits, [], 'the redirect target never got a request');
  t.deepEqual(secretsIn(second.output.join('\n')), [], 'no token in the log');
});
