import test from 'ava';
import { KubeConfig } from '@kubernetes/client-node';
import { EventRecorder, REPEAT_WINDOW_MS, type EventsApi } from '../../src/kube/events.js';
import { createLogger } from '../../src/observability/logger.js';

function fakeApi() {
  const calls: Array<{ verb: 'create' | 'patch'; name: string; count: number }> = [];
  let serial = 0;
  const api = {
    createNamespacedEvent: async () => {
      const name = `event-${++serial}`;
      calls.push({ verb: 'create', name, count: 1 });
      return { metadata: { name } };
    },
    patchNamespacedEvent: async (request: { name: string; body: { count: number } }) => {
      calls.push({ verb: 'patch', name: request.name, count: request.body.count });
      return {};
    },
  } as unknown as EventsApi;
  return { api, calls };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const app = (name: string) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'team-a', name });

test('a burst of distinct events is remembered up to the bound; the least recently seen is forgotten first', async (t) => {
  const { api, calls } = fakeApi();
  const recorder = new EventRecorder(new KubeConfig(), 'test', createLogger('error', () => undefined), { api, maxRemembered: 100 });
  for (let i = 0; i < 5000; i++) {
    recorder.record(app(`app-${i}`), 'Warning', 'NotificationFailed', 'boom');
    if (i % 100 === 0) await settle();
  }
  await settle();
  t.is(calls.filter((call) => call.verb === 'create').length, 5000);
  t.is(recorder.remembered, 100);
  calls.length = 0;
  recorder.record(app('app-4999'), 'Warning', 'NotificationFailed', 'boom');
  recorder.record(app('app-0'), 'Warning', 'NotificationFailed', 'boom');
  await settle();
  t.deepEqual(calls.map((call) => [call.verb, call.count]), [['patch', 2], ['create', 1]], 'a recent repeat bumps its count; a forgotten one starts a new Event');
  t.is(recorder.remembered, 100);
});

test('a repeat within ten minutes of the last one bumps the count; later it is a new Event', async (t) => {
  const { api, calls } = fakeApi();
  let now = 1_000_000;
  const recorder = new EventRecorder(new KubeConfig(), 'test', createLogger('error', () => undefined), { api, now: () => now });
  const record = async () => {
    recorder.record(app('guestbook'), 'Warning', 'NotificationFailed', 'errcode 310000');
    await settle();
  };
  await record();
  now += REPEAT_WINDOW_MS - 1000;
  await record();
  now += REPEAT_WINDOW_MS - 1000;
  await record();
  now += REPEAT_WINDOW_MS + 1000;
  await record();
  t.deepEqual(calls.map((call) => `${call.verb} ${call.name} ${call.count}`), ['create event-1 1', 'patch event-1 2', 'patch event-1 3', 'create event-2 1']);
});
