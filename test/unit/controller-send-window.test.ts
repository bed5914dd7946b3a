// The rate window as a value (send-window.ts) and what a dispatcher does with it:
// rebuild from status.sendWindow, claims, expiry, the mute. The keeper and the channel's
// one status writer: controller-channel-status.test.ts.
import test from 'ava';
import type { Channel } from '../../src/channels/channel.js';
import { ChannelReasons, ChannelTransientError } from '../../src/channels/errors.js';
import { rateLimitedCondition } from '../../src/controller/channel-conditions.js';
import { ChannelDispatcher, type DispatchCallbacks, type DispatchItem } from '../../src/controller/dispatcher.js';
import type { OutboxEntry } from '../../src/controller/ledger.js';
import {
  CLAIM_MS,
  MAX_UNRECORDED,
  WINDOW_MS,
  allowance,
  answered,
  claimAhead,
  claim,
  claimSlots,
  emptyWindow,
  expire,
  freeSlots,
  isMuted,
  mute,
  needsClaim,
  nextFreeAt,
  rebuildWindow,
  recordSend,
  recorded,
  toRecord,
  type SendWindowRecord,
  type WindowState,
} from '../../src/controller/send-window.js';
import { CHANNEL_STATUS_EVERY_MS } from '../../src/controller/channel-status.js';
import type { WindowSource, WindowStore } from '../../src/controller/window-keeper.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { sleep, waitFor } from '../support/wait.js';

const T0 = Date.parse('2026-12-02T02:00:00.000Z');
const PER_MINUTE = 20;

/** Sends `count` messages, one every `gapMs`, each answered 50 ms later. */
function sendMany(state: WindowState, start: number, count: number, gapMs: number): WindowState {
  let s = state;
  for (let i = 0; i < count; i++) {
    s = recordSend(s, start + i * gapMs);
    s = answered(s, start + i * gapMs + 50, true);
  }
  return s;
}

test('a record written on graceful stop rebuilds the exact window; the new process writes before it sends', (t) => {
  const state = recorded(sendMany(emptyWindow(), T0, 20, 100), 20);
  const record = toRecord(state, T0 + 3000, true);
  t.true(record.complete);
  t.is(record.claim, undefined);
  t.deepEqual(record.sends, [
    { at: '2026-12-02T02:00:00Z', count: 10 },
    { at: '2026-12-02T02:00:01Z', count: 10 },
  ]);
  t.is(record.lastSentTime, '2026-12-02T02:00:01Z');
  const rebuilt = rebuildWindow(JSON.parse(JSON.stringify(record)) as SendWindowRecord, { now: T0 + 5000, perMinute: PER_MINUTE });
  t.is(freeSlots(rebuilt, PER_MINUTE, T0 + 5000), 0, 'no slot is free after 20 sends, whatever the process');
  // Each group counts from the end of its second: never earlier than DingTalk's own window.
  t.is(nextFreeAt(rebuilt, PER_MINUTE, T0 + 5000), T0 + 1000 + WINDOW_MS);
  t.is(freeSlots(rebuilt, PER_MINUTE, T0 + 1000 + WINDOW_MS), 10);
  t.is(freeSlots(rebuilt, PER_MINUTE, T0 + 2000 + WINDOW_MS), 20, 'the window empties a minute later');
  t.true(needsClaim(rebuilt, 1, T0 + 5000), 'a rebuilt window writes its own record before the first send');
});

test('an incomplete record (the writer may have died) counts the sends it may miss as made right now', (t) => {
  const state = sendMany(emptyWindow(), T0, 3, 1000);
  const record = toRecord(state, T0 + 2500, false);
  t.false(record.complete);
  const now = T0 + 30_000;
  const rebuilt = rebuildWindow(record, { now, perMinute: PER_MINUTE });
  t.is(rebuilt.sends.length, 3 + MAX_UNRECORDED);
  t.is(freeSlots(rebuilt, PER_MINUTE, now), PER_MINUTE - 3 - MAX_UNRECORDED);
  t.is(freeSlots(rebuilt, PER_MINUTE, now + WINDOW_MS - 1), PER_MINUTE - MAX_UNRECORDED, 'the recorded sends expired, the unknown ones not yet');
  t.is(freeSlots(rebuilt, PER_MINUTE, now + WINDOW_MS), PER_MINUTE);
});

test('a missing record is read from lastSentTime: recent means the whole window is used, old means empty', (t) => {
  const now = T0 + 10_000;
  const recent = rebuildWindow(undefined, { now, perMinute: PER_MINUTE, lastSentTime: '2026-12-02T02:00:08Z' });
  t.is(freeSlots(recent, PER_MINUTE, now), 0);
  t.is(nextFreeAt(recent, PER_MINUTE, now), now + WINDOW_MS, 'counted from now at the latest');
  const old = rebuildWindow(undefined, { now, perMinute: PER_MINUTE, lastSentTime: '2026-12-02T01:50:00Z' });
  t.is(freeSlots(old, PER_MINUTE, now), PER_MINUTE);
  const never = rebuildWindow(undefined, { now, perMinute: PER_MINUTE });
  t.is(freeSlots(never, PER_MINUTE, now), PER_MINUTE);
  t.true(needsClaim(never, 1, now), 'still, the record is written before the first send');
});

test('claims: a burst of five or more is claimed before it goes out; claimed slots count until the claim ends', (t) => {
  let state = emptyWindow();
  t.false(needsClaim(state, MAX_UNRECORDED, T0), 'up to four sends may go before the record says so');
  t.true(needsClaim(state, MAX_UNRECORDED + 1, T0), 'five need a claim');
  state = claim(state, 12, T0);
  t.deepEqual(state.claim, { slots: 12, until: T0 + CLAIM_MS });
  t.is(allowance(state, T0), 12 + MAX_UNRECORDED);
  const claimed = toRecord(state, T0, false);
  t.deepEqual(claimed.claim, { slots: 12, until: '2026-12-02T02:00:15Z' });
  state = recorded(state, 0);
  state = sendMany(state, T0 + 100, 12, 100);
  t.is(state.claim!.slots, 0);
  t.is(state.unrecorded, 0, 'sends under a claim are covered by it');
  t.true(needsClaim(state, MAX_UNRECORDED + 1, T0 + 1500));
  // A process dying right after the claim was written: the next one counts all 12 claimed sends.
  const afterCrash = rebuildWindow(claimed, { now: T0 + 2000, perMinute: PER_MINUTE });
  t.is(freeSlots(afterCrash, PER_MINUTE, T0 + 2000), PER_MINUTE - 12 - MAX_UNRECORDED);
  t.is(freeSlots(afterCrash, PER_MINUTE, T0 + 2000 + WINDOW_MS - 1), PER_MINUTE - 12 - MAX_UNRECORDED, 'claimed slots count from the end of the claim, or now when that is earlier');
  t.is(freeSlots(afterCrash, PER_MINUTE, T0 + 2000 + WINDOW_MS), PER_MINUTE);
  const later = rebuildWindow(claimed, { now: T0 + CLAIM_MS + 5000, perMinute: PER_MINUTE });
  t.is(freeSlots(later, PER_MINUTE, T0 + CLAIM_MS + WINDOW_MS - 1), PER_MINUTE - 12 - MAX_UNRECORDED);
  t.is(freeSlots(later, PER_MINUTE, T0 + CLAIM_MS + WINDOW_MS), PER_MINUTE - MAX_UNRECORDED);
  // An expired claim is gone from the window kept in memory (its unused slots were never sent).
  t.is(expire(claim(emptyWindow(), 5, T0), T0 + CLAIM_MS).claim, undefined);
});

test('claim size: the burst (at most 20), or the sends of the last claim period plus one when more; never more than are free', (t) => {
  t.is(claimSlots(emptyWindow(), 7, 10_000, T0), 7);
  t.is(claimSlots(emptyWindow(), 500, 10_000, T0), 20, 'a backlog claims at most 20 at a time');
  t.is(claimSlots(emptyWindow(), 500, 12, T0), 12, 'never more than are free');
  t.is(claimSlots(emptyWindow(), 0, 10_000, T0), 1);
  // A steady lane: 45 sends in the last 15 s claim 46, sends older than CLAIM_MS do not count.
  const busy = sendMany(sendMany(emptyWindow(), T0 - 40_000, 30, 100), T0 - CLAIM_MS + 500, 45, 300);
  t.is(claimSlots(busy, 1, 10_000, T0), 46);
  t.is(claimSlots(busy, 1, 80, T0), 5, 'at most the free slots (80 - 75 sends)');
  t.is(claimSlots(busy, 1, 75, T0), 1, 'none free: the dispatcher waits anyway');
});

test('expiry: sends leave the window 61 s after their answer, not after the request', (t) => {
  let state = recordSend(emptyWindow(), T0);
  state = answered(state, T0 + 4000, true);
  t.is(freeSlots(state, 1, T0 + 4000 + WINDOW_MS - 1), 0);
  t.is(freeSlots(state, 1, T0 + 4000 + WINDOW_MS), 1);
  t.is(expire(state, T0 + 4000 + WINDOW_MS).sends.length, 0);
});

test('muted: no slot until the mute ends; the mute is stored and rebuilt', (t) => {
  const state = mute(sendMany(emptyWindow(), T0, 2, 100), T0 + 600_000);
  t.true(isMuted(state, T0 + 1000));
  t.is(freeSlots(state, PER_MINUTE, T0 + 1000), 0);
  t.is(nextFreeAt(state, PER_MINUTE, T0 + 1000), T0 + 600_000);
  const record = toRecord(state, T0 + 1000, false);
  t.is(record.mutedUntil, '2026-12-02T02:10:00Z');
  const rebuilt = rebuildWindow(record, { now: T0 + 5000, perMinute: PER_MINUTE });
  t.true(isMuted(rebuilt, T0 + 5000));
  t.false(isMuted(rebuilt, T0 + 600_000));
  t.is(freeSlots(rebuilt, PER_MINUTE, T0 + 600_000), PER_MINUTE);
  t.is(toRecord(rebuilt, T0 + 600_000, true).mutedUntil, undefined, 'an ended mute is not stored');
});

test('never over the limit across a crash: whatever the traffic and the moment of death, the next process cannot exceed 20 a minute', (t) => {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let run = 0; run < 300; run++) {
    // The first process: sends whenever a slot is free and it may, writing records as the keeper does.
    let state = emptyWindow();
    let stored: SendWindowRecord | undefined;
    const actual: number[] = [];
    let now = T0;
    const crashAt = T0 + Math.floor(random() * 180_000);
    let lastWrite = -Infinity;
    while (now < crashAt) {
      const wanted = 1 + Math.floor(random() * 25);
      const planned = Math.min(wanted, freeSlots(state, PER_MINUTE, now));
      if (planned > 0 && needsClaim(state, planned, now)) {
        state = claim(state, claimSlots(state, planned, PER_MINUTE, now), now);
        stored = toRecord(state, now, false);
        state = recorded(state, state.unrecorded);
        lastWrite = now;
      }
      if (planned > 0 && !needsClaim(state, 1, now)) {
        state = recordSend(state, now);
        const answer = now + Math.floor(random() * 300);
        actual.push(answer);
        now = answer;
        state = answered(state, now, true);
      }
      if (now - lastWrite >= CHANNEL_STATUS_EVERY_MS && state.unrecorded > 0) {
        stored = toRecord(state, now, false);
        state = recorded(state, state.unrecorded);
        lastWrite = now;
      }
      now += Math.floor(random() * (random() < 0.2 ? 20_000 : 500));
    }
    // The next process starts a little later from whatever was stored.
    const start = crashAt + Math.floor(random() * 5000);
    const rebuilt = rebuildWindow(stored, { now: start, perMinute: PER_MINUTE });
    for (let at = start; at < start + 70_000; at += 250) {
      const dingtalkCounts = actual.filter((time) => time > at - 60_000 && time <= at).length;
      const mayStillSend = freeSlots(rebuilt, PER_MINUTE, at);
      if (dingtalkCounts + mayStillSend > PER_MINUTE) {
        t.fail(`run ${run}: at +${at - start} ms DingTalk counts ${dingtalkCounts} and the new process may send ${mayStillSend}`);
        return;
      }
    }
  }
  t.pass();
});

/** A store that writes each record at once (no coalescing). */
const recordsIn = (records: SendWindowRecord[]) => (source: WindowSource): WindowStore => ({
  changed: () => undefined,
  flush: async () => {
    const { record, stored } = source.take(Date.now());
    records.push(record);
    stored(true);
    return true;
  },
  close: () => undefined,
});

const item = (n: number): DispatchItem => ({
  appKey: `ns/app-${n}`,
  id: `id-${n}`,
  entry: { channel: 'ops', channelNamespace: 'ns', key: `k${n}`, trigger: 't', template: 'x', body: { rendered: { message: `m${n}` } }, attempts: 0, next: 0, decided: n } as OutboxEntry,
});

test('a dispatcher muted by 130101 stores the mute, sends nothing until it ends, then delivers everything that waited as a digest', async (t) => {
  let throttled = true;
  const sent: string[] = [];
  const channel: Channel = {
    type: 'test',
    send: async (message) => {
      if (throttled) throw new ChannelTransientError(ChannelReasons.Throttled, 'errcode 130101', { retryAfterMs: 600_000 });
      sent.push(`one ${message.rendered.message}`);
      return { response: 'ok' };
    },
    sendDigest: async (messages) => {
      sent.push(`digest ${messages.map((m) => m.rendered.message).join(',')}`);
      return { response: 'ok', included: messages.length, omitted: 0 };
    },
  };
  const log: string[] = [];
  const callbacks: DispatchCallbacks = {
    delivered: async (items) => void log.push(`delivered ${items.map((i) => i.id).join(',')}`),
    retry: async (i, attempts, next) => void log.push(`retry ${i.id} at ${next}`),
    parked: async () => undefined,
    rejected: async () => undefined,
    channelProblem: () => undefined,
  };
  const records: SendWindowRecord[] = [];
  const muted: number[] = [];
  const dispatcher = new ChannelDispatcher('ns/ops', () => ({ channel, perMinute: 2, fingerprint: 'v1' }), callbacks, createMetrics({ defaultMetrics: false }), silentLogger, Date.now, {
    store: recordsIn(records),
    muteMs: 1500,
    muted: (until) => void muted.push(until),
  });
  t.teardown(() => dispatcher.stop());
  dispatcher.enqueue(item(1));
  await waitFor(() => muted.length === 1, 'the mute', 2000);
  t.truthy(records.at(-1)?.mutedUntil, 'the mute is stored at once');
  t.true(log.some((line) => line.startsWith('retry id-1 at ')), 'the message waits in the outbox');
  const until = muted[0]!;
  t.true(log.includes(`retry id-1 at ${until}`), 'until the mute ends, not the channel\'s own 10 minutes');
  for (const n of [2, 3, 4]) dispatcher.enqueue(item(n));
  throttled = false;
  await sleep(500);
  t.deepEqual(sent, [], 'nothing is sent while muted');
  await waitFor(() => dispatcher.size === 0, 'the backlog delivered', 5000);
  t.true(Date.now() >= until);
  // The refused request still counts in the window (1 of 2): the one free slot carries all four.
  t.deepEqual(sent, ['digest m1,m2,m3,m4']);
  t.true(log.includes('delivered id-1,id-2,id-3,id-4'));
});

test('RateLimited: True/Muted with the end while muted (by this process or a stored record), False/Accepting otherwise', (t) => {
  const now = T0;
  const accepting = rateLimitedCondition({ perMinute: 20 }, undefined, 3, now);
  t.like(accepting.condition, { type: 'RateLimited', status: 'False', reason: 'Accepting', observedGeneration: 3 });
  t.is(accepting.endsInMs, undefined);
  const mine = rateLimitedCondition({ perMinute: 20, mutedUntil: now + 600_000 }, undefined, 3, now);
  t.like(mine.condition, { status: 'True', reason: 'Muted' });
  t.regex(mine.condition.message, /until 2026-12-02T02:10:00Z;/);
  t.is(mine.endsInMs, 600_000);
  const stored = rateLimitedCondition({ perMinute: 20 }, { mutedUntil: '2026-12-02T02:05:00Z' }, 3, now);
  t.like(stored.condition, { status: 'True', reason: 'Muted' });
  t.is(stored.endsInMs, 300_000, "a previous leader's mute holds after a restart");
  t.like(rateLimitedCondition({ perMinute: 20, mutedUntil: now - 1 }, { mutedUntil: '2026-12-02T01:59:00Z' }, 3, now).condition, { status: 'False', reason: 'Accepting' });
});

test('claim ahead: a lane that keeps sending and may send at most one more unrecorded claims while idle; a quiet or full lane does not', (t) => {
  const steady = sendMany(emptyWindow(), T0 - 3000, MAX_UNRECORDED - 1, 1000);
  t.is(allowance(steady, T0), 1);
  t.true(claimAhead(steady, PER_MINUTE, T0), 'one more allowed, three sends in the last 15 s');
  t.false(claimAhead(sendMany(emptyWindow(), T0 - 3000, MAX_UNRECORDED - 2, 1000), PER_MINUTE, T0), 'two more allowed: not yet');
  t.false(claimAhead(sendMany(emptyWindow(), T0 - CLAIM_MS - 3000, MAX_UNRECORDED - 1, 1000), PER_MINUTE, T0), 'no send in the last 15 s: a quiet lane writes nothing');
  t.false(claimAhead(steady, MAX_UNRECORDED - 1, T0), 'no free slot: nothing to claim');
  t.false(claimAhead(claim(steady, 5, T0), PER_MINUTE, T0), 'a claim with slots left');
});

test('a steady lane writes its claims between messages: no message waits for a claim write', async (t) => {
  const events: string[] = [];
  let flushing = false;
  const channel: Channel = {
    type: 'test',
    send: async (message) => {
      events.push(`send ${message.rendered.message}`);
      return { response: 'ok' };
    },
  };
  const callbacks: DispatchCallbacks = { delivered: async () => undefined, retry: async () => undefined, parked: async () => undefined, rejected: async () => undefined, channelProblem: () => undefined };
  const records: SendWindowRecord[] = [];
  const slowStore = (source: WindowSource): WindowStore => ({
    changed: () => undefined,
    flush: async () => {
      flushing = true;
      events.push('claim written');
      const { record, stored } = source.take(Date.now());
      await sleep(100);
      records.push(record);
      stored(true);
      flushing = false;
      return true;
    },
    close: () => undefined,
  });
  const dispatcher = new ChannelDispatcher('ns/ops', () => ({ channel, perMinute: PER_MINUTE, fingerprint: 'v1' }), callbacks, createMetrics({ defaultMetrics: false }), silentLogger, Date.now, { store: slowStore });
  t.teardown(() => dispatcher.stop());
  for (let n = 1; n <= 12; n++) {
    events.push(`enqueue m${n}`);
    dispatcher.enqueue(item(n));
    await waitFor(() => events.includes(`send m${n}`), `m${n} sent`, 2000);
    await sleep(20);
    await waitFor(() => !flushing, 'the lane idle', 2000);
  }
  const claims = events.filter((event) => event === 'claim written').length;
  t.log(events.join(' | '));
  t.true(claims >= 2, `claims were written (${claims})`);
  for (let n = 1; n <= 12; n++) {
    const between = events.slice(events.indexOf(`enqueue m${n}`), events.indexOf(`send m${n}`));
    t.false(between.includes('claim written'), `m${n} did not wait for a claim`);
  }
  t.true(records.every((record) => record.claim !== undefined), 'each write was a claim');
});
