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

/** A fixture whose outbox starts empty, with a short decision delay. */
function deciding(delayMs: number) {
  const f = fixture(() => undefined);
  f.app.metadata.annotations = {};
  const store = new MailStore({
    getApp: () => f.app,
    writer: { patchAppAnnotations: async (_namespace, _name, annotations) => (f.patches.push(annotations), { metadata: { resourceVersion: String(20 + f.patches.length) } }) },
    log: silentLogger,
    requeue: () => undefined,
    decisionDelayMs: delayMs,
  });
  return { ...f, store };
}

test('a decision is read at once and written after the decision delay when nothing else of the app is written', async (t) => {
  const { app, store, patches } = deciding(50);
  const read = store.read('argocd/busy', app);
  await store.decide('argocd/busy', app, { ledger: {}, outbox: { a: entry('ka') } }, read, read.applied);
  t.deepEqual(Object.keys(store.read('argocd/busy', app).mail.outbox), ['a'], 'readable before it is written');
  t.is(patches.length, 0, 'not written at once');
  t.true(store.busy, 'a waiting decision keeps the store busy');
  await waitFor(() => !store.busy, 'written', 2000);
  t.is(patches.length, 1);
  t.deepEqual(JSON.parse(patches[0]!['herald.gitops.dev/outbox']!), { a: entry('ka') });
});

test('a decision and the channel\'s acceptance soon after go out in one write: decided and delivered together', async (t) => {
  const { app, store, patches } = deciding(60_000);
  const read = store.read('argocd/busy', app);
  await store.decide('argocd/busy', app, { ledger: {}, outbox: { a: entry('ka') } }, read, read.applied);
  await store.change('argocd/busy', (mail) => completed(mail, ['a'], 7000));
  t.is(patches.length, 1);
  t.deepEqual(patches[0], { 'herald.gitops.dev/notified': JSON.stringify({ ka: 7 }), 'herald.gitops.dev/outbox': null });
  t.false(store.busy, 'the decision\'s timer went with the write');
});

test('changes that came after the read a decision was made from apply on top of it (an accepted message does not come back)', async (t) => {
  const f = fixture(() => undefined);
  const store = new MailStore({ ...f, getApp: () => f.app, writer: { patchAppAnnotations: async (_n, _m, annotations) => (f.patches.push(annotations), { metadata: { resourceVersion: '30' } }) }, log: silentLogger, requeue: () => undefined, decisionDelayMs: 60_000 });
  let written: Promise<void> | undefined;
  await store.locked('argocd/busy', async () => {
    const read = store.read('argocd/busy', f.app);
    // While the reconciler renders, the channel accepts `a`.
    written = store.change('argocd/busy', (mail) => completed(mail, ['a'], 8000));
    await store.decide('argocd/busy', f.app, { ledger: read.mail.ledger, outbox: { ...read.mail.outbox, c: entry('kc') } }, read, read.applied);
    t.deepEqual(Object.keys(store.read('argocd/busy', f.app).mail.outbox).sort(), ['b', 'c']);
  });
  await written;
  t.is(f.patches.length, 1);
  t.deepEqual(Object.keys(JSON.parse(f.patches[0]!['herald.gitops.dev/outbox']!)).sort(), ['b', 'c']);
  t.is(f.patches[0]!['herald.gitops.dev/notified'], JSON.stringify({ ka: 8 }));
});

test('a decision made before leadership was lost is dropped; a graceful stop writes a waiting decision at once', async (t) => {
  const { app, store, patches } = deciding(60_000);
  const before = store.read('argocd/busy', app);
  store.reset();
  t.false(await store.decide('argocd/busy', app, { ledger: {}, outbox: { a: entry('ka') } }, before, before.applied), 'the caller evaluates the app again');
  t.false(store.busy);
  t.deepEqual(store.read('argocd/busy', app).mail.outbox, {});
  const read = store.read('argocd/busy', app);
  await store.decide('argocd/busy', app, { ledger: {}, outbox: { b: entry('kb') } }, read, read.applied);
  await store.idle(2000);
  t.is(patches.length, 1, 'written by idle(), long before the delay');
  t.false(store.busy);
});

test('a decision that records first-sight markers is written at once, not after the delay', async (t) => {
  const { app, store, patches } = deciding(60_000);
  const read = store.read('argocd/busy', app);
  t.true(await store.decide('argocd/busy', app, { ledger: { ':on-revision:*:ops': 1 }, outbox: {} }, read, read.applied, true));
  await waitFor(() => !store.busy, 'written', 2000);
  t.is(patches.length, 1, 'one write, long before the 60 s delay');
  t.is(patches[0]!['herald.gitops.dev/notified'], JSON.stringify({ ':on-revision:*:ops': 1 }));
});

test('with a decision delay of 0 the decision is written before decide() resolves: delivery never sees an unwritten decision', async (t) => {
  const { app, store, patches } = deciding(0);
  const read = store.read('argocd/busy', app);
  const deciding0 = store.decide('argocd/busy', app, { ledger: {}, outbox: { a: entry('ka') } }, read, read.applied);
  t.true(await deciding0);
  t.is(patches.length, 1, 'written by the time the reconciler hands the outbox over');
  t.deepEqual(Object.keys(JSON.parse(patches[0]!['herald.gitops.dev/outbox']!)), ['a']);
  t.false(store.busy, 'nothing waits');
});
