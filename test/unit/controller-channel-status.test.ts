// The channel's one status writer (channel-status.ts) with the rate window's keeper
// (window-keeper.ts), on a fake clock and a fake API writer: lastSentTime and
// sendWindow go out in one patch, a steady lane writes a bounded number of patches, a
// claim is stored before the sends it covers, a mute is written at once with the
// RateLimited condition, a graceful stop writes `complete`.
import test from 'ava';
import type { DingTalkChannel } from '../../src/api/generated.js';
import { CHANNEL_STATUS_BUSY_MS, CHANNEL_STATUS_EVERY_MS, ChannelStatus } from '../../src/controller/channel-status.js';
import type { Condition } from '../../src/controller/conditions.js';
import { MAX_UNRECORDED, emptyWindow, type SendWindowRecord } from '../../src/controller/send-window.js';
import { ConfigStore } from '../../src/controller/store.js';
import { WindowKeeper } from '../../src/controller/window-keeper.js';

const T0 = Date.parse('2026-12-02T02:00:00.000Z');

interface Patch {
  at: number;
  status: Record<string, unknown> & { sendWindow?: SendWindowRecord; conditions?: Condition[]; lastSentTime?: string };
}

/** A channel, its status writer and a keeper attached to it, on a fake clock; the API writer answers after `writeMs`. */
function harness(options: { perMinute?: number; writeMs?: number; failing?: () => boolean } = {}) {
  let clock = T0;
  const timers: Array<{ at: number; callback: () => void }> = [];
  const patches: Patch[] = [];
  const log: string[] = [];
  const changed: string[] = [];
  const failures: unknown[] = [];
  const store = new ConfigStore();
  const object = { apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'DingTalkChannel', metadata: { namespace: 'ns', name: 'ops', generation: 2 }, spec: {}, status: { conditions: [] } } as unknown as DingTalkChannel;
  store.channels.set('ns', 'ops', { object, fingerprint: 'f1', perMinute: options.perMinute ?? 20 });
  const schedule = (callback: () => void, ms: number) => void timers.push({ at: clock + ms, callback });
  /** Runs the fake clock forward to `to`, firing timers and letting writes finish on the way. */
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  const advance = async (to: number) => {
    for (;;) {
      await settle();
      timers.sort((a, b) => a.at - b.at);
      const next = timers[0];
      if (!next || next.at > to) break;
      timers.shift();
      clock = Math.max(clock, next.at);
      next.callback();
    }
    clock = Math.max(clock, to);
    await settle();
  };
  const status = new ChannelStatus({
    store,
    write: async (_namespace, _name, written) => {
      // The request takes writeMs: the clock moves on meanwhile (timers due by then fire at the next advance).
      await new Promise((resolve) => setImmediate(resolve));
      clock += options.writeMs ?? 0;
      if (options.failing?.()) throw new Error('API down');
      patches.push({ at: clock, status: JSON.parse(JSON.stringify(written)) as Patch['status'] });
      log.push(`patch ${patches.length}`);
    },
    changed: (namespace, name) => void changed.push(`${namespace}/${name}`),
    schedule,
    now: () => clock,
  });
  const keeper = new WindowKeeper(emptyWindow(), (source) => status.attach('ns', 'ops', source), () => clock, (error) => void failures.push(error));
  /** What the dispatcher does for one request: claim first when needed, send, answer, report. */
  const send = async (perMinute: number) => {
    while (keeper.needsClaim(1)) {
      log.push('claim');
      if (!(await keeper.claim(1, perMinute))) return false;
    }
    log.push('send');
    keeper.sent();
    await advance(clock + 50);
    keeper.answered(true);
    status.sent('ns', 'ops', clock);
    return true;
  };
  return { store, status, keeper, patches, log, changed, failures, send, advance, now: () => clock, pendingTimers: () => timers.length };
}

const total = (record: SendWindowRecord | undefined) => (record?.sends ?? []).reduce((sum, group) => sum + group.count, 0);

test('lastSentTime and sendWindow go out in one patch, coalesced: a few sends are one write after the interval', async (t) => {
  const h = harness();
  for (let i = 0; i < 3; i++) await h.send(20);
  t.is(h.patches.length, 0, 'a few sends are not written one by one');
  await h.advance(T0 + CHANNEL_STATUS_EVERY_MS + 500);
  t.is(h.patches.length, 1, 'the channel status and the window in one write');
  const { status } = h.patches[0]!;
  t.is(status.lastSentTime, '2026-12-02T02:00:00Z');
  t.is(status.lastError, null);
  t.is(total(status.sendWindow), 3);
  t.is(status.sendWindow!.claim as unknown, null, 'a merge patch removes what the record no longer holds');
  t.false(status.sendWindow!.complete);
  t.is(status.conditions, undefined, 'Ready and RateLimited are the config reconciler\'s unless a mute begins');
  t.deepEqual(h.changed, []);
  await h.advance(T0 + 10 * CHANNEL_STATUS_EVERY_MS);
  t.is(h.patches.length, 1, 'nothing changed, nothing written');
  h.status.failed('ns', 'ops', 'Unavailable', 'HTTP 502');
  await h.advance(h.now() + CHANNEL_STATUS_EVERY_MS);
  t.is(h.patches.length, 2);
  t.is(h.patches[1]!.status.lastError, 'Unavailable: HTTP 502');
  t.is(total(h.patches[1]!.status.sendWindow), 3, 'every write carries the window');
});

test('a steady lane (200 sends in 60 s at 10,000 a minute): routine writes at most every 30 s, plus a few claims', async (t) => {
  const h = harness({ perMinute: 10_000, writeMs: 20 });
  let claims = 0;
  for (let i = 0; i < 200; i++) {
    await h.advance(T0 + i * 300);
    const before = h.log.filter((line) => line === 'claim').length;
    t.true(await h.send(10_000));
    claims += h.log.filter((line) => line === 'claim').length - before;
  }
  await h.advance(T0 + 60_000 + CHANNEL_STATUS_BUSY_MS + 1000);
  t.log(`${h.patches.length} writes, ${claims} of them claims`);
  // Before one writer (main at 69fb8d9), this lane made 86 writes: 57 of the window (28 claims) and 29 of lastSentTime;
  // with a write every 2 s at most (49a196d), 31.
  t.true(claims <= 8, `${claims} claims`);
  t.true(h.patches.length <= 4 + claims, `${h.patches.length} writes`);
  for (let i = 1; i < h.patches.length; i++) {
    const gap = h.patches[i]!.at - h.patches[i - 1]!.at;
    const claim = h.patches[i]!.status.sendWindow?.claim;
    const claimed = claim?.until !== undefined && claim.until !== h.patches[i - 1]!.status.sendWindow?.claim?.until;
    t.true(gap >= CHANNEL_STATUS_BUSY_MS - 100 || claimed, `write ${i} ${gap} ms after the last without a new claim`);
  }
  const last = h.patches.at(-1)!.status;
  t.is(last.sendWindow!.sends!.at(-1)!.at, '2026-12-02T02:00:59Z', 'the last write holds the last send');
  t.is(last.lastSentTime, '2026-12-02T02:00:59Z');
  t.is(h.pendingTimers(), 0);
});

test('a claim is stored before the sends it covers: no send is ever more than 4 beyond the last stored record', async (t) => {
  const h = harness({ perMinute: 10_000, writeMs: 30 });
  let sends = 0;
  const stored = () => {
    const latest = h.patches.at(-1)?.status.sendWindow;
    return total(latest) + (latest?.claim?.slots ?? 0);
  };
  const start = T0;
  // Bursts of 12 every 5 s (the claims cover bursts), then a steady stretch.
  for (let burst = 0; burst < 6; burst++) {
    await h.advance(start + burst * 5000);
    for (let i = 0; i < 12; i++) {
      t.true(await h.send(10_000));
      sends++;
      t.true(sends <= stored() + MAX_UNRECORDED, `send ${sends}: the stored record covers ${stored()}`);
    }
  }
  t.true(h.log.indexOf('claim') < h.log.indexOf('patch 1'), 'the fifth send of the first burst waited for a claim');
  t.is(h.log.slice(0, 7).join(','), 'send,send,send,send,claim,patch 1,send');
  // A claim that cannot be stored lets nothing out.
  const down = harness({ perMinute: 10_000, failing: () => true });
  for (let i = 0; i < MAX_UNRECORDED; i++) t.true(await down.send(10_000));
  t.false(await down.send(10_000));
  t.is(down.log.filter((line) => line === 'send').length, MAX_UNRECORDED);
  t.is(down.failures.length, 1, 'the failure is reported');
  t.true(down.keeper.needsClaim(1));
});

test('a mute is written at once, with the RateLimited condition and what else waited; a graceful stop writes complete', async (t) => {
  const h = harness();
  await h.send(20);
  t.is(h.patches.length, 0);
  const until = h.now() + 600_000;
  await h.keeper.mute(until);
  h.status.muted('ns', 'ops', until);
  t.is(h.patches.length, 1, 'written at once, not after the interval');
  const { status } = h.patches[0]!;
  t.is(status.sendWindow!.mutedUntil, '2026-12-02T02:10:01Z');
  t.is(status.lastSentTime, '2026-12-02T02:00:00Z', 'lastSentTime goes with it');
  t.like(status.conditions?.find((c) => c.type === 'RateLimited'), { status: 'True', reason: 'Muted', observedGeneration: 2 });
  t.deepEqual(h.changed, ['ns/ops'], 'the config reconciler looks too (it ends the mute on time)');
  // The cache has the condition now: later writes leave the conditions alone.
  h.store.channels.get('ns', 'ops')!.object.status = { conditions: status.conditions };
  h.status.failed('ns', 'ops', 'Throttled', 'errcode 130101');
  await h.advance(h.now() + CHANNEL_STATUS_EVERY_MS);
  t.is(h.patches.length, 2);
  t.is(h.patches[1]!.status.conditions, undefined);
  t.true(await h.keeper.flush(true));
  t.is(h.patches.length, 3);
  t.true(h.patches[2]!.status.sendWindow!.complete);
  t.is(h.patches[2]!.status.sendWindow!.claim as unknown, null);
  // Drained: the keeper no longer writes; lastSentTime still does, without a window.
  h.keeper.sent();
  h.status.sent('ns', 'ops', h.now());
  await h.advance(h.now() + CHANNEL_STATUS_EVERY_MS);
  t.is(h.patches.length, 4);
  t.is(h.patches[3]!.status.sendWindow, undefined);
});

test('a lane at DingTalk\'s pace (15 a minute for 2 minutes): a handful of writes, not one per message; an error is written within 2 s even so', async (t) => {
  const h = harness({ perMinute: 20, writeMs: 20 });
  for (let i = 0; i < 30; i++) {
    await h.advance(T0 + i * 4000);
    t.true(await h.send(20));
  }
  t.is(h.patches[0]!.at - T0 <= CHANNEL_STATUS_EVERY_MS + 100, true, 'the first send after a quiet spell is written within the short interval');
  const busy = h.patches.length;
  t.log(`${busy} writes for 30 messages`);
  // With a write at most every 2 s (49a196d) this lane wrote once per message: 30.
  t.true(busy <= 12, `${busy} writes`);
  const before = h.patches.length;
  h.status.failed('ns', 'ops', 'Unavailable', 'HTTP 502');
  await h.advance(h.now() + CHANNEL_STATUS_EVERY_MS + 100);
  t.is(h.patches.length, before + 1, 'lastError does not wait for the busy interval');
  t.is(h.patches.at(-1)!.status.lastError, 'Unavailable: HTTP 502');
  await h.advance(h.now() + 4000);
  t.true(await h.send(20));
  await h.advance(h.now() + CHANNEL_STATUS_EVERY_MS + 100);
  t.is(h.patches.length, before + 2, 'the recovery (lastError cleared) does not wait either');
  t.is(h.patches.at(-1)!.status.lastError, null);
});

test('the first send after a quiet spell is written within 2 s even right after a claim (a restarted process claims before its first send)', async (t) => {
  const h = harness({ perMinute: 20 });
  t.true(await h.keeper.claim(1, 20));
  t.is(h.patches.length, 1, 'the claim');
  t.true(await h.send(20));
  await h.advance(h.now() + CHANNEL_STATUS_EVERY_MS + 100);
  t.is(h.patches.length, 2, 'lastSentTime did not wait for the busy interval');
  t.is(h.patches[1]!.status.lastSentTime, '2026-12-02T02:00:00Z');
});
