// Translates Argo CD notification templates (Go text/template, with Argo CD's
// helpers and a few sprig functions) into nunjucks, for the common subset:
//
//   {{.app.metadata.name}}        → {{ app.metadata.name }}
//   {{.context.argocdUrl}}        → {{ context.argocdUrl }}
//   {{.serviceType}} {{.recipient}} → {{ notificationType }} {{ channel.name }}
//   {{if …}} {{else if …}} {{else}} {{end}}   → {% if %} {% elif %} {% else %} {% endif %}
//   {{range .list}}{{.x}}{{end}}, {{range $i, $v := .list}} → {% for … %} (loop.index0 for $i)
//   {{with .x}}…{{end}}, {{$v := …}}            → {% set %} + {% if %}
//   eq ne lt le gt ge and or not len index print, | pipelines
//   call .repo.RepoURLToHTTPS x   → x | repoURLToHTTPS
//   call .strings.ToUpper/ToLower/TrimSpace/ReplaceAll, sprig trunc upper lower title
//   trim default toJson
//   {{- and -}} whitespace trimming, {{/* comments */}}
//
// Go's output is kept exactly: herald's environment strips the newline after a block
// tag and the indentation before one (trimBlocks/lstripBlocks), so the translation
// puts back what those would remove. Pure. What cannot be translated is reported and
// left in the output as a nunjucks comment, never silently dropped.
import { Untranslatable } from '../untranslatable.js';
import { splitActions, tokenizeAction, type Piece } from './lex.js';
import { parsePipeline } from './parse.js';
import { Translator } from './translate.js';

export { splitActions, type Piece } from './lex.js';

export interface TemplateTranslation {
  /** The nunjucks template (always produced; untranslated actions are comments in it). */
  text: string;
  /** Constructs that could not be translated, with the original action. */
  problems: string[];
  notes: string[];
}

/** An open block; `broken` when its opening action could not be translated (its else/end are then comments too). */
type Block = { kind: 'if' | 'range' | 'with'; pushedScope: boolean; broken?: boolean };

const KEYWORD = /^(if|else|end|range|with|define|template|block|break|continue)\b\s*/;

export function goTemplateToNunjucks(source: string): TemplateTranslation {
  const problems: string[] = [];
  let pieces: Piece[];
  try {
    pieces = splitActions(source);
  } catch (error) {
    return { text: commentOut(source), problems: [(error as Error).message], notes: [] };
  }
  const translator = new Translator();
  const out: string[] = [];
  const blocks: Block[] = [];
  let fatal: string | undefined;

  // Block tags lose the newline after them and the indentation before them in
  // herald's environment; Go keeps both, so they are put back.
  const blockTag = (tag: string, index: number) => {
    const before = out.length > 0 ? out[out.length - 1]! : '';
    const indent = /[ \t]+$/.exec(before)?.[0];
    if (indent) out[out.length - 1] = `${before.slice(0, -indent.length)}{{ ${JSON.stringify(indent)} }}`;
    out.push(tag);
    const next = pieces[index + 1];
    if (next?.kind === 'text' && /^\r?\n/.test(next.text)) out.push('\n');
  };

  pieces.forEach((piece, index) => {
    if (fatal) return;
    if (piece.kind === 'text') {
      out.push(escapeText(piece.text));
      return;
    }
    const body = piece.body;
    if (body.startsWith('/*')) return; // a comment prints nothing in Go either
    const keyword = KEYWORD.exec(body);
    const rest = keyword ? body.slice(keyword[0].length) : body;
    const open = blocks[blocks.length - 1];
    if (open?.broken && (keyword?.[1] === 'else' || keyword?.[1] === 'end')) {
      if (keyword[1] === 'end') blocks.pop();
      out.push(commentOut(piece.source));
      return;
    }
    try {
      switch (keyword?.[1]) {
        case undefined: {
          const pipeline = parsePipeline(tokenizeAction(rest));
          if (pipeline.decl) {
            const value = translator.pipeline({ commands: pipeline.commands });
            if (pipeline.decl.names.length !== 1) throw new Untranslatable('only one variable can be assigned');
            const goName = pipeline.decl.names[0]!;
            const name = pipeline.decl.op === ':=' ? translator.fresh(goName) : translator.variable(goName);
            translator.scope.vars.set(goName, name);
            blockTag(`{% set ${name} = ${value} %}`, index);
          } else {
            out.push(`{{ ${stripParens(translator.pipeline(pipeline))} }}`);
          }
          return;
        }
        case 'if': {
          const condition = translator.pipeline(parsePipeline(tokenizeAction(rest)));
          blocks.push({ kind: 'if', pushedScope: false });
          blockTag(`{% if ${stripParens(condition)} %}`, index);
          return;
        }
        case 'else': {
          const block = blocks[blocks.length - 1];
          if (!block) throw new Untranslatable('{{else}} without {{if}}, {{range}} or {{with}}');
          if (/^if\b/.test(rest)) {
            if (block.kind !== 'if') throw new Untranslatable('{{else if}} is only translated inside {{if}}');
            const condition = translator.pipeline(parsePipeline(tokenizeAction(rest.replace(/^if\s*/, ''))));
            blockTag(`{% elif ${stripParens(condition)} %}`, index);
            return;
          }
          if (rest !== '') throw new Untranslatable(`{{else ${rest}}} is not translated`);
          // The else branch of range and with sees the outer dot again.
          if (block.pushedScope) translator.leave();
          block.pushedScope = false;
          blockTag('{% else %}', index);
          return;
        }
        case 'end': {
          const block = blocks.pop();
          if (!block) throw new Untranslatable('{{end}} without a block');
          if (block.pushedScope) translator.leave();
          blockTag(block.kind === 'range' ? '{% endfor %}' : '{% endif %}', index);
          return;
        }
        case 'range': {
          const pipeline = parsePipeline(tokenizeAction(rest));
          const list = translator.pipeline({ commands: pipeline.commands });
          const names = pipeline.decl?.names ?? [];
          const vars = new Map<string, string>();
          let item: string;
          if (names.length === 2) {
            vars.set(names[0]!, 'loop.index0');
            item = translator.fresh(names[1]!);
            vars.set(names[1]!, item);
            translator.notes.add(`{{range $${names[0]}, $${names[1]} := …}} became a list loop ($${names[0]} is loop.index0); over a map, iterate with {% for key, value in … %} instead`);
          } else if (names.length === 1) {
            item = translator.fresh(names[0]!);
            vars.set(names[0]!, item);
          } else {
            item = translator.fresh('item');
          }
          translator.enter({ dot: item, vars });
          blocks.push({ kind: 'range', pushedScope: true });
          blockTag(`{% for ${item} in ${stripParens(list)} %}`, index);
          return;
        }
        case 'with': {
          const pipeline = parsePipeline(tokenizeAction(rest));
          const value = translator.pipeline({ commands: pipeline.commands });
          const name = translator.fresh(pipeline.decl?.names[0] ?? 'it');
          const vars = new Map<string, string>();
          if (pipeline.decl?.names[0]) vars.set(pipeline.decl.names[0], name);
          blockTag(`{% set ${name} = ${stripParens(value)} %}{% if ${name} %}`, index);
          translator.enter({ dot: name, vars });
          blocks.push({ kind: 'with', pushedScope: true });
          return;
        }
        default:
          if (keyword?.[1] === 'template' || keyword?.[1] === 'break' || keyword?.[1] === 'continue') {
            throw new Untranslatable(`{{${keyword[1]}}} has no translation`);
          }
          // define / block open a block whose structure cannot be kept.
          fatal = `{{${keyword![1]}}} (named templates) cannot be translated`;
          return;
      }
    } catch (error) {
      if (!(error instanceof Untranslatable)) throw error;
      problems.push(`${piece.source}: ${error.message}`);
      out.push(commentOut(piece.source));
      // Keep the block structure: the matching else/end become comments as well.
      const kind = keyword?.[1];
      if (kind === 'if' || kind === 'range' || kind === 'with') blocks.push({ kind, pushedScope: false, broken: true });
    }
  });
  if (fatal) return { text: commentOut(source), problems: [fatal], notes: [...translator.notes] };
  if (blocks.length > 0) problems.push(`{{${blocks[blocks.length - 1]!.kind}}} is never closed with {{end}}`);
  return { text: out.join(''), problems, notes: [...translator.notes] };
}

/** Literal text: nunjucks delimiters in it are printed, not interpreted. */
function escapeText(text: string): string {
  return text.replace(/\{[{%#]|[%#]\}/g, (m) => `{{ ${JSON.stringify(m)} }}`);
}

/** An untranslated action, kept visible in the template source as a comment. */
function commentOut(source: string): string {
  return `{# not converted: ${source.replace(/#\}/g, '# }').replace(/\{#/g, '{ #')} #}`;
}

/** `(a == b)` → `a == b` when the parentheses wrap the whole expression. */
function stripParens(expression: string): string {
  if (!expression.startsWith('(') || !expression.endsWith(')')) return expression;
  let depth = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === '"') {
      // skip a string literal
      i++;
      while (i < expression.length && expression[i] !== '"') i += expression[i] === '\\' ? 2 : 1;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0 && i < expression.length - 1) return expression;
    }
  }
  return expression.slice(1, -1);
}
