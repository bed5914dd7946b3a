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
import { DEFAULT_RENDER_LIMITS } from './limits.js';

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

/**
 * The output cap of the render in progress (renders are synchronous, so one at a time
 * per process), and whether a filter went past it. A filter's error reaches the caller
 * wrapped by nunjucks as text; this flag is how the caller knows it was the cap.
 */
const outputCap = { limit: DEFAULT_RENDER_LIMITS.maxOutputBytes, tripped: false };

/** Runs one render with its output cap; `tripped` says whether a filter went past it. */
export function withOutputCap<T>(maxOutputBytes: number, render: () => T): { value?: T; error?: unknown; tripped: boolean } {
  const previous = outputCap.limit;
  outputCap.limit = maxOutputBytes;
  outputCap.tripped = false;
  try {
    return { value: render(), tripped: outputCap.tripped };
  } catch (error) {
    return { error, tripped: outputCap.tripped };
  } finally {
    outputCap.limit = previous;
    outputCap.tripped = false;
  }
}

class OutputCapExceeded extends Error {}

function overCap(): never {
  outputCap.tripped = true;
  throw new OutputCapExceeded(`output over ${outputCap.limit} bytes`);
}

/** Filters whose numeric argument (after the value) is the size of what they build: checked before they run. */
const SIZE_ARGUMENT: Readonly<Record<string, number>> = { indent: 1, center: 1, slice: 1 };

type Filter = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Every filter, nunjucks' and herald's, checks its result against the output cap
 * (a string or SafeString longer than the cap, in UTF-16 units, which never exceed
 * UTF-8 bytes, is over it), and the size-taking ones check their argument first.
 */
function capFilters(env: nunjucks.Environment): void {
  const filters = (env as unknown as { filters: Record<string, Filter> }).filters;
  for (const [name, filter] of Object.entries(filters)) {
    const sizeArgument = SIZE_ARGUMENT[name];
    filters[name] = function capped(this: unknown, ...args: unknown[]): unknown {
      if (sizeArgument !== undefined && Number(args[sizeArgument]) > outputCap.limit) overCap();
      const result = filter.apply(this, args);
      if ((typeof result === 'string' || result instanceof nunjucks.runtime.SafeString) && result.length > outputCap.limit) overCap();
      return result;
    };
  }
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
  capFilters(env);
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
