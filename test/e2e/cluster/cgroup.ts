// The cluster's cgroup: every process of a run lives below it (etcd, kube-apiserver,
// containerd and its shims, kubelet, and, through kubelet's cgroupRoot, every
// container), so that whatever happens to the runner, one walk finds them all.
//
// It is made below the cgroup this process already has in the memory hierarchy (the
// sandbox accounts for memory there), with the same path in every other hierarchy,
// because kubelet's cgroupRoot is one path for all of them.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CGROUP_PREFIX = 'herald-e2e-';

/** Mount points of the cgroup hierarchies, with their controllers (v1) or 'unified' (v2). */
export function hierarchies(): Array<{ mount: string; controllers: string[] }> {
  const result: Array<{ mount: string; controllers: string[] }> = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const [fstype, , options] = right.split(' ');
    const mount = left.split(' ')[4]!;
    if (fstype === 'cgroup2') result.push({ mount, controllers: ['unified'] });
    else if (fstype === 'cgroup') {
      const controllers = (options ?? '').split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('relatime'));
      result.push({ mount, controllers });
    }
  }
  return result;
}

export function isCgroupV2Only(): boolean {
  return existsSync('/sys/fs/cgroup/cgroup.controllers');
}

/** Where a cgroup is tracked: the pids hierarchy (v1) or the unified one (v2). */
export function trackingMount(): string {
  const all = hierarchies();
  const pids = all.find((h) => h.controllers.includes('pids'));
  if (pids && !isCgroupV2Only()) return pids.mount;
  const unified = all.find((h) => h.controllers.includes('unified'));
  if (unified) return unified.mount;
  throw new Error('no pids or unified cgroup hierarchy is mounted');
}

/** This process's cgroup path in the memory hierarchy (or the unified one). */
export function ownParent(): string {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  const memory = lines.find((l) => l.split(':')[1]!.split(',').includes('memory'));
  const chosen = memory ?? lines.find((l) => l.startsWith('0::')) ?? '0::/';
  const path = chosen.split(':').slice(2).join(':');
  return path === '/' ? '' : path;
}

function copyIfEmpty(dir: string, file: string): void {
  const path = join(dir, file);
  if (!existsSync(path) || readFileSync(path, 'utf8').trim() !== '') return;
  writeFileSync(path, readFileSync(join(dir, '..', file), 'utf8'));
}

/** Creates the cgroup path in every hierarchy; returns the folders it made (outermost first). */
export function createCgroup(path: string): string[] {
  const made: string[] = [];
  for (const { mount, controllers } of hierarchies()) {
    let dir = mount;
    for (const part of path.split('/').filter(Boolean)) {
      dir = join(dir, part);
      if (!existsSync(dir)) {
        mkdirSync(dir);
        made.push(dir);
      }
      // A new cpuset is empty and takes no task until it has cpus and mems.
      if (controllers.includes('cpuset')) {
        copyIfEmpty(dir, 'cpuset.cpus');
        copyIfEmpty(dir, 'cpuset.mems');
      }
    }
  }
  return made;
}

/** Every pid in the tracked cgroup and below. */
export function pidsBelow(path: string): number[] {
  const root = join(trackingMount(), path);
  const pids: number[] = [];
  const walk = (dir: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.push(Number(line));
    } catch {
      // removed while walking
    }
    for (const entry of entries) {
      const child = join(dir, entry);
      if (!entry.includes('.') && existsSync(join(child, 'cgroup.procs'))) walk(child);
    }
  };
  walk(root);
  return pids;
}

/** Removes the cgroup and everything below it in every hierarchy (deepest first). */
export function removeCgroup(path: string): string[] {
  const left: string[] = [];
  for (const { mount } of hierarchies()) {
    const root = join(mount, path);
    if (!existsSync(root)) continue;
    const dirs: string[] = [];
    const walk = (dir: string) => {
      dirs.push(dir);
      for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(join(dir, entry.name));
    };
    try {
      walk(root);
    } catch {
      // raced with another remover
    }
    for (const dir of dirs.reverse()) {
      try {
        rmdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') left.push(dir);
      }
    }
  }
  return left;
}

/** The herald-e2e cgroups below a parent (any run's, alive or not). */
export function runCgroups(parent: string): string[] {
  const dir = join(trackingMount(), parent);
  try {
    return readdirSync(dir)
      .filter((name) => name.startsWith(CGROUP_PREFIX))
      .map((name) => `${parent}/${name}`);
  } catch {
    return [];
  }
}
