// Runs `herald controller` as a real process against the test control plane, with
// free ports, and captures every log line it prints (for assertions, including that
// no secret ever appears in them).
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { heraldEntry, repoRoot } from './controlplane/install.js';
import { exited, forEachLine, spawnTied, terminate } from './process.js';
import { testCluster } from './cluster.js';
import { waitFor } from './wait.js';

interface ManagerContainer {
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  resources?: { limits?: { memory?: string } };
}

/** The controller container of config/manager's Deployment. */
export function managerContainer(): ManagerContainer {
  const deployment = parseYaml(readFileSync(join(repoRoot, 'config/manager/manager.yaml'), 'utf8')) as {
    spec: { template: { spec: { containers: Array<ManagerContainer & { name: string }> } } };
  };
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'controller');
  if (!container) throw new Error('config/manager/manager.yaml has no controller container');
  return container;
}

/** NODE_OPTIONS as the Deployment sets it (the heap limit), so tests run herald as it runs in a pod. */
export function deploymentNodeOptions(): string {
  const value = managerContainer().env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
  if (!value) throw new Error('config/manager/manager.yaml sets no NODE_OPTIONS for the controller');
  return value;
}

/** The allow-list entry for the test robot (startDingTalkRobot listens on 127.0.0.1, any free port). */
export const LOOPBACK_ROBOT_HOSTS = 'http://127.0.0.1:*';

export interface OperatorOptions {
  /** herald's control namespace (its Lease lives here). */
  controlNamespace: string;
  /** Application namespaces to watch; default: just the control namespace. */
  namespaces?: string[];
  /** A kubeconfig other than the admin one (e.g. a ServiceAccount's). */
  kubeconfig?: string;
  identity?: string;
  leaderElection?: boolean;
  leaseDurationSeconds?: number;
  webhook?: boolean;
  webhookSecretName?: string;
  /** --argocd-url (default https://argocd.example.com); null: no flag, the context ConfigMap decides. */
  argocdUrl?: string | null;
  /**
   * --dingtalk-allowed-hosts entries. Default: the loopback robot of test/support
   * (`http://127.0.0.1:*`), which herald refuses unless allowed like any host but
   * oapi.dingtalk.com. `[]` runs herald with its production default.
   */
  dingtalkAllowedHosts?: string[];
  extraArgs?: string[];
  env?: Record<string, string>;
  /** Wait until /readyz says ready (default true). */
  waitReady?: boolean;
}

export interface RunningOperator {
  process: ChildProcess;
  /** Every line printed on stdout and stderr so far, by all runs of this handle. */
  readonly output: string[];
  ports: { webhook?: number; health?: number; metrics?: number };
  /** Parsed JSON log records. */
  records(): Array<Record<string, unknown>>;
  waitForLog(predicate: (record: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  isLeader(): boolean;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait: a crash. */
  kill(): Promise<void>;
  exited(): Promise<void>;
}

export async function startOperator(options: OperatorOptions, sharedOutput: string[] = []): Promise<RunningOperator> {
  const cluster = testCluster();
  const args = [
    heraldEntry,
    'controller',
    '--kubeconfig', options.kubeconfig ?? cluster.kubeconfigPath,
    '--control-namespace', options.controlNamespace,
    '--namespaces', (options.namespaces ?? [options.controlNamespace]).join(','),
    '--bind-address', '127.0.0.1',
    '--health-port', '0',
    '--metrics-port', '0',
    '--webhook-port', options.webhook === false ? 'off' : '0',
    '--lease-duration', String(options.leaseDurationSeconds ?? 4),
    `--leader-election=${options.leaderElection ?? true}`,
    ...(options.argocdUrl === null ? [] : ['--argocd-url', options.argocdUrl ?? 'https://argocd.example.com']),
    '--log-level', 'debug',
    ...(options.identity ? ['--identity', options.identity] : []),
    ...(options.webhookSecretName ? ['--webhook-secret-name', options.webhookSecretName] : []),
    ...(options.dingtalkAllowedHosts ?? [LOOPBACK_ROBOT_HOSTS]).flatMap((entry) => ['--dingtalk-allowed-hosts', entry]),
    ...(options.extraArgs ?? []),
  ];
  const child = spawnTied(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, deploymentNodeOptions()].filter(Boolean).join(' '), ...options.env },
  });
  const output = sharedOutput;
  const parsed: Array<Record<string, unknown>> = [];
  let parsedUpTo = 0;
  forEachLine(child, (lines) => output.push(...lines));
  const records = () => {
    if (parsedUpTo < output.length) {
      for (const line of output.slice(parsedUpTo)) {
        try {
          parsed.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          parsed.push({ msg: line, level: 'raw' });
        }
      }
      parsedUpTo = output.length;
    }
    return parsed;
  };
  const startedFrom = output.length;
  const ownRecords = () => records().filter((_, index) => index >= startedFrom);
  const running: RunningOperator = {
    process: child,
    output,
    ports: {},
    records: ownRecords,
    async waitForLog(predicate, what, timeoutMs = 30_000) {
      let found: Record<string, unknown> | undefined;
      await waitFor(() => {
        if (child.exitCode !== null) throw new Error(`operator exited (${child.exitCode}) while waiting for ${what}:\n${output.slice(-30).join('\n')}`);
        found = ownRecords().find(predicate);
        return found !== undefined;
      }, what, timeoutMs);
      return found!;
    },
    isLeader() {
      const relevant = ownRecords().filter((r) => r.msg === 'became leader' || r.msg === 'stopped leading');
      return relevant.at(-1)?.msg === 'became leader';
    },
    stop: () => terminate(child, 20_000),
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    exited: () => exited(child),
  };
  const started = await running.waitForLog((r) => r.msg === 'herald controller started', 'the operator to start', 60_000);
  running.ports = (started.ports ?? {}) as RunningOperator['ports'];
  if (options.waitReady !== false && running.ports.health) {
    await waitFor(async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${running.ports.health}/readyz`);
        return res.status === 200;
      } catch {
        return false;
      }
    }, 'operator /readyz', 30_000);
  }
  return running;
}
