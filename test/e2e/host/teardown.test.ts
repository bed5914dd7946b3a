// A cluster run leaves nothing behind, whether its runner is interrupted (SIGINT) or
// killed (SIGKILL): no kubelet, containerd, shim or container process, no mount, no
// cgroup, no folder. Each test starts its own cluster with one Pod running in it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { forEachLine } from '../../support/process.js';
import { waitFor } from '../../support/wait.js';
import { hierarchies, pidsBelow } from '../cluster/cgroup.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'cluster', 'cli.js');

// Inside the cluster: run one Pod (the pause image), say where everything is, and wait.
const hold = [
  'sh',
  '-c',
  [
    'k="$HERALD_E2E_KUBECTL --kubeconfig $HERALD_E2E_KUBECONFIG"',
    '$k run hold --image="$HERALD_E2E_PAUSE_IMAGE" --image-pull-policy=Never --restart=Never >/dev/null',
    '$k wait --for=condition=Ready pod/hold --timeout=180s >/dev/null',
    'echo "HOLDING $HERALD_E2E_DIR $HERALD_E2E_CGROUP"',
    'exec sleep infinity',
  ].join(' && '),
];

interface Holding {
  runner: ChildProcess;
  dir: string;
  cgroup: string;
  pids: number[];
  output: string[];
}

async function startHolding(t: ExecutionContext): Promise<Holding> {
  const runner = spawn(process.execPath, [cli, 'run', '--', ...hold], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  let holding: { dir: string; cgroup: string } | undefined;
  forEachLine(runner, (lines) => {
    for (const line of lines) {
      output.push(line);
      const match = /^HOLDING (\S+) (\S+)$/.exec(line);
      if (match) holding = { dir: match[1]!, cgroup: match[2]! };
    }
  });
  t.teardown(() => {
    if (runner.exitCode === null && runner.signalCode === null) runner.kill('SIGKILL');
  });
  await waitFor(() => {
    if (runner.exitCode !== null) throw new Error(`the cluster run ended early (${runner.exitCode}):\n${output.slice(-40).join('\n')}`);
    return holding !== undefined;
  }, 'the cluster to run a Pod', 600_000);
  return { runner, ...holding!, pids: pidsBelow(holding!.cgroup), output };
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** What of a run is still there: processes, mounts, cgroups, its folder. */
function leftovers(run: Holding): string[] {
  const left: string[] = [];
  for (const pid of run.pids) if (existsSync(`/proc/${pid}`) && commandOf(pid)) left.push(`process ${pid}: ${commandOf(pid)}`);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const command = commandOf(Number(entry));
    if (command.includes(run.dir)) left.push(`process ${entry}: ${command}`);
  }
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) if (line.includes(run.dir)) left.push(`mount: ${line}`);
  for (const { mount } of hierarchies()) if (existsSync(join(mount, run.cgroup))) left.push(`cgroup ${join(mount, run.cgroup)}`);
  if (existsSync(run.dir)) left.push(`folder ${run.dir}`);
  return left;
}

function describe(run: Holding): string[] {
  return run.pids.map(commandOf).filter(Boolean);
}

for (const signal of ['SIGINT', 'SIGKILL'] as const) {
  test.serial(`${signal} to the runner leaves no process, container, mount, cgroup or folder`, async (t) => {
    const run = await startHolding(t);
    const running = describe(run);
    // What there was to clean up: the node's daemons, a shim, the Pod's processes.
    for (const name of ['kubelet', 'containerd --config', 'containerd-shim-runc-v2', '/pause', 'kube-apiserver', 'etcd']) {
      t.true(running.some((command) => command.includes(name)), `${name} ran in the cluster's cgroup`);
    }
    run.runner.kill(signal);
    await new Promise<void>((resolve) => (run.runner.exitCode !== null || run.runner.signalCode !== null ? resolve() : run.runner.once('exit', () => resolve())));
    // SIGINT: the runner itself waits for the cleanup; SIGKILL: the reaper does it.
    await waitFor(() => leftovers(run).length === 0, 'nothing of the run to be left', signal === 'SIGINT' ? 5_000 : 120_000).catch((error: unknown) => {
      t.log(leftovers(run).join('\n'));
      throw error;
    });
    t.deepEqual(leftovers(run), []);
    t.log(`${signal}: ${run.pids.length} processes of the run (${running.length} with a command line) are gone, and so are its mounts, cgroups and folder`);
  });
}
