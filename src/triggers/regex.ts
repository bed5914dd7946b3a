// CEL's `matches()` with RE2 semantics (linear time in the input), as the CEL spec
// requires: JavaScript's backtracking RegExp lets `'^(a+)+$'` on a 30-character name
// block the event loop for minutes. re2js is a pure-JS port of RE2.
import { LRUCache } from 'lru-cache';
import { RE2JS } from 're2js';

/** A pattern RE2 does not accept (lookaround, backreferences, bad syntax…). */
export class RegexSyntaxError extends Error {
  constructor(pattern: string, detail: string) {
    super(`invalid RE2 regular expression ${JSON.stringify(truncate(pattern, 80))}: ${detail}`);
  }
}

// Compiled patterns, shared by every trigger; bounded so that a trigger building
// patterns from Application fields cannot grow it without limit.
const compiled = new LRUCache<string, RE2JS>({ max: 500 });

/** Compiles (or takes from the cache) a pattern; throws RegexSyntaxError. */
export function compileRegex(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (re) return re;
  try {
    re = RE2JS.compile(pattern);
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : String(error);
    throw new RegexSyntaxError(pattern, detail);
  }
  compiled.set(pattern, re);
  return re;
}

/** CEL `text.matches(pattern)`: true when the pattern matches any part of text (RE2::PartialMatch). */
export function re2Matches(text: string, pattern: string): boolean {
  return compileRegex(pattern).test(text);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
