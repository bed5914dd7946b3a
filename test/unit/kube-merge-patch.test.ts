// The thin merge patch against a loopback plain-HTTP stand-in for the API server:
// what it sends (headers, body, the kubeconfig's bearer token), how answers other than
// 2xx become errors that statusCodeOf/apiMessageOf read, and the request timeout.
// The real API server's answer (PartialObjectMetadata) is test/integration/kube-patch.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeRequestError, apiMessageOf, statusCodeOf } from '../../src/kube/errors.js';
import { PARTIAL_METADATA_ACCEPT, mergePatch } from '../../src/kube/merge-patch.js';
import { KubeWriter } from '../../src/kube/patch.js';

const TOKEN = 'sekret-bearer-token-0123456789';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

async function fakeServer(t: { teardown(fn: () => void): void }, answer: (seen: Seen, response: ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(entry);
      answer(entry, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}/prefix/`, skipTLSVerify: true }],
    users: [{ name: 'robot', token: TOKEN }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'robot' }],
    currentContext: 'fake',
  });
  return { kc, seen };
}

const json = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(body));
};

test('an annotation patch is a merge patch asking for metadata only, with the kubeconfig’s token, below the server’s path', async (t) => {
  const { kc, seen } = await fakeServer(t, (_seen, response) =>
    json(response, 200, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'guestbook', resourceVersion: '42' } }),
  );
  const patched = await new KubeWriter(kc).patchAppAnnotations('team a', 'guestbook', { 'herald.gitops.dev/notified': '{}', gone: null });
  t.is(patched.metadata?.resourceVersion, '42');
  t.is(seen.length, 1);
  const [request] = seen;
  t.is(request!.method, 'PATCH');
  t.is(request!.url, '/prefix/apis/argoproj.io/v1alpha1/namespaces/team%20a/applications/guestbook');
  t.is(request!.headers['content-type'], 'application/merge-patch+json');
  t.is(request!.headers.accept, PARTIAL_METADATA_ACCEPT);
  t.is(request!.headers.authorization, `Bearer ${TOKEN}`);
  t.deepEqual(JSON.parse(request!.body), { metadata: { annotations: { 'herald.gitops.dev/notified': '{}', gone: null } } });
});

test('a status patch goes to the status subresource', async (t) => {
  const { kc, seen } = await fakeServer(t, (_seen, response) => json(response, 200, { metadata: { resourceVersion: '7' } }));
  await new KubeWriter(kc).patchHeraldStatus('dingtalkchannels', 'ops', 'dingtalk-ops', { lastSentTime: null });
  t.is(seen[0]!.url, '/prefix/apis/herald.gitops.dev/v1alpha1/namespaces/ops/dingtalkchannels/dingtalk-ops/status');
  t.deepEqual(JSON.parse(seen[0]!.body), { status: { lastSentTime: null } });
});

test('a refusal keeps the status code and the API server’s message, and never the token', async (t) => {
  const { kc } = await fakeServer(t, (_seen, response) =>
    json(response, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'applications.argoproj.io "guestbook" not found', reason: 'NotFound', code: 404 }),
  );
  const error = await t.throwsAsync(new KubeWriter(kc).patchAppAnnotations('ops', 'guestbook', { a: 'b' }), { instanceOf: KubeApiError });
  t.is(statusCodeOf(error), 404);
  t.is(apiMessageOf(error), 'applications.argoproj.io "guestbook" not found');
  t.regex(error!.message, /HTTP 404: applications\.argoproj\.io "guestbook" not found/);
  t.false(JSON.stringify({ message: error!.message, body: (error as KubeApiError).body }).includes(TOKEN));
});

test('an answer that is not a Status gives its text, shortened', async (t) => {
  const { kc } = await fakeServer(t, (_seen, response) => {
    response.writeHead(502, { 'Content-Type': 'text/plain' });
    response.end(`bad gateway ${'x'.repeat(2000)}`);
  });
  const error = await t.throwsAsync(mergePatch(kc, '/apis/x/v1/namespaces/a/things/b', {}), { instanceOf: KubeApiError });
  t.is(statusCodeOf(error), 502);
  t.true(apiMessageOf(error).startsWith('bad gateway'));
  t.true(error!.message.length < 700, 'the message is bounded');
});

test('a server that does not answer in time gives a KubeRequestError, with no status code', async (t) => {
  const { kc } = await fakeServer(t, () => undefined);
  const started = Date.now();
  const error = await t.throwsAsync(mergePatch(kc, '/apis/x/v1/namespaces/a/things/b', {}, { timeoutMs: 300 }), { instanceOf: KubeRequestError });
  t.true(Date.now() - started < 5000);
  t.is(statusCodeOf(error), undefined);
  t.regex(error!.message, /no answer from the API server within 300 ms/);
});

test('a refused connection gives a KubeRequestError with the cause', async (t) => {
  const closed = new KubeConfig();
  closed.loadFromOptions({
    clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u', token: TOKEN }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  const error = await t.throwsAsync(mergePatch(closed, '/apis/x/v1/namespaces/a/things/b', {}), { instanceOf: KubeRequestError });
  t.truthy(error!.cause);
  t.is(statusCodeOf(error), undefined);
  t.false(error!.message.includes(TOKEN));
});
