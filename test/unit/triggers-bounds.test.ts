// Bounded CEL: RE2 `matches()`, the compile-time cost estimate and the runtime budget
// (src/triggers/budget.ts). Nothing here measures time: a ReDoS pattern that used to
// run for minutes simply has to finish with the right answer.
import test from 'ava';
import {
  compileTrigger,
  DEFAULT_CEL_LIMITS,
  evaluateTrigger,
  formatTriggerErrors,
  type CelLimits,
  type CompiledTrigger,
  type ConditionError,
  type ConditionResult,
} from '../../src/triggers/index.js';
import { CostMeter } from '../../src/triggers/budget.js';
import { re2Matches } from '../../src/triggers/regex.js';
import { buildApp } from '../support/fixtures/apps.js';

const NOW = new Date('2024-05-01T08:10:00Z');

function compile(when: string, limits?: Partial<CelLimits>): CompiledTrigger {
  const result = compileTrigger({ conditions: [{ when, send: ['t'] }] }, { ...DEFAULT_CEL_LIMITS, ...limits });
  if (!result.ok) throw new Error(`expected ${JSON.stringify(when)} to compile: ${formatTriggerErrors(result.errors)}`);
  return result.trigger;
}

function evaluate(when: string, app: object, limits?: Partial<CelLimits>): ConditionResult {
  const [result] = evaluateTrigger(compile(when, limits), app, NOW);
  return result!;
}

function compileErrors(spec: { when: string; oncePer?: string }[], limits?: Partial<CelLimits>): ConditionError[] {
  const result = compileTrigger({ conditions: spec.map((c, i) => ({ ...(spec.length > 1 ? { name: `c${i}` } : {}), ...c, send: ['t'] })) }, { ...DEFAULT_CEL_LIMITS, ...limits });
  if (result.ok) throw new Error(`expected a compile error for ${JSON.stringify(spec)}`);
  return result.errors;
}

/** An Application with `count` resources and the given name and operation message. */
function bigApp(options: { name?: string; resources?: number; message?: string } = {}): Record<string, unknown> {
  const app = buildApp({ phase: 'Failed' }) as unknown as { metadata: Record<string, unknown>; status: Record<string, unknown> & { operationState: Record<string, unknown> } };
  if (options.name) app.metadata.name = options.name;
  if (options.resources !== undefined) {
    app.status.resources = Array.from({ length: options.resources }, (_, i) => ({
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
      namespace: 'default',
      name: `deploy-${i}`,
      status: 'Synced',
    }));
  }
  if (options.message) app.status.operationState.message = options.message;
  return app as unknown as Record<string, unknown>;
}

test('matches() uses RE2: a catastrophic-backtracking pattern on a long name finishes, with the right answer', (t) => {
  const name = `${'a'.repeat(5000)}!`;
  t.like(evaluate("app.metadata.name.matches('^(a+)+$')", bigApp({ name })), { fired: false, outcome: 'not_fired' });
  t.like(evaluate("app.metadata.name.matches('^(a+)+!$')", bigApp({ name })), { fired: true, outcome: 'fired' });
  t.like(evaluate("app.status.operationState.message.matches('(a*)*b')", bigApp({ message: 'a'.repeat(10 * 1024) })), { fired: false });
  t.like(evaluate("app.status.operationState.message.matches('(a*)*b')", bigApp({ message: `${'a'.repeat(10 * 1024)}b` })), { fired: true });
});

test('matches() keeps CEL semantics: a partial match unless anchored, RE2 syntax', (t) => {
  const app = bigApp({ name: 'payments-api' });
  t.true(evaluate("app.metadata.name.matches('api')", app).fired);
  t.false(evaluate("app.metadata.name.matches('^api')", app).fired);
  t.true(evaluate("app.metadata.name.matches('^[a-z]+-(api|web)$')", app).fired);
  t.true(evaluate("app.metadata.name.matches('(?i)PAYMENTS')", app).fired);
  t.true(re2Matches('héllo wörld', '^h.llo w.rld$'));
  // Also where the receiver is dyn (inside a comprehension over a schemaless list).
  t.true(evaluate("app.status.resources.exists(r, r.name.matches('^deploy-1[0-9]$'))", bigApp({ resources: 20 })).fired);
});

test('a literal pattern RE2 does not accept is a compile error at the pattern', (t) => {
  const [error] = compileErrors([{ when: "app.metadata.name.matches('(?=x)a')" }]);
  t.like(error, { index: 0, field: 'when', column: 27 });
  t.regex(error!.message, /invalid RE2 regular expression "\(\?=x\)a": invalid or unsupported Perl syntax/);
  t.is(error!.code, undefined);
});

test('a pattern built at run time that RE2 refuses is an evaluation error, not a crash', (t) => {
  const result = evaluate("app.metadata.name.matches(app.metadata.name + '(')", bigApp({ name: 'x' }));
  t.is(result.outcome, 'error');
  t.regex(result.error!, /^when: invalid RE2 regular expression "x\(": missing closing \)/);
});

test('three nested exists() over Application lists are rejected at compile time, with the innermost call located', (t) => {
  const when = [
    'app.status.resources.exists(a,',
    '  app.status.resources.exists(b,',
    "    app.status.resources.exists(c, a.name == b.name && b.name == c.name)))",
  ].join('\n');
  const [error] = compileErrors([{ when: "app.metadata.name != ''" }, { when }]);
  t.like(error, { index: 1, field: 'when', line: 3, column: 26, code: 'cost_limit_exceeded' });
  t.regex(
    error!.message,
    /^estimated cost [\d,]+ exceeds the limit of 10,000,000 \(--cel-cost-limit\): exists\(\) at line 3, column 26, reached 500 × 500 × 500 times, costs [\d,]+ \(lists of the Application counted as 500 elements, --cel-list-size-estimate\)/,
  );
  t.regex(formatTriggerErrors([error!]), /^conditions\[1\]\.when: line 3, column 26: estimated cost/);
});

test('the estimate counts literal lists as they are and follows the limits', (t) => {
  // Literal lists: 3 × 3 × 3 iterations, far under any limit.
  t.truthy(compile('[1, 2, 3].exists(a, [1, 2, 3].exists(b, [1, 2, 3].exists(c, a + b == c)))'));
  // One comprehension over an Application list is fine with the defaults…
  t.truthy(compile("app.status.resources.exists(r, r.kind == 'Deployment')"));
  // …and two nested ones too, while a list estimate of 5,000 makes them too expensive.
  const nested = 'app.status.resources.exists(a, app.status.resources.exists(b, a.name == b.name))';
  t.truthy(compile(nested));
  const [error] = compileErrors([{ when: nested }], { listSizeEstimate: 5000 });
  t.like(error, { column: 53, code: 'cost_limit_exceeded' });
  t.regex(error!.message, /exists\(\) at column 53, reached 5,000 × 5,000 times/);
  // oncePer is bounded the same way.
  const [onceError] = compileErrors([{ when: 'true', oncePer: 'app.status.resources.map(a, app.status.resources.map(b, app.status.resources.map(c, c.name)))' }]);
  t.like(onceError, { field: 'oncePer', code: 'cost_limit_exceeded' });
});

test('the runtime budget stops an expression whose lists are larger than the estimate assumed', (t) => {
  const app = bigApp({ resources: 2000 });
  const when = "app.status.resources.exists(a, app.status.resources.exists(b, a.name == b.name + 'x'))";
  // A smaller budget than the default and no deadline to speak of: the cost decides, not the machine's speed.
  const limits = { costLimit: 1_000_000, listSizeEstimate: 100, timeoutMs: 60_000 };
  const result = evaluate(when, app, limits);
  t.like(result, { fired: false, outcome: 'error' });
  t.regex(result.error!, /^when: cost limit exceeded: exists\(\) at column 53 took the evaluation past 1,000,000 cost units \(--cel-cost-limit\)/);
  // The same expression on a small Application is fine.
  t.like(evaluate(when, bigApp({ resources: 20 }), limits), { outcome: 'not_fired' });
});

test('a budget error is not absorbed by || or by an enclosing exists()', (t) => {
  const app = bigApp({ resources: 300 });
  const limits = { costLimit: 20_000, listSizeEstimate: 10 };
  for (const when of [
    "app.status.resources.exists(a, app.status.resources.exists(b, a.name == b.name + 'x')) || true",
    "app.status.resources.exists(a, app.status.resources.exists(b, a.name == b.name + 'x') || a.name == 'deploy-299')",
  ]) {
    const result = evaluate(when, app, limits);
    t.is(result.outcome, 'error', when);
    t.regex(result.error!, /cost limit exceeded: exists\(\) at column \d+ took the evaluation past 20,000 cost units/);
  }
});

test('regular expressions are charged by the characters they scan', (t) => {
  const app = bigApp({ resources: 100, message: 'x'.repeat(10_000) });
  const when = 'app.status.resources.exists(r, app.status.operationState.message.matches(r.name))';
  const result = evaluate(when, app, { costLimit: 200_000, listSizeEstimate: 10 });
  t.is(result.outcome, 'error');
  t.regex(result.error!, /cost limit exceeded: matches\(\) at column 66 took the evaluation past 200,000 cost units/);
});

test('each condition has its own budget: one over budget leaves the others evaluated', (t) => {
  const result = compileTrigger(
    {
      conditions: [
        { name: 'nested', when: "app.status.resources.exists(a, app.status.resources.exists(b, a.name == b.name + 'x'))", send: ['t'] },
        { name: 'failed', when: "app.status.operationState.phase == 'Failed'", send: ['t'] },
      ],
    },
    { ...DEFAULT_CEL_LIMITS, costLimit: 50_000, listSizeEstimate: 10 },
  );
  if (!result.ok) throw new Error(formatTriggerErrors(result.errors));
  const [first, second] = evaluateTrigger(result.trigger, bigApp({ resources: 500 }), NOW);
  t.is(first!.outcome, 'error');
  t.like(second, { outcome: 'fired', fired: true });
});

test('the time limit stops an evaluation at the next charge after its deadline', (t) => {
  let clock = 0;
  const meter = new CostMeter({ ...DEFAULT_CEL_LIMITS, timeoutMs: 100 }, () => clock);
  const site = { offset: 4, label: 'exists()', at: 'column 5' };
  for (let i = 0; i < 1000; i += 1) meter.charge(1, site);
  clock = 101;
  const error = t.throws(() => {
    for (let i = 0; i < 1000; i += 1) meter.charge(1, site);
  });
  t.is(error?.message, 'time limit exceeded: evaluation ran longer than 100 ms (--cel-timeout); stopped in exists() at column 5');
  // Once exceeded, every later charge fails at once.
  t.is(t.throws(() => meter.charge(1, site)), meter.exceeded!);
});
