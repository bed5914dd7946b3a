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
const hash = (trigger: typeof deployed) => trigger.conditions[0]!.whenHash;

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
      `${ledgerKey(REVISIONS.first, 'on-deployed', 0, hash(deployed), 'ops')}#a`,
      `${ledgerKey(REVISIONS.first, 'on-deployed', 0, hash(deployed), 'ops')}#b`,
      `${ledgerKey(REVISIONS.first, 'on-deployed', 0, hash(deployed), 'team')}#a`,
      `${ledgerKey(REVISIONS.first, 'on-deployed', 0, hash(deployed), 'team')}#b`,
    ].sort(),
  );
  const entry = decision.newEntries[0]!.entry;
  t.is(entry.attempts, 0);
  t.is(entry.decided, Date.parse('2024-05-01T09:00:00Z'));
  t.deepEqual((entry.body as { initiator?: string }).initiator, 'admin');
  t.deepEqual(decision.evaluations.map((e) => `${e.trigger}:${e.outcome}`).sort(), ['on-degraded:not_fired', 'on-deployed:fired']);
});

test('the ledger and the outbox suppress what was already decided; oncePer values are independent', (t) => {
  const opsKey = ledgerKey(REVISIONS.first, 'on-deployed', 0, hash(deployed), 'ops');
  const teamKey = ledgerKey(REVISIONS.first, 'on-deployed', 0, hash(deployed), 'team');
  const pending = decide(input({ ledger: { [opsKey]: 1 }, outbox: { x: { key: teamKey } as never } }));
  t.deepEqual(pending.newEntries, []);
  t.true(pending.evaluations.some((e) => e.outcome === 'suppressed'));
  const next = decide(input({ app: buildApp({ revision: REVISIONS.second }) as never, ledger: { [opsKey]: 1, [teamKey]: 1 } }));
  t.is(next.newEntries.length, 4, 'a new revision is a new occurrence');
});

test('a condition without oncePer sends once while true and is re-armed when false', (t) => {
  const degradedApp = buildApp({ healthStatus: 'Degraded' }) as never;
  const key = ledgerKey(undefined, 'on-degraded', 0, hash(degraded), 'ops');
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
  const key = ledgerKey(undefined, 'on-degraded', 0, hash(degraded), 'ops');
  const decision = decide(input({ outbox: { pending: { key, trigger: 'on-degraded' } as never, other: { key: 'x', trigger: 'on-deployed' } as never } }));
  t.deepEqual(decision.rearmPending, ['pending']);
  const already = decide(input({ outbox: { pending: { key, trigger: 'on-degraded', rearm: true } as never } }));
  t.deepEqual(already.rearmPending, []);
});
