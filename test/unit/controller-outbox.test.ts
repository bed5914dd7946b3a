import test from 'ava';
import type { OutgoingMessage } from '../../src/channels/channel.js';
import type { OutboxEntry } from '../../src/controller/ledger.js';
import {
  FOLD_TRIGGER, OUTBOX_MAX_ENTRIES, attempted, byDecision, completed, fold, foldId, outboxBytes, outboxLimits, parked, queue, rejected, unparked, type Mail,
} from '../../src/controller/outbox.js';

const T0 = 1_700_000_000_000;
const entry = (key: string, overrides: Partial<OutboxEntry> = {}): OutboxEntry => ({
  channel: 'ops', channelNamespace: 'argocd', key, trigger: 'on-revision', template: 'revision',
  body: { rendered: { message: `ArgoCD ${key}` } }, attempts: 0, next: 0, decided: T0, ...overrides,
});
const empty = (): Mail => ({ ledger: {}, outbox: {} });
const context = { limits: outboxLimits(0), nowMs: T0 + 5000, app: 'argocd/busy', keyword: () => 'ArgoCD' };
const textOf = (mail: Mail, id: string): string => (mail.outbox[id]!.body as unknown as OutgoingMessage).rendered.dingtalk?.text ?? '';

test('queue: new entries keep their decision order; re-armed ledger keys go, waiting ones are marked rearm', (t) => {
  const start: Mail = { ledger: { old: 1, stays: 2 }, outbox: { waiting: entry('w') } };
  const { mail, folded } = queue(start, {
    newEntries: [{ id: 'b', entry: entry('kb') }, { id: 'a', entry: entry('ka') }],
    rearmed: ['old'],
    rearmPending: ['waiting'],
  }, context);
  t.deepEqual(folded, []);
  t.deepEqual(mail.ledger, { stays: 2 });
  t.true(mail.outbox.waiting!.rearm);
  t.is(mail.outbox.b!.order, 0);
  t.is(mail.outbox.a!.order, 1);
  t.deepEqual(Object.values(mail.outbox).sort(byDecision).map((e) => e.key), ['w', 'kb', 'ka']);
  t.deepEqual(start.outbox.waiting!.rearm, undefined, 'the input is not changed');
});

test('attempted and parked/unparked change one entry; no change gives undefined', (t) => {
  const mail: Mail = { ledger: {}, outbox: { x: entry('k') } };
  const tried = attempted(mail, 'x', 1, T0 + 1000)!;
  t.like(tried.outbox.x, { attempts: 1, next: T0 + 1000 });
  t.is(attempted(tried, 'x', 1, T0 + 1000), undefined);
  t.is(attempted(mail, 'gone', 1, 1), undefined);
  const waiting = parked(tried, 'x', 'KeywordMissing')!;
  t.like(waiting.outbox.x, { parked: 'KeywordMissing', attempts: 2 });
  t.is(parked(waiting, 'x', 'KeywordMissing'), undefined, 'parked again for the same reason: nothing to write');
  const back = unparked(waiting, 'x')!;
  t.false('parked' in back.outbox.x!);
  t.is(unparked(back, 'x'), undefined);
});

test('completed moves entries into the ledger, except re-armed ones and fold entries; rejected records one message', (t) => {
  const mail: Mail = {
    ledger: {},
    outbox: { a: entry('ka'), b: entry('kb', { rearm: true }), c: entry('kc'), [foldId('argocd', 'ops')]: entry('fold', { folded: { count: 3, lines: [] } }) },
  };
  const done = completed(mail, ['a', 'b', foldId('argocd', 'ops'), 'missing'], T0 + 2500)!;
  t.deepEqual(Object.keys(done.outbox), ['c']);
  t.deepEqual(done.ledger, { ka: Math.floor((T0 + 2500) / 1000) });
  t.is(completed(done, ['a'], T0), undefined, 'completing twice writes nothing');
  const failed = rejected(done, 'c', T0 + 3000)!;
  t.deepEqual(failed.outbox, {});
  t.true('kc' in failed.ledger);
});

test('fold: within the limits nothing changes', (t) => {
  const mail: Mail = { ledger: {}, outbox: { a: entry('ka') } };
  const result = fold(mail, context);
  t.is(result.mail, mail);
  t.deepEqual(result.folded, []);
});

test('fold: at the entry cap a newer message for the same trigger and channel supersedes older ones, reported with a count', (t) => {
  let mail = empty();
  const reports = [];
  for (let i = 0; i < 40; i++) {
    const queued = queue(mail, { newEntries: [{ id: `r${i}`, entry: entry(`rev${i}`, { decided: T0 + i * 1000 }) }], rearmed: [], rearmPending: [] }, context);
    mail = queued.mail;
    reports.push(...queued.folded);
    t.true(Object.keys(mail.outbox).length <= OUTBOX_MAX_ENTRIES, `never more than ${OUTBOX_MAX_ENTRIES} entries (after ${i + 1})`);
  }
  const foldEntry = mail.outbox[foldId('argocd', 'ops')]!;
  const kept = Object.values(mail.outbox).filter((e) => !e.folded).length;
  t.is(foldEntry.folded!.count + kept, 40, 'every message is either waiting or counted in the fold entry');
  t.is(reports.reduce((n, r) => n + r.count, 0), foldEntry.folded!.count);
  t.true(reports.every((r) => r.channel === 'argocd/ops' && r.superseded === r.count));
  t.true('rev0' in mail.ledger, 'a folded message enters the ledger (not decided again)');
  t.true(mail.outbox.r39 !== undefined, 'the newest message stays');
  t.regex(textOf(mail, foldId('argocd', 'ops')), new RegExp(`${foldEntry.folded!.count} earlier notifications`));
  t.regex(foldEntry.body.rendered ? String((foldEntry.body as unknown as OutgoingMessage).rendered.dingtalk?.title) : '', /^ArgoCD argocd\/busy: \d+ earlier notifications folded$/, 'the title carries the channel keyword');
  t.true(foldEntry.folded!.lines.length <= 10);
  t.is(foldEntry.decided, T0, 'the fold entry goes before the newer messages of the app');
});

test('fold: when superseding is not enough, the oldest messages are merged until the bytes fit', (t) => {
  const big = 'x'.repeat(3000);
  const outbox: Record<string, OutboxEntry> = {};
  // Different triggers: nothing supersedes anything.
  for (let i = 0; i < 12; i++) outbox[`m${i}`] = entry(`k${i}`, { trigger: `t${i}`, decided: T0 + i, body: { rendered: { message: big } } });
  const limits = { maxEntries: 30, maxBytes: 20_000 };
  t.true(outboxBytes(outbox) > limits.maxBytes);
  const { mail, folded } = fold({ ledger: {}, outbox }, { ...context, limits, keyword: () => undefined });
  t.true(outboxBytes(mail.outbox) <= limits.maxBytes);
  const foldEntry = mail.outbox[foldId('argocd', 'ops')]!;
  t.deepEqual(folded, [{ channel: 'argocd/ops', count: foldEntry.folded!.count, superseded: 0 }]);
  t.false('m0' in mail.outbox, 'the oldest went first');
  t.true('m11' in mail.outbox, 'the newest stays');
  t.is(Object.keys(mail.outbox).length - 1 + foldEntry.folded!.count, 12);
  t.notRegex(String((foldEntry.body as unknown as OutgoingMessage).rendered.dingtalk?.title), /^ArgoCD/, 'no keyword when the channel has none');
});

test('fold: one fold entry per channel; a re-armed message does not enter the ledger', (t) => {
  const outbox: Record<string, OutboxEntry> = {};
  for (let i = 0; i < 20; i++) outbox[`a${i}`] = entry(`a${i}`, { channel: 'a', trigger: 'same', decided: T0 + i, rearm: i === 0 });
  for (let i = 0; i < 20; i++) outbox[`b${i}`] = entry(`b${i}`, { channel: 'b', trigger: 'same', decided: T0 + i });
  const { mail, folded } = fold({ ledger: {}, outbox }, context);
  t.deepEqual(folded.map((r) => [r.channel, r.count]).sort(), [['argocd/a', 19], ['argocd/b', 19]]);
  t.deepEqual(Object.keys(mail.outbox).sort(), ['a19', 'b19', foldId('argocd', 'a'), foldId('argocd', 'b')].sort());
  t.false('a0' in mail.ledger);
  t.true('a1' in mail.ledger);
});

test('outboxLimits: 64 KiB minus the other annotations, never below 8 KiB', (t) => {
  t.deepEqual(outboxLimits(0), { maxEntries: 30, maxBytes: 65536 });
  t.is(outboxLimits(60_000).maxBytes, 8192);
  t.is(outboxLimits(10_000).maxBytes, 55536);
});

test('completed: a fold entry folded into again while on its way stays, reporting only the messages folded since', (t) => {
  const fill = (mail: Mail, from: number, to: number): Mail => {
    for (let i = from; i < to; i++) mail = queue(mail, { newEntries: [{ id: `r${i}`, entry: entry(`rev${i}`, { decided: T0 + i * 1000 }) }], rearmed: [], rearmPending: [] }, context).mail;
    return mail;
  };
  const id = foldId('argocd', 'ops');
  const before = fill(empty(), 0, 31);
  const sent = before.outbox[id]!;
  const first = sent.folded!.count;
  t.is(first, 30, 'the 31st message superseded the 30 before it');
  const after = fill(before, 31, 62);
  const now = after.outbox[id]!.folded!.count;
  t.true(now > first, 'folded into again');
  const done = completed(after, [id], T0 + 90_000, { [id]: sent })!;
  const left = done.outbox[id]!;
  t.is(left.folded!.count, now - first, 'the messages folded after the sent version still wait to be reported');
  t.true(left.folded!.lines.length <= left.folded!.count);
  t.deepEqual(left.folded!.lines, after.outbox[id]!.folded!.lines.slice(-left.folded!.lines.length));
  t.regex(textOf(done, id), new RegExp(`^#### ArgoCD argocd/busy: ${now - first} earlier notifications? folded`), 'its text is rebuilt for that count, keyword first');
  t.false(JSON.stringify(done.ledger).includes(FOLD_TRIGGER), 'a fold entry never enters the ledger');
  const again = completed(done, [id], T0 + 95_000, { [id]: left })!;
  t.false(id in again.outbox, 'once the version sent is the newest, the fold entry leaves');
  t.false(id in completed(after, [id], T0, { [id]: after.outbox[id]! })!.outbox);
  t.false(id in completed(after, [id], T0)!.outbox, 'without the sent version, the entry leaves (the caller did not know)');
});

test('a refused digest is no transition: its entries wait until each part is accepted or refused on its own', (t) => {
  const start: Mail = { ledger: {}, outbox: { a: entry('ka'), b: entry('kb'), c: entry('kc'), d: entry('kd') } };
  // The channel refused a digest of a, b, c, d: the dispatcher splits it and applies nothing.
  let mail = completed(start, ['a', 'b'], T0 + 1000, { a: start.outbox.a!, b: start.outbox.b! })!;
  t.deepEqual(Object.keys(mail.outbox), ['c', 'd']);
  mail = rejected(mail, 'c', T0 + 2000)!;
  t.deepEqual(Object.keys(mail.outbox), ['d'], 'only the message refused on its own is recorded as handled');
  t.is(attempted(mail, 'd', 1, T0 + 5000)!.outbox.d!.attempts, 1, 'the other part may still be retried');
  mail = completed(mail, ['d'], T0 + 6000)!;
  t.deepEqual(mail.outbox, {});
  t.deepEqual(Object.keys(mail.ledger).sort(), ['ka', 'kb', 'kc', 'kd']);
});
