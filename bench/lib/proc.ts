// Resource figures of a running process from Linux /proc: CPU seconds (utime+stime)
// and resident memory (current VmRSS, peak VmHWM). Linux only, like the benches.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks: number | undefined;

/** Clock ticks per second (USER_HZ), the unit of utime/stime in /proc/<pid>/stat. */
export function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** User + system CPU seconds the process has used so far (its own threads, not children). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; fields after its closing ')' are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / clockTicks();
}

/**
 * CPU seconds of the process and every process it started: its own utime+stime, its
 * reaped children's (cutime+cstime: render processes that were replaced), and the
 * live descendants' the same way. herald renders templates in child processes, so its
 * own figure alone would leave the rendering out.
 */
export function treeCpuSeconds(pid: number): number {
  let total = 0;
  const seen = new Set<number>();
  const visit = (id: number) => {
    if (seen.has(id)) return;
    seen.add(id);
    try {
      const stat = readFileSync(`/proc/${id}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, cutime, cstime: fields 14-17 of stat(5), 11-14 after the command name.
      total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / clockTicks();
      for (const task of readdirSync(`/proc/${id}/task`)) {
        for (const child of readFileSync(`/proc/${id}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) visit(Number(child));
      }
    } catch {
      // gone meanwhile
    }
  };
  visit(pid);
  return total;
}

export interface MemoryFigures {
  /** Current resident set, MiB. */
  rssMiB: number;
  /** Peak resident set since the process started (VmHWM), MiB. */
  peakRssMiB: number;
}

export function memory(pid: number): MemoryFigures {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

/** Samples a process every `intervalMs`: the highest VmRSS seen since the last reset. */
export class ProcessSampler {
  private timer: NodeJS.Timeout | undefined;
  private maxRss = 0;

  constructor(readonly pid: number, private readonly intervalMs = 250) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  private sample(): void {
    try {
      this.maxRss = Math.max(this.maxRss, memory(this.pid).rssMiB);
    } catch {
      // the process is gone
    }
  }

  /** Highest RSS (MiB) sampled since start or the last reset, then starts over. */
  takeMaxRss(): number {
    this.sample();
    const value = this.maxRss;
    this.maxRss = 0;
    return value;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Busy and total CPU seconds of the whole machine so far (all cores, from /proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy: busy / clockTicks(), total: (busy + idle! + iowait!) / clockTicks() };
}
