import test from 'ava';
import type { Channel, OutgoingMessage } from '../../src/channels/channel.js';
import { ChannelConfigurationError, ChannelReasons, ChannelTransientError, MessageRejectedError } from '../../src/channels/errors.js';
import { ChannelDispatcher, type DispatchCallbacks, type DispatchItem } from '../../src/controller/dispatcher.js';
import type { OutboxEntry } from '../../src/controller/ledger.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { waitFor } from '../support/wait.js';

const item = (n: number): DispatchItem => ({
  appKey: `ns/app-${n}`,
  id: `id-${n}`,
  entry: { channel: 'ops', channelNamespace: 'ns', key: `k${n}`, trigger: 't', template: 'x', body: { rendered: { message: `m${n}` } }, attempts: 0, next: 0, decided: n } as OutboxEntry,
});

function harness(channel: Channel, perMinute = 20) {
  const log: string[] = [];
  const callbacks: DispatchCallbacks = {
    delivered: async (items) => void log.push(`delivered ${items.map((i) => i.id).join(',')}`),
    retry: async (i, attempts, next) => void log.push(`retry ${i.id} attempt ${attempts} in ${next > Date.now() ? 'future' : 'past'}`),
    parked: async (i, reason) => void log.push(`parked ${i.id} ${reason}`),
    rejected: async (i, reason) => void log.push(`rejected ${i.id} ${reason}`),
    channelProblem: (problem) => void log.push(`problem ${problem?.reason ?? 'none'}`),
  };
  let fingerprint = 'v1';
  const dispatcher = new ChannelDispatcher('ns/ops', () => ({ channel, perMinute, fingerprint }), callbacks, createMetrics({ defaultMetrics: false }), silentLogger);
  return { dispatcher, log, setFingerprint: (value: string) => (fingerprint = value) };
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
