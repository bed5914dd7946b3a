// What an in-cluster e2e test gets from test/e2e/cluster (inner.ts sets these).
import { spawnSync } from 'node:child_process';

export interface E2eEnv {
  dir: string;
  kubeconfig: string;
  kubectlPath: string;
  nodeIp: string;
  images: Array<{ archive: string; name: string }>;
}

export function e2eEnv(): E2eEnv {
  const get = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: in-cluster e2e tests run inside the e2e cluster (make e2e)`);
    return value;
  };
  return {
    dir: get('HERALD_E2E_DIR'),
    kubeconfig: get('HERALD_E2E_KUBECONFIG'),
    kubectlPath: get('HERALD_E2E_KUBECTL'),
    nodeIp: get('HERALD_E2E_NODE_IP'),
    images: JSON.parse(get('HERALD_E2E_IMAGES')) as Array<{ archive: string; name: string }>,
  };
}

export interface Kubectl {
  (args: string[], input?: string): string;
  json<T>(args: string[]): T;
  try(args: string[], input?: string): { status: number; stdout: string; stderr: string };
}

export function kubectlFor(env: E2eEnv): Kubectl {
  const attempt = (args: string[], input?: string) => {
    const result = spawnSync(env.kubectlPath, ['--kubeconfig', env.kubeconfig, ...args], { input, encoding: 'utf8', timeout: 300_000 });
    return { status: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  };
  const run = ((args: string[], input?: string) => {
    const result = attempt(args, input);
    if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
    return result.stdout;
  }) as Kubectl;
  run.json = <T>(args: string[]) => JSON.parse(run([...args, '-o', 'json'])) as T;
  run.try = attempt;
  return run;
}
