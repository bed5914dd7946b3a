// The sandbox's heavy-run lock (COORDINATION.md): every benchmark run and Go build
// holds it, so that no two heavy things share the 2 cores. bench-compare takes it per
// run (others' test suites can slip in between runs of a long comparison); when an
// ancestor process already holds it (someone ran `flock … make bench-compare`), taking
// it again would wait forever, so then it is not taken again.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const HEAVY_LOCK = process.env.HERALD_HEAVY_LOCK ?? join(homedir(), '.cache/herald/heavy.lock');

export interface FlockHolder {
  pid: number;
  major: number;
  minor: number;
  inode: number;
}

/** Granted FLOCK entries of /proc/locks text (waiters, marked "->", are left out). */
export function parseFlocks(procLocks: string): FlockHolder[] {
  const holders: FlockHolder[] = [];
  for (const line of procLocks.split('\n')) {
    const match = /^\d+:\s+FLOCK\s+\S+\s+\S+\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (match) holders.push({ pid: Number(match[1]), major: parseInt(match[2]!, 16), minor: parseInt(match[3]!, 16), inode: Number(match[4]) });
  }
  return holders;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** This process and its ancestors, nearest first. */
export function ancestry(pid = process.pid): number[] {
  const chain: number[] = [];
  for (let current: number | undefined = pid; current !== undefined && current > 0 && chain.length < 64; current = parentOf(current)) chain.push(current);
  return chain;
}

/** True when this process or one of its ancestors holds the lock file. */
export function heldByUs(lockPath = HEAVY_LOCK): boolean {
  let stat;
  try {
    stat = statSync(lockPath);
  } catch {
    return false;
  }
  // Linux dev_t: minor in bits 0–7 and 20–31, major in bits 8–19.
  const dev = stat.dev;
  const major = (dev >> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  const ours = new Set(ancestry());
  return parseFlocks(readFileSync('/proc/locks', 'utf8')).some(
    (h) => h.inode === stat.ino && h.major === major && h.minor === minor && ours.has(h.pid),
  );
}

/** `command` to run under the heavy lock: prefixed with flock unless we hold it already. */
export function underHeavyLock(command: string[], lockPath = HEAVY_LOCK): string[] {
  return heldByUs(lockPath) ? command : ['flock', lockPath, ...command];
}
