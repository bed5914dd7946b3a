import test from 'ava';
import type { NotificationTriggerSpec } from '../../src/api/generated.js';
import {
  compileTrigger,
  evaluateTrigger,
  formatConditionError,
  formatTriggerErrors,
  type CompiledTrigger,
  type ConditionError,
  type ConditionResult,
} from '../../src/triggers/index.js';
import { triggerEnvironment } from '../../src/triggers/environment.js';
import { addSeconds, buildApp, REVISIONS } from '../support/fixtures/apps.js';

const NOW = new Date('2024-05-01T08:10:00Z');

function compile(when: string, oncePer?: string): CompiledTrigger {
  const result = compileTrigger({ conditions: [{ when, send: ['t'], ...(oncePer === undefined ? {} : { oncePer }) }] });
  if (!result.ok) throw new Error(`expected ${JSON.stringify(when)} to compile: ${formatTriggerErrors(result.errors)}`);
  return result.trigger;
}

function evaluate(when: string, app: object, options: { oncePer?: string; now?: Date; notifiedAt?: (t: string) => number | undefined } = {}): ConditionResult {
  const [result] = evaluateTrigger(compile(when, options.oncePer), app, options.now ?? NOW, options.notifiedAt);
  if (!result) throw new Error('no result');
  return result;
}

function errorsOf(spec: NotificationTriggerSpec): ConditionError[] {
  const result = compileTrigger(spec);
  if (result.ok) throw new Error(`expected a compile error for ${JSON.stringify(spec)}`);
  return result.errors;
}

const failed = buildApp({ phase: 'Failed' });
const succeeded = buildApp({ phase: 'Succeeded', labels: { team: 'payments' } });
const neverSynced = buildApp({ phase: null });

test('`in` and `&&` decide whether a condition fires', (t) => {
  const when = "app.status.operationState.phase in ['Error', 'Failed'] && app.spec.project == 'default'";
  t.like(evaluate(when, failed), { fired: true, outcome: 'fired' });
  t.like(evaluate(when, succeeded), { fired: false, outcome: 'not_fired' });
  t.like(evaluate(when, buildApp({ phase: 'Failed', project: 'other' })), { fired: false, outcome: 'not_fired' });
});

test('has() tests for a field without failing on its absence', (t) => {
  t.like(evaluate('has(app.status.operationState)', succeeded), { fired: true });
  t.like(evaluate('has(app.status.operationState)', neverSynced), { fired: false, outcome: 'not_fired' });
  t.like(evaluate('!has(app.metadata.deletionTimestamp)', succeeded), { fired: true });
  t.like(evaluate('has(app.metadata.deletionTimestamp)', buildApp({ deletionTimestamp: '2024-05-01T09:00:00Z' })), { fired: true });
});

test('exists(), all() and size() work on lists of the Application', (t) => {
  const degraded = buildApp({ healthStatus: 'Degraded' });
  const when = "app.status.resources.exists(r, r.kind == 'Deployment' && r.health.status == 'Degraded')";
  t.like(evaluate(when, degraded), { fired: true });
  t.like(evaluate(when, succeeded), { fired: false });
  t.like(evaluate("app.status.resources.all(r, r.status == 'Synced')", succeeded), { fired: true });
  t.like(evaluate('size(app.status.resources) == 2 && app.status.summary.images.size() == 1', succeeded), { fired: true });
  const multi = buildApp({ sources: [{ repoURL: 'https://github.com/org/a.git' }, { repoURL: 'https://github.com/org/b.git' }] });
  t.like(evaluate("size(app.spec.sources) == 2 && app.spec.sources.exists(s, s.repoURL.endsWith('b.git'))", multi), { fired: true });
});

test('labels and annotations are maps: lookups, has() and a missing key', (t) => {
  t.like(evaluate("app.metadata.labels['team'] == 'payments'", succeeded), { fired: true });
  t.like(evaluate("app.metadata.labels.team == 'payments'", succeeded), { fired: true });
  t.like(evaluate("has(app.metadata.labels.tier) && app.metadata.labels.tier == 'x'", succeeded), { fired: false, outcome: 'not_fired' });
  t.like(evaluate("app.metadata.labels['tier'] == 'backend'", succeeded), { fired: false, outcome: 'missing_field' });
  t.like(evaluate("app.metadata.labels['team'] == 'payments'", failed), { fired: false, outcome: 'missing_field' });
  const annotated = buildApp({ annotations: { 'example.com/owner': 'ops' } });
  t.like(evaluate("app.metadata.annotations['example.com/owner'] == 'ops'", annotated), { fired: true });
});

test('string functions: startsWith, endsWith, contains, matches', (t) => {
  t.like(evaluate("app.spec.source.repoURL.startsWith('https://github.com/')", succeeded), { fired: true });
  t.like(evaluate("app.metadata.name.matches('^guest[a-z]+$')", succeeded), { fired: true });
  t.like(evaluate("app.metadata.name.matches('^prod-')", succeeded), { fired: false });
  t.like(evaluate("app.status.operationState.message.contains('failed to apply')", failed), { fired: true });
});

test('timestamp(), duration() and now(), with now injected by the caller', (t) => {
  const finishedAt = succeeded.status.operationState.finishedAt as string;
  const when = "now() - timestamp(app.status.operationState.finishedAt) < duration('1h')";
  t.like(evaluate(when, succeeded, { now: new Date(addSeconds(finishedAt, 600)) }), { fired: true });
  t.like(evaluate(when, succeeded, { now: new Date(addSeconds(finishedAt, 7200)) }), { fired: false });
  t.like(evaluate("timestamp(app.metadata.creationTimestamp) < now() && duration('5m') < duration('1h')", succeeded), { fired: true });
  t.like(evaluate("now() == timestamp('2024-05-01T08:10:00Z')", succeeded), { fired: true });
  t.like(evaluate("timestamp(app.status.operationState.startedAt).getHours('Asia/Shanghai') == 16", succeeded), { fired: true });
});

test('a missing field is not an error: the condition does not fire (missing_field)', (t) => {
  const running = evaluate("app.status.operationState.phase == 'Running'", neverSynced);
  t.deepEqual(running, { index: 0, name: 'default', fired: false, outcome: 'missing_field', missing: 'when: operationState' });
  t.like(evaluate('app.status.history[5].id == 1', succeeded), { fired: false, outcome: 'missing_field' });
  t.like(evaluate("timestamp(app.status.operationState.finishedAt) < now()", buildApp({ phase: 'Running' })), { outcome: 'missing_field' });
  t.like(evaluate("app.status.sync.status == 'Synced'", { metadata: { name: 'bare' } }), { outcome: 'missing_field' });
  t.like(evaluate("app.status.sync.status == 'Synced'", {}), { outcome: 'missing_field' });
});

test('JSON null counts as absent, and whole numbers are CEL ints', (t) => {
  const app = { ...succeeded, metadata: { ...succeeded.metadata, deletionTimestamp: null, generation: 3 } };
  t.like(evaluate('has(app.metadata.deletionTimestamp)', app), { fired: false, outcome: 'not_fired' });
  t.like(evaluate('app.metadata.generation > 2 && app.status.history[0].id == 1', app), { fired: true });
});

test('other runtime errors are reported as outcome error with a message', (t) => {
  // A literal pattern is checked when the trigger compiles; one built at run time only then.
  const badRegex = evaluate("app.metadata.name.matches(app.metadata.name + '[')", succeeded);
  t.is(badRegex.outcome, 'error');
  t.false(badRegex.fired);
  t.regex(badRegex.error ?? '', /^when: .*regular expression/i);
  t.like(evaluate('int(app.metadata.name) > 0', succeeded), { outcome: 'error', fired: false });
  // `dyn` parts type-check as anything, so a non-bool is only found at run time.
  const notBool = evaluate('app.spec.syncPolicy', succeeded);
  t.deepEqual([notBool.outcome, notBool.error], ['error', 'when: evaluated to map, expected bool']);
});

test('compile errors: a syntax error with its column', (t) => {
  const [error] = errorsOf({ conditions: [{ when: "app.status.health.status == 'Healthy' &&", send: ['t'] }] });
  t.deepEqual(error, { index: 0, field: 'when', column: 41, message: 'unexpected end of expression' });
  t.is(formatConditionError(error!), 'conditions[0].when: column 41: unexpected end of expression');
});

test('compile errors: an unknown field names the condition, the column and the likely field', (t) => {
  const errors = errorsOf({
    conditions: [
      { name: 'always', when: 'true', send: ['t'] },
      { name: 'synced', when: "app.statuz.sync.status == 'Synced'", send: ['t'] },
    ],
  });
  t.deepEqual(errors, [{ index: 1, field: 'when', column: 5, message: "unknown field 'statuz' (did you mean 'status'?)" }]);
  t.is(formatTriggerErrors(errors), "conditions[1].when: column 5: unknown field 'statuz' (did you mean 'status'?)");
  const [nested] = errorsOf({ conditions: [{ when: "app.status.operationState.phaze == 'Running'", send: ['t'] }] });
  t.is(nested?.message, "unknown field 'phaze' (did you mean 'phase'?)");
  t.is(nested?.column, 27);
});

test('compile errors: type errors and a when that is not a bool', (t) => {
  const [typeError] = errorsOf({ conditions: [{ when: 'app.status.sync.status == 1', send: ['t'] }] });
  t.like(typeError, { index: 0, field: 'when', column: 1 });
  t.regex(typeError?.message ?? '', /string == int/);
  const [notBool] = errorsOf({ conditions: [{ when: 'app.metadata.name', send: ['t'] }] });
  t.is(notBool?.message, 'must be a bool expression, but its type is string');
  const [ternary] = errorsOf({ conditions: [{ when: "app.metadata.name == 'a' ? 1 : 'b'", send: ['t'] }] });
  t.regex(ternary?.message ?? '', /ternary/i);
  const [unknownVariable] = errorsOf({ conditions: [{ when: "application.metadata.name == 'a'", send: ['t'] }] });
  t.regex(unknownVariable?.message ?? '', /unknown variable.*application/);
  const [badCall] = errorsOf({ conditions: [{ when: 'notified(1) > now()', send: ['t'] }] });
  t.regex(badCall?.message ?? '', /notified\(int\)/);
});

test('compile errors: every bad expression is reported, oncePer included, with line and column in multi-line text', (t) => {
  const errors = errorsOf({
    conditions: [
      { name: 'healthy', when: "app.status.health.status == 'Healthy' &&\n  app.status.sync.statu == 'Synced'", send: ['t'] },
      { name: 'always', when: 'true', oncePer: 'app.status.sync.revison', send: ['t'] },
      { name: 'blank', when: '  ', send: ['t'] },
    ],
  });
  t.deepEqual(
    errors.map(formatConditionError),
    [
      "conditions[0].when: line 2, column 19: unknown field 'statu' (did you mean 'status'?)",
      "conditions[1].oncePer: column 17: unknown field 'revison' (did you mean 'revision'?)",
      'conditions[2].when: column 1: empty expression',
    ],
  );
});

test('legal expressions over open-ended parts type-check', (t) => {
  for (const when of [
    "app.spec.source.helm.valueFiles.exists(f, f == 'prod.yaml')",
    "app.status.operationState.operation.initiatedBy.automated == true",
    "app.status.conditions.exists(c, c.type == 'SyncError')",
    "app.spec.syncPolicy.automated.prune == true",
    "app.status.sync.revisions.size() > 1",
    "app.metadata.finalizers.exists(f, f.startsWith('resources-finalizer'))",
  ]) {
    t.true(compileTrigger({ conditions: [{ when, send: ['t'] }] }).ok, when);
  }
});

test('oncePer gives the occurrence key as a string', (t) => {
  const when = "app.status.operationState.phase == 'Succeeded'";
  t.deepEqual(evaluate(when, succeeded, { oncePer: 'app.status.operationState.syncResult.revision' }).oncePer, REVISIONS.first);
  t.is(evaluate(when, { ...succeeded, metadata: { ...succeeded.metadata, generation: 7 } }, { oncePer: 'app.metadata.generation' }).oncePer, '7');
  t.is(evaluate(when, succeeded, { oncePer: "app.status.sync.status == 'Synced'" }).oncePer, 'true');
  t.is(evaluate(when, succeeded, { oncePer: 'app.status.summary.images' }).oncePer, '["gcr.io/heptio-images/ks-guestbook-demo:0.2"]');
  t.is(evaluate(when, succeeded, { oncePer: 'timestamp(app.status.operationState.startedAt)' }).oncePer, '2024-05-01T08:00:00.000Z');
});

test('oncePer that hits a missing field means not fired; it is not evaluated when `when` is false', (t) => {
  const running = buildApp({ phase: 'Running' });
  const result = evaluate('true', running, { oncePer: 'app.status.operationState.syncResult.revision' });
  t.like(result, { fired: false, outcome: 'missing_field', missing: 'oncePer: syncResult' });
  t.false('oncePer' in result);
  const skipped = evaluate('false', running, { oncePer: 'app.status.operationState.syncResult.revision' });
  t.like(skipped, { fired: false, outcome: 'not_fired' });
  t.like(evaluate('true', running, { oncePer: "app.metadata.name.matches(app.metadata.name + '(')" }), { fired: false, outcome: 'error' });
});

test('a condition is identified by its name, a lone unnamed one is "default"; names are required, valid and unique with several', (t) => {
  const when = "app.status.health.status == 'Degraded'";
  const lone = compileTrigger({ conditions: [{ when, send: ['a'] }] });
  if (!lone.ok) return t.fail();
  t.is(lone.trigger.conditions[0]?.name, 'default');
  const compiled = compileTrigger({ conditions: [{ name: 'always', when: 'true', send: ['a'] }, { name: 'degraded', when, send: ['b', 'a'] }] });
  if (!compiled.ok) return t.fail();
  t.deepEqual(compiled.trigger.conditions.map((c) => c.name), ['always', 'degraded']);
  t.deepEqual(compiled.trigger.templates, ['a', 'b']);
  const results = evaluateTrigger(compiled.trigger, buildApp({ healthStatus: 'Degraded' }), NOW);
  t.deepEqual(results.map((r) => [r.index, r.name, r.fired]), [[0, 'always', true], [1, 'degraded', true]]);

  const unnamed = compileTrigger({ conditions: [{ name: 'a', when: 'true', send: ['a'] }, { when, send: ['a'] }] });
  t.false(unnamed.ok);
  if (!unnamed.ok) t.is(formatTriggerErrors(unnamed.errors), 'conditions[1].name: required: a trigger with more than one condition names each one (the send ledger identifies conditions by name)');
  const duplicate = compileTrigger({ conditions: [{ name: 'x', when: 'true', send: ['a'] }, { name: 'x', when, send: ['a'] }] });
  if (!duplicate.ok) t.is(formatTriggerErrors(duplicate.errors), 'conditions[1].name: duplicate name "x" (also conditions[0])');
  else t.fail('a duplicate name compiles');
  const invalid = compileTrigger({ conditions: [{ name: 'Not_A_Label', when: 'true', send: ['a'] }] });
  if (!invalid.ok) t.regex(formatTriggerErrors(invalid.errors), /^conditions\[0\]\.name: "Not_A_Label" is not a valid condition name/);
  else t.fail('an invalid name compiles');
});

test('notified(trigger) reads the lookup the caller passes, timestamp(0) when never notified', (t) => {
  const when = "app.status.health.status == 'Healthy' && notified('on-health-degraded') > notified('on-health-recovered')";
  const seconds: Record<string, number> = { 'on-health-degraded': 1_714_550_000 };
  t.like(evaluate(when, succeeded, { notifiedAt: (name) => seconds[name] }), { fired: true });
  seconds['on-health-recovered'] = 1_714_550_060;
  t.like(evaluate(when, succeeded, { notifiedAt: (name) => seconds[name] }), { fired: false });
  t.like(evaluate(when, succeeded), { fired: false });
  t.like(evaluate("notified('x') == timestamp(0)", succeeded), { fired: true });
  t.like(evaluate("notified('x') == timestamp('2024-05-01T08:00:00Z')", succeeded, { notifiedAt: () => 1_714_550_400 }), { fired: true });
});

test('evaluation neither re-parses nor changes the Application', (t) => {
  const compiled = compile("app.status.resources.exists(r, r.kind == 'Deployment') && app.metadata.generation != 1");
  const app = { ...buildApp(), extra: { generation: 2 } };
  const before = JSON.stringify(app);
  // The environment is frozen; count calls of parse() on its class instead.
  const proto = Object.getPrototypeOf(triggerEnvironment) as { parse: (expression: string) => unknown };
  const parse = proto.parse;
  let parses = 0;
  proto.parse = function (this: unknown, expression: string) {
    parses++;
    return parse.call(this, expression);
  };
  try {
    compile('true'); // proves the spy counts
    for (let i = 0; i < 100; i++) evaluateTrigger(compiled, app, NOW);
  } finally {
    proto.parse = parse;
  }
  t.is(parses, 1);
  t.is(JSON.stringify(app), before);
});
