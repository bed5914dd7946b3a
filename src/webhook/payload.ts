// Reading untrusted JSON payloads: every field is checked for its type, and a wrong
// one becomes a MalformedPayloadError that names the field, never a TypeError.
import { MalformedPayloadError } from './errors.js';
import { header } from './signature.js';
import type { WebhookRequest } from './types.js';

type JsonObject = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * The JSON document of a request. Providers that offer a form encoding
 * (`application/x-www-form-urlencoded`, GitHub and Gogs) put it in the `payload` field.
 */
export function decodeJsonBody(request: WebhookRequest, source: string): unknown {
  let text = request.body.toString('utf8');
  const contentType = header(request.headers, 'content-type')?.toLowerCase() ?? '';
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) throw new MalformedPayloadError(`${source}: form-encoded body has no "payload" field`);
    text = payload;
  }
  if (text.trim() === '') throw new MalformedPayloadError(`${source}: body is empty`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // Say where, not what: the parser's own message quotes the body.
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    throw new MalformedPayloadError(`${source}: body is not valid JSON${position ? ` (error at byte ${position})` : ''}`);
  }
}

/** Type-checked access to a payload; `source` names the payload in every error, e.g. "GitHub push payload". */
export class PayloadReader {
  constructor(readonly source: string) {}

  fail(where: string, expected: string, value: unknown): never {
    if (value === undefined) throw new MalformedPayloadError(`${this.source}: ${where} is missing (must be ${expected})`);
    throw new MalformedPayloadError(`${this.source}: ${where} must be ${expected}, got ${describe(value)}`);
  }

  object(value: unknown, where: string): JsonObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return this.fail(where, 'an object', value);
    return value as JsonObject;
  }

  optionalObject(value: unknown, where: string): JsonObject | undefined {
    return value === undefined || value === null ? undefined : this.object(value, where);
  }

  string(value: unknown, where: string): string {
    if (typeof value !== 'string' || value === '') return this.fail(where, 'a non-empty string', value);
    return value;
  }

  optionalString(value: unknown, where: string): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') return this.fail(where, 'a string', value);
    return value === '' ? undefined : value;
  }

  optionalArray(value: unknown, where: string): unknown[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) return this.fail(where, 'an array', value);
    return value;
  }

  optionalNumber(value: unknown, where: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.fail(where, 'a number', value);
    return value;
  }

  /** An optional array of strings (absent = empty). */
  strings(value: unknown, where: string): string[] {
    const list = this.optionalArray(value, where) ?? [];
    return list.map((item, i) => this.string(item, `${where}[${i}]`));
  }

  /** added + modified + removed over all commits, each path once, in first-seen order. */
  changedFiles(commits: unknown[], where: string): string[] {
    const files = new Set<string>();
    commits.forEach((raw, i) => {
      const commit = this.object(raw, `${where}[${i}]`);
      for (const field of ['added', 'modified', 'removed']) {
        for (const file of this.strings(commit[field], `${where}[${i}].${field}`)) files.add(file);
      }
    });
    return [...files];
  }
}

/** The distinct non-empty strings of a list, in order. */
export function distinct(values: Array<string | undefined>): string[] {
  return [...new Set(values.filter((value): value is string => typeof value === 'string' && value !== ''))];
}
