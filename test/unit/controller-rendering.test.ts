// The controller's renders go through the render pool; a render over a budget is
// reported on the template (status entry, Event) with what and where, and fails only
// that message; a pool that cannot render now is a transient error (the app is retried).
import test from 'ava';
import type { NotificationTemplate } from '../../src/api/generated.js';
import { TemplateRenderer } from '../../src/controller/rendering.js';
import { ConfigStore } from '../../src/controller/store.js';
import type { EventType, InvolvedObject } from '../../src/kube/events.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { RenderUnavailableError, type RenderJob } from '../../src/sandbox/pool.js';
import { compileTemplate, DEFAULT_RENDER_LIMITS, TemplateBudgetError, type TemplateContext } from '../../src/templates/index.js';

const context: TemplateContext = {
  app: { metadata: { name: 'checkout', namespace: 'shop' } },
  context: {},
  trigger: 'on-deployed',
  channel: { name: 'ops', type: 'dingtalk' },
  notificationType: 'dingtalk',
};
const site = { app: 'shop/checkout', trigger: 'on-deployed', channel: { namespace: 'shop', name: 'ops' } };

function setup(message: string, pool?: (job: RenderJob) => Promise<never>, timeoutMs = 10_000) {
  const store = new ConfigStore();
  const object: NotificationTemplate = { apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'NotificationTemplate', metadata: { name: 'hello', namespace: 'shop', uid: 'u1', generation: 3 }, spec: { message } };
  const compiled = compileTemplate(object.spec);
  if (!compiled.ok) throw new Error('test template does not compile');
  store.templates.set('shop', 'hello', { object, generation: 3, compiled: compiled.template });
  const events: Array<{ object: InvolvedObject; type: EventType; reason: string; message: string }> = [];
  const changed: string[] = [];
  const jobs: RenderJob[] = [];
  const metrics = createMetrics({ defaultMetrics: false });
  const renderer = new TemplateRenderer({
    store,
    controlNamespace: 'argocd',
    limits: { ...DEFAULT_RENDER_LIMITS, timeoutMs, processes: 2 },
    events: { record: (object, type, reason, text) => events.push({ object, type, reason, message: text }) },
    log: createLogger('error'),
    metrics,
    statusChanged: (namespace, name) => changed.push(`${namespace}/${name}`),
    now: () => new Date('2026-12-02T01:02:03.456Z'),
    ...(pool
      ? {
          createPool: () => ({
            render: (job: RenderJob) => {
              jobs.push(job);
              return pool(job);
            },
            stop: async () => {},
          }),
        }
      : {}),
  });
  return { store, renderer, events, changed, jobs, metrics };
}

test('a render runs in a render process, grouped by the Application\'s namespace and keyed by the template\'s uid and generation', async (t) => {
  const { renderer } = setup('hello {{ app.metadata.name }}');
  await t.throwsAsync(renderer.render('shop', 'hello', context, site), { instanceOf: RenderUnavailableError }, 'not started: transient, never rendered in the operator');
  renderer.start();
  t.teardown(() => renderer.stop());
  t.deepEqual(await renderer.render('shop', 'hello', context, site), { message: 'hello checkout' });
  const fake = setup('x', () => Promise.reject(new Error('unused')));
  fake.renderer.start();
  await t.throwsAsync(fake.renderer.render('shop', 'hello', context, site));
  t.like(fake.jobs[0], { group: 'shop', key: 'shop/hello/u1@3' });
});

test('a namespace whose renders overran the deadline may have processes-1 renders in progress; more are transient, other namespaces unaffected', async (t) => {
  const hanging: Array<(value: never) => void> = [];
  let fail = true;
  const { renderer, store } = setup('x', () => {
    if (fail) {
      fail = false;
      return Promise.reject(new TemplateBudgetError('RenderTimeLimit', 'stopped'));
    }
    return new Promise<never>((resolve) => hanging.push(resolve));
  });
  // The control namespace's template, used by two namespaces: each counts for itself.
  store.templates.set('argocd', 'shared', store.templates.get('shop', 'hello')!);
  renderer.start();
  await t.throwsAsync(renderer.render('shop', 'hello', context, site), { instanceOf: TemplateBudgetError });
  const first = renderer.render('shop', 'hello', context, site);
  await t.throwsAsync(renderer.render('shop', 'hello', context, site), { instanceOf: RenderUnavailableError, message: /^renders for namespace shop went over their time or memory budget in the last 60 s; 1 renders of such namespaces are in progress \(at most 1\), this one is retried later$/ });
  const elsewhere = renderer.render('team-b', 'shared', context, { ...site, app: 'team-b/app' });
  t.is(hanging.length, 2, 'another namespace renders meanwhile');
  for (const resolve of hanging) resolve({ message: 'ok' } as never);
  t.deepEqual(await first, { message: 'ok' });
  t.deepEqual(await elsewhere, { message: 'ok' });
});

test('a render over its time budget fails that message and sets lastBudgetFailure and an Event on the template', async (t) => {
  const { renderer, store, events, changed, metrics } = setup('{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}', undefined, 300);
  renderer.start();
  t.teardown(() => renderer.stop());
  const error = await t.throwsAsync(renderer.render('shop', 'hello', context, site), { instanceOf: TemplateBudgetError });
  t.is(error!.reason, 'RenderTimeLimit');
  t.deepEqual(store.templates.get('shop', 'hello')!.lastBudgetFailure, {
    reason: 'RenderTimeLimit',
    message: 'RenderTimeLimit: rendering took longer than 300 ms and was stopped (--template-render-timeout)',
    application: 'shop/checkout',
    trigger: 'on-deployed',
    channel: 'shop/ops',
    time: '2026-12-02T01:02:03Z',
    generation: 3,
  });
  t.deepEqual(changed, ['shop/hello']);
  t.is((await metrics.templateBudgetExceeded.get()).values.find((v) => v.labels.namespace === 'shop' && v.labels.reason === 'RenderTimeLimit')?.value, 1);
  t.is(events.length, 1);
  t.like(events[0], { type: 'Warning', reason: 'RenderTimeLimit', object: { kind: 'NotificationTemplate', namespace: 'shop', name: 'hello', uid: 'u1' } });
  t.regex(events[0]!.message, /^RenderTimeLimit: rendering took longer than 300 ms .*; the message for Application shop\/checkout, trigger on-deployed, channel shop\/ops failed$/);
  // The pool goes on.
  t.deepEqual(await setupAndRender(t), { message: 'fine' });
});

async function setupAndRender(t: import('ava').ExecutionContext): Promise<unknown> {
  const { renderer } = setup('fine');
  renderer.start();
  t.teardown(() => renderer.stop());
  return renderer.render('shop', 'hello', context, site);
}

test('output over the cap is a budget failure too; a failure of a template that changed meanwhile is not recorded', async (t) => {
  const wide = setup('{{ "x" | indent(1000000000) }}');
  wide.renderer.start();
  t.teardown(() => wide.renderer.stop());
  await t.throwsAsync(wide.renderer.render('shop', 'hello', context, site), { instanceOf: TemplateBudgetError });
  t.is(wide.store.templates.get('shop', 'hello')!.lastBudgetFailure?.reason, 'RenderOutputLimit');

  let entryOf: (() => void) | undefined;
  const changedMeanwhile = setup('x', async () => {
    entryOf!();
    throw new TemplateBudgetError('RenderTimeLimit', 'stopped');
  });
  entryOf = () => {
    changedMeanwhile.store.templates.get('shop', 'hello')!.generation = 4;
  };
  changedMeanwhile.renderer.start();
  await t.throwsAsync(changedMeanwhile.renderer.render('shop', 'hello', context, site), { instanceOf: TemplateBudgetError });
  t.is(changedMeanwhile.store.templates.get('shop', 'hello')!.lastBudgetFailure, undefined);
  t.deepEqual(changedMeanwhile.events, []);
});

test('missing and not-Ready templates fail without a render; a stopped pool is transient', async (t) => {
  const { renderer, store, jobs } = setup('x', () => Promise.reject(new RenderUnavailableError('template rendering stopped')));
  renderer.start();
  await t.throwsAsync(renderer.render('shop', 'nope', context, site), { message: 'no NotificationTemplate "nope" in namespace shop or argocd' });
  store.templates.get('shop', 'hello')!.compiled = undefined;
  await t.throwsAsync(renderer.render('shop', 'hello', context, site), { message: /is not Ready/ });
  t.is(jobs.length, 0);
  const again = compileTemplate({ message: 'x' });
  if (again.ok) store.templates.get('shop', 'hello')!.compiled = again.template;
  await t.throwsAsync(renderer.render('shop', 'hello', context, site), { instanceOf: RenderUnavailableError });
  t.is(store.templates.get('shop', 'hello')!.lastBudgetFailure, undefined);
});

test('stop() ends the render processes', async (t) => {
  const { renderer } = setup('x');
  renderer.start();
  await renderer.stop();
  await t.throwsAsync(renderer.render('shop', 'hello', context, site), { instanceOf: RenderUnavailableError, message: 'template rendering is not running' });
});

test('namespaces that overran lately share processes-1 renders between them; others are not held back', async (t) => {
  const hanging: Array<(value: never) => void> = [];
  const failing = new Set(['team-a', 'team-b']);
  const { renderer, store } = setup('x', (job) => {
    if (failing.delete(job.group)) return Promise.reject(new TemplateBudgetError('RenderTimeLimit', 'stopped'));
    return new Promise<never>((resolve) => hanging.push(resolve));
  });
  // A control-namespace template, rendered for three namespaces.
  store.templates.set('argocd', 'hello', store.templates.get('shop', 'hello')!);
  renderer.start();
  const siteIn = (namespace: string) => ({ ...site, app: `${namespace}/app` });
  await t.throwsAsync(renderer.render('team-a', 'hello', context, siteIn('team-a')), { instanceOf: TemplateBudgetError });
  await t.throwsAsync(renderer.render('team-b', 'hello', context, siteIn('team-b')), { instanceOf: TemplateBudgetError });
  const a = renderer.render('team-a', 'hello', context, siteIn('team-a'));
  await t.throwsAsync(renderer.render('team-b', 'hello', context, siteIn('team-b')), {
    instanceOf: RenderUnavailableError,
    message: /^renders for namespace team-b went over .* 1 renders of such namespaces are in progress \(at most 1\), this one is retried later$/,
  });
  const shop = renderer.render('shop', 'hello', context, site);
  t.is(hanging.length, 2, 'team-a and shop render; team-b waits');
  for (const resolve of hanging) resolve({ message: 'ok' } as never);
  t.deepEqual(await a, { message: 'ok' });
  t.deepEqual(await shop, { message: 'ok' });
});
