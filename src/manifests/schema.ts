// Offline validation of herald manifests against the openAPIV3Schema of the CRDs in
// crds/ (the single source of truth), as the API server would do it: defaults first,
// then types, required fields, enums, lengths, item counts, patterns, bounds, list
// uniqueness; and, unlike the API server's silent pruning, unknown fields are errors.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CrdLoadError } from './errors.js';
import { closestName } from '../suggest.js';
import type { FieldPath } from './load.js';

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
}

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: ValidationRule[];
}

/** One kind herald defines, from its CRD. */
export interface KindSchema {
  group: string;
  kind: string;
  /** Versions served, each with its schema. */
  versions: Map<string, Schema>;
}

export interface SchemaIssue {
  path: FieldPath;
  message: string;
}

/** The repository's crds/ directory, from the compiled build/ tree or the source tree. */
export function defaultCrdDirectory(): string {
  // build/src/manifests/schema.js and src/manifests/schema.ts both sit below the root.
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const up of ['../../..', '../..']) {
    const candidate = join(here, up, 'crds');
    try {
      if (readdirSync(candidate).some((file) => file.endsWith('.yaml'))) return candidate;
    } catch {
      // try the next candidate
    }
  }
  throw new CrdLoadError(`cannot find herald's CRDs (crds/*.yaml) near ${here}`);
}

/** The kinds defined by the CRDs in a directory, by kind name. */
export function loadKindSchemas(dir = defaultCrdDirectory()): Map<string, KindSchema> {
  const kinds = new Map<string, KindSchema>();
  let files: string[];
  try {
    files = readdirSync(dir).filter((file) => file.endsWith('.yaml')).sort();
  } catch (error) {
    throw new CrdLoadError(`cannot read the CRD directory ${dir}`, { cause: error });
  }
  for (const file of files) {
    const crd = parse(readFileSync(join(dir, file), 'utf8')) as {
      kind?: string;
      spec?: { group: string; names: { kind: string }; versions: Array<{ name: string; served?: boolean; schema?: { openAPIV3Schema: Schema } }> };
    };
    if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec) continue;
    const versions = new Map<string, Schema>();
    for (const version of crd.spec.versions) {
      if (version.served !== false && version.schema) versions.set(version.name, version.schema.openAPIV3Schema);
    }
    kinds.set(crd.spec.names.kind, { group: crd.spec.group, kind: crd.spec.names.kind, versions });
  }
  if (kinds.size === 0) throw new CrdLoadError(`no CustomResourceDefinition in ${dir}`);
  return kinds;
}

/**
 * A copy of `value` with the schema's defaults filled in where fields are absent, and
 * nulls removed (the API server drops nulls of non-nullable fields before defaulting).
 * Pure.
 */
export function applyDefaults(value: unknown, schema: Schema | undefined): unknown {
  if (!schema || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => applyDefaults(item, schema.items));
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const childSchema = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (child === null && !childSchema?.nullable) continue;
    out[key] = applyDefaults(child, childSchema);
  }
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (!(key in out) && prop.default !== undefined) out[key] = structuredClone(prop.default);
  }
  return out;
}

/** Structural problems of `value` (already defaulted) against `schema`. Pure. */
export function validateSchema(value: unknown, schema: Schema, path: FieldPath = []): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  walk(value, schema, path, issues);
  return issues;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: unknown, type: Schema['type']): boolean {
  switch (type) {
    case undefined:
      return true;
    case 'object':
      return typeOf(value) === 'object';
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
  }
}

const quote = (value: unknown): string => JSON.stringify(value);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function walk(value: unknown, schema: Schema, path: FieldPath, issues: SchemaIssue[]): void {
  const add = (message: string, at: FieldPath = path) => issues.push({ path: at, message });
  if (value === null) {
    if (!schema.nullable) add(`must be ${article(schema.type)}, not null`);
    return;
  }
  if (!matchesType(value, schema.type)) {
    add(`must be ${article(schema.type)}, got ${article(typeOf(value))}${typeof value === 'object' ? '' : ` (${quote(value)})`}`);
    return;
  }
  if (schema.enum && !schema.enum.some((allowed) => allowed === value)) {
    add(`unsupported value ${quote(value)}: must be one of ${schema.enum.map(quote).join(', ')}`);
  }
  if (typeof value === 'string') checkString(value, schema, add);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) add(`must be at least ${schema.minimum}, got ${value}`);
    if (schema.maximum !== undefined && value > schema.maximum) add(`must be at most ${schema.maximum}, got ${value}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) add(`must have at least ${plural(schema.minItems, 'item')}, has ${value.length}`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) add(`must have at most ${plural(schema.maxItems, 'item')}, has ${value.length}`);
    checkListType(value, schema, path, add);
    if (schema.items) value.forEach((item, index) => walk(item, schema.items!, [...path, index], issues));
  }
  if (typeOf(value) === 'object') checkObject(value as Record<string, unknown>, schema, path, issues, add);
}

function article(type: string | undefined): string {
  if (type === undefined) return 'a value';
  if (type === 'object') return 'an object';
  if (type === 'array') return 'a list';
  if (type === 'integer') return 'an integer';
  return `a ${type}`;
}

function checkString(value: string, schema: Schema, add: (message: string) => void): void {
  const length = Array.from(value).length;
  if (schema.minLength !== undefined && length < schema.minLength) {
    add(schema.minLength === 1 ? 'must not be empty' : `must be at least ${plural(schema.minLength, 'character')} long, is ${length}`);
  }
  if (schema.maxLength !== undefined && length > schema.maxLength) add(`must be at most ${plural(schema.maxLength, 'character')} long, is ${length}`);
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) add(`${quote(value)} does not match the pattern ${schema.pattern}`);
  if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) add(`${quote(value)} is not an RFC 3339 date-time`);
}

function checkListType(value: unknown[], schema: Schema, path: FieldPath, add: (message: string, at?: FieldPath) => void): void {
  const listType = schema['x-kubernetes-list-type'];
  if (listType === 'set') {
    const seen = new Map<string, number>();
    value.forEach((item, index) => {
      const key = JSON.stringify(item);
      if (seen.has(key)) add(`duplicate entry ${quote(item)} (also at [${seen.get(key)}]): this list is a set`, [...path, index]);
      else seen.set(key, index);
    });
  } else if (listType === 'map') {
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const seen = new Map<string, number>();
    value.forEach((item, index) => {
      if (typeOf(item) !== 'object') return;
      const key = JSON.stringify(keys.map((k) => (item as Record<string, unknown>)[k]));
      if (seen.has(key)) add(`duplicate entry for ${keys.join(', ')} (also at [${seen.get(key)}])`, [...path, index]);
      else seen.set(key, index);
    });
  }
}

function checkObject(
  value: Record<string, unknown>,
  schema: Schema,
  path: FieldPath,
  issues: SchemaIssue[],
  add: (message: string, at?: FieldPath) => void,
): void {
  for (const name of schema.required ?? []) {
    if (value[name] === undefined || value[name] === null) add(`required field "${name}" is missing`, path);
  }
  const count = Object.keys(value).length;
  if (schema.minProperties !== undefined && count < schema.minProperties) add(`must have at least ${plural(schema.minProperties, 'entry')}`);
  if (schema.maxProperties !== undefined && count > schema.maxProperties) add(`must have at most ${plural(schema.maxProperties, 'entry')}`);
  const preserveUnknown = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const [key, child] of Object.entries(value)) {
    const prop = schema.properties?.[key];
    if (prop) {
      if (child !== undefined) walk(child, prop, [...path, key], issues);
      continue;
    }
    if (typeof schema.additionalProperties === 'object') {
      walk(child, schema.additionalProperties, [...path, key], issues);
      continue;
    }
    if (schema.additionalProperties === true || preserveUnknown) continue;
    // An object schema without properties (like metadata) is not pruned by this check.
    if (!schema.properties) continue;
    const known = Object.keys(schema.properties);
    const hint = closestName(key, known);
    add(`unknown field "${key}"${hint ? ` (did you mean "${hint}"?)` : ` (known fields: ${known.join(', ')})`}`, [...path, key]);
  }
}


