// Compiles a NotificationTrigger's CEL expressions once: parse, type-check against
// the Application schema, and keep the parsed form for evaluation.
import type { ASTNode, ParseResult } from '@marcbachmann/cel-js';
import type { NotificationTriggerSpec } from '../api/generated.js';
import { closestName } from '../suggest.js';
import { declaredFieldsAt } from './app-schema.js';
import {
  checkLiteralPatterns,
  DEFAULT_CEL_LIMITS,
  describeHotspot,
  estimateCost,
  formatCount,
  instrument,
  LIMIT_FLAGS,
  type CelLimits,
  type CheckedNode,
} from './budget.js';
import { triggerEnvironment } from './environment.js';
import { formatPosition, position } from './position.js';

export type ConditionField = 'when' | 'oncePer' | 'name';

/** The name of a trigger's only condition when it has none. */
export const DEFAULT_CONDITION_NAME = 'default';

const CONDITION_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Why one expression of a trigger does not compile. */
export interface ConditionError {
  /** Index of the condition in spec.conditions (0-based, as in a field path). */
  index: number;
  field: ConditionField;
  /** 1-based line, only for expressions that span several lines. */
  line?: number;
  /** 1-based column of the error (within its line); 0 for a name, which has no position. */
  column: number;
  message: string;
  /** Set when the expression is valid but its estimated cost is over the limit. */
  code?: 'cost_limit_exceeded';
}

export interface CompiledCondition {
  readonly index: number;
  /**
   * The condition's identity, the condition part of a send ledger key: spec name, or
   * `default` for a lone unnamed condition. Not derived from `when` or the index, so
   * editing the expression or reordering conditions re-sends nothing.
   */
  readonly name: string;
  readonly description?: string;
  readonly when: string;
  readonly oncePer?: string;
  readonly send: readonly string[];
  /** @internal parsed and type-checked `when` */
  readonly whenProgram: ParseResult;
  /** @internal parsed and type-checked `oncePer` */
  readonly oncePerProgram?: ParseResult;
}

export interface CompiledTrigger {
  readonly description?: string;
  /** The cost and time budget each expression gets when evaluated. */
  readonly limits: Readonly<CelLimits>;
  readonly conditions: readonly CompiledCondition[];
  /** Every template name the trigger sends, in first-use order. */
  readonly templates: readonly string[];
  /** spec.onFirstSight: overrides the controller's --on-first-sight for this trigger. */
  readonly onFirstSight?: 'Record' | 'Send';
}

export type TriggerCompileResult =
  | { ok: true; trigger: CompiledTrigger }
  | { ok: false; errors: ConditionError[] };

/**
 * Compiles every expression of a trigger. `limits` bound what each may cost: an
 * expression whose estimated cost is over limits.costLimit does not compile.
 */
export function compileTrigger(spec: NotificationTriggerSpec, limits: Readonly<CelLimits> = DEFAULT_CEL_LIMITS): TriggerCompileResult {
  const errors: ConditionError[] = [...conditionNameErrors(spec)];
  const conditions: CompiledCondition[] = [];
  const lone = (spec.conditions ?? []).length === 1;
  (spec.conditions ?? []).forEach((condition, index) => {
    const when = compileExpression(condition.when ?? '', index, 'when', limits);
    const oncePer = condition.oncePer === undefined ? undefined : compileExpression(condition.oncePer, index, 'oncePer', limits);
    if ('error' in when) errors.push(when.error);
    if (oncePer && 'error' in oncePer) errors.push(oncePer.error);
    if ('error' in when || (oncePer && 'error' in oncePer)) return;

    conditions.push({
      index,
      name: condition.name ?? (lone ? DEFAULT_CONDITION_NAME : `${index}`),
      ...(condition.description === undefined ? {} : { description: condition.description }),
      when: condition.when,
      ...(condition.oncePer === undefined ? {} : { oncePer: condition.oncePer }),
      send: [...(condition.send ?? [])],
      whenProgram: when.program,
      ...(oncePer && 'program' in oncePer ? { oncePerProgram: oncePer.program } : {}),
    });
  });
  if (errors.length > 0) return { ok: false, errors: errors.sort((a, b) => a.index - b.index) };
  const templates = [...new Set(conditions.flatMap((c) => c.send))];
  return {
    ok: true,
    trigger: {
      ...(spec.description === undefined ? {} : { description: spec.description }),
      limits,
      conditions,
      templates,
      ...(spec.onFirstSight === undefined ? {} : { onFirstSight: spec.onFirstSight }),
    },
  };
}

/**
 * Names are required when a trigger has more than one condition, must be DNS labels and
 * unique (the CRD checks the same; this covers resources that did not pass through it).
 */
function conditionNameErrors(spec: NotificationTriggerSpec): ConditionError[] {
  const conditions = spec.conditions ?? [];
  const errors: ConditionError[] = [];
  const seen = new Map<string, number>();
  conditions.forEach((condition, index) => {
    const name = condition.name;
    const fail = (message: string) => errors.push({ index, field: 'name', column: 0, message });
    if (name === undefined) {
      if (conditions.length > 1) fail('required: a trigger with more than one condition names each one (the send ledger identifies conditions by name)');
      return;
    }
    if (!CONDITION_NAME.test(name) || name.length > 63) {
      fail(`"${name}" is not a valid condition name (lower case letters, digits and '-', at most 63 characters)`);
      return;
    }
    const first = seen.get(name);
    if (first !== undefined) fail(`duplicate name "${name}" (also conditions[${first}])`);
    else seen.set(name, index);
  });
  return errors;
}

/** `conditions[1].when: column 14: unknown field 'statuz'` */
export function formatConditionError(error: ConditionError): string {
  if (error.field === 'name') return `conditions[${error.index}].name: ${error.message}`;
  return `conditions[${error.index}].${error.field}: ${formatPosition(error)}: ${error.message}`;
}

/** All errors in one line, for a Ready condition message. */
export function formatTriggerErrors(errors: readonly ConditionError[]): string {
  return errors.map(formatConditionError).join('; ');
}

type Compiled = { program: ParseResult } | { error: ConditionError };

function compileExpression(text: string, index: number, field: ConditionField, limits: Readonly<CelLimits>): Compiled {
  const fail = (offset: number, message: string, code?: ConditionError['code']): Compiled => ({
    error: { index, field, ...position(text, offset), message, ...(code ? { code } : {}) },
  });
  if (text.trim() === '') return fail(0, 'empty expression');

  let program: ParseResult;
  try {
    program = triggerEnvironment.parse(text);
  } catch (error) {
    return fail(errorOffset(error), describe(error));
  }
  const checked = program.check();
  if (!checked.valid) return fail(errorOffset(checked.error), describe(checked.error));
  if (field === 'when' && checked.type !== 'bool' && checked.type !== 'dyn') {
    return fail(0, `must be a bool expression, but its type is ${checked.type}`);
  }
  const ast = program.ast as unknown as CheckedNode;
  const pattern = checkLiteralPatterns(ast);
  if (pattern) return fail(pattern.offset, pattern.message);
  const estimate = estimateCost(ast, limits);
  if (estimate.cost > limits.costLimit) {
    const hotspot = estimate.hotspot;
    return fail(
      hotspot?.offset ?? 0,
      `estimated cost ${formatCount(estimate.cost)} exceeds the limit of ${formatCount(limits.costLimit)} (${LIMIT_FLAGS.costLimit})` +
        (hotspot ? `: ${describeHotspot(hotspot)}` : '') +
        ` (lists of the Application counted as ${formatCount(limits.listSizeEstimate)} elements, ${LIMIT_FLAGS.listSizeEstimate}); nest fewer comprehensions or filter first`,
      'cost_limit_exceeded',
    );
  }
  instrument(ast);
  return { program };
}

interface CelError {
  code?: string;
  summary?: string;
  message?: string;
  range?: { start: number };
  node?: { pos?: number; op?: string; args?: unknown };
}

function errorOffset(error: unknown): number {
  const e = error as CelError | undefined;
  return e?.range?.start ?? e?.node?.pos ?? 0;
}

/** The library's summary, reworded where a trigger author deserves a better hint. */
function describe(error: unknown): string {
  const e = (error ?? {}) as CelError;
  const summary = e.summary ?? e.message ?? String(error);
  switch (e.code) {
    case 'no_such_key': {
      const field = summary.replace(/^No such key: /, '');
      return `unknown field '${field}'${suggestion(e.node, field)}`;
    }
    case 'unknown_variable':
      return `${lowerFirst(summary)} (the only variable is 'app')`;
    case 'no_matching_overload':
      return summary.replace(/^found no matching overload for /, 'no function or method matches ');
  }
  if (/Unexpected token: EOF/i.test(summary)) return 'unexpected end of expression';
  return lowerFirst(summary);
}

function suggestion(node: CelError['node'], field: string): string {
  if (node?.op !== '.' || !Array.isArray(node.args)) return '';
  const path = appPath(node.args[0] as ASTNode);
  const known = path && declaredFieldsAt(path);
  if (!known) return '';
  const best = closestName(field, known);
  return best ? ` (did you mean '${best}'?)` : ` (known fields: ${known.join(', ')})`;
}

/** ['status', 'sync'] for the AST of `app.status.sync`; undefined for anything else. */
function appPath(node: ASTNode | undefined): string[] | undefined {
  const path: string[] = [];
  let n: ASTNode | undefined = node;
  while (n && n.op === '.') {
    path.unshift(n.args[1]);
    n = n.args[0];
  }
  return n && n.op === 'id' && n.args === 'app' ? path : undefined;
}


function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
