// expr-lang tokens → a syntax tree, with expr's operator precedence (`??` loosest,
// `**` tightest), member and index access, calls and `{…}` predicates. Pure.
import { Untranslatable } from '../untranslatable.js';
import type { Token } from './lex.js';

export type Node =
  | { k: 'lit'; kind: 'num' | 'str' | 'bool' | 'nil'; v: string }
  | { k: 'id'; name: string }
  | { k: 'pointer' } // `#` inside a predicate
  | { k: 'member'; obj: Node; prop: string; optional: boolean }
  | { k: 'index'; obj: Node; index: Node }
  | { k: 'call'; callee: Node; args: Node[] }
  | { k: 'unary'; op: string; arg: Node }
  | { k: 'binary'; op: string; left: Node; right: Node }
  | { k: 'cond'; test: Node; then: Node; else: Node }
  | { k: 'list'; items: Node[] }
  | { k: 'closure'; body: Node };

const BINARY: Array<{ ops: string[] }> = [
  { ops: ['??'] },
  { ops: ['||', 'or'] },
  { ops: ['&&', 'and'] },
  { ops: ['==', '!=', '<', '>', '<=', '>=', 'in', 'not in', 'matches', 'contains', 'startsWith', 'endsWith'] },
  { ops: ['..'] },
  { ops: ['+', '-'] },
  { ops: ['*', '/', '%'] },
  { ops: ['**', '^'] },
];

export class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }
  private next(): Token {
    return this.tokens[this.i++]!;
  }
  private isOp(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.t === 'op' && t.v === v;
  }
  private expect(v: string): void {
    const t = this.next();
    if (!(t.t === 'op' && t.v === v)) throw new Untranslatable(`expected '${v}' at column ${t.pos + 1}`);
  }

  parse(): Node {
    const node = this.ternary();
    const t = this.peek();
    if (t.t !== 'eof') throw new Untranslatable(`unexpected ${describe(t)} at column ${t.pos + 1}`);
    return node;
  }

  private ternary(): Node {
    const test = this.binary(0);
    if (this.isOp('?')) {
      this.next();
      const then = this.ternary();
      this.expect(':');
      const otherwise = this.ternary();
      return { k: 'cond', test, then, else: otherwise };
    }
    return test;
  }

  /** The binary operator at the cursor, if it belongs to precedence level `level`. */
  private binaryOp(level: number): string | undefined {
    const t = this.peek();
    const ops = BINARY[level]!.ops;
    if (t.t === 'op' && ops.includes(t.v)) return t.v;
    if (t.t === 'id') {
      if (t.v === 'not' && ops.includes('not in')) {
        const after = this.peek(1);
        if (after.t === 'id' && after.v === 'in') return 'not in';
      }
      if (ops.includes(t.v) && t.v !== 'not in') return t.v;
    }
    return undefined;
  }

  private binary(level: number): Node {
    if (level >= BINARY.length) return this.unary();
    let left = this.binary(level + 1);
    for (let op = this.binaryOp(level); op !== undefined; op = this.binaryOp(level)) {
      this.next();
      if (op === 'not in') this.next();
      const right = this.binary(level + 1);
      left = { k: 'binary', op, left, right };
    }
    return left;
  }

  private unary(): Node {
    const t = this.peek();
    if ((t.t === 'op' && (t.v === '!' || t.v === '-' || t.v === '+')) || (t.t === 'id' && t.v === 'not')) {
      this.next();
      return { k: 'unary', op: t.v === 'not' ? '!' : t.v, arg: this.unary() };
    }
    return this.postfix(this.primary());
  }

  private postfix(node: Node): Node {
    for (;;) {
      if (this.isOp('.') || this.isOp('?.')) {
        const optional = (this.next() as { v: string }).v === '?.';
        const name = this.next();
        if (name.t !== 'id') throw new Untranslatable(`expected a field name at column ${name.pos + 1}`);
        node = { k: 'member', obj: node, prop: name.v, optional };
      } else if (this.isOp('[')) {
        this.next();
        const index = this.ternary();
        if (this.isOp(':')) throw new Untranslatable('slices (a[i:j]) have no CEL equivalent');
        this.expect(']');
        node = { k: 'index', obj: node, index };
      } else if (this.isOp('(')) {
        this.next();
        const args: Node[] = [];
        while (!this.isOp(')')) {
          args.push(this.isOp('{') ? this.closure() : this.ternary());
          if (!this.isOp(',')) break;
          this.next();
        }
        this.expect(')');
        node = { k: 'call', callee: node, args };
      } else {
        return node;
      }
    }
  }

  private closure(): Node {
    this.expect('{');
    const body = this.ternary();
    this.expect('}');
    return { k: 'closure', body };
  }

  private primary(): Node {
    const t = this.next();
    switch (t.t) {
      case 'num':
        return { k: 'lit', kind: 'num', v: t.v };
      case 'str':
        return { k: 'lit', kind: 'str', v: t.v };
      case 'id':
        if (t.v === 'true' || t.v === 'false') return { k: 'lit', kind: 'bool', v: t.v };
        if (t.v === 'nil') return { k: 'lit', kind: 'nil', v: 'nil' };
        return { k: 'id', name: t.v };
      case 'op':
        if (t.v === '(') {
          const inner = this.ternary();
          this.expect(')');
          return inner;
        }
        if (t.v === '[') {
          const items: Node[] = [];
          while (!this.isOp(']')) {
            items.push(this.ternary());
            if (!this.isOp(',')) break;
            this.next();
          }
          this.expect(']');
          return { k: 'list', items };
        }
        if (t.v === '#') return { k: 'pointer' };
        // `.field` inside a predicate is short for `#.field`.
        if (t.v === '.') {
          const name = this.next();
          if (name.t !== 'id') throw new Untranslatable(`expected a field name at column ${name.pos + 1}`);
          return { k: 'member', obj: { k: 'pointer' }, prop: name.v, optional: false };
        }
        if (t.v === '{') throw new Untranslatable('map literals ({...}) are not supported');
        throw new Untranslatable(`unexpected '${t.v}' at column ${t.pos + 1}`);
      case 'eof':
        throw new Untranslatable('unexpected end of expression');
    }
  }
}

function describe(t: Token): string {
  return t.t === 'eof' ? 'end of expression' : `'${t.v}'`;
}
