// Evaluates a compiled trigger against one Application. Pure: no I/O, no logging, no
// clock (the caller passes `now`), no ledger access (the caller passes a lookup).
import { CostMeter, meter, type CelLimits } from './budget.js';
import type { CompiledCondition, CompiledTrigger } from './compile.js';
import { withScope, type EvaluationScope } from './environment.js';
import { celValueToString, toCelInput } from './values.js';

export type ConditionOutcome = 'fired' | 'not_fired' | 'missing_field' | 'error';

export interface ConditionResult {
  index: number;
  /** The condition's name, the condition part of a send ledger key. */
  name: string;
  fired: boolean;
  /** The oncePer value, when the condition fired and has oncePer. */
  oncePer?: string;
  outcome: ConditionOutcome;
  /** For outcome `missing_field`: what was missing (for debug logs). */
  missing?: string;
  /** For outcome `error`: what went wrong, for the trigger status and metrics. */
  error?: string;
}

/**
 * Unix seconds of herald's last decision to notify a trigger for this app, from the
 * app's send ledger and outbox; undefined when never. Backs the CEL function
 * `notified(trigger)`.
 */
export type NotifiedLookup = (trigger: string) => number | undefined;

// "No such key" (and its list cousin) means a field the Application does not have
// (yet): the condition does not hold. Every other runtime error is worth reporting.
const MISSING_FIELD_CODES = new Set(['no_such_key', 'index_out_of_bounds']);

export function evaluateTrigger(
  compiled: CompiledTrigger,
  app: object,
  now: Date,
  notifiedAt?: NotifiedLookup,
): ConditionResult[] {
  const context = { app: toCelInput(app) };
  const scope: EvaluationScope = { now, notifiedAt };
  return withScope(scope, () => compiled.conditions.map((condition) => evaluateCondition(condition, context, compiled.limits)));
}

/**
 * Runs one expression under its own budget. A budget error wins over the result:
 * CEL's `||`, `&&` and quantifiers absorb errors, so an expression stopped halfway
 * could otherwise still answer (wrongly) true or false.
 */
function run(program: CompiledCondition['whenProgram'], context: { app: unknown }, limits: Readonly<CelLimits>): { value: unknown } | { error: unknown } {
  const budget = new CostMeter(limits);
  let outcome: { value: unknown } | { error: unknown };
  try {
    outcome = { value: meter(budget, () => program(context)) };
  } catch (error) {
    outcome = { error };
  }
  return budget.exceeded ? { error: budget.exceeded } : outcome;
}

function evaluateCondition(condition: CompiledCondition, context: { app: unknown }, limits: Readonly<CelLimits>): ConditionResult {
  const base = { index: condition.index, name: condition.name };
  const when = run(condition.whenProgram, context, limits);
  if ('error' in when) return failure(base, 'when', when.error);
  const holds = when.value;
  if (typeof holds !== 'boolean') {
    return { ...base, fired: false, outcome: 'error', error: `when: evaluated to ${typeName(holds)}, expected bool` };
  }
  if (!holds) return { ...base, fired: false, outcome: 'not_fired' };
  if (!condition.oncePerProgram) return { ...base, fired: true, outcome: 'fired' };

  const oncePer = run(condition.oncePerProgram, context, limits);
  if ('error' in oncePer) return failure(base, 'oncePer', oncePer.error);
  try {
    return { ...base, fired: true, oncePer: celValueToString(oncePer.value), outcome: 'fired' };
  } catch (error) {
    return failure(base, 'oncePer', error);
  }
}

function failure(base: { index: number; name: string }, field: string, error: unknown): ConditionResult {
  const e = error as { code?: string; summary?: string; message?: string } | undefined;
  const summary = e?.summary ?? e?.message ?? String(error);
  if (e?.code && MISSING_FIELD_CODES.has(e.code)) {
    return { ...base, fired: false, outcome: 'missing_field', missing: `${field}: ${summary.replace(/^No such key: /, '')}` };
  }
  return { ...base, fired: false, outcome: 'error', error: `${field}: ${summary}` };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'double';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Date) return 'timestamp';
  if (value instanceof Map || typeof value === 'object') return 'map';
  return typeof value;
}
