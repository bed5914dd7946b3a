// Translates Argo CD notification trigger expressions (expr-lang, github.com/expr-lang/expr)
// into CEL, for the subset Argo CD's catalog and typical ConfigMaps use:
//
//   and or not && || !  == != < <= > >=  in, not in  + - * / %  a ? b : c
//   'strings' "strings"  numbers  true false  [lists]  app.a.b  app.a?.b  x["key"]
//   x != nil → has(x)   x == nil → !has(x)   a ?? b → has(a) ? a : b
//   matches contains startsWith endsWith → CEL methods      len(x) → size(x)
//   time.Now() → now()   time.Parse(s) → timestamp(s)   t1.Sub(t2) → (t1 - t2)
//   d.Minutes()/Seconds()/Hours() → d.getMinutes()/…   t.Before(u)/After(u) → t < u / t > u
//   any/all/none/one/filter/map/count(list, {predicate with # or .field})
//
// Pure. Anything else is reported as untranslatable, never guessed.
import { Untranslatable } from '../untranslatable.js';
import { emit } from './emit.js';
import { tokenize } from './lex.js';
import { Parser } from './parse.js';

export interface ExprTranslation {
  cel?: string;
  /** Why it cannot be translated (then `cel` is undefined). */
  problem?: string;
  /** Differences in meaning worth telling the user about. */
  notes: string[];
}

export function exprToCel(source: string): ExprTranslation {
  const notes = new Set<string>();
  try {
    const ast = new Parser(tokenize(source)).parse();
    const cel = emit(ast, { notes, depth: 0 });
    return { cel, notes: [...notes] };
  } catch (error) {
    if (error instanceof Untranslatable) return { problem: error.message, notes: [...notes] };
    throw error;
  }
}
