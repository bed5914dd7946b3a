// Issue 2, must-show 3: interrupting a run never leaves etcd or kube-apiserver behind,
// whether it is Ctrl-C (SIGINT) or the runner being killed outright.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { removeStaleDirs } from '../support/controlplane/controlplane.js';
import { repoRoot } from '../support/controlplane/install.js';
import { waitFor } from '../support/wait.js';

function childrenOf(pid: number): Array<{ pid: number; command: string }> {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out.trim().split('\n').filter(Boolean).map((line) => {
    const [p, ...rest] = line.trim().split(/\s+/);
    return { pid: Number(p), command: rest.join(' ') };
  });
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(safeRead(`/proc/${pid}/status`));
function safeRead(path: string): string {
  try {
    return execFileSync('cat', [path], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

for (const signal of ['SIGINT', 'SIGKILL'] as const) {
  test(`${signal} to a process running a control plane leaves no etcd or kube-apiserver behind`, async (t) => {
    const child = spawn(process.execPath, [join(repoRoot, 'build/test/support/controlplane/cli.js'), 'up'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    t.teardown(() => child.kill('SIGKILL'));
    await waitFor(() => output.includes('Press Ctrl-C'), 'the control plane to come up', 60_000);
    const servers = childrenOf(child.pid!).filter((p) => /etcd|kube-apiserver/.test(p.command));
    t.deepEqual(servers.map((s) => s.command).sort(), ['etcd', 'kube-apiserver']);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    await waitFor(() => servers.every((server) => !alive(server.pid)), 'etcd and kube-apiserver to be gone', 20_000);
    for (const server of servers) t.false(alive(server.pid), `${server.command} (${server.pid}) is gone`);
    // SIGINT removes the working folder at once; after SIGKILL the next start does.
    const dir = /export KUBECONFIG=(\S+)\/kubeconfig/.exec(output)![1]!;
    if (signal === 'SIGKILL') {
      t.true(existsSync(dir), 'a killed run cannot remove its own folder');
      removeStaleDirs();
    }
    t.false(existsSync(dir), `${dir} is removed`);
  });
}
