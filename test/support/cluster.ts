// What an integration test file needs from the shared control plane that
// test/support/run-integration started: a KubeConfig, kubectl, and its own namespace.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { CommandResult } from './controlplane/controlplane.js';

export interface TestCluster {
  kubeconfigPath: string;
  kubectlPath: string;
  version: string;
  kc: KubeConfig;
  kubectl(args: string[], input?: string): CommandResult;
  kubectlOrThrow(args: string[], input?: string): string;
}

let cached: TestCluster | undefined;

export function testCluster(): TestCluster {
  if (cached) return cached;
  const kubeconfigPath = process.env.HERALD_TEST_KUBECONFIG;
  const kubectlPath = process.env.HERALD_TEST_KUBECTL;
  if (!kubeconfigPath || !kubectlPath) {
    throw new Error('integration tests need the test control plane: run them with `make test-integration`');
  }
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const kubectl = (args: string[], input?: string): CommandResult => {
    const result = spawnSync(kubectlPath, ['--kubeconfig', kubeconfigPath, ...args], {
      input,
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  };
  cached = {
    kubeconfigPath,
    kubectlPath,
    version: process.env.HERALD_TEST_SERVER_VERSION ?? 'unknown',
    kc,
    kubectl,
    kubectlOrThrow(args, input) {
      const result = kubectl(args, input);
      if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
      return result.stdout;
    },
  };
  return cached;
}

/** A fresh namespace named after the test file, so that files can run in parallel. */
export async function createTestNamespace(fileUrl: string, labels: Record<string, string> = {}): Promise<string> {
  const slug = basename(new URL(fileUrl).pathname)
    .replace(/\.test\.js$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 40)
    .replace(/-+$/, '');
  const name = `${slug}-${randomBytes(3).toString('hex')}`;
  const core = testCluster().kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name, labels: { 'herald.test/file': slug, ...labels } } } });
  return name;
}
