// An expr-lang syntax tree → CEL text: nil checks become has(), predicates become
// macros, Go's time methods become CEL's; parentheses only where CEL's precedence
// needs them. Pure.
import { Untranslatable } from '../untranslatable.js';
import type { Node } from './parse.js';

export interface Emitter {
  notes: Set<string>;
  /** Name of the predicate variable while inside a closure. */
  element?: string;
  depth: number;
}

const celString = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}'`;

/** `app.a.b` for a path of plain members from a variable; undefined otherwise. */
function path(node: Node, e: Emitter): string | undefined {
  if (node.k === 'id') return node.name === 'app' ? 'app' : undefined;
  if (node.k === 'pointer') return e.element;
  if (node.k === 'member') {
    const base = path(node.obj, e);
    return base === undefined ? undefined : `${base}.${node.prop}`;
  }
  return undefined;
}

/** has() for every level below the root: `a.b.c` → has(a.b) && has(a.b.c). */
function presence(full: string): string {
  const parts = full.split('.');
  const checks: string[] = [];
  for (let i = 2; i <= parts.length; i++) checks.push(`has(${parts.slice(0, i).join('.')})`);
  return checks.join(' && ');
}

const TIME_METHODS: Record<string, string> = { Minutes: 'getMinutes', Seconds: 'getSeconds', Hours: 'getHours', Milliseconds: 'getMilliseconds' };
const PREDICATES: Record<string, (list: string, v: string, body: string) => string> = {
  all: (l, v, b) => `${l}.all(${v}, ${b})`,
  any: (l, v, b) => `${l}.exists(${v}, ${b})`,
  none: (l, v, b) => `!${l}.exists(${v}, ${b})`,
  one: (l, v, b) => `${l}.exists_one(${v}, ${b})`,
  filter: (l, v, b) => `${l}.filter(${v}, ${b})`,
  map: (l, v, b) => `${l}.map(${v}, ${b})`,
  count: (l, v, b) => `size(${l}.filter(${v}, ${b}))`,
};

export function emit(node: Node, e: Emitter): string {
  switch (node.k) {
    case 'lit':
      if (node.kind === 'nil') throw new Untranslatable('nil outside a comparison (x == nil, x != nil) has no CEL equivalent');
      return node.kind === 'str' ? celString(node.v) : node.v;
    case 'id':
      if (node.name === 'app') return 'app';
      throw new Untranslatable(`unknown name '${node.name}' (only 'app' exists in herald's CEL environment)`);
    case 'pointer':
      if (!e.element) throw new Untranslatable("'#' outside a predicate");
      return e.element;
    case 'member': {
      if (node.optional) e.notes.add("'?.' became '.': in herald a missing field makes the condition not fire");
      return `${emit(node.obj, e)}.${node.prop}`;
    }
    case 'index':
      return `${emit(node.obj, e)}[${emit(node.index, e)}]`;
    case 'unary':
      return `${node.op}${wrap(node.arg, e, 6)}`;
    case 'cond':
      return `${wrap(node.test, e, 1)} ? ${wrap(node.then, e, 1)} : ${wrap(node.else, e, 0)}`;
    case 'list':
      return `[${node.items.map((item) => emit(item, e)).join(', ')}]`;
    case 'closure':
      throw new Untranslatable('a predicate ({...}) outside any/all/none/one/filter/map/count');
    case 'binary':
      return emitBinary(node, e);
    case 'call':
      return emitCall(node, e);
  }
}

/** CEL precedence of what `node` emits: 0 ternary, 1 ||, 2 &&, 3 relations, 4 + -, 5 * / %, 6 unary, 7 primary. */
function precedence(node: Node): number {
  if (node.k === 'cond') return 0;
  if (node.k === 'unary') return 6;
  if (node.k !== 'binary') return 7;
  switch (node.op) {
    case '||':
    case 'or':
      return 1;
    case '&&':
    case 'and':
      return 2;
    case '+':
    case '-':
      return 4;
    case '*':
    case '/':
    case '%':
      return 5;
    case 'not in':
      return 6;
    case 'matches':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
    case '??':
      return 7;
    case '==':
    case '!=':
      return node.left.k === 'lit' && node.left.kind === 'nil' ? 6 : node.right.k === 'lit' && node.right.kind === 'nil' ? (node.op === '!=' ? 7 : 6) : 3;
    default:
      return 3;
  }
}

/** `node` emitted, in parentheses when it binds less tightly than `context` needs. */
function wrap(node: Node, e: Emitter, context = 7): string {
  const text = emit(node, e);
  return precedence(node) < context ? `(${text})` : text;
}

function emitBinary(node: Extract<Node, { k: 'binary' }>, e: Emitter): string {
  const { op, left, right } = node;
  const isNil = (n: Node) => n.k === 'lit' && n.kind === 'nil';
  if ((op === '==' || op === '!=') && (isNil(left) || isNil(right))) {
    const subject = isNil(left) ? right : left;
    const full = path(subject, e);
    if (!full || !full.includes('.')) throw new Untranslatable('a nil comparison needs a field path such as app.status.operationState');
    return op === '!=' ? `has(${full})` : `!(${presence(full)})`;
  }
  if (op === '??') {
    const full = path(left, e);
    if (!full || !full.includes('.')) throw new Untranslatable("'??' needs a field path on its left");
    return `(has(${full}) ? ${full} : ${wrap(right, e)})`;
  }
  if (op === '..') throw new Untranslatable("ranges (a..b) have no CEL equivalent");
  if (op === '**' || op === '^') throw new Untranslatable('exponentiation has no CEL equivalent');
  if (op === 'not in') return `!(${wrap(left, e, 4)} in ${wrap(right, e, 4)})`;
  if (op === 'matches' || op === 'contains' || op === 'startsWith' || op === 'endsWith') return `${wrap(left, e)}.${op}(${emit(right, e)})`;
  const celOp = op === 'and' ? '&&' : op === 'or' ? '||' : op;
  const level = precedence(node);
  // && and || are associative; other operators need the right side parenthesised at equal level.
  const associative = level === 1 || level === 2;
  return `${wrap(left, e, level)} ${celOp} ${wrap(right, e, associative ? level : level + 1)}`;
}

function emitCall(node: Extract<Node, { k: 'call' }>, e: Emitter): string {
  const { callee, args } = node;
  // Functions: len(x), any(list, {…}) and friends, time.Now(), time.Parse(s).
  if (callee.k === 'id') {
    if (callee.name === 'len' && args.length === 1) return `size(${emit(args[0]!, e)})`;
    const predicate = PREDICATES[callee.name];
    if (predicate && args.length === 2 && args[1]!.k === 'closure') {
      const variable = `x${e.depth}`;
      const inner: Emitter = { notes: e.notes, element: variable, depth: e.depth + 1 };
      return predicate(wrap(args[0]!, e), variable, emit((args[1] as Extract<Node, { k: 'closure' }>).body, inner));
    }
    throw new Untranslatable(`the function ${callee.name}() has no CEL translation`);
  }
  if (callee.k === 'member' && callee.obj.k === 'id' && callee.obj.name === 'time') {
    if (callee.prop === 'Now' && args.length === 0) return 'now()';
    if (callee.prop === 'Parse' && args.length === 1) return `timestamp(${emit(args[0]!, e)})`;
    throw new Untranslatable(`time.${callee.prop}() has no CEL translation`);
  }
  if (callee.k === 'member' && callee.obj.k === 'id' && callee.obj.name !== 'app') {
    throw new Untranslatable(`${callee.obj.name}.${callee.prop}() has no CEL translation`);
  }
  // Methods on times and durations.
  if (callee.k === 'member') {
    const target = callee.obj;
    if (callee.prop === 'Sub' && args.length === 1) return `(${emit(target, e)} - ${emit(args[0]!, e)})`;
    if (callee.prop === 'Before' && args.length === 1) return `${wrap(target, e)} < ${wrap(args[0]!, e)}`;
    if (callee.prop === 'After' && args.length === 1) return `${wrap(target, e)} > ${wrap(args[0]!, e)}`;
    const method = TIME_METHODS[callee.prop];
    if (method && args.length === 0) {
      e.notes.add(`${callee.prop}() became ${method}(), which counts whole units (Go's returns a fraction)`);
      return `${wrap(target, e)}.${method}()`;
    }
    throw new Untranslatable(`the method ${callee.prop}() has no CEL translation`);
  }
  throw new Untranslatable('this call has no CEL translation');
}
