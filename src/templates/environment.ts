// The nunjucks environment every NotificationTemplate is compiled in.
//
// - No loader: a template is one self-contained string (include/import/extends are
//   rejected when compiling, see compile.ts).
// - autoescape off: DingTalk markdown is not HTML, and `&` must stay `&`.
// - trimBlocks/lstripBlocks on: a `{% if %}` line leaves no blank line behind, which
//   matters in markdown lists.
// - Templates are written by anyone who may create a NotificationTemplate in some
//   namespace, and render inside the operator, which holds every channel's secrets.
//   nunjucks is not a sandbox (`"".constructor.constructor("code")()` runs code), so
//   property lookups of constructor/prototype machinery are blocked, and `range` is
//   bounded so a template cannot spin forever.
import nunjucks from 'nunjucks';
import { heraldFilters } from './filters/index.js';

/** Property names a template may never read: the way from a value to `Function`. */
export const BLOCKED_PROPERTIES: ReadonlySet<string> = new Set([
  'constructor',
  'prototype',
  '__proto__',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
]);

/** Largest list `range()` builds. */
export const MAX_RANGE = 10_000;

type MemberLookup = (obj: unknown, key: unknown) => unknown;
const runtime = nunjucks.runtime as unknown as { memberLookup: MemberLookup; __heraldGuarded?: boolean };

// Compiled templates call runtime.memberLookup for every `a.b` and `a[b]`; this
// guards it for dynamic keys too (`a[x]` where x is computed), process-wide, once.
if (!runtime.__heraldGuarded) {
  const original = runtime.memberLookup;
  runtime.memberLookup = (obj, key) => {
    if (typeof key === 'string' && BLOCKED_PROPERTIES.has(key)) return undefined;
    if (typeof obj === 'function' && (key === 'call' || key === 'apply' || key === 'bind')) return undefined;
    return original(obj, key);
  };
  runtime.__heraldGuarded = true;
}

function boundedRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  const out: number[] = [];
  if (!Number.isFinite(start) || !Number.isFinite(stop) || !Number.isFinite(step) || step === 0) return out;
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (out.length >= MAX_RANGE) throw new Error(`range() is limited to ${MAX_RANGE} items`);
    out.push(i);
  }
  return out;
}

function createEnvironment(): nunjucks.Environment {
  const env = new nunjucks.Environment([], {
    autoescape: false,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  for (const [name, filter] of Object.entries(heraldFilters)) env.addFilter(name, filter);
  env.addGlobal('range', boundedRange);
  return env;
}

export const templateEnvironment: nunjucks.Environment = createEnvironment();

/** True when `{{ x | name }}` names a filter nunjucks or herald provides. */
export function hasFilter(name: string): boolean {
  try {
    templateEnvironment.getFilter(name);
    return true;
  } catch {
    return false;
  }
}
