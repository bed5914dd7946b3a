import test from 'ava';
import type { NotificationTemplateSpec } from '../../src/api/generated.js';
import { ConfigurationError, HeraldError, TemplateRenderError } from '../../src/errors.js';
import {
  compileField,
  compileTemplate,
  formatTemplateError,
  formatTemplateErrors,
  initiatorOf,
  renderTemplate,
  type CompiledTemplate,
  type TemplateContext,
  type TemplateFieldError,
} from '../../src/templates/index.js';
import { dateFilter } from '../../src/templates/filters/date.js';
import { durationFilter } from '../../src/templates/filters/duration.js';
import { jsonFilter } from '../../src/templates/filters/json.js';
import { repoURLToHTTPS } from '../../src/templates/filters/repo-url.js';
import { truncateFilter } from '../../src/templates/filters/truncate.js';
import { buildApp } from '../support/fixtures/apps.js';

const app = buildApp({ name: 'checkout', namespace: 'shop', initiatedBy: 'alice' });

function context(overrides: Partial<TemplateContext> = {}): TemplateContext {
  return {
    app: app as unknown as Record<string, unknown>,
    context: { argocdUrl: 'https://argocd.example.com' },
    trigger: 'on-deployed',
    channel: { name: 'dingtalk-ops', type: 'dingtalk' },
    notificationType: 'dingtalk',
    initiator: 'alice',
    ...overrides,
  };
}

function compiled(spec: NotificationTemplateSpec): CompiledTemplate {
  const result = compileTemplate(spec);
  if (!result.ok) throw new Error(`expected the template to compile: ${formatTemplateErrors(result.errors)}`);
  return result.template;
}

function render(source: string, ctx: Partial<TemplateContext> = {}): string {
  return renderTemplate(compiled({ message: source }), context(ctx)).message ?? '';
}

function errorsOf(spec: NotificationTemplateSpec): TemplateFieldError[] {
  const result = compileTemplate(spec);
  if (result.ok) throw new Error(`expected a compile error for ${JSON.stringify(spec)}`);
  return result.errors;
}

// ---- date ----

test('date renders a UTC instant in Asia/Shanghai 8 hours later, and in UTC by default', (t) => {
  t.is(render("{{ '2024-01-01T20:30:05Z' | date('YYYY-MM-DD HH:mm:ss', 'Asia/Shanghai') }}"), '2024-01-02 04:30:05');
  t.is(render("{{ '2024-01-01T20:30:05Z' | date('YYYY-MM-DD HH:mm:ss') }}"), '2024-01-01 20:30:05');
  t.is(render("{{ '2024-01-01T20:30:05Z' | date }}"), '2024-01-01 20:30:05');
  t.is(render("{{ app.status.operationState.startedAt | date('HH:mm Z', 'Asia/Shanghai') }}"), '16:00 +08:00');
});

test('date supports the documented tokens, bracketed literals and daylight saving time', (t) => {
  const instant = '2024-07-04T17:05:09.045Z';
  t.is(dateFilter(instant, 'YYYY YY MMMM MMM MM M DD D dddd ddd', 'UTC'), '2024 24 July Jul 07 7 04 4 Thursday Thu');
  t.is(dateFilter(instant, 'HH H hh h A a mm m ss s SSS Z ZZ', 'UTC'), '17 17 05 5 PM pm 05 5 09 9 045 +00:00 +0000');
  t.is(dateFilter(instant, 'YYYY年MM月DD日 HH:mm', 'Asia/Shanghai'), '2024年07月05日 01:05');
  t.is(dateFilter(instant, '[at] h:mm a [on] dddd', 'America/New_York'), 'at 1:05 pm on Thursday');
  t.is(dateFilter(instant, 'Z', 'America/New_York'), '-04:00');
  t.is(dateFilter('2024-01-04T17:05:09Z', 'Z', 'America/New_York'), '-05:00');
  t.is(dateFilter('2024-01-01T00:00:00Z', 'hh A', 'UTC'), '12 AM');
  t.is(dateFilter('2024-03-01T10:00:00Z', 'HH:mm Z', 'Asia/Kolkata'), '15:30 +05:30');
});

test('date accepts Dates and Unix seconds or milliseconds', (t) => {
  t.is(dateFilter(new Date('2024-01-01T00:00:00Z'), 'YYYY-MM-DD HH:mm', 'Asia/Shanghai'), '2024-01-01 08:00');
  t.is(dateFilter(1_704_067_200, 'YYYY-MM-DD HH:mm'), '2024-01-01 00:00');
  t.is(dateFilter(1_704_067_200_000, 'YYYY-MM-DD HH:mm'), '2024-01-01 00:00');
  t.is(dateFilter('1704067200', 'YYYY-MM-DD'), '2024-01-01');
});

test('date never throws: invalid or missing input renders as itself or empty, an unknown zone as UTC', (t) => {
  t.is(dateFilter('not a date', 'YYYY'), 'not a date');
  t.is(dateFilter(undefined, 'YYYY'), '');
  t.is(dateFilter(null), '');
  t.is(dateFilter('', 'YYYY'), '');
  t.is(dateFilter({}, 'YYYY'), '[object Object]');
  t.is(dateFilter('2024-01-01T00:00:00Z', 'HH:mm', 'Mars/Olympus'), '00:00');
  t.is(render('[{{ app.status.nothing | date("YYYY", "Asia/Shanghai") }}]'), '[]');
  t.is(render('{{ "2024-01-01T00:00:00Z" | date("HH", app.zone) }}', { app: { zone: 'Nowhere/City' } }), '00');
});

// ---- duration ----

test('duration renders seconds and pairs of instants for people', (t) => {
  t.is(durationFilter(65), '1m 5s');
  t.is(durationFilter(0), '0s');
  t.is(durationFilter(3600), '1h');
  t.is(durationFilter(90061), '1d 1h 1m 1s');
  t.is(durationFilter(0.25), '250ms');
  t.is(durationFilter(-65), '-1m 5s');
  t.is(durationFilter('125'), '2m 5s');
  t.is(durationFilter(12n), '12s');
  t.is(durationFilter('2024-05-01T08:00:00Z', '2024-05-01T08:02:30Z'), '2m 30s');
  t.is(render('{{ app.status.operationState.startedAt | duration(app.status.operationState.finishedAt) }}'), '30s');
  t.is(durationFilter('soon'), '');
  t.is(durationFilter('2024-05-01T08:00:00Z', undefined), '');
  t.is(durationFilter('2024-05-01T08:00:00Z', 'later'), '');
  t.is(render('[{{ app.status.operationState.startedAt | duration(app.status.nothing) }}]'), '[]');
});

// ---- json ----

test('json encodes strings safely: quotes, backslashes, newlines, {{ and emoji', (t) => {
  const nasty = 'fix "quotes" \\ back\\slash\nnew line\t{{ app.metadata.name }} {% x %} 🚀 中文';
  t.is(render('{{ app.value | json }}', { app: { value: nasty } }), JSON.stringify(nasty));
  t.is(JSON.parse(render('{{ app.value | json }}', { app: { value: nasty } })), nasty);
  t.is(render('{{ app.nothing | json }}'), 'null');
  t.is(jsonFilter('line\u2028sep'), '"line\\u2028sep"');
});

test('json encodes any value and never throws', (t) => {
  t.is(jsonFilter({ a: [1, true, null], b: 'x' }), '{"a":[1,true,null],"b":"x"}');
  t.is(jsonFilter(undefined), 'null');
  t.is(jsonFilter(12n), '12');
  t.is(jsonFilter(2n ** 70n), '"1180591620717411303424"');
  t.is(jsonFilter(new Map([['k', 'v']])), '{"k":"v"}');
  t.is(jsonFilter({ a: 1 }, 2), '{\n  "a": 1\n}');
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  t.is(jsonFilter(cyclic), '{"name":"loop","self":"[Circular]"}');
  const shared = { x: 1 };
  t.is(jsonFilter([shared, shared]), '[{"x":1},{"x":1}]');
  t.is(render('{{ app.metadata.labels | json }}', { app: { metadata: { labels: { team: 'a"b' } } } }), '{"team":"a\\"b"}');
});

// ---- repoURLToHTTPS ----

test('repoURLToHTTPS turns ssh and credentialed URLs into browsable https URLs', (t) => {
  t.is(repoURLToHTTPS('git@github.com:org/repo.git'), 'https://github.com/org/repo');
  t.is(repoURLToHTTPS('ssh://git@gitlab.example.com:2222/group/sub/repo.git'), 'https://gitlab.example.com/group/sub/repo');
  t.is(repoURLToHTTPS('ssh://git@host/org/repo'), 'https://host/org/repo');
  t.is(repoURLToHTTPS('git+ssh://git@host/org/repo.git'), 'https://host/org/repo');
  t.is(repoURLToHTTPS('https://user:token@github.com/org/repo.git'), 'https://github.com/org/repo');
  t.is(repoURLToHTTPS('https://github.com/org/repo/'), 'https://github.com/org/repo');
  t.is(repoURLToHTTPS('http://git.internal:8080/org/repo.git'), 'http://git.internal:8080/org/repo');
  t.is(repoURLToHTTPS('https://charts.bitnami.com/bitnami'), 'https://charts.bitnami.com/bitnami');
  t.is(repoURLToHTTPS('not a url'), 'not a url');
  t.is(repoURLToHTTPS(undefined), '');
  t.is(render('{{ app.spec.source.repoURL | repoURLToHTTPS }}'), 'https://github.com/argoproj/argocd-example-apps');
});

// ---- truncate ----

test('truncate cuts by characters, end included, never inside an emoji', (t) => {
  t.is(truncateFilter('short', 10), 'short');
  t.is(truncateFilter('abcdefghij', 5), 'abcd…');
  t.is(truncateFilter('abcdefghij', 5, '...'), 'ab...');
  t.is(truncateFilter('abcdefghij', 5, ''), 'abcde');
  t.is(truncateFilter('同步状态已经恢复正常', 5), '同步状态…');
  t.is(truncateFilter('👍🏽👍🏽👍🏽👍🏽', 3), '👍🏽👍🏽…');
  t.is(truncateFilter('👨‍👩‍👧‍👦 family 👨‍👩‍👧‍👦', 2), '👨‍👩‍👧‍👦…');
  t.is(truncateFilter('hello world again', 12), 'hello world…');
  t.is(truncateFilter('abcdefghij', 5, true, '..'), 'abc..');
  t.is(truncateFilter(undefined, 5), '');
  t.is(truncateFilter(1234567, 3), '12…');
  t.is(render("{{ app.status.operationState.syncResult.revision | truncate(7, '') }}"), '6f1b2c3');
});

// ---- environment ----

test('the environment does not escape HTML, renders undefined as empty, and trims block lines', (t) => {
  t.is(render('{{ app.v }}', { app: { v: 'a & b <c>' } }), 'a & b <c>');
  t.is(render('[{{ app.nope.deeper.still }}]'), '[]');
  t.is(render('- a\n{% if true %}\n- b\n{% endif %}\n- c'), '- a\n- b\n- c');
  t.is(render('{{ trigger }} {{ channel.name }} {{ notificationType }} {{ initiator }} {{ context.argocdUrl }}'), 'on-deployed dingtalk-ops dingtalk alice https://argocd.example.com');
});

test('templates cannot reach Function through constructor or prototype, even with computed keys', (t) => {
  t.like(errorsOf({ message: '{{ "".constructor.constructor("return process")() }}' })[0], { field: 'message', line: 1 });
  t.regex(errorsOf({ message: '{{ app["__proto__"] }}' })[0]?.message ?? '', /'__proto__' may not be used/);
  t.regex(errorsOf({ message: '{{ constructor }}' })[0]?.message ?? '', /'constructor' may not be used/);
  const sneaky = compiled({ message: '{% set k = "constr" + "uctor" %}{{ ""[k][k]("return 42")() }}' });
  const error = t.throws(() => renderTemplate(sneaky, context()), { instanceOf: TemplateRenderError });
  t.regex(error?.message ?? '', /Unable to call/);
  t.is(render('{% set k = "constr" + "uctor" %}[{{ app[k] }}][{{ range[k] }}][{{ range.call }}]'), '[][][]');
});

test('range() is bounded so a template cannot spin', (t) => {
  t.is(render('{{ range(3) | join(",") }}'), '0,1,2');
  t.throws(() => render('{% for i in range(0, 1000000) %}x{% endfor %}'), { instanceOf: TemplateRenderError, message: /range\(\) is limited/ });
});

// ---- compile ----

test('a syntax error names the field, line and column', (t) => {
  const errors = errorsOf({ dingtalk: { msgType: 'markdown', title: 'ok', text: 'line one\nline two\n{{ x }}}} {{ }}' } });
  t.deepEqual(errors, [{ field: 'dingtalk.text', line: 3, column: 14, message: "unexpected token '}}'" }]);
  t.is(formatTemplateError(errors[0]!), "dingtalk.text: line 3, column 14: unexpected token '}}'");
});

test('compile errors cover every field path, unclosed tags, unknown filters and zones, and loaders', (t) => {
  const errors = errorsOf({
    message: '{% if app %}never closed',
    dingtalk: {
      msgType: 'actionCard',
      title: '{{ app.metadata.name',
      singleTitle: '{{ app.metadata.name ',
      singleURL: '{{ link(',
      text: 'a\n{{ app | nofilter }}',
      btns: [
        { title: 'ok', actionURL: 'https://example.com' },
        { title: 'bad', actionURL: '{{ app.x | date("YYYY", "Asia/Shangai") }}' },
      ],
      links: [{ title: '{% include "other" %}', messageURL: 'u' }],
      at: { mobiles: ['{% import "m" as m %}'], userIds: ['{% extends "base" %}'] },
    },
  });
  t.deepEqual(
    errors.map(formatTemplateError),
    [
      'message: line 1: expected elif, else, or endif, got end of template',
      'dingtalk.title: line 1: unexpected end of template: expected variable end',
      "dingtalk.text: line 2, column 10: unknown filter 'nofilter'",
      'dingtalk.singleTitle: line 1: unexpected end of template: expected variable end',
      'dingtalk.singleURL: line 1: unexpected end of template (an unclosed tag or bracket?)',
      "dingtalk.btns[1].actionURL: line 1, column 12: unknown time zone 'Asia/Shangai' (use an IANA name such as Asia/Shanghai)",
      'dingtalk.links[0].title: line 1, column 4: {% include %} is not available: each template field is self-contained',
      'dingtalk.at.mobiles[0]: line 1, column 4: {% import %} is not available: each template field is self-contained',
      'dingtalk.at.userIds[0]: line 1, column 4: {% extends %} is not available: each template field is self-contained',
    ],
  );
});

test('each message type needs its fields', (t) => {
  t.deepEqual(errorsOf({ dingtalk: { msgType: 'markdown', text: 'x' } }).map(formatTemplateError), ['dingtalk.title: required for msgType markdown']);
  t.deepEqual(errorsOf({ dingtalk: { text: 'x' } }).map(formatTemplateError), ['dingtalk.title: required for msgType markdown']);
  t.deepEqual(errorsOf({ dingtalk: { msgType: 'link', title: 't', text: 'x' } }).map(formatTemplateError), ['dingtalk.messageURL: required for msgType link']);
  t.deepEqual(errorsOf({ dingtalk: { msgType: 'actionCard', title: 't', text: 'x' } }).map(formatTemplateError), ['dingtalk: an actionCard needs singleTitle with singleURL, or btns']);
  t.deepEqual(errorsOf({ dingtalk: { msgType: 'feedCard' } }).map(formatTemplateError), ['dingtalk.links: required for msgType feedCard']);
  t.deepEqual(errorsOf({}).map(formatTemplateError), ['spec: a template needs message or dingtalk']);
});

test('text without template syntax is kept as a constant', (t) => {
  t.deepEqual(compileField('message', 'plain { text }'), { field: 'message', constant: 'plain { text }' });
  t.true('template' in compileField('message', '{{ x }}'));
});

// ---- render ----

const markdownSpec: NotificationTemplateSpec = {
  message: '{{ app.metadata.name }} deployed',
  dingtalk: {
    title: 'ArgoCD {{ app.metadata.name }}',
    text: '### {{ app.metadata.name }}\n- commit: {{ app.commit }}',
    at: { mobiles: ['{{ app.oncall }}', '13800000000', '{{ app.nobody }}'], userIds: ['user-{{ initiator }}'], all: false, initiator: true },
  },
};

test('markdown (the default msgType) renders every field into plain data, whatever the values hold', (t) => {
  const commit = 'Fix "quote" and \\ and\nnewline {{ not.a.template }} 🚀';
  const rendered = renderTemplate(compiled(markdownSpec), context({ app: { metadata: { name: 'checkout' }, commit, oncall: ' 13900000000 ' } }));
  t.deepEqual(rendered, {
    message: 'checkout deployed',
    dingtalk: {
      msgType: 'markdown',
      title: 'ArgoCD checkout',
      text: `### checkout\n- commit: ${commit}`,
      at: { mobiles: ['13900000000', '13800000000'], userIds: ['user-alice'], all: false, initiator: true },
    },
  });
  t.deepEqual(JSON.parse(JSON.stringify(rendered)), rendered);
});

test('text, link, actionCard and feedCard messages render their own fields', (t) => {
  const ctx = context();
  t.deepEqual(renderTemplate(compiled({ dingtalk: { msgType: 'text', text: 'ArgoCD {{ app.metadata.name }}', at: { all: true } } }), ctx).dingtalk, {
    msgType: 'text',
    text: 'ArgoCD checkout',
    at: { all: true },
  });
  t.deepEqual(
    renderTemplate(compiled({ dingtalk: { msgType: 'link', title: '{{ app.metadata.name }}', text: 'synced', messageURL: '{{ context.argocdUrl }}/applications/{{ app.metadata.namespace }}/{{ app.metadata.name }}', picURL: 'https://example.com/p.png' } }), ctx).dingtalk,
    { msgType: 'link', title: 'checkout', text: 'synced', messageURL: 'https://argocd.example.com/applications/shop/checkout', picURL: 'https://example.com/p.png' },
  );
  t.deepEqual(
    renderTemplate(compiled({ dingtalk: { msgType: 'actionCard', title: 'T', text: '{{ app.metadata.name }}', singleTitle: 'Open', singleURL: '{{ context.argocdUrl }}' } }), ctx).dingtalk,
    { msgType: 'actionCard', title: 'T', text: 'checkout', singleTitle: 'Open', singleURL: 'https://argocd.example.com' },
  );
  t.deepEqual(
    renderTemplate(
      compiled({
        dingtalk: {
          msgType: 'actionCard',
          title: 'T',
          text: 'x',
          btnOrientation: '1',
          btns: [
            { title: 'App', actionURL: '{{ context.argocdUrl }}/applications/{{ app.metadata.name }}' },
            { title: 'Repo', actionURL: '{{ app.spec.source.repoURL | repoURLToHTTPS }}' },
          ],
        },
      }),
      ctx,
    ).dingtalk,
    {
      msgType: 'actionCard',
      title: 'T',
      text: 'x',
      btnOrientation: '1',
      btns: [
        { title: 'App', actionURL: 'https://argocd.example.com/applications/checkout' },
        { title: 'Repo', actionURL: 'https://github.com/argoproj/argocd-example-apps' },
      ],
    },
  );
  t.deepEqual(
    renderTemplate(
      compiled({
        dingtalk: {
          msgType: 'feedCard',
          links: [
            { title: '{{ app.metadata.name }}', messageURL: '{{ context.argocdUrl }}', picURL: 'https://example.com/{{ app.metadata.name }}.png' },
            { title: 'second', messageURL: 'https://example.com/2' },
          ],
        },
      }),
      ctx,
    ).dingtalk,
    {
      msgType: 'feedCard',
      links: [
        { title: 'checkout', messageURL: 'https://argocd.example.com', picURL: 'https://example.com/checkout.png' },
        { title: 'second', messageURL: 'https://example.com/2' },
      ],
    },
  );
});

test('a render-time failure is a TemplateRenderError naming the field and line', (t) => {
  const template = compiled({ dingtalk: { title: 't', text: 'first line\n{{ app.metadata.name.nope() }}' } });
  const error = t.throws(() => renderTemplate(template, context()), { instanceOf: TemplateRenderError });
  t.true(error instanceof ConfigurationError && error instanceof HeraldError);
  t.is(error?.field, 'dingtalk.text');
  t.is(error?.line, 2);
  t.is(error?.message, 'dingtalk.text: line 2: Unable to call `app["metadata"]["name"]["nope"]`, which is undefined or falsey');
  t.truthy(error?.cause);
});

test('initiatorOf is the user who started the sync, undefined for automated or unknown', (t) => {
  t.is(initiatorOf(buildApp({ initiatedBy: 'alice' })), 'alice');
  t.is(initiatorOf(buildApp({ initiatedBy: 'automated' })), undefined);
  t.is(initiatorOf(buildApp({ phase: null })), undefined);
  t.is(initiatorOf({ status: { operationState: { operation: { initiatedBy: { username: 'bob', automated: true } } } } }), undefined);
  t.is(initiatorOf(null), undefined);
});
