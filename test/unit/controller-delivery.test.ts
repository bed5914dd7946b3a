// delivery.ts with fakes: a fake API writer behind the real MailStore, a fixed clock, a
// recording Event sink, and dispatchers that hand their callbacks to the test (or a real
// ChannelDispatcher with a fake channel, for a refused digest). Every answer a channel
// can give ends in the Application's annotations, metrics, Events and channel status.
import test from 'ava';
import type { DingTalkChannel } from '../../src/api/generated.js';
import type { Channel } from '../../src/channels/channel.js';
import { MessageRejectedError } from '../../src/channels/errors.js';
import type { Application } from '../../src/controller/app-reconciler.js';
import { ChannelStatus } from '../../src/controller/channel-status.js';
import { Delivery } from '../../src/controller/delivery.js';
import { ChannelDispatcher, type DispatchCallbacks, type DispatchItem } from '../../src/controller/dispatcher.js';
import type { Outbox, OutboxEntry } from '../../src/controller/ledger.js';
import { MailStore } from '../../src/controller/mail-store.js';
import { ConfigStore } from '../../src/controller/store.js';
import type { EventType } from '../../src/kube/events.js';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { waitFor } from '../support/wait.js';

const NOW = Date.UTC(2026, 11, 2, 1, 30, 0);
const OUTBOX = 'herald.gitops.dev/outbox';
const NOTIFIED = 'herald.gitops.dev/notified';

const entry = (key: string, overrides: Partial<OutboxEntry> = {}): OutboxEntry => ({
  channel: 'ops', channelNamespace: 'argocd', key, trigger: 'on-deployed', template: 'deployed',
  body: { rendered: { message: `ArgoCD ${key}` } }, attempts: 0, next: 0, decided: NOW - 3000, ...overrides,
});

interface FakeDispatcher {
  name: string;
  callbacks: DispatchCallbacks;
  items: DispatchItem[];
  configChanges: number;
  stopped: boolean;
}

/** Everything around one Delivery; `apps` is the fake API server's view of the Applications. */
function harness(options: { outboxes: Record<string, Outbox>; channel?: Channel; deleted?: string[]; realDispatcher?: { now: () => number }; sentEvents?: boolean }) {
  const logLines: string[] = [];
  const apps = new Map<string, Application>();
  for (const [key, outbox] of Object.entries(options.outboxes)) {
    const [namespace, name] = key.split('/');
    apps.set(key, { metadata: { namespace, name, uid: `uid-${name}`, resourceVersion: '1', annotations: { [OUTBOX]: JSON.stringify(outbox) } } });
  }
  const patches: Array<{ app: string; annotations: Record<string, string | null> }> = [];
  const requeued: string[] = [];
  const mail = new MailStore({
    getApp: (namespace, name) => apps.get(`${namespace}/${name}`),
    writer: {
      patchAppAnnotations: async (namespace, name, annotations) => {
        const key = `${namespace}/${name}`;
        if (options.deleted?.includes(key)) throw Object.assign(new Error('HTTP 404 applications.argoproj.io not found'), { code: 404 });
        patches.push({ app: key, annotations });
        const app = apps.get(key)!;
        const merged: Record<string, string> = { ...app.metadata.annotations };
        for (const [k, v] of Object.entries(annotations)) {
          if (v === null) delete merged[k];
          else merged[k] = v;
        }
        const resourceVersion = String(Number(app.metadata.resourceVersion) + 1);
        apps.set(key, { ...app, metadata: { ...app.metadata, resourceVersion, annotations: merged } });
        return { metadata: { resourceVersion } };
      },
    },
    log: silentLogger,
    requeue: (key) => requeued.push(key),
    attempts: 2,
    retryBaseMs: 1,
  });
  const store = new ConfigStore();
  const object = { apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'DingTalkChannel', metadata: { namespace: 'argocd', name: 'ops' }, spec: {} } as unknown as DingTalkChannel;
  store.channels.set('argocd', 'ops', { object, fingerprint: 'f1', perMinute: 20, channel: options.channel ?? { type: 'fake', send: async () => ({ response: 'ok' }) } });
  const events: Array<{ app: string; type: EventType; reason: string; message: string }> = [];
  const statusWrites: string[] = [];
  const scheduled: Array<() => void> = [];
  const channelStatus = new ChannelStatus({
    store,
    write: async (namespace, name) => void statusWrites.push(`${namespace}/${name}`),
    changed: (namespace, name) => statusWrites.push(`${namespace}/${name}`),
    schedule: (callback) => scheduled.push(callback),
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const dispatchers: FakeDispatcher[] = [];
  const real: ChannelDispatcher[] = [];
  const delivery = new Delivery({
    store,
    mail,
    events: { record: (involved, type, reason, message) => events.push({ app: `${involved.namespace}/${involved.name}`, type, reason, message }) },
    metrics,
    log: createLogger('info', (line) => logLines.push(line)),
    involvedFor: (appKey) => {
      const app = apps.get(appKey);
      return app && !options.deleted?.includes(appKey) ? { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: app.metadata.namespace!, name: app.metadata.name!, uid: app.metadata.uid } : undefined;
    },
    channelStatus,
    sentEvents: options.sentEvents ?? true,
    now: () => NOW,
    createDispatcher: options.realDispatcher
      ? (name, runtime, callbacks) => {
          const dispatcher = new ChannelDispatcher(name, runtime, callbacks, metrics, silentLogger, options.realDispatcher!.now);
          real.push(dispatcher);
          return dispatcher;
        }
      : (name, _runtime, callbacks) => {
            const fake: FakeDispatcher = { name, callbacks, items: [], configChanges: 0, stopped: false };
            dispatchers.push(fake);
            return {
              enqueue: (item: DispatchItem) => void (fake.items.some((i) => i.appKey === item.appKey && i.id === item.id) || fake.items.push(item)),
              keepOnly: (appKey: string, outbox: Outbox) => void (fake.items = fake.items.filter((i) => i.appKey !== appKey || i.id in outbox)),
              configChanged: () => void fake.configChanges++,
              drain: async () => undefined,
              stop: () => void (fake.stopped = true),
              get size() {
                return fake.items.length;
              },
            };
          },
  });
  delivery.start();
  const mailOf = (key: string) => {
    const annotations = apps.get(key)!.metadata.annotations ?? {};
    return { outbox: JSON.parse(annotations[OUTBOX] ?? '{}') as Outbox, ledger: JSON.parse(annotations[NOTIFIED] ?? '{}') as Record<string, number> };
  };
  const deliverAll = () => {
    for (const [key, outbox] of Object.entries(options.outboxes)) delivery.deliver(key, outbox);
  };
  const itemOf = (app: string, id: string): DispatchItem => ({ appKey: app, id, entry: options.outboxes[app]![id]! });
  const counter = async (result: string, trigger = 'on-deployed') =>
    (await metrics.deliveries.get()).values.find((v) => v.labels.result === result && v.labels.trigger === trigger && v.labels.channel === 'argocd/ops')?.value ?? 0;
  const runStatusTimers = async () => {
    for (const callback of scheduled.splice(0)) callback();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { real, apps, mail, store, delivery, dispatchers, patches, requeued, events, statusWrites, runStatusTimers, mailOf, deliverAll, itemOf, counter, metrics, logLines };
}

test('deliver hands every entry, in decision order, to its channel; nothing is sent when not leading', (t) => {
  const h = harness({ outboxes: { 'argocd/guestbook': { b: entry('kb', { decided: NOW - 1000 }), a: entry('ka', { decided: NOW - 2000 }) } } });
  h.deliverAll();
  t.is(h.dispatchers.length, 1);
  t.is(h.dispatchers[0]!.name, 'argocd/ops');
  t.deepEqual(h.dispatchers[0]!.items.map((i) => i.id), ['a', 'b']);
  t.is(h.delivery.backlog, 2);
  h.delivery.deliver('argocd/guestbook', { b: entry('kb') });
  t.deepEqual(h.dispatchers[0]!.items.map((i) => i.id), ['b'], 'an entry no longer in the outbox (folded, done) is dropped');
  h.delivery.channelChanged('argocd', 'ops');
  t.is(h.dispatchers[0]!.configChanges, 1);
  h.delivery.stop();
  t.true(h.dispatchers[0]!.stopped);
  t.is(h.delivery.backlog, 0);
  h.deliverAll();
  t.is(h.delivery.backlog, 0, 'a follower hands nothing to a channel');
});

test('delivered (one message): one patch moves the key from the outbox to the ledger; sent metric, latency, Event, lastSentTime', async (t) => {
  const h = harness({ outboxes: { 'argocd/guestbook': { a: entry('ka'), b: entry('kb') } } });
  h.store.channels.get('argocd', 'ops')!.lastError = 'Unavailable: HTTP 500';
  h.deliverAll();
  await h.dispatchers[0]!.callbacks.delivered([h.itemOf('argocd/guestbook', 'a')], { errcode: 0 });
  t.is(h.patches.length, 1, 'one API write');
  const { outbox, ledger } = h.mailOf('argocd/guestbook');
  t.deepEqual(Object.keys(outbox), ['b']);
  t.deepEqual(ledger, { ka: Math.floor(NOW / 1000) });
  t.is(await h.counter('sent'), 1);
  const latency = (await h.metrics.deliveryLatency.get()).values.find((v) => v.metricName === 'herald_delivery_latency_seconds_sum');
  t.is(latency?.value, 3, 'latency is measured from the decision');
  t.deepEqual(h.events, [{ app: 'argocd/guestbook', type: 'Normal', reason: 'NotificationSent', message: 'trigger on-deployed → channel ops' }]);
  const channel = h.store.channels.get('argocd', 'ops')!;
  t.is(channel.lastSentTime, '2026-12-02T01:30:00Z');
  t.is(channel.lastError, undefined);
  t.deepEqual(h.statusWrites, [], 'the status write is throttled');
  await h.runStatusTimers();
  t.deepEqual(h.statusWrites, ['argocd/ops']);
});

test('delivered without --sent-events (the default): no Event, one API write; the send is logged and counted', async (t) => {
  const h = harness({ outboxes: { 'argocd/guestbook': { a: entry('ka') } }, sentEvents: false });
  h.deliverAll();
  await h.dispatchers[0]!.callbacks.delivered([h.itemOf('argocd/guestbook', 'a')], { errcode: 0 });
  t.deepEqual(h.events, []);
  t.is(h.patches.length, 1);
  t.is(await h.counter('sent'), 1);
  const sent = h.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'notification sent');
  t.deepEqual(sent.map(({ app, trigger, channel }) => ({ app, trigger, channel })), [{ app: 'argocd/guestbook', trigger: 'on-deployed', channel: 'argocd/ops' }]);
});

test('delivered (a digest over two apps): one patch per app, digested metric per message, Events name the digest', async (t) => {
  const h = harness({ outboxes: { 'argocd/a': { x: entry('kx'), y: entry('ky', { trigger: 'on-health-degraded' }) }, 'argocd/b': { z: entry('kz') } } });
  h.deliverAll();
  await h.dispatchers[0]!.callbacks.delivered([h.itemOf('argocd/a', 'x'), h.itemOf('argocd/a', 'y'), h.itemOf('argocd/b', 'z')], {});
  t.is(h.patches.length, 2);
  t.deepEqual(h.mailOf('argocd/a'), { outbox: {}, ledger: { kx: Math.floor(NOW / 1000), ky: Math.floor(NOW / 1000) } });
  t.deepEqual(h.mailOf('argocd/b').outbox, {});
  t.is(await h.counter('digested'), 2);
  t.is(await h.counter('digested', 'on-health-degraded'), 1);
  t.is(await h.counter('sent'), 0);
  t.deepEqual(h.events.map((e) => `${e.app} ${e.message}`), [
    'argocd/a trigger on-deployed, on-health-degraded → channel ops (in a digest of 3)',
    'argocd/b trigger on-deployed → channel ops (in a digest of 3)',
  ]);
});

test('retry: attempts and next time are written, the entry stays; failed metric and lastError, no Event', async (t) => {
  const h = harness({ outboxes: { 'argocd/guestbook': { a: entry('ka') } } });
  h.deliverAll();
  await h.dispatchers[0]!.callbacks.retry(h.itemOf('argocd/guestbook', 'a'), 2, NOW + 4000, 'Unavailable', 'HTTP 502');
  const { outbox, ledger } = h.mailOf('argocd/guestbook');
  t.like(outbox.a, { attempts: 2, next: NOW + 4000 });
  t.deepEqual(ledger, {});
  t.is(await h.counter('failed'), 1);
  t.deepEqual(h.events, []);
  t.is(h.store.channels.get('argocd', 'ops')!.lastError, 'Unavailable: HTTP 502');
  await h.runStatusTimers();
  t.deepEqual(h.statusWrites, ['argocd/ops']);
});

test('rejected (one message refused on its own): recorded in the ledger so it is not decided again; Warning Event, rejected metric', async (t) => {
  const h = harness({ outboxes: { 'argocd/guestbook': { a: entry('ka'), b: entry('kb') } } });
  h.deliverAll();
  await h.dispatchers[0]!.callbacks.rejected(h.itemOf('argocd/guestbook', 'a'), 'MessageRejected', 'errcode 40035');
  const { outbox, ledger } = h.mailOf('argocd/guestbook');
  t.deepEqual(Object.keys(outbox), ['b']);
  t.deepEqual(ledger, { ka: Math.floor(NOW / 1000) });
  t.is(await h.counter('rejected'), 1);
  t.deepEqual(h.events, [{ app: 'argocd/guestbook', type: 'Warning', reason: 'NotificationFailed', message: 'trigger on-deployed → channel ops: MessageRejected: errcode 40035 (not retried)' }]);
  t.is(h.store.channels.get('argocd', 'ops')!.lastError, 'MessageRejected: errcode 40035');
});

test('parked: the entry waits in the outbox for a configuration fix (attempt counted once); Warning Event says it is kept', async (t) => {
  const h = harness({ outboxes: { 'argocd/guestbook': { a: entry('ka') } } });
  h.deliverAll();
  const item = h.itemOf('argocd/guestbook', 'a');
  await h.dispatchers[0]!.callbacks.parked(item, 'KeywordMissing', 'none of the keywords');
  t.like(h.mailOf('argocd/guestbook').outbox.a, { parked: 'KeywordMissing', attempts: 1 });
  t.deepEqual(h.mailOf('argocd/guestbook').ledger, {});
  t.is(h.patches.length, 1);
  await h.dispatchers[0]!.callbacks.parked(item, 'KeywordMissing', 'none of the keywords');
  t.is(h.patches.length, 1, 'parked again for the same reason writes nothing');
  t.is(await h.counter('failed'), 2);
  t.is(h.events[0]!.type, 'Warning');
  t.regex(h.events[0]!.message, /KeywordMissing: none of the keywords \(kept in the outbox until the channel is fixed\)$/);
});

test('channel problem: set on the channel at once (with the fingerprint), cleared once; no write when there was none', (t) => {
  const h = harness({ outboxes: { 'argocd/guestbook': { a: entry('ka') } } });
  h.deliverAll();
  const { callbacks } = h.dispatchers[0]!;
  callbacks.channelProblem(undefined);
  t.deepEqual(h.statusWrites, []);
  callbacks.channelProblem({ reason: 'InvalidToken', message: 'errcode 300001' });
  t.deepEqual(h.store.channels.get('argocd', 'ops')!.deliveryProblem, { reason: 'InvalidToken', message: 'errcode 300001', fingerprint: 'f1' });
  t.deepEqual(h.statusWrites, ['argocd/ops']);
  callbacks.channelProblem(undefined);
  t.is(h.store.channels.get('argocd', 'ops')!.deliveryProblem, undefined);
  t.deepEqual(h.statusWrites, ['argocd/ops', 'argocd/ops']);
});

test('an app deleted meanwhile (404): the answer is dropped without an Event, a retry or a re-queue, and the channel goes on', async (t) => {
  const h = harness({ outboxes: { 'argocd/gone': { a: entry('ka') }, 'argocd/stays': { b: entry('kb') } }, deleted: ['argocd/gone'] });
  h.deliverAll();
  const { callbacks } = h.dispatchers[0]!;
  await callbacks.delivered([h.itemOf('argocd/gone', 'a'), h.itemOf('argocd/stays', 'b')], {});
  t.false(h.mail.hasPending('argocd/gone'), 'nothing waits to be written for a deleted app');
  t.deepEqual(h.requeued, []);
  t.deepEqual(h.events.map((e) => e.app), ['argocd/stays']);
  t.deepEqual(h.mailOf('argocd/stays').ledger, { kb: Math.floor(NOW / 1000) });
  await callbacks.retry(h.itemOf('argocd/gone', 'a'), 1, NOW + 1000, 'Unavailable', 'HTTP 500');
  t.deepEqual(h.requeued, []);
  t.deepEqual(h.patches.map((p) => p.app), ['argocd/stays']);
});

test('a rejected digest marks nothing done: it is split down to single messages, each recorded when accepted', async (t) => {
  const requests: string[][] = [];
  const channel: Channel = {
    type: 'fake',
    send: async (message) => {
      requests.push([message.rendered.message!]);
      if (message.rendered.message === 'ArgoCD k3') throw new MessageRejectedError('MessageRejected', 'errcode 40035');
      return { response: 'ok' };
    },
    sendDigest: async (messages) => {
      requests.push(messages.map((m) => m.rendered.message!));
      if (messages.length > 2) throw new MessageRejectedError('MessageRejected', 'errcode 460101: body too large');
      return { response: 'ok', included: messages.length, omitted: 0 };
    },
  };
  const outbox: Outbox = {};
  // More than the rate window has room for: the last free slot carries a digest.
  for (let n = 1; n <= 24; n++) outbox[`id${n}`] = entry(`k${n}`, { decided: NOW - 10_000 + n });
  // A clock the test moves past the rolling minute whenever the dispatcher waits for a slot.
  let offset = 0;
  const h = harness({ outboxes: { 'argocd/busy': outbox }, channel, realDispatcher: { now: () => Date.now() + offset } });
  h.deliverAll();
  const deadline = Date.now() + 10_000;
  while ((h.delivery.backlog > 0 || h.mail.busy) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 30));
    offset += 62_000;
    for (const dispatcher of h.real) dispatcher.kick();
  }
  h.delivery.stop();
  const { outbox: left, ledger } = h.mailOf('argocd/busy');
  t.deepEqual(left, {});
  t.is(Object.keys(ledger).length, 24, 'every message is in the ledger');
  const refused = requests.filter((r) => r.length > 2);
  t.true(refused.length >= 1, 'a digest was refused');
  const accepted = new Set(requests.filter((r) => r.length <= 2 && !(r.length === 1 && r[0] === 'ArgoCD k3')).flat());
  for (let n = 1; n <= 24; n++) if (n !== 3) t.true(accepted.has(`ArgoCD k${n}`), `k${n} was accepted in a smaller request`);
  t.is(await h.counter('rejected'), 1, 'only the message refused on its own is rejected');
  t.deepEqual(h.events.filter((e) => e.type === 'Warning').map((e) => e.message), ['trigger on-deployed → channel ops: MessageRejected: errcode 40035 (not retried)']);
});

test('delivered: a fold entry folded into again while on its way keeps reporting the messages folded since', async (t) => {
  const foldEntry = (count: number) =>
    entry('herald-folded:argocd/ops', {
      trigger: 'herald-folded',
      folded: { count, lines: Array.from({ length: Math.min(count, 10) }, (_, i) => `on-deployed (r${count - i}), decided 2026-12-02T01:00:00Z`) },
      body: { rendered: { message: `${count} folded`, dingtalk: { msgType: 'markdown', title: `ArgoCD argocd/busy: ${count} earlier notifications folded`, text: '' } }, about: { app: 'argocd/busy', event: `${count} folded` } },
    });
  const h = harness({ outboxes: { 'argocd/busy': { 'herald-folded#argocd/ops': foldEntry(12) } } });
  const sentVersion: DispatchItem = { appKey: 'argocd/busy', id: 'herald-folded#argocd/ops', entry: foldEntry(5) };
  h.delivery.deliver('argocd/busy', { 'herald-folded#argocd/ops': foldEntry(12) });
  await h.dispatchers[0]!.callbacks.delivered([sentVersion], {});
  const left = h.mailOf('argocd/busy').outbox['herald-folded#argocd/ops'];
  t.is(left?.folded?.count, 7, 'the 7 folded after the version sent still wait');
  t.regex(String((left?.body as { rendered?: { dingtalk?: { title?: string } } }).rendered?.dingtalk?.title), /^ArgoCD argocd\/busy: 7 earlier notifications folded$/);
  t.deepEqual(h.mailOf('argocd/busy').ledger, {});
});
