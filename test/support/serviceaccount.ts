// herald's ServiceAccount with exactly the permissions of config/rbac, in a test
// namespace, and a kubeconfig that authenticates as it (a TokenRequest token). Tests
// use it to prove that herald does its job with those permissions and no more.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { testCluster } from './cluster.js';
import { repoRoot } from './controlplane/install.js';
import { waitFor } from './wait.js';

export const SERVICE_ACCOUNT = 'herald';

export interface ServiceAccountAccess {
  /** Where the ServiceAccount, the leader-election Role and its binding live (the control namespace). */
  namespace: string;
  serviceAccount: string;
  /** `system:serviceaccount:<namespace>:herald`, for `kubectl --as`. */
  username: string;
  /** The ClusterRole and ClusterRoleBinding, renamed per namespace so that test files do not collide. */
  clusterRoleName: string;
  token: string;
  /** A kubeconfig file for the ServiceAccount (pass it to `herald controller --kubeconfig`). */
  kubeconfigPath: string;
  kc: KubeConfig;
  /** Deletes the cluster-scoped objects and the kubeconfig file. */
  cleanup(): void;
}

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

/** config/rbac as kustomize renders it, moved to `namespace`, cluster-scoped names suffixed. */
export function rbacManifests(namespace: string): Manifest[] {
  const rendered = testCluster().kubectlOrThrow(['kustomize', join(repoRoot, 'config/rbac')]);
  const manifests = parseAllDocuments(rendered).map((doc) => doc.toJS() as Manifest);
  const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding']);
  for (const manifest of manifests) {
    if (clusterScoped.has(manifest.kind)) {
      manifest.metadata.name = `${manifest.metadata.name}-${namespace}`;
      delete manifest.metadata.namespace;
    } else {
      manifest.metadata.namespace = namespace;
    }
    if (manifest.roleRef?.kind === 'ClusterRole') manifest.roleRef.name = `${manifest.roleRef.name}-${namespace}`;
    for (const subject of manifest.subjects ?? []) {
      if (subject.kind === 'ServiceAccount') subject.namespace = namespace;
    }
  }
  return manifests;
}

/** A kubeconfig for `token`, trusting the same API server and CA as the admin kubeconfig. */
export function tokenKubeconfigYaml(admin: KubeConfig, token: string, user: string): string {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no current cluster');
  const clusterEntry: Record<string, unknown> = { server: cluster.server };
  if (cluster.caData) clusterEntry['certificate-authority-data'] = cluster.caData;
  else if (cluster.caFile) clusterEntry['certificate-authority'] = cluster.caFile;
  if (cluster.skipTLSVerify) clusterEntry['insecure-skip-tls-verify'] = true;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: clusterEntry }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: 'test', user } }],
    'current-context': user,
  });
}

/**
 * Applies config/rbac for a ServiceAccount in `namespace` (which is also the control
 * namespace holding the Lease), requests a token for it, writes a kubeconfig, and
 * waits until the API server authorises it (RBAC caches update asynchronously).
 */
export async function heraldServiceAccount(namespace: string): Promise<ServiceAccountAccess> {
  const cluster = testCluster();
  const manifests = rbacManifests(namespace);
  cluster.kubectlOrThrow(['apply', '-f', '-'], manifests.map((m) => `---\n${stringify(m)}`).join(''));
  const clusterRoleName = manifests.find((m) => m.kind === 'ClusterRole')?.metadata.name;
  if (!clusterRoleName) throw new Error('config/rbac has no ClusterRole');

  const token = cluster.kubectlOrThrow(['create', 'token', SERVICE_ACCOUNT, '-n', namespace, '--duration=2h']).trim();
  const username = `system:serviceaccount:${namespace}:${SERVICE_ACCOUNT}`;
  const dir = mkdtempSync(join(tmpdir(), 'herald-sa-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, tokenKubeconfigYaml(cluster.kc, token, username), { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);

  const canI = (verb: string, resource: string, extra: string[]) =>
    spawnSync(cluster.kubectlPath, ['--kubeconfig', kubeconfigPath, 'auth', 'can-i', verb, resource, ...extra], {
      encoding: 'utf8',
      timeout: 30_000,
    }).stdout?.trim() === 'yes';
  await waitFor(
    () => canI('watch', 'applications.argoproj.io', ['--all-namespaces']) && canI('update', 'leases.coordination.k8s.io', ['-n', namespace]),
    `RBAC for ${username} to take effect`,
  );

  return {
    namespace,
    serviceAccount: SERVICE_ACCOUNT,
    username,
    clusterRoleName,
    token,
    kubeconfigPath,
    kc,
    cleanup() {
      cluster.kubectl(['delete', '--ignore-not-found', `clusterrolebinding/${clusterRoleName}`, `clusterrole/${clusterRoleName}`]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
