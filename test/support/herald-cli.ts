// Runs the `herald` binary (build/bundle/herald.js) as a subprocess, as a user would, and
// captures its output and exit code. By default without any cluster configuration:
// KUBECONFIG unset and HOME an empty directory, so nothing leaks in from the machine.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heraldEntry, repoRoot } from './controlplane/install.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for "never shows X" assertions. */
  output: string;
}

export interface CliOptions {
  /** Extra environment (merged over the isolated default). */
  env?: Record<string, string>;
  /** Keep the caller's KUBECONFIG and HOME (default false). */
  inheritKubeconfig?: boolean;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

let emptyHome: string | undefined;

/** An empty HOME: no ~/.kube/config to fall back to. */
export function isolatedHome(): string {
  emptyHome ??= mkdtempSync(join(tmpdir(), 'herald-cli-home-'));
  return emptyHome;
}

export function runHerald(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (!options.inheritKubeconfig) {
    delete env.KUBECONFIG;
    delete env.KUBERNETES_SERVICE_HOST;
    env.HOME = isolatedHome();
  }
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [heraldEntry, ...args], {
      cwd: options.cwd ?? repoRoot,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` });
    });
    child.stdin.end(options.input ?? '');
  });
}
