import test from 'ava';
import type { Application } from '../../src/controller/app-reconciler.js';
import type { OutboxEntry } from '../../src/controller/ledger.js';
import { MailStore } from '../../src/controller/mail-store.js';
import { completed } from '../../src/controller/outbox.js';
import { silentLogger } from '../../src/observability/logger.js';
import { waitFor } from '../support/wait.js';

const entry = (key: string): OutboxEntry => ({
  channel: 'ops', channelNamespace: 'argocd', key, trigger: 't', template: 'x', body: { rendered: {} }, attempts: 0, next: 0, decided: 1,
});

function fixture(fail: (call: number) => number | undefined) {
  const app: Application = {
    metadata: {
      name: 'busy', namespace: 'argocd', resourceVersion: '10',
      annotations: { 'herald.gitops.dev/outbox': JSON.stringify({ a: entry('ka'), b: entry('kb') }) },
    },
  };
  const patches: Array<Record<string, string | null>> = [];
  const requeued: string[] = [];
  let calls = 0;
  const store = new MailStore({
    getApp: () => app,
    writer: {
      patchAppAnnotations: async (_namespace, _name, annotations) => {
        const status = fail(++calls);
        if (status !== undefined) throw Object.assign(new Error(`HTTP ${status}`), { code: status });
        patches.push(annotations);
        return { metadata: { resourceVersion: String(10 + calls) } };
      },
    },
    log: silentLogger,
    requeue: (key) => requeued.push(key),
    attempts: 3,
    retryBaseMs: 1,
  });
  return { app, store, patches, requeued, calls: () => calls };
}

test('changes of one app are coalesced into one merge patch of both annotations', async (t) => {
  const { store, patches } = fixture(() => undefined);
  store.change('argocd/busy', (mail) => completed(mail, ['a'], 5000));
  store.change('argocd/busy', (mail) => completed(mail, ['b'], 6000));
  await waitFor(() => !store.busy, 'written', 2000);
  t.is(patches.length, 1);
  t.deepEqual(patches[0], { 'herald.gitops.dev/notified': JSON.stringify({ ka: 5, kb: 6 }), 'herald.gitops.dev/outbox': null });
});

test('a write the API server keeps refusing is tried a bounded number of times, then handed to the app queue; reads still see it', async (t) => {
  const { app, store, patches, requeued, calls } = fixture(() => 422);
  store.change('argocd/busy', (mail) => completed(mail, ['a'], 5000));
  await waitFor(() => !store.busy, 'given up', 2000);
  t.is(calls(), 3);
  t.deepEqual(requeued, ['argocd/busy']);
  t.is(patches.length, 0);
  t.true(store.hasPending('argocd/busy'));
  const read = store.read('argocd/busy', app);
  t.deepEqual(Object.keys(read.mail.outbox), ['b'], 'the delivered entry is not handed out again');
  t.true(read.changed);
  await t.throwsAsync(store.commitPending('argocd/busy'), { message: /cannot write herald annotations on Application argocd\/busy/ });
});

test('a deleted app drops what waits for it', async (t) => {
  const { store, requeued } = fixture(() => 404);
  store.change('argocd/busy', (mail) => completed(mail, ['a'], 5000));
  await waitFor(() => !store.busy, 'done', 2000);
  t.deepEqual(requeued, []);
  t.false(store.hasPending('argocd/busy'));
});

test('once the API server takes the write again, the waiting change is written and nothing waits', async (t) => {
  let refuse = true;
  const { store, patches } = fixture(() => (refuse ? 409 : undefined));
  store.change('argocd/busy', (mail) => completed(mail, ['a'], 5000));
  await waitFor(() => !store.busy, 'given up', 2000);
  refuse = false;
  await store.commitPending('argocd/busy');
  t.is(patches.length, 1);
  t.false(store.hasPending('argocd/busy'));
});
