// The tokens of one Go template action → a pipeline: an optional variable declaration
// and commands joined by `|`, each a list of operands. Pure.
import { Untranslatable } from '../untranslatable.js';
import { AFTER_PAREN, type Tok } from './lex.js';

export type Operand =
  | { k: 'field'; path: string[] }
  | { k: 'var'; name: string; path: string[] }
  | { k: 'lit'; text: string; literal: string | number | boolean | null }
  | { k: 'func'; name: string }
  | { k: 'paren'; pipeline: Pipeline; path: string[] };

export type Command = Operand[];
export interface Pipeline {
  decl?: { names: string[]; op: ':=' | '=' };
  commands: Command[];
}

export function parsePipeline(tokens: Tok[]): Pipeline {
  let i = 0;
  const pipeline: Pipeline = { commands: [] };
  // $x := …, $i, $v := …
  const declEnd = tokens.findIndex((t) => t.t === 'op' && (t.v === ':=' || t.v === '='));
  if (declEnd > 0 && tokens.slice(0, declEnd).every((t) => (t.t === 'var' && t.path.length === 0) || (t.t === 'op' && t.v === ','))) {
    pipeline.decl = {
      names: tokens.slice(0, declEnd).flatMap((t) => (t.t === 'var' ? [t.name] : [])),
      op: (tokens[declEnd] as { v: ':=' | '=' }).v,
    };
    i = declEnd + 1;
  }
  const parseOperands = (stopAtParen: boolean): Pipeline => {
    const inner: Pipeline = { commands: [[]] };
    while (i < tokens.length) {
      const t = tokens[i]!;
      if (t.t === 'op' && t.v === ')') {
        if (!stopAtParen) throw new Untranslatable("unexpected ')'");
        return inner;
      }
      i++;
      if (t.t === 'op' && t.v === '|') {
        inner.commands.push([]);
        continue;
      }
      const command = inner.commands[inner.commands.length - 1]!;
      if (t.t === 'op' && t.v === '(') {
        const nested = parseOperands(true);
        i++; // the ')'
        const after = tokens[i];
        let path: string[] = [];
        if (after && after.t === 'field' && after.path[0] === AFTER_PAREN) {
          path = after.path.slice(1);
          i++;
        }
        command.push({ k: 'paren', pipeline: nested, path });
      } else if (t.t === 'field') command.push({ k: 'field', path: t.path });
      else if (t.t === 'var') command.push({ k: 'var', name: t.name, path: t.path });
      else if (t.t === 'str') command.push({ k: 'lit', text: JSON.stringify(t.v), literal: t.v });
      else if (t.t === 'num') command.push({ k: 'lit', text: t.v, literal: Number(t.v) });
      else if (t.t === 'id' && (t.v === 'true' || t.v === 'false')) command.push({ k: 'lit', text: t.v, literal: t.v === 'true' });
      else if (t.t === 'id' && t.v === 'nil') command.push({ k: 'lit', text: 'none', literal: null });
      else if (t.t === 'id') command.push({ k: 'func', name: t.v });
      else throw new Untranslatable(`unexpected '${(t as { v?: string }).v ?? t.t}'`);
    }
    if (stopAtParen) throw new Untranslatable("missing ')'");
    return inner;
  };
  pipeline.commands = parseOperands(false).commands;
  if (pipeline.commands.some((c) => c.length === 0)) throw new Untranslatable('empty command in a pipeline');
  return pipeline;
}
