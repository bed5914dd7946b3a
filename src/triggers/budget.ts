// Bounds on what one CEL expression may cost, as Kubernetes bounds CEL in CRD
// validation rules and ValidatingAdmissionPolicies: a cost estimated at compile time
// (comprehension nesting × list sizes) rejects what is clearly too expensive before
// any Application is evaluated, and a cost budget plus a deadline, counted while the
// expression runs, stop the rest. Triggers are written by tenants and run in the one
// process that serves every team, so neither may block the event loop.
//
// Cost units: one per AST node evaluated in a comprehension step (charged per
// iteration), and one per character a regular expression scans. About 20 ns each
// here, so the default limit of 10,000,000 is roughly a quarter of a second.
//
// How it hooks into @marcbachmann/cel-js (exact version pinned in package.json): after
// type-checking, the compiler walks the checked AST and
//   - replaces the evaluation handle of every `matches()` call with an RE2 one
//     (./regex.ts) that charges the characters it scans;
//   - wraps each comprehension's per-iteration `condition` (map/filter get one) so
//     that every iteration charges the cost of its step.
// test/unit/triggers-bounds.test.ts fails if a library upgrade bypasses either hook.
import { formatPosition, position } from './position.js';
import { compileRegex, re2Matches, RegexSyntaxError } from './regex.js';
import { Slot } from './slot.js';

export interface CelLimits {
  /** Cost units one expression may use per evaluation; also the compile-time estimate's limit. */
  costLimit: number;
  /** Elements the compile-time estimate assumes for a list whose size it cannot know (Application fields). */
  listSizeEstimate: number;
  /** Wall-clock limit of one expression's evaluation, in milliseconds. */
  timeoutMs: number;
}

export const DEFAULT_CEL_LIMITS: Readonly<CelLimits> = Object.freeze({
  costLimit: 10_000_000,
  listSizeEstimate: 500,
  timeoutMs: 500,
});

/** The flags that set each limit, for messages that tell the reader what to change. */
export const LIMIT_FLAGS = {
  costLimit: '--cel-cost-limit',
  listSizeEstimate: '--cel-list-size-estimate',
  timeoutMs: '--cel-timeout',
} as const;

/** Length the estimate assumes for a string it cannot know (names, labels, messages). */
const STRING_LENGTH_ESTIMATE = 100;

/** Where in the expression a cost arises: a 0-based offset and what is there. */
export interface CostSite {
  offset: number;
  /** `exists()`, `map()`, `matches()`… */
  label: string;
  /** `column 17` (or `line 2, column 3`) */
  at: string;
}

function site(node: Node, offset: number, label: string): CostSite {
  return { offset, label, at: formatPosition(position(node.input, offset)) };
}

// ---------------------------------------------------------------------------------
// The checked AST, as far as this file needs it (cel-js does not export the class).

interface Node {
  op: string;
  args: unknown;
  pos: number;
  start: number;
  end: number;
  input: string;
  meta: { alternate?: Node; macro?: Record<string, unknown> };
  handle?: (...args: unknown[]) => unknown;
}

interface ComprehensionArgs {
  iterable: Node;
  init: Node;
  step: Node;
  condition?: (accu: unknown) => boolean;
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as Node).op === 'string' && 'meta' in value;
}

/** The nodes a node evaluates (its alternate when it has one: a macro's expansion). */
function children(node: Node): Node[] {
  if (node.meta.alternate) return [node.meta.alternate];
  const out: Node[] = [];
  const collect = (value: unknown): void => {
    if (isNode(value)) out.push(value);
    else if (Array.isArray(value)) value.forEach(collect);
  };
  if (node.meta.macro) {
    const macro = node.meta.macro;
    collect(macro.args);
    collect(macro.val);
    collect(macro.exp);
    return out;
  }
  if (node.op === 'value') return out;
  if (node.op === 'comprehension') {
    const args = node.args as ComprehensionArgs;
    return [args.iterable, args.init, args.step];
  }
  collect(node.args);
  return out;
}

/** What a call node is called in messages, and where its name stands in the text. */
function callSite(node: Node): CostSite {
  const [name, receiver] = node.args as [string, Node | undefined];
  const from = node.op === 'rcall' && receiver ? receiver.end : node.start;
  const at = node.input.indexOf(name, from);
  return site(node, at >= 0 ? at : node.pos, `${name}()`);
}

function isMatchesCall(node: Node): boolean {
  if (node.op !== 'rcall' || node.meta.alternate || node.meta.macro) return false;
  const [name, , args] = node.args as [string, Node, Node[]];
  return name === 'matches' && Array.isArray(args) && args.length === 1;
}

/** Visits every node; a macro's expansion gets the site of the call it expands (`exists()` at …). */
function forEachNode(root: Node, visit: (node: Node, callSiteOf: CostSite | undefined) => void): void {
  const walk = (node: Node, callSiteOf: CostSite | undefined): void => {
    visit(node, callSiteOf);
    const ownSite = node.op === 'rcall' || node.op === 'call' ? callSite(node) : undefined;
    for (const child of children(node)) walk(child, node.meta.alternate === child ? ownSite : undefined);
  };
  walk(root, undefined);
}

// ---------------------------------------------------------------------------------
// Compile time: the estimate.

export interface CostEstimate {
  /** Estimated worst-case cost of one evaluation. */
  cost: number;
  /** The comprehension (or call) contributing most, with the list sizes assumed around it. */
  hotspot?: CostSite & { cost: number; sizes: number[] };
}

/**
 * The worst-case cost of one evaluation, counted as the runtime meter counts it:
 * comprehension iterations × their step's weight, and the characters `matches()`
 * scans. Literal lists count as they are; any other list as limits.listSizeEstimate
 * elements, strings as STRING_LENGTH_ESTIMATE characters.
 */
export function estimateCost(root: Node, limits: CelLimits): CostEstimate {
  let hotspot: CostEstimate['hotspot'];
  const note = (where: CostSite, cost: number, sizes: number[]) => {
    if (!hotspot || cost > hotspot.cost) hotspot = { ...where, cost, sizes };
  };

  /** Cost of evaluating node `times` times; `sizes` are the enclosing lists' sizes. */
  const cost = (node: Node, callSiteOf: CostSite | undefined, times: number, sizes: number[]): number => {
    if (node.op === 'comprehension') {
      const args = node.args as ComprehensionArgs;
      const size = listSize(args.iterable, limits);
      const inner = [...sizes, size];
      const iterations = times * size;
      const own = iterations * iterationWeight(args.step);
      note(callSiteOf ?? site(node, node.pos, 'comprehension'), own, inner);
      return own + cost(args.iterable, undefined, times, sizes) + cost(args.init, undefined, times, sizes) + cost(args.step, undefined, iterations, inner);
    }
    let total = 0;
    if (isMatchesCall(node)) {
      const scanned = times * (1 + STRING_LENGTH_ESTIMATE);
      note(callSite(node), scanned, sizes);
      total += scanned;
    }
    const ownSite = node.op === 'rcall' || node.op === 'call' ? callSite(node) : undefined;
    for (const child of children(node)) total += cost(child, node.meta.alternate === child ? ownSite : undefined, times, sizes);
    return total;
  };
  const total = cost(root, undefined, 1, []);
  return { cost: total, ...(hotspot ? { hotspot } : {}) };
}

/** Elements a comprehension's range holds: a literal's own size, else the assumed size. */
function listSize(node: Node, limits: CelLimits): number {
  const target = node.meta.alternate ?? node;
  if ((target.op === 'list' || target.op === 'map') && Array.isArray(target.args)) return target.args.length;
  // map()/filter() over something yield at most as many elements as it has.
  if (target.op === 'comprehension') return listSize((target.args as ComprehensionArgs).iterable, limits);
  return limits.listSizeEstimate;
}

/** `exists() at column 40 runs its step 500 × 500 × 500 times` */
export function describeHotspot(hotspot: NonNullable<CostEstimate['hotspot']>): string {
  const times = hotspot.sizes.length > 0 ? `, reached ${hotspot.sizes.map(formatCount).join(' × ')} times,` : '';
  return `${hotspot.label} at ${hotspot.at}${times} costs ${formatCount(hotspot.cost)}`;
}

export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return 'more than 1e300';
  if (n >= 1e12) return n.toExponential(1).replace('e+', 'e');
  return Math.round(n).toLocaleString('en-US');
}

/** A `matches()` whose pattern is a literal RE2 cannot compile: where and why. */
export interface PatternProblem {
  offset: number;
  message: string;
}

/** Literal patterns are compiled now, so that an invalid one is a compile error. */
export function checkLiteralPatterns(root: Node): PatternProblem | undefined {
  let problem: PatternProblem | undefined;
  forEachNode(root, (node) => {
    if (problem || !isMatchesCall(node)) return;
    const [pattern] = (node.args as [string, Node, Node[]])[2];
    if (pattern?.op !== 'value' || typeof pattern.args !== 'string') return;
    try {
      compileRegex(pattern.args);
    } catch (error) {
      problem = { offset: pattern.start, message: error instanceof Error ? error.message : String(error) };
    }
  });
  return problem;
}

// ---------------------------------------------------------------------------------
// Run time: the meter.

/** Thrown (and remembered) when an evaluation runs out of budget. */
export class CostLimitError extends Error {
  readonly code = 'cost_limit_exceeded';
  constructor(
    message: string,
    /** 0-based offset in the expression of what was running. */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'CostLimitError';
  }
}

/** The budget of one expression's evaluation. */
export class CostMeter {
  used = 0;
  /** Set once the budget ran out; later charges throw it again at once. */
  exceeded: CostLimitError | undefined;
  private readonly deadline: number;
  private charges = 0;

  constructor(private readonly limits: CelLimits, private readonly now: () => number = () => performance.now()) {
    this.deadline = now() + limits.timeoutMs;
  }

  charge(units: number, where: CostSite): void {
    if (this.exceeded) throw this.exceeded;
    this.used += units;
    if (this.used > this.limits.costLimit) {
      this.fail(
        `cost limit exceeded: ${where.label} at ${where.at} took the evaluation past ${formatCount(this.limits.costLimit)} cost units (${LIMIT_FLAGS.costLimit}); iterate over less (filter first, fewer nested comprehensions) or scan shorter text`,
        where,
      );
    }
    // The clock is read every 256 charges (and on every regular expression), not per iteration.
    if ((++this.charges & 255) === 0 || units > 1000) this.checkDeadline(where);
  }

  checkDeadline(where: CostSite): void {
    if (this.now() > this.deadline) {
      this.fail(`time limit exceeded: evaluation ran longer than ${this.limits.timeoutMs} ms (${LIMIT_FLAGS.timeoutMs}); stopped in ${where.label} at ${where.at}`, where);
    }
  }

  private fail(message: string, where: CostSite): never {
    this.exceeded = new CostLimitError(message, where.offset);
    throw this.exceeded;
  }
}

// The meter of the evaluation in progress (set by meter() around each run; see slot.ts).
const meters = new Slot<CostMeter>();

/** Runs `evaluate` with `m` charged by every instrumented node it reaches. */
export function meter<T>(m: CostMeter, evaluate: () => T): T {
  return meters.during(m, evaluate);
}

function charge(units: number, where: CostSite): void {
  meters.current?.charge(units, where);
}

/** Units one iteration charges: 1 plus the nodes of the step evaluated each time (nested comprehensions charge their own). */
function iterationWeight(step: Node): number {
  let count = 1;
  const walk = (node: Node): void => {
    count += 1;
    if (node.op === 'comprehension') {
      const args = node.args as ComprehensionArgs;
      walk(args.iterable);
      walk(args.init);
      return;
    }
    for (const child of children(node)) walk(child);
  };
  walk(step);
  return count;
}

/**
 * Installs the runtime hooks in a checked AST: RE2 `matches()` and per-iteration
 * charges. Call once, right after a successful type-check.
 */
export function instrument(root: Node): void {
  forEachNode(root, (node, callSiteOf) => {
    if (node.op === 'comprehension') {
      const args = node.args as ComprehensionArgs;
      const weight = iterationWeight(args.step);
      const where = callSiteOf ?? site(node, node.pos, 'comprehension');
      const inner = args.condition;
      args.condition = inner
        ? (accu) => {
            charge(weight, where);
            return inner(accu);
          }
        : () => {
            charge(weight, where);
            return true;
          };
      return;
    }
    if (isMatchesCall(node)) {
      const where = callSite(node);
      const fallback = node.handle;
      node.handle = (values: unknown, ev: unknown, ast: unknown) => {
        const [text, pattern] = values as [unknown, unknown];
        // Anything but (string, string) goes to the library, which reports no matching overload.
        if (typeof text !== 'string' || typeof pattern !== 'string') return fallback?.(values, ev, ast);
        charge(1 + text.length, where);
        try {
          return re2Matches(text, pattern);
        } catch (error) {
          if (error instanceof RegexSyntaxError) throw Object.assign(error, { code: 'invalid_regular_expression' });
          throw error;
        }
      };
    }
  });
}

export type { Node as CheckedNode };
