// The pinned versions in test/support/controlplane/versions.ts key the binary caches;
// the Go tool modules in test/support/controlplane/tools/ are what gets built. They
// must name the same versions, or a cache would hold a binary of another version.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { repoRoot } from '../support/controlplane/install.js';
import { ETCD_VERSION, KUBERNETES_VERSION, PROMETHEUS_MODULE_VERSION } from '../support/controlplane/versions.js';

function required(tool: string, module: string): string | undefined {
  const goMod = readFileSync(join(repoRoot, 'test/support/controlplane/tools', tool, 'go.mod'), 'utf8');
  const escaped = module.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\s*${escaped} (v\\S+)`, 'm').exec(goMod)?.[1];
}

test('each tool module requires the version that keys its cache', (t) => {
  t.is(required('kubernetes', 'k8s.io/kubernetes'), KUBERNETES_VERSION);
  t.is(required('etcd', 'go.etcd.io/etcd/server/v3'), ETCD_VERSION);
  t.is(required('prometheus', 'github.com/prometheus/prometheus'), PROMETHEUS_MODULE_VERSION);
});

test('the check reads go.mod: an absent module has no version', (t) => {
  t.is(required('prometheus', 'example.com/not-required'), undefined);
});
