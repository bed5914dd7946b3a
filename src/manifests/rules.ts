// The CRDs' `x-kubernetes-validations` rules, evaluated offline with the same CEL
// library herald uses for triggers, with `self` bound to the value the rule sits on.
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { toCelInput } from '../triggers/values.js';
import type { FieldPath } from './load.js';
import type { Schema, SchemaIssue, ValidationRule } from './schema.js';

const ruleEnvironment = new Environment({ homogeneousAggregateLiterals: false }).registerVariable('self', 'dyn');

const compiled = new Map<string, ParseResult | Error>();

function program(rule: string): ParseResult | Error {
  let entry = compiled.get(rule);
  if (!entry) {
    try {
      entry = ruleEnvironment.parse(rule);
    } catch (error) {
      entry = error instanceof Error ? error : new Error(String(error));
    }
    compiled.set(rule, entry);
  }
  return entry;
}

export interface RuleResults {
  issues: SchemaIssue[];
  /** Rules that cannot be checked offline (transition rules, unknown functions). */
  skipped: string[];
}

/** Evaluates every rule that applies to `value` (defaulted, structurally valid parts only). Pure. */
export function checkValidationRules(value: unknown, schema: Schema, path: FieldPath = []): RuleResults {
  const results: RuleResults = { issues: [], skipped: [] };
  walk(value, schema, path, results);
  return results;
}

function walk(value: unknown, schema: Schema, path: FieldPath, results: RuleResults): void {
  if (value === undefined || value === null) return;
  for (const rule of schema['x-kubernetes-validations'] ?? []) evaluate(rule, value, path, results);
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, index) => walk(item, schema.items!, [...path, index], results));
    return;
  }
  if (typeof value === 'object') {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const childSchema = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (childSchema) walk(child, childSchema, [...path, key], results);
    }
  }
}

function evaluate(rule: ValidationRule, value: unknown, path: FieldPath, results: RuleResults): void {
  if (/\boldSelf\b/.test(rule.rule)) {
    results.skipped.push(`${rule.rule} (a transition rule: needs the stored object)`);
    return;
  }
  const compiledRule = program(rule.rule);
  if (compiledRule instanceof Error) {
    results.skipped.push(`${rule.rule} (${compiledRule.message.split('\n')[0]})`);
    return;
  }
  const at = rule.fieldPath ? [...path, ...parseFieldPath(rule.fieldPath)] : path;
  let holds: unknown;
  try {
    holds = compiledRule({ self: toCel(value) });
  } catch (error) {
    results.issues.push({ path: at, message: `cannot evaluate the rule ${JSON.stringify(rule.rule)}: ${(error as Error).message.split('\n')[0]}` });
    return;
  }
  if (holds !== true) results.issues.push({ path: at, message: rule.message ?? `failed rule: ${rule.rule}` });
}

function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (value && typeof value === 'object') return Array.isArray(value) ? value.map(toCel) : toCelInput(value);
  return value;
}

/** `.spec.items[0].name` → ['spec', 'items', 0, 'name'] (the rule's fieldPath, relative to self). */
function parseFieldPath(text: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const match of text.matchAll(/\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['([^']*)'\]/g)) {
    if (match[1] !== undefined) out.push(match[1]);
    else if (match[2] !== undefined) out.push(Number(match[2]));
    else if (match[3] !== undefined) out.push(match[3]);
  }
  return out;
}
