// Shares repeated string values between decoded API objects. JSON.parse gives every
// string value its own copy, so 10,000 cached Applications hold the same kinds,
// groups, versions, statuses, server URLs and revisions thousands of times, and each
// app repeats its own resource names, repo URL and timestamps. Replacing each value by
// one shared copy changes no value (strings compare by content), only how many copies
// the heap keeps: about 3.5 KiB less per bench Application (docs/performance.md).
import { HeraldError } from '../errors.js';

/** A bound of StringInterner is not a positive integer. */
export class InternerOptionsError extends HeraldError {}

export interface StringInternerOptions {
  /** Entries per generation; the table keeps at most two generations (default 16,384). */
  maxEntries?: number;
  /** Longer strings are left as they are: rarely repeated, and costly to hash (default 256). */
  maxLength?: number;
}

export class StringInterner {
  // Two generations instead of an LRU: a string seen in the last generation is carried
  // into the current one, so values that keep coming back (kinds, statuses) stay shared
  // while one-off values (timestamps of old versions) age out with no per-hit bookkeeping.
  private current = new Map<string, string>();
  private previous = new Map<string, string>();
  private readonly maxEntries: number;
  private readonly maxLength: number;

  constructor(options: StringInternerOptions = {}) {
    this.maxEntries = positiveInteger('maxEntries', options.maxEntries ?? 16_384);
    this.maxLength = positiveInteger('maxLength', options.maxLength ?? 256);
  }

  /** How many strings the table holds (at most twice maxEntries). */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  /** The shared copy of `value` (equal to it). */
  intern(value: string): string {
    if (value.length > this.maxLength) return value;
    let shared = this.current.get(value);
    if (shared !== undefined) return shared;
    shared = this.previous.get(value) ?? value;
    if (this.current.size >= this.maxEntries) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(value, shared);
    return shared;
  }

  /**
   * Replaces, in place, every string value in a decoded JSON value (objects and arrays,
   * any depth) by its shared copy, and returns it. Keys are left alone: V8 already
   * shares property names. Meant for objects fresh from JSON.parse that nothing else holds.
   */
  internValues<T>(value: T): T {
    if (value !== null && typeof value === 'object') this.walk(value as object);
    return value;
  }

  private walk(object: object): void {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        const item: unknown = object[i];
        // Always assign: `!==` compares contents, so it cannot tell a copy from the shared one.
        if (typeof item === 'string') object[i] = this.intern(item);
        else if (item !== null && typeof item === 'object') this.walk(item);
      }
      return;
    }
    const record = object as Record<string, unknown>;
    for (const key in record) {
      const item = record[key];
      if (typeof item === 'string') record[key] = this.intern(item);
      else if (item !== null && typeof item === 'object') this.walk(item);
    }
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new InternerOptionsError(`StringInterner ${name} must be a positive integer, got ${value}`);
  return value;
}
