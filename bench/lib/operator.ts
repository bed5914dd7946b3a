// Runs the operator under test as its own process for a benchmark: `herald controller`
// as it ships (the bundle, build/bundle/herald.js), or any process that logs JSON lines
// the same way (the anchor, bench/lib/anchor.ts): free ports, log lines parsed as they
// arrive, optional V8 CPU profile (herald; from the unbundled build/src/main.js, so that
// the profile's areas name source folders and packages: same code, another module
// layout), and its pid for /proc figures. herald runs with the NODE_OPTIONS of
// config/manager's Deployment (its heap limit), as in a pod: the heap limit sets how far
// V8 lets garbage pile up before collecting it, so without it RSS is not what ships.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { heraldEntry, repoRoot } from '../../test/support/controlplane/install.js';
import { deploymentNodeOptions } from '../../test/support/operator.js';
import { forEachLine, spawnTied, terminate } from '../../test/support/process.js';

export interface LogRecord {
  time?: string;
  level?: string;
  msg?: string;
  [key: string]: unknown;
}

export interface BenchOperatorOptions {
  kubeconfig: string;
  controlNamespace: string;
  namespaces?: string[];
  /** Write a .cpuprofile into this folder when the process exits. */
  cpuProfileDir?: string;
  extraArgs?: string[];
  logLevel?: 'debug' | 'info';
}

/** Any operator process: what to run, the log line that says it started, which lines to keep. */
export interface OperatorProcessSpec {
  command: string;
  args: string[];
  /** `msg` of the line logged once the caches are synced; it carries `ports`. */
  startedMsg: string;
  /** Lines to parse and keep (default: all); a cheap text test for chatty operators. */
  keepLine?: (line: string) => boolean;
  /** Environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

export class BenchOperator {
  readonly records: LogRecord[] = [];
  private listeners: Array<() => void> = [];
  ports: { metrics?: number; health?: number } = {};
  /** Date.now() just before the process was spawned. */
  readonly spawnedAt: number;
  /** Monotonic microseconds just before the process was spawned (the clock of V8 CPU profiles). */
  readonly spawnedAtMonoUs: number;
  private constructor(readonly child: ChildProcess, spawnedAt: number, spawnedAtMonoUs: number, private readonly startedMsg: string) {
    this.spawnedAt = spawnedAt;
    this.spawnedAtMonoUs = spawnedAtMonoUs;
  }

  get pid(): number {
    return this.child.pid!;
  }

  static start(options: BenchOperatorOptions): BenchOperator {
    const nodeArgs: string[] = [];
    if (options.cpuProfileDir) {
      mkdirSync(options.cpuProfileDir, { recursive: true });
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
    }
    const args = [
      ...nodeArgs,
      options.cpuProfileDir ? join(repoRoot, 'build/src/main.js') : heraldEntry,
      'controller',
      '--kubeconfig', options.kubeconfig,
      '--control-namespace', options.controlNamespace,
      '--namespaces', (options.namespaces ?? [options.controlNamespace]).join(','),
      '--bind-address', '127.0.0.1',
      '--health-port', '0',
      '--metrics-port', '0',
      '--webhook-port', 'off',
      // The bench robot listens on loopback; herald allows only oapi.dingtalk.com unless told.
      '--dingtalk-allowed-hosts', 'http://127.0.0.1:*',
      '--log-level', options.logLevel ?? 'debug',
      ...(options.extraArgs ?? []),
    ];
    const env = { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, deploymentNodeOptions()].filter(Boolean).join(' ') };
    return BenchOperator.spawn({ command: process.execPath, args, env, startedMsg: 'herald controller started' });
  }

  static spawn(spec: OperatorProcessSpec): BenchOperator {
    const spawnedAt = Date.now();
    const mono = Number(process.hrtime.bigint() / 1000n);
    const child = spawnTied(spec.command, spec.args, { stdio: ['ignore', 'pipe', 'pipe'], env: spec.env ?? process.env });
    const operator = new BenchOperator(child, spawnedAt, mono, spec.startedMsg);
    const keep = spec.keepLine ?? (() => true);
    forEachLine(child, (lines) => {
      for (const line of lines) {
        if (!line || !keep(line)) continue;
        try {
          operator.records.push(JSON.parse(line) as LogRecord);
        } catch {
          operator.records.push({ msg: line, level: 'raw' });
        }
      }
      for (const listener of operator.listeners.splice(0)) listener();
    });
    return operator;
  }

  /** Resolves with the first record (from index `from`) matching; rejects on exit or timeout. */
  async waitForLog(predicate: (record: LogRecord) => boolean, what: string, timeoutMs = 60_000, from = 0): Promise<LogRecord> {
    const deadline = Date.now() + timeoutMs;
    let index = from;
    for (;;) {
      for (; index < this.records.length; index++) if (predicate(this.records[index]!)) return this.records[index]!;
      if (this.child.exitCode !== null) throw new Error(`operator exited (${this.child.exitCode}) while waiting for ${what}:\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 500));
        this.listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async waitStarted(): Promise<LogRecord> {
    const started = await this.waitForLog((r) => r.msg === this.startedMsg, 'the operator to start', 180_000);
    this.ports = (started.ports ?? {}) as BenchOperator['ports'];
    return started;
  }

  /**
   * Waits until the operator is idle and has stayed idle for `quietMs`, counted from
   * the later of its last `idle` line (debug, see Operator.watchIdle) and `quietSince`
   * (epoch ms: work the caller caused before then may still be on its way to the
   * operator). Returns when it became idle (epoch ms; the operator runs on this machine).
   */
  async waitIdle(quietSince: number, quietMs = 2000, timeoutMs = 600_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = this.lastTransition();
      if (last && last.msg === 'idle') {
        const at = Date.parse(last.time!);
        if (Date.now() - Math.max(at, quietSince) >= quietMs) return at;
      }
      if (this.child.exitCode !== null) throw new Error(`operator exited (${this.child.exitCode}):\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`operator not idle after ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  lastTransition(): LogRecord | undefined {
    for (let i = this.records.length - 1; i >= 0; i--) {
      const msg = this.records[i]!.msg;
      if (msg === 'idle' || msg === 'busy') return this.records[i];
    }
    return undefined;
  }

  count(predicate: (record: LogRecord) => boolean): number {
    return this.records.filter(predicate).length;
  }

  tail(lines = 20): string {
    return this.records.slice(-lines).map((r) => JSON.stringify(r)).join('\n');
  }

  /** SIGTERM and wait (a CPU profile is written on the way out). */
  stop(): Promise<void> {
    return terminate(this.child, 30_000);
  }
}
