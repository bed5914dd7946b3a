// Budgets of one template render. Templates are written by tenants and rendered for
// every team, so a render may take neither the operator's memory nor its time:
// - the output is capped, checked after every filter (so `"x" | indent(1e9)` or a
//   chain of `replace` stops at the first step past the cap, in microseconds) and
//   once more per rendered field;
// - time and memory are bounded by rendering in a child process that is killed at
//   the deadline or dies at its own heap limit (src/sandbox/), never the operator.
import { ConfigurationError } from '../errors.js';

export interface RenderLimits {
  /** Wall-clock milliseconds one render may take. */
  timeoutMs: number;
  /** Heap (V8 old space, MiB) of each render process. */
  memoryMiB: number;
  /** Bytes (UTF-8) the rendered fields of one message may add up to. */
  maxOutputBytes: number;
  /** Render processes running at once. */
  processes: number;
}

/** DingTalk refuses bodies over 20,000 bytes; herald shortens longer text with a mark, so the cap leaves room for that. */
export const DEFAULT_RENDER_LIMITS: Readonly<RenderLimits> = Object.freeze({
  timeoutMs: 2000,
  memoryMiB: 32,
  maxOutputBytes: 65_536,
  processes: 2,
});

/** The flag that sets each limit, named in every message about it. */
export const RENDER_LIMIT_FLAGS = {
  timeoutMs: '--template-render-timeout',
  memoryMiB: '--template-render-memory',
  maxOutputBytes: '--template-max-output-bytes',
  processes: '--template-render-processes',
} as const;

/** Why a render was stopped; the reason of the template's status.lastBudgetFailure and the first word of the message. */
export const BudgetReasons = {
  time: 'RenderTimeLimit',
  memory: 'RenderMemoryLimit',
  output: 'RenderOutputLimit',
} as const;
export type BudgetReason = (typeof BudgetReasons)[keyof typeof BudgetReasons];

/**
 * A render went over one of its budgets. Deterministic enough for that template and
 * Application to be a configuration problem: the message fails, it is not retried.
 */
export class TemplateBudgetError extends ConfigurationError {
  declare readonly reason: BudgetReason;
  constructor(reason: BudgetReason, message: string, options?: { cause?: unknown }) {
    super(reason, `${reason}: ${message}`, options);
  }
}

export function timeLimitError(limits: Pick<RenderLimits, 'timeoutMs'>): TemplateBudgetError {
  return new TemplateBudgetError(BudgetReasons.time, `rendering took longer than ${limits.timeoutMs} ms and was stopped (${RENDER_LIMIT_FLAGS.timeoutMs})`);
}

export function memoryLimitError(limits: Pick<RenderLimits, 'memoryMiB'>, detail?: string): TemplateBudgetError {
  return new TemplateBudgetError(
    BudgetReasons.memory,
    `rendering needed more than its ${limits.memoryMiB} MiB of memory and was stopped${detail ? ` (${detail})` : ''} (${RENDER_LIMIT_FLAGS.memoryMiB})`,
  );
}

export function outputLimitError(field: string, limits: Pick<RenderLimits, 'maxOutputBytes'>): TemplateBudgetError {
  return new TemplateBudgetError(
    BudgetReasons.output,
    `${field}: the rendered text passed ${limits.maxOutputBytes} bytes and was stopped (${RENDER_LIMIT_FLAGS.maxOutputBytes})`,
  );
}

/** Rebuilds a budget error from its reason and message (after crossing a process boundary). */
export function budgetErrorFrom(reason: BudgetReason, message: string): TemplateBudgetError {
  const error = new TemplateBudgetError(reason, '');
  error.message = message;
  return error;
}

export function isBudgetReason(value: unknown): value is BudgetReason {
  return Object.values(BudgetReasons).includes(value as BudgetReason);
}
