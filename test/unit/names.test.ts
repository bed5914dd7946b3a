import test from 'ava';
import { isNamespaceName, isObjectName } from '../../src/names.js';

test('object names are DNS subdomains (dots allowed, 253 characters); namespaces are DNS labels (63)', (t) => {
  for (const good of ['a', 'ops-team', 'on-sync.v2', '0x']) t.true(isObjectName(good), good);
  for (const bad of ['', 'Ops', '-a', 'a-', 'a..b', '.a', 'a_b', 'ns/name', 'a'.repeat(254)]) t.false(isObjectName(bad), bad);
  t.true(isObjectName(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`));
  for (const good of ['argocd', 'team-a', 'a'.repeat(63)]) t.true(isNamespaceName(good), good);
  for (const bad of ['', 'team.a', 'Team', 'a'.repeat(64), '-x']) t.false(isNamespaceName(bad), bad);
});
