import test from 'ava';
import { decide, type DecisionInput } from '../../src/controller/engine.js';
import { ledgerKey } from '../../src/controller/ledger.js';
import { compileTrigger } from '../../src/triggers/index.js';
import { buildApp, REVISIONS } from '../support/fixtures/apps.js';

const compiled = (spec: Parameters<typeof compileTrigger>[0]) => {
  const result = compileTrigger(spec);
  if (!result.ok) throw new Error('test trigger does not compile');
  return result.trigger;
};
const deployed = compiled({ conditions: [{ when: "app.status.operationState.phase == 'Succeeded'", oncePer: 'app.status.sync.revision', send: ['a', 'b'] }] });
const degraded = compiled({ conditions: [{ when: "app.status.health.status == 'Degraded'", send: ['a'] }] });

function input(overrides: Partial<DecisionInput> = {}): DecisionInput {
  const triggers: Record<string, typeof deployed> = { 'on-deployed': deployed, 'on-degraded': degraded };
  return {
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
  const after = decide(syncInput(edited, { ledger }));
  t.deepEqual(after.newEntries, []);
  t.deepEqual(after.evaluations.map((e) => e.outcome), ['suppressed', 'suppressed']);
  t.deepEqual(after.rearmed, []);
  t.is(after.ledger, ledger, 'nothing to rewrite');
});

test('legacy <index>.<hash> keys in the ledger and the outbox suppress as the condition at that index and are rewritten', (t) => {
  // Written by an older herald, when conditions[0] was `succeeded` and conditions[1] `degraded`, with other texts.
  const ledger = { [`${REVISIONS.first}:on-sync:0.deadbeef:ops`]: 5, 'old:on-sync:1.0badc0de:ops': 4 };
  const outbox = { waiting: { key: ':on-sync:1.12345678:ops', trigger: 'on-sync' } as never };
  const decision = decide(syncInput(sync, { ledger, outbox }));
  t.deepEqual(decision.newEntries, [], 'both conditions are already notified or waiting');
  t.deepEqual(decision.ledger, { [`${REVISIONS.first}:on-sync:succeeded:ops`]: 5, 'old:on-sync:degraded:ops': 4 });
  // When the degraded condition stops holding, the legacy outbox entry is re-armed too.
  const healthy = decide(syncInput(sync, { ledger, outbox, app: buildApp({ revision: REVISIONS.first }) as never }));
  t.deepEqual(healthy.rearmPending, ['waiting']);
});
