import test from 'ava';
import {
  evictOldest, firstSightKey, isFirstSightKey, lastNotified, ledgerKey, migrateLedger, migrateLedgerKey, outboxId, parseLedgerKey, parseNotified, parseOutbox, serialiseNotified, serialiseOutbox, type OutboxEntry,
} from '../../src/controller/ledger.js';

const entry = (overrides: Partial<OutboxEntry> = {}): OutboxEntry => ({
  channel: 'ops', channelNamespace: 'argocd', key: 'k', trigger: 'on-deployed', template: 't',
  body: { rendered: {} }, attempts: 0, next: 0, decided: 1_700_000_000_000, ...overrides,
});

test('ledger keys follow DESIGN §3 and split back even when oncePer holds colons', (t) => {
  const key = ledgerKey('2024-05-01T08:00:00Z', 'on-sync-failed', 'default', 'ops');
  t.is(key, '2024-05-01T08:00:00Z:on-sync-failed:default:ops');
  t.deepEqual(parseLedgerKey(key), { oncePer: '2024-05-01T08:00:00Z', trigger: 'on-sync-failed', condition: 'default', channel: 'ops' });
  t.deepEqual(parseLedgerKey(ledgerKey(undefined, 'on-health-degraded', 'degraded', 'ops'))?.oncePer, '');
  t.is(firstSightKey('on-deployed', 'ops'), ':on-deployed:*:ops');
  t.true(isFirstSightKey(firstSightKey('on-deployed', 'ops')));
  t.false(isFirstSightKey(key));
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

test('legacy <index>.<hash> keys read as the condition at that index; unknown triggers and indexes stay as they are', (t) => {
  const names = (trigger: string) => ({ 'on-sync': ['succeeded', 'failed'], 'on-deployed': ['default'] } as Record<string, string[]>)[trigger];
  t.is(migrateLedgerKey('r1:on-sync:1.0123abcd:ops', names), 'r1:on-sync:failed:ops');
  t.is(migrateLedgerKey('a:b:c:on-deployed:0.ffffffff:ops', names), 'a:b:c:on-deployed:default:ops', 'an oncePer value with colons');
  t.is(migrateLedgerKey('r1:on-sync:2.0123abcd:ops', names), 'r1:on-sync:2.0123abcd:ops', 'no condition at that index');
  t.is(migrateLedgerKey('r1:on-other:0.0123abcd:ops', names), 'r1:on-other:0.0123abcd:ops', 'a trigger not in scope');
  t.is(migrateLedgerKey('r1:on-sync:failed:ops', names), 'r1:on-sync:failed:ops');
  const ledger = { 'r1:on-sync:0.aaaaaaaa:ops': 10, 'r1:on-sync:succeeded:ops': 20, ':on-deployed:0.bbbbbbbb:ops': 30 };
  t.deepEqual(migrateLedger(ledger, names), { 'r1:on-sync:succeeded:ops': 20, ':on-deployed:default:ops': 30 });
  const current = { 'r1:on-sync:failed:ops': 1 };
  t.is(migrateLedger(current, names), current, 'nothing to migrate: the same object');
});

test('eviction keeps first-sight markers, which are the oldest entries', (t) => {
  const ledger: Record<string, number> = { [firstSightKey('on-deployed', 'ops')]: 1 };
  for (let i = 0; i < 120; i++) ledger[ledgerKey(`r${i}`, 'on-deployed', 'default', 'ops')] = 1000 + i;
  const kept = evictOldest(ledger);
  t.is(Object.keys(kept).length, 100);
  t.true(firstSightKey('on-deployed', 'ops') in kept);
  t.false(ledgerKey('r20', 'on-deployed', 'default', 'ops') in kept);
  t.true(ledgerKey('r119', 'on-deployed', 'default', 'ops') in kept);
});

test('lastNotified reads the ledger and the outbox (decided counts as notified), never a first-sight marker', (t) => {
  const ledger = {
    [ledgerKey(undefined, 'on-health-degraded', 'default', 'ops')]: 100,
    [ledgerKey('r1', 'on-deployed', 'default', 'ops')]: 50,
    [firstSightKey('on-health-degraded', 'ops')]: 300,
    [firstSightKey('on-health-recovered', 'ops')]: 300,
  };
  t.is(lastNotified(ledger, {}, 'on-health-degraded'), 100);
  t.is(lastNotified(ledger, {}, 'on-health-recovered'), undefined);
  t.is(lastNotified(ledger, { x: entry({ trigger: 'on-health-degraded', decided: 200_500 }) }, 'on-health-degraded'), 200);
});
