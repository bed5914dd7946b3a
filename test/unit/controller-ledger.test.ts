import test from 'ava';
import {
  evictOldest, lastNotified, ledgerKey, outboxId, parseLedgerKey, parseNotified, parseOutbox, serialiseNotified, serialiseOutbox, type OutboxEntry,
} from '../../src/controller/ledger.js';

const entry = (overrides: Partial<OutboxEntry> = {}): OutboxEntry => ({
  channel: 'ops', channelNamespace: 'argocd', key: 'k', trigger: 'on-deployed', template: 't',
  body: { rendered: {} }, attempts: 0, next: 0, decided: 1_700_000_000_000, ...overrides,
});

test('ledger keys follow DESIGN §3 and split back even when oncePer holds colons', (t) => {
  const key = ledgerKey('2024-05-01T08:00:00Z', 'on-sync-failed', 0, 'abcd1234', 'ops');
  t.is(key, '2024-05-01T08:00:00Z:on-sync-failed:0.abcd1234:ops');
  t.deepEqual(parseLedgerKey(key), { oncePer: '2024-05-01T08:00:00Z', trigger: 'on-sync-failed', condition: '0.abcd1234', channel: 'ops' });
  t.deepEqual(parseLedgerKey(ledgerKey(undefined, 'on-health-degraded', 1, 'ff', 'ops'))?.oncePer, '');
  t.is(parseLedgerKey('nonsense'), undefined);
  t.is(outboxId(key, 'app-sync-change'), `${key}#app-sync-change`);
});

test('a damaged annotation gives an empty ledger and says so, never an exception', (t) => {
  t.deepEqual(parseNotified('{not json'), { ledger: {}, damaged: true });
  t.deepEqual(parseNotified('[1,2]'), { ledger: {}, damaged: true });
  t.deepEqual(parseNotified('{"a":1,"b":"x"}'), { ledger: { a: 1 }, damaged: true });
  t.deepEqual(parseNotified(undefined), { ledger: {}, damaged: false });
  const outbox = parseOutbox(JSON.stringify({ good: entry(), bad: { channel: 1 } }));
  t.deepEqual(Object.keys(outbox.outbox), ['good']);
  t.true(outbox.damaged);
});

test('the ledger keeps the newest 100 entries; empty annotations are removed (null)', (t) => {
  const ledger = Object.fromEntries(Array.from({ length: 130 }, (_, i) => [`k${i}`, 1000 + i]));
  const kept = evictOldest(ledger);
  t.is(Object.keys(kept).length, 100);
  t.false('k0' in kept);
  t.true('k129' in kept);
  t.is(Object.keys(JSON.parse(serialiseNotified(ledger)!)).length, 100);
  t.is(serialiseNotified({}), null);
  t.is(serialiseOutbox({}), null);
});

test('lastNotified reads the ledger and the outbox (decided counts as notified)', (t) => {
  const ledger = { [ledgerKey(undefined, 'on-health-degraded', 0, 'aa', 'ops')]: 100, [ledgerKey('r1', 'on-deployed', 0, 'bb', 'ops')]: 50 };
  t.is(lastNotified(ledger, {}, 'on-health-degraded'), 100);
  t.is(lastNotified(ledger, {}, 'on-health-recovered'), undefined);
  t.is(lastNotified(ledger, { x: entry({ trigger: 'on-health-degraded', decided: 200_500 }) }, 'on-health-degraded'), 200);
});
