// Conversions between JSON (what the API server gives us) and CEL values.

/**
 * An Application as CEL sees it: whole numbers become ints (BigInt) so that
 * `app.metadata.generation > 1` works, nulls are dropped so that a null field counts
 * as absent (`has()` is false, reading it is "no such key"), Dates become ISO strings
 * as in the API's JSON.
 *
 * The result is cached for the most recently converted objects: every trigger
 * evaluated for one Application version (one reconcile) shares one conversion.
 * Objects handed to evaluateTrigger are therefore treated as immutable (informer
 * cache objects are). The cache is bounded on purpose: a conversion kept for as long
 * as its object lives (a WeakMap keyed by the informer's objects) kept a second copy
 * of every cached Application's objects, about 5.5 KiB per app (55 MiB at 10,000 apps).
 */
const RECENT_CONVERSIONS = 64;
const converted = new Map<object, Record<string, unknown>>();

export function toCelInput(app: object): Record<string, unknown> {
  let value = converted.get(app);
  if (!value) {
    value = convertObject(app as Record<string, unknown>);
    if (converted.size >= RECENT_CONVERSIONS) converted.delete(converted.keys().next().value!);
    converted.set(app, value);
  }
  return value;
}

function convert(value: unknown): unknown {
  switch (typeof value) {
    case 'number':
      return Number.isSafeInteger(value) ? BigInt(value) : value;
    case 'object':
      if (value === null) return null;
      if (Array.isArray(value)) return value.map(convert);
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
      return convertObject(value as Record<string, unknown>);
    case 'string':
    case 'boolean':
    case 'bigint':
      return value;
    default:
      return undefined; // functions, symbols: not JSON, invisible to expressions
  }
}

function convertObject(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object)) {
    const value = convert(object[key]);
    if (value !== null && value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * The text form of an `oncePer` value, part of the send ledger key: strings as they
 * are, numbers and booleans as literals, timestamps as ISO strings, lists and maps
 * as JSON.
 */
export function celValueToString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(toJson(value));
}

function toJson(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJson);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) if (v !== undefined) out[String(k)] = toJson(v);
    return out;
  }
  if (value && typeof value === 'object') {
    // Other CEL values (durations, types) print themselves.
    if (value.constructor !== Object && typeof value.toString === 'function' && value.toString !== Object.prototype.toString) {
      return value.toString();
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJson(v);
    return out;
  }
  return value;
}
