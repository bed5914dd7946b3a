import test from 'ava';
import type { Channel, OutgoingMessage } from '../../src/channels/channel.js';
import { ChannelConfigurationError, ChannelReasons, ChannelTransientError, MessageRejectedError } from '../../src/channels/errors.js';
import { MAX_PENDING_COMPLETIONS } from '../../src/controller/completions.js';
import { ChannelDispatcher, type DispatchCallbacks, type DispatchItem } from '../../src/controller/dispatcher.js';
import type { OutboxEntry } from '../../src/controller/ledger.js';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { sleep, waitFor } from '../support/wait.js';

const item = (n: number): DispatchItem => ({
  appKey: `ns/app-${n}`,
  id: `id-${n}`,
  entry: { channel: 'ops', channelNamespace: 'ns', key: `k${n}`, trigger: 't', template: 'x', body: { rendered: { message: `m${n}` } }, attempts: 0, next: 0, decided: n } as OutboxEntry,
});

function harness(channel: Channel, perMinute = 20, now: () => number = Date.now) {
  const log: string[] = [];
  const callbacks: DispatchCallbacks = {
    delivered: async (items) => void log.push(`delivered ${items.map((i) => i.id).join(',')}`),
    retry: async (i, attempts, next) => void log.push(`retry ${i.id} attempt ${attempts} in ${next > Date.now() ? 'future' : 'past'}`),
    parked: async (i, reason) => void log.push(`parked ${i.id} ${reason}`),
    rejected: async (i, reason) => void log.push(`rejected ${i.id} ${reason}`),
    channelProblem: (problem) => void log.push(`problem ${problem?.reason ?? 'none'}`),
  };
  let fingerprint = 'v1';
  const metrics = createMetrics({ defaultMetrics: false });
  const dispatcher = new ChannelDispatcher('ns/ops', () => ({ channel, perMinute, fingerprint }), callbacks, metrics, silentLogger, now);
  return { dispatcher, log, metrics, setFingerprint: (value: string) => (fingerprint = value) };
}

test('within the rate limit messages go one by one; the last free slot carries a digest of everything waiting', async (t) => {
  const sent: string[] = [];
  const channel: Channel = {
    type: 'test',
    send: async (message: OutgoingMessage) => ({ response: sent.push(`one ${message.rendered.message}`) }),
    sendDigest: async (messages) => {
      sent.push(`digest ${messages.map((m) => m.rendered.message).join(',')}`);
      return { response: 'ok', included: messages.length, omitted: 0 };
    },
  };
  const { dispatcher, log } = harness(channel, 3);
  for (let n = 1; n <= 6; n++) dispatcher.enqueue(item(n));
  dispatcher.enqueue(item(1)); // the same item again is not held twice
  await waitFor(() => dispatcher.size === 0, 'everything sent', 2000);
  t.deepEqual(sent, ['one m1', 'one m2', 'digest m3,m4,m5,m6']);
  t.true(log.includes('delivered id-3,id-4,id-5,id-6'));
  dispatcher.stop();
});

test('failures are classified: transient → retry with backoff, keyword → parked, misconfigured channel → paused, bad message → rejected', async (t) => {
  const failures: Record<string, Error> = {
    m1: new ChannelTransientError(ChannelReasons.Unavailable, 'HTTP 500'),
    m2: new ChannelConfigurationError(ChannelReasons.KeywordMissing, 'no keyword'),
    m3: new MessageRejectedError(ChannelReasons.MessageRejected, 'bad'),
  };
  const channel: Channel = {
    type: 'test',
    send: async (message) => {
      const failure = failures[message.rendered.message!];
      if (failure) throw failure;
      return { response: 'ok' };
    },
  };
  const { dispatcher, log, setFingerprint } = harness(channel);
  for (const n of [1, 2, 3]) dispatcher.enqueue(item(n));
  await waitFor(() => log.some((l) => l.startsWith('retry id-1')) && log.some((l) => l.startsWith('parked id-2')) && log.some((l) => l.startsWith('rejected id-3')), 'three outcomes', 2000);
  t.true(log.includes('retry id-1 attempt 1 in future'));
  t.true(log.includes('parked id-2 KeywordMissing'));
  t.true(log.includes('rejected id-3 MessageRejected'));
  t.is(dispatcher.size, 2, 'the retried and the parked message stay');

  failures.m4 = new ChannelConfigurationError(ChannelReasons.InvalidToken, 'token is not exist');
  dispatcher.enqueue(item(4));
  await waitFor(() => log.includes('problem InvalidToken'), 'the channel marked', 2000);
  t.true(log.includes('parked id-4 InvalidToken'));
  delete failures.m4;
  delete failures.m2;
  setFingerprint('v2'); // the Secret was fixed
  dispatcher.configChanged();
  await waitFor(() => log.includes('delivered id-4') && log.includes('delivered id-2'), 'the parked messages delivered after the fix', 2000);
  t.is(dispatcher.size, 1, 'only the transiently failed message waits for its retry');
  dispatcher.stop();
});

test('a refused digest marks nothing done: its halves go again, down to single messages; only a message refused on its own is rejected', async (t) => {
  const sent: string[] = [];
  const tooLarge = () => new MessageRejectedError(ChannelReasons.MessageRejected, 'DingTalk refused the message: DingTalk errcode 460101: message too long');
  const channel: Channel = {
    type: 'test',
    send: async (message: OutgoingMessage) => {
      if (message.rendered.message === 'm7') {
        sent.push('refused-one m7');
        throw tooLarge();
      }
      return { response: sent.push(`one ${message.rendered.message}`) };
    },
    sendDigest: async (messages) => {
      const names = messages.map((m) => m.rendered.message).join(',');
      if (messages.length > 2 || names.includes('m7')) {
        sent.push(`refused ${names}`);
        throw tooLarge();
      }
      sent.push(`digest ${names}`);
      return { response: 'ok', included: messages.length, omitted: 0 };
    },
  };
  // A clock the test moves past the rolling minute whenever the dispatcher waits for a slot.
  let offset = 0;
  const { dispatcher, log } = harness(channel, 2, () => Date.now() + offset);
  for (let n = 1; n <= 9; n++) dispatcher.enqueue(item(n));
  const deadline = Date.now() + 10_000;
  while (dispatcher.size > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 30));
    offset += 62_000;
    dispatcher.kick();
  }
  t.is(dispatcher.size, 0);
  t.deepEqual(sent, [
    'one m1',
    'refused m2,m3,m4,m5,m6,m7,m8,m9',
    'refused m2,m3,m4,m5',
    'digest m2,m3',
    'digest m4,m5',
    'refused m6,m7,m8,m9',
    'refused m6,m7',
    'one m6',
    'refused-one m7',
    'digest m8,m9',
  ]);
  t.deepEqual(log.filter((line) => line.startsWith('rejected')), ['rejected id-7 MessageRejected'], 'only the message refused on its own is rejected');
  for (const n of [1, 2, 3, 4, 5, 6, 8, 9]) t.true(log.some((line) => line.startsWith('delivered') && line.split(/[ ,]/).includes(`id-${n}`)), `id-${n} delivered`);
  dispatcher.stop();
});

test("an Application's messages go in the order decided: one waiting for a retry holds back its app's later ones, not other apps'", async (t) => {
  const sent: string[] = [];
  let failFirst = true;
  const channel: Channel = {
    type: 'test',
    send: async (message: OutgoingMessage) => {
      if (message.rendered.message === 'm1' && failFirst) {
        failFirst = false;
        sent.push('fail m1');
        throw new ChannelTransientError(ChannelReasons.Unavailable, 'could not reach DingTalk: ECONNRESET');
      }
      return { response: sent.push(`one ${message.rendered.message}`) };
    },
  };
  const { dispatcher, metrics } = harness(channel, 20);
  const first = item(1);
  const second = { ...item(2), appKey: first.appKey }; // the same app, decided later
  const other = item(3); // another app, decided last
  dispatcher.enqueue(first);
  dispatcher.enqueue(second);
  dispatcher.enqueue(other);
  t.is((await metrics.outboxPending.get()).values.find((v) => v.labels.channel === 'ns/ops')?.value, 3, 'herald_outbox_pending counts what the dispatcher holds');
  await waitFor(() => dispatcher.size === 0, 'everything sent', 5000);
  // m3 (another app) is not held back; its success shows the channel is back, so m1 goes at once, then m2.
  t.deepEqual(sent, ['fail m1', 'one m3', 'one m1', 'one m2']);
  t.is((await metrics.outboxPending.get()).values.find((v) => v.labels.channel === 'ns/ops')?.value, 0);
  dispatcher.stop();
});

test('keepOnly drops the items an app no longer holds (folded away)', (t) => {
  const channel: Channel = { type: 'test', send: () => new Promise(() => undefined) };
  const { dispatcher } = harness(channel);
  const a = item(1);
  const b = { ...item(2), appKey: a.appKey };
  dispatcher.enqueue(a);
  dispatcher.enqueue(b);
  dispatcher.enqueue(item(3));
  dispatcher.keepOnly(a.appKey, { [b.id]: b.entry });
  t.is(dispatcher.size, 2);
  dispatcher.stop();
});

test('a fold entry handed over again with a larger count replaces the one held; one replaced on its way is left to the outbox', async (t) => {
  const sent: string[] = [];
  const channel: Channel = { type: 'test', send: async (message: OutgoingMessage) => ({ response: sent.push(message.rendered.message!) }) };
  const { dispatcher, log } = harness(channel);
  const fold = (count: number): DispatchItem => ({
    ...item(1),
    id: 'herald-folded#ns/ops',
    entry: { ...item(1).entry, trigger: 'herald-folded', body: { rendered: { message: `${count} folded` } }, folded: { count, lines: [] } },
  });
  dispatcher.enqueue(item(2)); // on its way first
  dispatcher.enqueue(fold(3));
  dispatcher.enqueue(fold(5));
  dispatcher.enqueue(item(2)); // an ordinary message is never held twice
  t.is(dispatcher.size, 2);
  await waitFor(() => dispatcher.size === 0, 'sent', 2000);
  t.deepEqual(sent, ['m2', '5 folded'], 'the newer count replaced the one waiting');

  sent.length = 0;
  dispatcher.enqueue(fold(7)); // on its way at once
  dispatcher.enqueue(fold(9));
  await waitFor(() => dispatcher.size === 0, 'sent', 2000);
  t.deepEqual(sent, ['7 folded'], 'the two folded since stay in the outbox (completed() keeps them) and come back from there');
  t.is(log.filter((line) => line === 'delivered herald-folded#ns/ops').length, 2);
  dispatcher.stop();
});

/** A dispatcher whose delivered callback is the test's: completions finish when the test says so. */
function pipelineHarness(delivered: DispatchCallbacks['delivered']) {
  const sent: string[] = [];
  const channel: Channel = { type: 'test', send: async (message: OutgoingMessage) => ({ response: sent.push(message.rendered.message!) }) };
  const lines: string[] = [];
  const callbacks: DispatchCallbacks = {
    delivered,
    retry: async () => undefined,
    parked: async () => undefined,
    rejected: async () => undefined,
    channelProblem: () => undefined,
  };
  const log = createLogger('info', (line) => void lines.push(line));
  const dispatcher = new ChannelDispatcher('ns/ops', () => ({ channel, perMinute: 10_000, fingerprint: 'v1' }), callbacks, createMetrics({ defaultMetrics: false }), log);
  return { dispatcher, sent, lines };
}

/** Completions the test releases one at a time. */
function heldCompletions() {
  const held: Array<{ ids: string[]; release: () => void }> = [];
  const delivered: DispatchCallbacks['delivered'] = (items) =>
    new Promise<void>((resolve) => void held.push({ ids: items.map((i) => i.id), release: resolve }));
  return { held, delivered };
}

test('the lane sends while completions are pending, up to MAX_PENDING_COMPLETIONS; then it waits for one to finish', async (t) => {
  const { held, delivered } = heldCompletions();
  const { dispatcher, sent } = pipelineHarness(delivered);
  const total = MAX_PENDING_COMPLETIONS + 3;
  for (let n = 1; n <= total; n++) dispatcher.enqueue(item(n));
  await waitFor(() => sent.length >= MAX_PENDING_COMPLETIONS, 'the bound reached', 2000);
  await sleep(100); // whatever the lane would do without the bound, it has done by now
  t.is(sent.length, MAX_PENDING_COMPLETIONS, 'no request while the bound of pending completions is reached');
  t.is(held.length, MAX_PENDING_COMPLETIONS, 'each accepted message started its completion');

  held[3]!.release(); // any one of them finishing makes room for one more request
  await waitFor(() => sent.length === MAX_PENDING_COMPLETIONS + 1, 'the next request', 2000);
  await sleep(100);
  t.is(sent.length, MAX_PENDING_COMPLETIONS + 1, 'one finished completion, one more request');

  for (let released = 0; sent.length < total || released < held.length; ) {
    while (released < held.length) held[released++]!.release();
    await sleep(10);
  }
  t.deepEqual(sent, Array.from({ length: total }, (_, i) => `m${i + 1}`), 'in order, each once');
  t.deepEqual(held.flatMap((h) => h.ids), Array.from({ length: total }, (_, i) => `id-${i + 1}`));
  t.is(dispatcher.size, 0);
  dispatcher.stop();
});

test('drain() waits for pending completions, not only for the request in flight', async (t) => {
  const { held, delivered } = heldCompletions();
  const { dispatcher, sent } = pipelineHarness(delivered);
  dispatcher.enqueue(item(1));
  dispatcher.enqueue(item(2));
  await waitFor(() => held.length === 2, 'both accepted', 2000);
  let drained = false;
  const draining = dispatcher.drain().then(() => (drained = true));
  await sleep(100);
  t.false(drained, 'two completions are pending');
  held[0]!.release();
  await sleep(100);
  t.false(drained, 'one completion is pending');
  held[1]!.release();
  await draining;
  t.true(drained);
  t.deepEqual(sent, ['m1', 'm2']);
});

test('a completion that fails is logged, never an unhandled rejection, and the lane goes on', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => void process.off('unhandledRejection', onUnhandled));
  const recorded: string[] = [];
  const { dispatcher, sent, lines } = pipelineHarness(async (items) => {
    const ids = items.map((i) => i.id);
    if (ids.includes('id-1')) throw new Error('the API server refused the patch');
    recorded.push(...ids);
  });
  for (let n = 1; n <= 3; n++) dispatcher.enqueue(item(n));
  await waitFor(() => recorded.length === 2, 'the later completions', 2000);
  await dispatcher.drain();
  await sleep(20);
  t.deepEqual(sent, ['m1', 'm2', 'm3'], 'm1 is not sent again: the channel took it');
  t.deepEqual(recorded, ['id-2', 'id-3']);
  const errors = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.level === 'error');
  t.is(errors.length, 1);
  t.regex(String(errors[0]!.msg), /could not record messages the channel accepted/);
  t.is(errors[0]!.error, 'the API server refused the patch');
  t.deepEqual(unhandled, []);
});
