// A small pool of render processes: every template render runs in a child process
// (child_process.fork of ./child.js) with its own heap limit and a deadline, so a
// hostile template can cost its own message, never the operator's memory or event
// loop. A process that overruns the deadline is killed; one that dies (out of memory)
// fails only the render it was doing; either is replaced.
//
// Why processes and not worker_threads: a worker's resourceLimits heap limit is not
// dependable in Node 20 (nodejs/node#47224: running out of memory in a worker can
// still abort the whole process); a process's heap is its own.
//
// Fairness: one template namespace (one tenant) may use at most processes-1 of the
// processes at once, so a tenant whose templates run into the deadline delays only
// its own messages. The queue is bounded; past it a render is refused as a transient
// error (the Application is reconciled again later).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TransientError, TemplateRenderError, HeraldError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { budgetErrorFrom, memoryLimitError, timeLimitError, type RenderLimits } from '../templates/limits.js';
import type { RenderedNotification } from '../templates/types.js';
import type { ChildMessage, ChildOptions, RenderFailure, RenderRequest } from './protocol.js';

/** The render could not run now (the pool is stopping, full, or cannot start a process): try again later. */
export class RenderUnavailableError extends TransientError {}

/** The template does not compile (the caller compiles first; this is a safety net). */
export class RenderCompileError extends HeraldError {}

export interface RenderJob extends Omit<RenderRequest, 'id'> {
  /** Who wrote the template (its namespace): the unit of fairness. */
  group: string;
}

export interface RenderPoolOptions {
  limits: Pick<RenderLimits, 'timeoutMs' | 'memoryMiB' | 'maxOutputBytes' | 'processes'>;
  log?: Logger;
  /** Renders waiting at most; more are refused (RenderUnavailableError). */
  queueLimit?: number;
  /** The child's entry point (tests). */
  entry?: string;
}

interface Pending {
  id: number;
  job: RenderJob;
  attempts: number;
  resolve(rendered: RenderedNotification): void;
  reject(error: unknown): void;
}

interface Slot {
  child: ChildProcess;
  ready: boolean;
  job?: Pending;
  timer?: NodeJS.Timeout;
  /** Why the pool killed it, if it did. */
  killed?: 'deadline' | 'stop';
  stderr: string;
  startedAt: number;
}

export const DEFAULT_QUEUE_LIMIT = 256;
/** Young generation of a render process (MiB per semi-space): small, it holds one render. */
const SEMI_SPACE_MIB = 1;
/** A process dying this often while starting makes renders wait with backoff instead of respawning at once. */
const START_FAILURES_BEFORE_BACKOFF = 3;

const CHILD_ENTRY = fileURLToPath(new URL('./child.js', import.meta.url));

/** The owner must call stop(): render processes keep this process alive until then. */
export class RenderPool {
  private readonly slots = new Set<Slot>();
  private readonly queue: Pending[] = [];
  private readonly running = new Map<string, number>();
  private readonly maxPerGroup: number;
  private readonly queueLimit: number;
  private nextId = 1;
  private stopped = false;
  private startFailures = 0;
  private respawnTimer: NodeJS.Timeout | undefined;
  /** Processes started since the pool began (tests, metrics). */
  started = 0;

  constructor(private readonly options: RenderPoolOptions) {
    this.maxPerGroup = Math.max(1, options.limits.processes - 1);
    this.queueLimit = options.queueLimit ?? DEFAULT_QUEUE_LIMIT;
    for (let i = 0; i < options.limits.processes; i++) this.spawn();
  }

  /** Process ids of the render processes (tests). */
  pids(): number[] {
    return [...this.slots].map((slot) => slot.child.pid!).filter((pid) => pid !== undefined);
  }

  get queued(): number {
    return this.queue.length;
  }

  render(job: RenderJob): Promise<RenderedNotification> {
    if (this.stopped) return Promise.reject(new RenderUnavailableError('template rendering is stopping'));
    if (this.queue.length >= this.queueLimit) {
      return Promise.reject(new RenderUnavailableError(`${this.queue.length} renders are waiting already (at most ${this.queueLimit}); retrying later`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, attempts: 0, resolve, reject });
      this.pump();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.respawnTimer);
    for (const pending of this.queue.splice(0)) pending.reject(new RenderUnavailableError('template rendering stopped'));
    await Promise.all(
      [...this.slots].map((slot) => {
        slot.killed = 'stop';
        const gone = new Promise<void>((resolve) => (slot.child.exitCode !== null || slot.child.signalCode !== null ? resolve() : slot.child.once('exit', () => resolve())));
        slot.child.kill('SIGKILL');
        return gone;
      }),
    );
  }

  private spawn(): void {
    const { limits, log } = this.options;
    const childOptions: ChildOptions = { maxOutputBytes: limits.maxOutputBytes, memoryMiB: limits.memoryMiB };
    // The operator's own heap limit (NODE_OPTIONS) must not reach the child.
    const nodeOptions = (process.env.NODE_OPTIONS ?? '').replace(/--max-old-space-size(=|\s+)\S+/g, '').trim();
    const child = fork(this.options.entry ?? CHILD_ENTRY, [JSON.stringify(childOptions)], {
      execArgv: [`--max-old-space-size=${limits.memoryMiB}`, `--max-semi-space-size=${SEMI_SPACE_MIB}`],
      env: { ...process.env, NODE_OPTIONS: nodeOptions },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.started++;
    const slot: Slot = { child, ready: false, stderr: '', startedAt: Date.now() };
    this.slots.add(slot);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      slot.stderr = (slot.stderr + chunk).slice(-4096);
    });
    child.on('message', (message: ChildMessage) => this.onMessage(slot, message));
    child.on('error', (error) => log?.warn('render process error', { pid: child.pid, error }));
    child.once('exit', (code, signal) => this.onExit(slot, code, signal));
  }

  private onMessage(slot: Slot, message: ChildMessage): void {
    if ('ready' in message) {
      slot.ready = true;
      this.startFailures = 0;
      this.pump();
      return;
    }
    const pending = slot.job;
    if (!pending || pending.id !== message.id) return;
    this.finish(slot);
    if (message.ok) pending.resolve(message.rendered);
    else pending.reject(this.errorOf(message.failure));
    this.pump();
  }

  private errorOf(failure: RenderFailure): Error {
    switch (failure.kind) {
      case 'budget':
        return budgetErrorFrom(failure.reason, failure.message);
      case 'render':
        return new TemplateRenderError(failure.field, failure.message, failure.line === undefined ? {} : { line: failure.line });
      case 'compile':
        return new RenderCompileError(`the template does not compile: ${failure.message}`);
      default:
        return new TemplateRenderError('template', failure.message);
    }
  }

  /** The slot's job is over: free its place and its timer. */
  private finish(slot: Slot): void {
    const pending = slot.job;
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
    if (pending) {
      const group = pending.job.group;
      const count = (this.running.get(group) ?? 1) - 1;
      if (count <= 0) this.running.delete(group);
      else this.running.set(group, count);
    }
  }

  private onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    this.slots.delete(slot);
    const pending = slot.job;
    this.finish(slot);
    if (pending && slot.killed !== 'stop') {
      if (slot.killed !== 'deadline') {
        const outOfMemory = /heap out of memory|Reached heap limit|Allocation failed/i.test(slot.stderr) || signal === 'SIGABRT' || code === 134;
        // A SIGKILL the pool did not send: the kernel's OOM killer, most likely.
        if (outOfMemory || signal === 'SIGKILL') {
          pending.reject(memoryLimitError(this.options.limits, signal === 'SIGKILL' && !outOfMemory ? 'the render process was killed' : undefined));
        } else if (pending.attempts === 0) {
          pending.attempts++;
          this.queue.unshift(pending);
        } else {
          pending.reject(new RenderUnavailableError(`the render process exited (${signal ?? `code ${code}`}) twice while rendering`));
        }
      }
    }
    if (this.stopped) return;
    if (!slot.ready) this.startFailures++;
    this.options.log?.[slot.killed ? 'debug' : 'warn']('render process exited; starting another', {
      pid: slot.child.pid,
      code,
      signal,
      killed: slot.killed,
      ...(slot.ready || slot.killed ? {} : { stderr: slot.stderr.slice(-500) }),
    });
    if (this.startFailures < START_FAILURES_BEFORE_BACKOFF) {
      this.spawn();
    } else {
      // Render processes cannot start (a broken install?): do not spin; fail what waits.
      for (const waiting of this.queue.splice(0)) waiting.reject(new RenderUnavailableError('render processes fail to start; retrying later'));
      const delay = Math.min(30_000, 1000 * 2 ** (this.startFailures - START_FAILURES_BEFORE_BACKOFF));
      this.respawnTimer = setTimeout(() => {
        this.respawnTimer = undefined;
        if (!this.stopped) this.spawn();
      }, delay);
      this.respawnTimer.unref();
    }
    this.pump();
  }

  private pump(): void {
    if (!this.stopped) {
      for (const slot of this.slots) {
        if (!slot.ready || slot.job || slot.killed) continue;
        const index = this.queue.findIndex((pending) => (this.running.get(pending.job.group) ?? 0) < this.maxPerGroup);
        if (index < 0) break;
        const [pending] = this.queue.splice(index, 1);
        this.start(slot, pending!);
      }
    }
  }

  private start(slot: Slot, pending: Pending): void {
    slot.job = pending;
    this.running.set(pending.job.group, (this.running.get(pending.job.group) ?? 0) + 1);
    const { group: _group, ...request } = pending.job;
    slot.child.send({ id: pending.id, ...request } satisfies RenderRequest);
    slot.timer = setTimeout(() => {
      if (slot.job !== pending) return;
      slot.killed = 'deadline';
      slot.child.kill('SIGKILL');
      this.finish(slot);
      pending.reject(timeLimitError(this.options.limits));
      this.pump();
    }, this.options.limits.timeoutMs);
  }
}
