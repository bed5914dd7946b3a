import test from 'ava';
import type { DingTalkChannel } from '../../src/api/generated.js';
import { routesFor, type NamespacedLookup } from '../../src/controller/routing.js';
import { matchesSelector } from '../../src/controller/selector.js';

function lookup(channels: DingTalkChannel[]): NamespacedLookup<DingTalkChannel> {
  return {
    get: (namespace, name) => channels.find((c) => c.metadata.namespace === namespace && c.metadata.name === name),
    list: (namespace) => channels.filter((c) => c.metadata.namespace === namespace),
  };
}
const channel = (namespace: string, name: string, subscriptions: DingTalkChannel['spec']['subscriptions'] = []): DingTalkChannel => ({
  metadata: { namespace, name },
  spec: { webhook: { urlSecretRef: { name: 's', key: 'url' } }, subscriptions },
});

test('label selectors: matchLabels and every matchExpressions operator', (t) => {
  const labels = { team: 'a', tier: 'web' };
  t.true(matchesSelector(undefined, labels));
  t.true(matchesSelector({}, undefined));
  t.true(matchesSelector({ matchLabels: { team: 'a' } }, labels));
  t.false(matchesSelector({ matchLabels: { team: 'b' } }, labels));
  t.true(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] }, labels));
  t.false(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }, labels));
  t.true(matchesSelector({ matchExpressions: [{ key: 'team', operator: 'Exists' }] }, labels));
  t.false(matchesSelector({ matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, labels));
  t.false(matchesSelector({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['x'] }] }, labels));
});

test('annotations resolve in the app namespace first, then the control namespace, never elsewhere', (t) => {
  const channels = lookup([channel('argocd', 'ops'), channel('team-a', 'ops'), channel('argocd', 'shared'), channel('team-b', 'private')]);
  const { routes, problems } = routesFor(
    { namespace: 'team-a', annotations: { 'herald.gitops.dev/subscribe.on-deployed': 'ops; shared;private;team-b/private' } },
    'argocd',
    channels,
  );
  t.deepEqual(routes, [
    { trigger: 'on-deployed', channel: { namespace: 'team-a', name: 'ops' } },
    { trigger: 'on-deployed', channel: { namespace: 'argocd', name: 'shared' } },
  ]);
  t.is(problems.length, 2);
  t.regex(problems[0]!, /no DingTalkChannel "private" in namespace team-a or argocd/);
  t.regex(problems[1]!, /"team-b\/private" is not a channel name/);
});

test('selector subscriptions: control-namespace channels reach every namespace unless shadowed or limited', (t) => {
  const channels = lookup([
    channel('argocd', 'ops', [{ triggers: ['on-deployed'], selector: { matchLabels: { team: 'a' } } }]),
    channel('argocd', 'limited', [{ triggers: ['on-sync-failed'], namespaces: ['team-x'] }]),
    channel('team-b', 'ops', [{ triggers: ['on-sync-running'] }]),
  ]);
  t.deepEqual(routesFor({ namespace: 'team-a', labels: { team: 'a' } }, 'argocd', channels).routes, [
    { trigger: 'on-deployed', channel: { namespace: 'argocd', name: 'ops' } },
  ]);
  // team-b's own `ops` shadows the control namespace's, whose selector would match.
  t.deepEqual(routesFor({ namespace: 'team-b', labels: { team: 'a' } }, 'argocd', channels).routes, [
    { trigger: 'on-sync-running', channel: { namespace: 'team-b', name: 'ops' } },
  ]);
  t.deepEqual(routesFor({ namespace: 'team-x' }, 'argocd', channels).routes, [
    { trigger: 'on-sync-failed', channel: { namespace: 'argocd', name: 'limited' } },
  ]);
  // A team channel never sees another namespace's apps.
  t.deepEqual(routesFor({ namespace: 'team-c' }, 'argocd', channels).routes, []);
});

test('the same trigger and channel through an annotation and a selector is one route', (t) => {
  const channels = lookup([channel('argocd', 'ops', [{ triggers: ['on-deployed'] }])]);
  const { routes } = routesFor({ namespace: 'argocd', annotations: { 'herald.gitops.dev/subscribe.on-deployed': 'ops' } }, 'argocd', channels);
  t.is(routes.length, 1);
});
