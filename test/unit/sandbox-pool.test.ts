// The render pool: every render runs in a child process with a deadline and a heap
// limit; what goes over a budget fails that render with the error users see, and the
// pool goes on rendering (test/integration/isolation-templates.test.ts: the operator).
import test from 'ava';
import { TemplateRenderError } from '../../src/errors.js';
import { RenderPool, RenderUnavailableError } from '../../src/sandbox/pool.js';
import { compileTemplate, renderTemplate, TemplateBudgetError, type RenderLimits, type TemplateContext } from '../../src/templates/index.js';

const context: TemplateContext = {
  app: { metadata: { name: 'checkout', namespace: 'shop' } },
  context: { argocdUrl: 'https://argocd.example.com' },
  trigger: 'on-deployed',
  channel: { name: 'ops', type: 'dingtalk' },
  notificationType: 'dingtalk',
};

const limits = (overrides: Partial<RenderLimits> = {}): RenderLimits => ({ timeoutMs: 2000, memoryMiB: 32, maxOutputBytes: 65_536, processes: 2, ...overrides });

/** 2^24 macro calls: seconds of CPU, no output to speak of. */
const RECURSIVE_MACRO = '{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(24) }}';
const NESTED_LOOPS = '{% for i in range(10000) %}{% for j in range(10000) %}{% if i == j and i < 0 %}x{% endif %}{% endfor %}{% endfor %}';
/** One flat 100 MB string: past a 32 MiB heap in one allocation. */
const MEMORY_BOMB = '{{ "x".repeat(100000000).toUpperCase() | length }}';
const REPLACE_BOMB = `{{ "xxxxxxxxxx"${' | replace("x", "xxxxxxxxxx")'.repeat(9)} }}`;

const render = (pool: RenderPool, message: string, group = 'team-a') => pool.render({ key: `${group}/${message}`, group, spec: { message }, context });

test.serial('a render that would run for seconds is stopped at the deadline, and the next render works', async (t) => {
  const pool = new RenderPool({ limits: limits({ timeoutMs: 300 }) });
  t.teardown(() => pool.stop());
  t.deepEqual(await render(pool, 'hello {{ app.metadata.name }}'), { message: 'hello checkout' });
  const startedBefore = pool.started;
  for (const source of [RECURSIVE_MACRO, NESTED_LOOPS]) {
    const error = await t.throwsAsync(render(pool, source), { instanceOf: TemplateBudgetError });
    t.is(error!.reason, 'RenderTimeLimit');
    t.is(error!.message, 'RenderTimeLimit: rendering took longer than 300 ms and was stopped (--template-render-timeout)');
  }
  t.deepEqual(await render(pool, 'again {{ app.metadata.name }}'), { message: 'again checkout' });
  t.true(pool.started > startedBefore, 'a stopped render costs its process, which is replaced');
});

test.serial('a render past the heap limit fails with the memory limit, and the pool recovers', async (t) => {
  // A generous deadline: the process must die of its heap limit, not be stopped.
  const pool = new RenderPool({ limits: limits({ timeoutMs: 30_000, memoryMiB: 32 }) });
  t.teardown(() => pool.stop());
  t.deepEqual(await render(pool, 'warm'), { message: 'warm' });
  const error = await t.throwsAsync(render(pool, MEMORY_BOMB), { instanceOf: TemplateBudgetError });
  t.is(error!.reason, 'RenderMemoryLimit');
  t.is(error!.message, 'RenderMemoryLimit: rendering needed more than its 32 MiB of memory and was stopped (--template-render-memory)');
  t.deepEqual(await render(pool, '{{ app.metadata.namespace }}'), { message: 'shop' });
  t.is(pool.pids().length, 2);
});

test.serial('output over the cap fails at once, without costing a process: indent, center, replace chains, long loops', async (t) => {
  const pool = new RenderPool({ limits: limits({ maxOutputBytes: 1000 }) });
  t.teardown(() => pool.stop());
  t.deepEqual(await render(pool, 'warm'), { message: 'warm' });
  const started = pool.started;
  for (const source of ['{{ "x" | indent(1000000000) }}', '{{ "x" | center(1000000000) }}', REPLACE_BOMB, '{% for i in range(2000) %}x{% endfor %}']) {
    const error = await t.throwsAsync(render(pool, source), { instanceOf: TemplateBudgetError }, source);
    t.is(error!.message, 'RenderOutputLimit: message: the rendered text passed 1000 bytes and was stopped (--template-max-output-bytes)', source);
  }
  // The fields of one message share the cap.
  const two = await t.throwsAsync(
    pool.render({ group: 'a', spec: { message: '{{ "y" * 1 }}{% for i in range(600) %}x{% endfor %}', dingtalk: { msgType: 'text', text: '{% for i in range(600) %}x{% endfor %}' } }, context }),
    { instanceOf: TemplateBudgetError },
  );
  t.regex(two!.message, /^RenderOutputLimit: dingtalk\.text: /);
  t.is(pool.started, started, 'no process was killed');
  t.deepEqual(await render(pool, '{% for i in range(999) %}x{% endfor %}'), { message: 'x'.repeat(999) });
});

test.serial('in this process (no pool), the same output cap and error', (t) => {
  const compiled = compileTemplate({ message: '{{ "x" | indent(1000000000) }}' });
  if (!compiled.ok) return t.fail();
  const error = t.throws(() => renderTemplate(compiled.template, context, { maxOutputBytes: 500, memoryMiB: 32 }), { instanceOf: TemplateBudgetError });
  t.is(error!.message, 'RenderOutputLimit: message: the rendered text passed 500 bytes and was stopped (--template-max-output-bytes)');
});

test.serial('an ordinary render error comes back with its field and line', async (t) => {
  const pool = new RenderPool({ limits: limits() });
  t.teardown(() => pool.stop());
  const error = await t.throwsAsync(pool.render({ group: 'a', spec: { dingtalk: { msgType: 'markdown', title: 'T', text: 'line one\n{{ nothing() }}' } }, context }), {
    instanceOf: TemplateRenderError,
  });
  t.is(error!.field, 'dingtalk.text');
  t.is(error!.line, 2);
  t.regex(error!.message, /^dingtalk\.text: line 2: Unable to call `nothing`/);
});

test.serial("one namespace's slow templates leave a process free for everyone else", async (t) => {
  const pool = new RenderPool({ limits: limits({ timeoutMs: 3000 }) });
  t.teardown(() => pool.stop());
  await Promise.all([render(pool, 'warm', 'a'), render(pool, 'warm', 'b')]);
  const hostile = [render(pool, RECURSIVE_MACRO, 'tenant-a'), render(pool, NESTED_LOOPS, 'tenant-a')];
  for (const p of hostile) p.catch(() => {});
  const started = Date.now();
  t.deepEqual(await render(pool, 'fine {{ app.metadata.name }}', 'tenant-b'), { message: 'fine checkout' });
  t.true(Date.now() - started < 1500, `tenant-b waited ${Date.now() - started} ms`);
  t.is(pool.queued, 1, "tenant-a's second render waits for its first");
  await Promise.allSettled(hostile);
});

test.serial('a full queue and a stopped pool refuse renders as transient errors', async (t) => {
  const pool = new RenderPool({ limits: limits({ processes: 1, timeoutMs: 5000 }), queueLimit: 2 });
  const first = render(pool, RECURSIVE_MACRO);
  const waiting = [render(pool, 'one'), render(pool, 'two')];
  const refused = await t.throwsAsync(render(pool, 'three'), { instanceOf: RenderUnavailableError });
  t.is(refused!.message, '2 renders are waiting already (at most 2); retrying later');
  await pool.stop();
  for (const p of [first, ...waiting]) await t.throwsAsync(p, { instanceOf: RenderUnavailableError });
  await t.throwsAsync(render(pool, 'four'), { instanceOf: RenderUnavailableError });
});
