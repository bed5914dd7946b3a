// The notification context: the ConfigMap's validation, precedence (flag or
// environment > ConfigMap > default), and the controller's state across ConfigMap
// versions (a bad one is reported and the last good one stays in force).
import test from 'ava';
import { controllerConfig } from '../../src/config.js';
import { DEFAULT_ARGOCD_URL, describeContext, parseContextData, resolveContext } from '../../src/context/index.js';
import { ContextState, type ContextConfigMap } from '../../src/context/source.js';
import type { EventSink, InvolvedObject } from '../../src/kube/events.js';
import { createLogger } from '../../src/observability/logger.js';
import { UsageError } from '../../src/flags.js';

test('the ConfigMap: argocdUrl (normalised) and any key usable as context.<key>', (t) => {
  t.deepEqual(parseContextData({ argocdUrl: 'https://cd.example.com/', env: 'prod', team_name: 'payments' }), {
    ok: true,
    values: { argocdUrl: 'https://cd.example.com', env: 'prod', team_name: 'payments' },
  });
  t.deepEqual(parseContextData(undefined), { ok: true, values: {} });
});

test('a bad ConfigMap: unknown keys, an invalid URL and binaryData are each named', (t) => {
  const parsed = parseContextData({ argocdURL: 'https://cd', 'argocd-url': 'https://cd', 'my-key': 'x', '1st': 'x' }, { logo: 'AAAA' });
  t.false(parsed.ok);
  t.deepEqual(!parsed.ok && parsed.problems, [
    'binaryData key "logo": the context is text; put it under data',
    'unknown key "argocdURL" (did you mean argocdUrl?)',
    'unknown key "argocd-url" (did you mean argocdUrl?)',
    'unknown key "my-key": a context key is used as context.<key> in templates, so it has only letters, digits and _ and does not start with a digit',
    'unknown key "1st": a context key is used as context.<key> in templates, so it has only letters, digits and _ and does not start with a digit',
  ]);
  for (const [url, why] of [
    ['argocd.mycorp.com', /not an absolute URL/],
    ['ftp://argocd.mycorp.com', /must start with https:\/\/ or http:\/\//],
    ['https://argocd.mycorp.com/?x=1', /query or fragment/],
  ] as const) {
    const bad = parseContextData({ argocdUrl: url });
    t.false(bad.ok, url);
    t.regex(!bad.ok ? bad.problems[0]! : '', why);
  }
});

test('precedence, key by key: flag or environment, then the ConfigMap, then the default; argocdUrl first, then the keys in name order', (t) => {
  const configMap = { values: { argocdUrl: 'https://from-cm', zone: 'cm', env: 'cm' }, origin: 'ConfigMap argocd/herald-context' };
  t.deepEqual(resolveContext({ values: {} }), { values: { argocdUrl: DEFAULT_ARGOCD_URL }, origins: { argocdUrl: 'default' } });
  t.deepEqual(resolveContext({ values: {} }, configMap), {
    values: { argocdUrl: 'https://from-cm', env: 'cm', zone: 'cm' },
    origins: { argocdUrl: configMap.origin, env: configMap.origin, zone: configMap.origin },
  });
  const both = resolveContext({ argocdUrl: 'https://from-flag', values: { env: 'flag', extra: 'flag' } }, configMap);
  t.deepEqual(both.values, { argocdUrl: 'https://from-flag', env: 'flag', extra: 'flag', zone: 'cm' });
  t.deepEqual(Object.keys(both.values), ['argocdUrl', 'env', 'extra', 'zone']);
  t.deepEqual(describeContext(both), [
    'argocdUrl = "https://from-flag" (--argocd-url)',
    'env = "flag" (--context)',
    'extra = "flag" (--context)',
    'zone = "cm" (ConfigMap argocd/herald-context)',
  ]);
});

test('controller flags: --argocd-url and HERALD_ARGOCD_URL are overrides only when given; --context-configmap defaults to herald-context; a bad URL is a usage error', (t) => {
  const plain = controllerConfig([], {});
  t.deepEqual(plain.contextOverrides, { values: {} });
  t.is(plain.contextConfigMap, 'herald-context');
  t.deepEqual({ ...plain.context }, { argocdUrl: DEFAULT_ARGOCD_URL });
  t.is(controllerConfig([], { HERALD_ARGOCD_URL: 'https://env.example.com/' }).contextOverrides.argocdUrl, 'https://env.example.com');
  t.is(controllerConfig(['--argocd-url', 'https://flag.example.com'], { HERALD_ARGOCD_URL: 'https://env.example.com' }).contextOverrides.argocdUrl, 'https://flag.example.com');
  t.is(controllerConfig(['--context-configmap', ''], {}).contextConfigMap, '');
  t.is(controllerConfig([], { HERALD_CONTEXT_CONFIGMAP: 'ctx' }).contextConfigMap, 'ctx');
  t.throws(() => controllerConfig(['--argocd-url', 'argocd.mycorp.com'], {}), { instanceOf: UsageError, message: /^--argocd-url: argocdUrl "argocd\.mycorp\.com" is not an absolute URL/ });
});

function harness(overrides = { values: {} }) {
  const lines: Array<Record<string, unknown>> = [];
  const events: Array<{ object: InvolvedObject; type: string; reason: string; message: string }> = [];
  const sink: EventSink = { record: (object, type, reason, message) => events.push({ object, type, reason, message }) };
  const log = createLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const state = new ContextState({ namespace: 'argocd', name: 'herald-context', overrides, log, events: sink });
  return { state, lines, events };
}

const cm = (resourceVersion: string, data: Record<string, string>): ContextConfigMap => ({
  metadata: { name: 'herald-context', namespace: 'argocd', uid: 'u1', resourceVersion },
  data,
});

test('controller state: a valid ConfigMap applies; an invalid one is logged and an Event, and the last good context stays; deleting it falls back to defaults', (t) => {
  const { state, lines, events } = harness();
  t.deepEqual(state.current(), { argocdUrl: DEFAULT_ARGOCD_URL });
  state.apply(cm('1', { argocdUrl: 'https://cd.mycorp.com', env: 'prod' }));
  t.deepEqual(state.current(), { argocdUrl: 'https://cd.mycorp.com', env: 'prod' });
  t.is(lines.at(-1)?.msg, 'notification context loaded');

  state.apply(cm('2', { argocdUrl: 'cd.mycorp.com', envv: 'x' }));
  t.deepEqual(state.current(), { argocdUrl: 'https://cd.mycorp.com', env: 'prod' }, 'the last good context stays');
  t.is(events.length, 1);
  t.like(events[0], { type: 'Warning', reason: 'InvalidContext', object: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'argocd', name: 'herald-context', uid: 'u1' } });
  t.is(events[0]!.message, 'ConfigMap argocd/herald-context is not a valid notification context: argocdUrl "cd.mycorp.com" is not an absolute URL (write it like https://argocd.example.com); the last valid version stays in force');
  t.like(lines.at(-1), { level: 'error', msg: events[0]!.message });

  state.apply(cm('2', { argocdUrl: 'cd.mycorp.com' }));
  t.is(events.length, 1, 'the same version is not reported twice');

  state.apply(cm('3', { argocdUrl: 'https://cd2.mycorp.com' }));
  t.deepEqual(state.current(), { argocdUrl: 'https://cd2.mycorp.com' });
  state.apply(undefined);
  t.deepEqual(state.current(), { argocdUrl: DEFAULT_ARGOCD_URL });
  t.regex(String(lines.at(-1)?.msg), /^ConfigMap argocd\/herald-context not found; the notification context comes from flags and defaults$/);
});

test('controller state: an invalid first version leaves flags and defaults; flags override the ConfigMap', (t) => {
  const { state, events } = harness({ argocdUrl: 'https://flag.example.com', values: {} } as never);
  state.apply(cm('1', { 'argocd.url': 'https://x' }));
  t.deepEqual(state.current(), { argocdUrl: 'https://flag.example.com' });
  t.regex(events[0]!.message, /unknown key "argocd\.url" \(did you mean argocdUrl\?\); using flags and defaults until it is fixed$/);
  state.apply(cm('2', { argocdUrl: 'https://cm.example.com', env: 'prod' }));
  t.deepEqual(state.current(), { argocdUrl: 'https://flag.example.com', env: 'prod' });
  t.deepEqual(state.resolvedContext().origins, { argocdUrl: '--argocd-url', env: 'ConfigMap argocd/herald-context' });
});
