import test from 'ava';
import { decide, type DecisionInput } from '../../src/controller/engine.js';
import { stateSince, type FirstSightPolicy } from '../../src/controller/first-sight.js';
import { firstSightKey, lastNotified, ledgerKey, RECORDED_AT_FIRST_SIGHT, sentAt } from '../../src/controller/ledger.js';
import { compileTrigger } from '../../src/triggers/index.js';
import { buildApp, REVISIONS } from '../support/fixtures/apps.js';

const compiled = (spec: Parameters<typeof compileTrigger>[0]) => {
  const result = compileTrigger(spec);
  if (!result.ok) throw new Error('test trigger does not compile');
  return result.trigger;
};
const deployed = compiled({ conditions: [{ when: "app.status.operationState.phase == 'Succeeded'", oncePer: 'app.status.sync.revision', send: ['a', 'b'] }] });
const degraded = compiled({ conditions: [{ when: "app.status.health.status == 'Degraded'", send: ['a'] }] });

/**
 * Apps herald has already seen with every routed trigger and channel (their first-sight
 * markers are in the ledger), unless `unseen`: first sight has its own tests below.
 */
function input(overrides: Partial<DecisionInput> = {}, unseen = false): DecisionInput {
  const triggers: Record<string, typeof deployed> = { 'on-deployed': deployed, 'on-degraded': degraded };
  const made: DecisionInput = {
    app: buildApp({ revision: REVISIONS.first }) as never,
    appUid: 'uid-1',
    now: new Date('2024-05-01T09:00:00Z'),
    routes: [
      { trigger: 'on-deployed', channel: { namespace: 'argocd', name: 'ops' } },
      { trigger: 'on-deployed', channel: { namespace: 'argocd', name: 'team' } },
      { trigger: 'on-degraded', channel: { namespace: 'argocd', name: 'ops' } },
    ],
    trigger: (name) => (triggers[name] ? { ref: { namespace: 'argocd', name }, compiled: triggers[name] } : undefined),
    render: (template, context) => ({ message: `${template} for ${context.channel.name}` }),
    context: { argocdUrl: 'https://cd' },
    initiator: 'admin',
    ledger: {},
    outbox: {},
    ...overrides,
  };
  if (!unseen) made.ledger = { ...Object.fromEntries(made.routes.map((r) => [firstSightKey(r.trigger, r.channel.name), 1])), ...made.ledger };
  return made;
}

test('a fired condition yields one outbox entry per channel and template, keyed as the ledger is', (t) => {
  const decision = decide(input());
  t.deepEqual(
    decision.newEntries.map((e) => e.id).sort(),
    [
      `${ledgerKey(REVISIONS.first, 'on-deployed', 'default', 'ops')}#a`,
      `${ledgerKey(REVISIONS.first, 'on-deployed', 'default', 'ops')}#b`,
      `${ledgerKey(REVISIONS.first, 'on-deployed', 'default', 'team')}#a`,
      `${ledgerKey(REVISIONS.first, 'on-deployed', 'default', 'team')}#b`,
    ].sort(),
  );
  const entry = decision.newEntries[0]!.entry;
  t.is(entry.attempts, 0);
  t.is(entry.decided, Date.parse('2024-05-01T09:00:00Z'));
  t.deepEqual((entry.body as { initiator?: string }).initiator, 'admin');
  t.deepEqual(decision.evaluations.map((e) => `${e.trigger}:${e.outcome}`).sort(), ['on-degraded:not_fired', 'on-deployed:fired']);
});

test('the ledger and the outbox suppress what was already decided; oncePer values are independent', (t) => {
  const opsKey = ledgerKey(REVISIONS.first, 'on-deployed', 'default', 'ops');
  const teamKey = ledgerKey(REVISIONS.first, 'on-deployed', 'default', 'team');
  const pending = decide(input({ ledger: { [opsKey]: 1 }, outbox: { x: { key: teamKey } as never } }));
  t.deepEqual(pending.newEntries, []);
  t.true(pending.evaluations.some((e) => e.outcome === 'suppressed'));
  const next = decide(input({ app: buildApp({ revision: REVISIONS.second }) as never, ledger: { [opsKey]: 1, [teamKey]: 1 } }));
  t.is(next.newEntries.length, 4, 'a new revision is a new occurrence');
});

test('a condition without oncePer sends once while true and is re-armed when false', (t) => {
  const degradedApp = buildApp({ healthStatus: 'Degraded' }) as never;
  const key = ledgerKey(undefined, 'on-degraded', 'default', 'ops');
  t.is(decide(input({ app: degradedApp })).newEntries.filter((e) => e.entry.trigger === 'on-degraded').length, 1);
  t.is(decide(input({ app: degradedApp, ledger: { [key]: 1 } })).newEntries.filter((e) => e.entry.trigger === 'on-degraded').length, 0);
  t.deepEqual(decide(input({ ledger: { [key]: 1 } })).rearmed, [key]);
});

test('missing triggers and failing templates are reported, not thrown; nothing is decided for them', (t) => {
  const decision = decide(input({
    routes: [{ trigger: 'on-nothing', channel: { namespace: 'argocd', name: 'ops' } }, { trigger: 'on-deployed', channel: { namespace: 'argocd', name: 'ops' } }],
    render: (template) => {
      if (template === 'b') throw new Error('template b is not Ready');
      return { message: template };
    },
  }));
  t.deepEqual(decision.problems.map((p) => p.message), ['no NotificationTrigger "on-nothing" for this Application', 'template b is not Ready']);
  t.deepEqual(decision.newEntries.map((e) => e.entry.template), ['a']);
});

test('a condition without oncePer that stops holding while its message waits marks that message for re-arming', (t) => {
  const key = ledgerKey(undefined, 'on-degraded', 'default', 'ops');
  const decision = decide(input({ outbox: { pending: { key, trigger: 'on-degraded' } as never, other: { key: 'x', trigger: 'on-deployed' } as never } }));
  t.deepEqual(decision.rearmPending, ['pending']);
  const already = decide(input({ outbox: { pending: { key, trigger: 'on-degraded', rearm: true } as never } }));
  t.deepEqual(already.rearmPending, []);
});

const sync = compiled({
  conditions: [
    { name: 'succeeded', when: "app.status.operationState.phase == 'Succeeded'", oncePer: 'app.status.sync.revision', send: ['a'] },
    { name: 'degraded', when: "app.status.health.status == 'Degraded'", send: ['b'] },
  ],
});

function syncInput(trigger: typeof sync, overrides: Partial<DecisionInput> = {}): DecisionInput {
  return input({
    app: buildApp({ revision: REVISIONS.first, healthStatus: 'Degraded' }) as never,
    routes: [{ trigger: 'on-sync', channel: { namespace: 'argocd', name: 'ops' } }],
    trigger: (name) => (name === 'on-sync' ? { ref: { namespace: 'argocd', name }, compiled: trigger } : undefined),
    ...overrides,
  });
}

test('the ledger key names the condition: editing when, reordering conditions or renaming a template re-sends nothing', (t) => {
  const first = decide(syncInput(sync));
  t.deepEqual(first.newEntries.map((e) => e.entry.key).sort(), [`${REVISIONS.first}:on-sync:succeeded:ops`, ':on-sync:degraded:ops'].sort());
  const ledger = Object.fromEntries(first.newEntries.map((e) => [e.entry.key, 1]));
  const edited = compiled({
    conditions: [
      { name: 'degraded', when: "(app.status.health.status  ==  'Degraded')", send: ['b-renamed'] },
      { name: 'succeeded', when: "app.status.operationState.phase in ['Succeeded']", oncePer: 'app.status.sync.revision', send: ['a'] },
    ],
  });
  const editedInput = syncInput(edited, { ledger });
  const after = decide(editedInput);
  t.deepEqual(after.newEntries, []);
  t.deepEqual(after.evaluations.map((e) => e.outcome), ['suppressed', 'suppressed']);
  t.deepEqual(after.rearmed, []);
  t.deepEqual(after.recorded, []);
  t.is(after.ledger, editedInput.ledger, 'nothing to rewrite');
});

test('legacy <index>.<hash> keys in the ledger and the outbox suppress as the condition at that index and are rewritten', (t) => {
  // Written by an older herald, when conditions[0] was `succeeded` and conditions[1] `degraded`, with other texts.
  const ledger = { [`${REVISIONS.first}:on-sync:0.deadbeef:ops`]: 5, 'old:on-sync:1.0badc0de:ops': 4 };
  const outbox = { waiting: { key: ':on-sync:1.12345678:ops', trigger: 'on-sync' } as never };
  const decision = decide(syncInput(sync, { ledger, outbox }));
  t.deepEqual(decision.newEntries, [], 'both conditions are already notified or waiting');
  t.deepEqual(decision.ledger, { [firstSightKey('on-sync', 'ops')]: 1, [`${REVISIONS.first}:on-sync:succeeded:ops`]: 5, 'old:on-sync:degraded:ops': 4 });
  // When the degraded condition stops holding, the legacy outbox entry is re-armed too.
  const healthy = decide(syncInput(sync, { ledger, outbox, app: buildApp({ revision: REVISIONS.first }) as never }));
  t.deepEqual(healthy.rearmPending, ['waiting']);
});

// ---- first sight -------------------------------------------------------------------
// buildApp's last sync finished at 08:00:30 and `now` is 09:00: an hour-old state.

const NOW = new Date('2024-05-01T09:00:00Z');
const policy = (overrides: Partial<FirstSightPolicy> = {}): FirstSightPolicy => ({ mode: 'record', windowMs: 10 * 60_000, watchingSince: new Date('2024-05-01T08:59:00Z'), ...overrides });
const firstSight = (overrides: Partial<DecisionInput> = {}) => input({ now: NOW, firstSight: policy(), ...overrides }, true);
const deployedKeys = (channel: string) => `${REVISIONS.first}:on-deployed:default:${channel}`;

test('first sight records what holds instead of sending it, and writes a marker per trigger and channel', (t) => {
  const degradedApp = buildApp({ revision: REVISIONS.first, healthStatus: 'Degraded' }) as never;
  const decision = decide(firstSight({ app: degradedApp }));
  t.deepEqual(decision.newEntries, [], 'nothing is sent');
  t.deepEqual(decision.ledger, {
    [deployedKeys('ops')]: RECORDED_AT_FIRST_SIGHT,
    [deployedKeys('team')]: RECORDED_AT_FIRST_SIGHT,
    [ledgerKey(undefined, 'on-degraded', 'default', 'ops')]: RECORDED_AT_FIRST_SIGHT,
    [firstSightKey('on-deployed', 'ops')]: NOW.getTime() / 1000,
    [firstSightKey('on-deployed', 'team')]: NOW.getTime() / 1000,
    [firstSightKey('on-degraded', 'ops')]: NOW.getTime() / 1000,
  });
  t.deepEqual([...decision.recorded].sort(), Object.keys(decision.ledger).sort());
  t.deepEqual(decision.evaluations.map((e) => `${e.trigger}:${e.outcome}`).sort(), ['on-degraded:recorded', 'on-deployed:recorded']);
  t.deepEqual(sentAt(decision.ledger), [], 'neither a marker nor a recorded state counts as a send');
  t.is(lastNotified(decision.ledger, {}, 'on-degraded'), undefined, 'notified() does not count a recorded state');

  // A healthy app: nothing holds for on-degraded, but its marker is written all the same.
  const healthy = decide(firstSight());
  t.true(firstSightKey('on-degraded', 'ops') in healthy.ledger);
  t.false(ledgerKey(undefined, 'on-degraded', 'default', 'ops') in healthy.ledger);
});

test('once the marker is there, the next change is sent as usual; a recorded state that stops holding is re-armed', (t) => {
  const first = decide(firstSight({ app: buildApp({ revision: REVISIONS.first, healthStatus: 'Degraded' }) as never }));
  const next = decide(firstSight({ app: buildApp({ revision: REVISIONS.second }) as never, ledger: first.ledger }));
  t.deepEqual([...new Set(next.newEntries.map((e) => e.entry.key))].sort(), [`${REVISIONS.second}:on-deployed:default:ops`, `${REVISIONS.second}:on-deployed:default:team`]);
  t.deepEqual(next.recorded, []);
  t.deepEqual(next.rearmed, [ledgerKey(undefined, 'on-degraded', 'default', 'ops')]);
  const degradedAgain = decide(firstSight({ app: buildApp({ revision: REVISIONS.second, healthStatus: 'Degraded' }) as never, ledger: next.ledger }));
  t.deepEqual(degradedAgain.newEntries.filter((e) => e.entry.trigger === 'on-degraded').map((e) => e.entry.key), [ledgerKey(undefined, 'on-degraded', 'default', 'ops')]);
});

test('a change within the window before herald first saw the app is news and is sent', (t) => {
  const justSynced = buildApp({ revision: REVISIONS.first, startedAt: '2024-05-01T08:51:00Z' }) as never; // finished 08:51:30
  const decision = decide(firstSight({ app: justSynced }));
  t.is(decision.newEntries.length, 4, 'on-deployed to both channels, two templates each');
  t.deepEqual(decision.recorded.sort(), [firstSightKey('on-degraded', 'ops'), firstSightKey('on-deployed', 'ops'), firstSightKey('on-deployed', 'team')].sort(), 'only the markers');
  // Just outside the window: recorded.
  const older = decide(firstSight({ app: buildApp({ revision: REVISIONS.first, startedAt: '2024-05-01T08:49:00Z' }) as never }));
  t.deepEqual(older.newEntries, []);
  // A running operation counts from its start; a health change from its lastTransitionTime.
  t.is(decide(firstSight({ app: buildApp({ phase: 'Running', startedAt: '2024-05-01T08:58:00Z' }) as never })).newEntries.length, 0, 'nothing holds for Running, but it is news');
  const degradedNow = buildApp({ revision: REVISIONS.first, healthStatus: 'Degraded' });
  degradedNow.status.health.lastTransitionTime = '2024-05-01T08:57:00Z';
  t.true(decide(firstSight({ app: degradedNow as never })).newEntries.some((e) => e.entry.trigger === 'on-degraded'));
  // A window of 0 records everything.
  t.deepEqual(decide(firstSight({ app: justSynced, firstSight: policy({ windowMs: 0 }) })).newEntries, []);
});

test('creation is news only for an app that never had an operation or that herald saw being created', (t) => {
  const created = (creationTimestamp: string, phase?: null) => buildApp({ revision: REVISIONS.first, creationTimestamp, ...(phase === null ? { phase } : {}) });
  // Restored with an old status a minute before herald started: old news.
  t.deepEqual(stateSince(created('2024-05-01T08:58:00Z'), policy().watchingSince), Date.parse('2024-05-01T08:00:30Z'));
  t.deepEqual(decide(firstSight({ app: created('2024-05-01T08:58:00Z') as never })).newEntries, []);
  // Created while herald watched: news, whatever its status says.
  t.is(decide(firstSight({ app: created('2024-05-01T08:59:30Z') as never })).newEntries.length, 4);
  // Created in the second herald started in (08:59:00.400): news only if it was not in herald's first list.
  const startedMidSecond = (inFirstList: boolean) => policy({ watchingSince: new Date('2024-05-01T08:59:00.400Z'), inFirstList: () => inFirstList });
  t.is(decide(firstSight({ app: created('2024-05-01T08:59:00Z') as never, firstSight: startedMidSecond(true) })).newEntries.length, 0, 'listed: created before herald watched');
  t.is(decide(firstSight({ app: created('2024-05-01T08:59:00Z') as never, firstSight: startedMidSecond(false) })).newEntries.length, 4, 'arrived after the first list');
  t.is(decide(firstSight({ app: created('2024-05-01T08:59:01Z') as never, firstSight: startedMidSecond(true) })).newEntries.length, 4, 'a later second is news even when listed');
  t.is(decide(firstSight({ app: created('2024-05-01T08:58:59Z') as never, firstSight: startedMidSecond(false) })).newEntries.length, 0, 'an earlier second is old news');
  // Never synced, created five minutes ago: news (on-created in the catalog).
  const onCreated = compiled({ conditions: [{ when: 'true', oncePer: 'app.metadata.name', send: ['a'] }] });
  const createdInput = (app: unknown) => firstSight({
    app: app as never,
    routes: [{ trigger: 'on-created', channel: { namespace: 'argocd', name: 'ops' } }],
    trigger: () => ({ ref: { namespace: 'argocd', name: 'on-created' }, compiled: onCreated }),
  });
  t.is(decide(createdInput(created('2024-05-01T08:55:00Z', null))).newEntries.length, 1);
  t.is(decide(createdInput(created('2024-04-01T08:55:00Z', null))).newEntries.length, 0);
});

test('--on-first-sight=send and spec.onFirstSight: Send report the current state; Record on the trigger wins over the flag', (t) => {
  const viaFlag = decide(firstSight({ firstSight: policy({ mode: 'send' }) }));
  t.is(viaFlag.newEntries.length, 4);
  t.true(firstSightKey('on-deployed', 'ops') in viaFlag.ledger, 'the marker is written in send mode too');
  const triggers = (onFirstSight: 'Record' | 'Send') => {
    const trigger = compiled({ onFirstSight, conditions: [{ when: "app.status.operationState.phase == 'Succeeded'", oncePer: 'app.status.sync.revision', send: ['a', 'b'] }] });
    t.is(trigger.onFirstSight, onFirstSight);
    return (name: string) => (name === 'on-deployed' ? { ref: { namespace: 'argocd', name }, compiled: trigger } : undefined);
  };
  t.is(decide(firstSight({ trigger: triggers('Send') })).newEntries.length, 4, 'Send on the trigger, record by flag');
  t.is(decide(firstSight({ trigger: triggers('Record'), firstSight: policy({ mode: 'send' }) })).newEntries.length, 0, 'Record on the trigger, send by flag');
});

test('first sight is per trigger and channel: a new channel records while a known one sends', (t) => {
  const ledger = { [firstSightKey('on-deployed', 'ops')]: 1, [firstSightKey('on-degraded', 'ops')]: 1 };
  const decision = decide(firstSight({ ledger }));
  t.deepEqual(decision.newEntries.map((e) => e.entry.channel), ['ops', 'ops']);
  t.is(decision.ledger[deployedKeys('team')], RECORDED_AT_FIRST_SIGHT);
  t.true(firstSightKey('on-deployed', 'team') in decision.ledger);
});

test('a ledger written before markers existed counts as seen: the app is evaluated as usual and gets its marker', (t) => {
  const ledger = { [`${REVISIONS.second}:on-deployed:default:ops`]: 100 };
  const decision = decide(firstSight({ ledger, routes: [{ trigger: 'on-deployed', channel: { namespace: 'argocd', name: 'ops' } }] }));
  t.is(decision.newEntries.length, 2, 'the current revision is sent');
  t.deepEqual(decision.recorded, [firstSightKey('on-deployed', 'ops')]);
});

test('an evaluation error leaves the pair unseen (no marker), to be recorded once it evaluates', (t) => {
  const broken = compiled({ conditions: [{ when: 'app.status.sync.revision.size() > 0 && 1 / (app.status.sync.revision.size() - 40) == 1', send: ['a'] }] });
  const decision = decide(firstSight({
    routes: [{ trigger: 'on-broken', channel: { namespace: 'argocd', name: 'ops' } }],
    trigger: () => ({ ref: { namespace: 'argocd', name: 'on-broken' }, compiled: broken }),
  }));
  t.is(decision.evaluationErrors.length, 1);
  t.deepEqual(decision.recorded, []);
  t.deepEqual(decision.ledger, {});
});
