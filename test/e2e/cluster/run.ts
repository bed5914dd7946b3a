// One cluster run, from the outside. The runner (this process) makes a folder and a
// cgroup, starts a reaper, then starts the node's side in new network and mount
// namespaces inside that cgroup. However the run ends (exit, Ctrl-C, SIGKILL of the
// runner), the reaper kills everything left in the cgroup (shims and containers are
// not children of anybody here), removes the cgroups and the folder; the namespaces,
// and with them every mount and network device of the run, go with their last process.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTied } from '../../support/process.js';
import { clusterTools, ensureDebianTools } from '../support/debian.js';
import { CGROUP_PREFIX, createCgroup, ownParent, pidsBelow, removeCgroup, runCgroups, trackingMount } from './cgroup.js';

const here = dirname(fileURLToPath(import.meta.url));
export const RUN_DIR_PREFIX = 'herald-e2e-';

export interface RunState {
  ownerPid: number;
  dir: string;
  cgroup: string;
  /** cgroup folders this run created (including parents it had to make). */
  madeCgroups: string[];
}

function log(line: string): void {
  process.stderr.write(`[cluster] ${line}\n`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readState(dir: string): RunState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunState;
  } catch {
    return undefined;
  }
}

/** Kills every process of the run, removes its cgroups and its folder. Idempotent. */
export async function cleanUp(state: RunState, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = pidsBelow(state.cgroup).filter((pid) => pid !== process.pid);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (Date.now() > deadline) throw new Error(`processes ${pids.join(', ')} of ${state.cgroup} survive SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // The namespaces die with their last process, a moment after it is reaped.
  let left = removeCgroup(state.cgroup);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    left = removeCgroup(state.cgroup);
  }
  if (left.length > 0) throw new Error(`cannot remove cgroups ${left.join(', ')}`);
  // Parents this run had to make, when no other run uses them.
  for (const dir of [...state.madeCgroups].reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      // gone, or in use
    }
  }
  rmSync(state.dir, { recursive: true, force: true });
}

/** Cleans up after runs whose runner is gone and whose reaper did not finish. */
export async function sweepStaleRuns(): Promise<void> {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(RUN_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    const state = readState(dir);
    if (!state || isAlive(state.ownerPid)) continue;
    log(`cleaning up after run ${name} (runner ${state.ownerPid} is gone)`);
    await cleanUp(state);
  }
  // A cgroup whose folder is already gone.
  for (const cgroup of runCgroups(ownParent())) {
    const owner = Number(cgroup.slice(cgroup.lastIndexOf(CGROUP_PREFIX) + CGROUP_PREFIX.length));
    if (Number.isInteger(owner) && !isAlive(owner) && !existsSync(join(tmpdir(), `${RUN_DIR_PREFIX}${owner}`))) {
      await cleanUp({ ownerPid: owner, dir: join(tmpdir(), `${RUN_DIR_PREFIX}${owner}`), cgroup, madeCgroups: [] });
    }
  }
}

export interface RunOptions {
  /** OCI archives to import into the node's containerd: archive and image name. */
  images?: Array<{ archive: string; name: string }>;
  /** Runs inside the cluster's namespaces with HERALD_E2E_* in its environment. */
  command: string[];
}

/**
 * Starts the cluster, runs the command in it, tears everything down; resolves with the
 * command's exit code. SIGINT/SIGTERM stop the command and the cluster.
 */
export async function runInCluster(options: RunOptions, pauseImage: { archive: string; name: string }): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error('the e2e cluster needs root (containerd, kubelet, network namespaces)');
  ensureDebianTools(clusterTools, log);
  await sweepStaleRuns();
  const dir = join(tmpdir(), `${RUN_DIR_PREFIX}${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const cgroup = `${ownParent()}/${CGROUP_PREFIX}${process.pid}`;
  const state: RunState = { ownerPid: process.pid, dir, cgroup, madeCgroups: [] };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(state));
  state.madeCgroups = createCgroup(cgroup);
  writeFileSync(join(dir, 'run.json'), JSON.stringify(state));

  // The reaper outlives this process: its own session, no pdeathsig; it starts
  // cleaning when its stdin closes, which happens when this process exits in any way.
  const reaperLog = join(tmpdir(), `${RUN_DIR_PREFIX}${process.pid}.reaper.log`);
  const reaper = spawn(process.execPath, [join(here, 'reaper.js'), join(dir, 'run.json'), reaperLog], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const reaperDone = new Promise<number>((resolve) => reaper.once('exit', (code) => resolve(code ?? 1)));

  const tasks = join(trackingMount(), cgroup, 'cgroup.procs');
  const inner = spawnTied(
    'sh',
    [
      '-c',
      // Join the cgroup first, so that everything started from here on is in it.
      'echo $$ > "$0" && exec unshare --net --mount --propagation private --fork --kill-child -- "$@"',
      tasks,
      process.execPath,
      join(here, 'inner.js'),
      JSON.stringify({ dir, cgroup, images: options.images ?? [], pauseImage }),
      ...options.command,
    ],
    { stdio: 'inherit' },
  );
  // unshare --fork does not pass signals on: they go to the node's side itself.
  const forward = (signal: NodeJS.Signals) => {
    try {
      process.kill(Number(readFileSync(join(dir, 'inner.pid'), 'utf8')), signal);
    } catch {
      inner.kill(signal);
    }
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => inner.once('exit', (c, s) => resolve(c ?? (s ? 128 + 9 : 1))));
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  reaper.stdin?.end();
  const reaped = await reaperDone;
  if (reaped !== 0) {
    log(`the reaper failed (exit ${reaped}); its log:\n${safeRead(reaperLog)}`);
    return code === 0 ? 1 : code;
  }
  rmSync(reaperLog, { force: true });
  return code;
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '(no log)';
  }
}
