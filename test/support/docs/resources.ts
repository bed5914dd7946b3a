// Generates docs/reference/resources.md from the CRDs in crds/ (the single source of
// truth for the schema): every field of every kind, with its type, constraints and
// description, the printer columns and the validation rules. A unit test fails when
// the committed page differs from what this produces.
//
//   node build/test/support/docs/resources.js > docs/reference/resources.md   (make generate-docs)
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { repoRoot } from '../controlplane/install.js';

interface Schema {
  description?: string;
  type?: string;
  format?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string }>;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
}

interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    scope: string;
    versions: Array<{
      name: string;
      subresources?: Record<string, unknown>;
      additionalPrinterColumns?: Array<{ name: string; type: string; jsonPath: string; priority?: number; description?: string }>;
      schema: { openAPIV3Schema: Schema };
    }>;
  };
}

export interface FieldRow {
  path: string;
  type: string;
  constraints: string[];
  description: string;
  rules: Array<{ rule: string; message?: string }>;
}

/** The order kinds appear in: the way a user meets them. */
const ORDER = ['NotificationTrigger', 'NotificationTemplate', 'DingTalkChannel'];

export function loadCrds(dir = join(repoRoot, 'crds')): Crd[] {
  const crds = readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => parse(readFileSync(join(dir, file), 'utf8')) as Crd)
    .filter((crd) => crd?.spec?.names?.kind);
  return crds.sort((a, b) => rank(a.spec.names.kind) - rank(b.spec.names.kind) || a.spec.names.kind.localeCompare(b.spec.names.kind));
}
const rank = (kind: string) => (ORDER.includes(kind) ? ORDER.indexOf(kind) : ORDER.length);

function typeOf(schema: Schema): string {
  if (schema.type === 'array') return `array of ${schema.items ? typeOf(schema.items) : 'any'}`;
  if (schema.type === 'object' && schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    return `map of string to ${typeOf(schema.additionalProperties)}`;
  }
  if (schema['x-kubernetes-preserve-unknown-fields'] && !schema.properties) return 'object (any fields)';
  return (schema.type ?? 'any') + (schema.format ? ` (${schema.format})` : '');
}

function constraintsOf(schema: Schema, required: boolean): string[] {
  const out: string[] = [];
  if (required) out.push('required');
  if (schema.default !== undefined) out.push(`default \`${JSON.stringify(schema.default)}\``);
  if (schema.enum) out.push(`one of ${schema.enum.map((v) => `\`${String(v)}\``).join(', ')}`);
  if (schema.minLength !== undefined) out.push(`min length ${schema.minLength}`);
  if (schema.maxLength !== undefined) out.push(`max length ${schema.maxLength}`);
  if (schema.minItems !== undefined) out.push(`min items ${schema.minItems}`);
  if (schema.maxItems !== undefined) out.push(`max items ${schema.maxItems}`);
  if (schema.minimum !== undefined) out.push(`minimum ${schema.minimum}`);
  if (schema.maximum !== undefined) out.push(`maximum ${schema.maximum}`);
  if (schema.pattern !== undefined) out.push(`pattern \`${schema.pattern}\``);
  const listType = schema['x-kubernetes-list-type'];
  if (listType === 'set') out.push('a set (no duplicates)');
  if (listType === 'map') out.push(`a list keyed by ${(schema['x-kubernetes-list-map-keys'] ?? []).map((k) => `\`${k}\``).join(', ')}`);
  if (schema['x-kubernetes-map-type'] === 'atomic') out.push('replaced as a whole');
  return out;
}

/** Every field below spec and status, depth first in schema order. */
export function fieldRows(crd: Crd): FieldRow[] {
  const version = crd.spec.versions[0]!;
  const root = version.schema.openAPIV3Schema;
  const rows: FieldRow[] = [];
  const visit = (schema: Schema, path: string, required: boolean) => {
    rows.push({
      path,
      type: typeOf(schema),
      constraints: constraintsOf(schema, required),
      description: (schema.description ?? '').replace(/\s+/g, ' ').trim(),
      rules: schema['x-kubernetes-validations'] ?? [],
    });
    const children = (parent: Schema, prefix: string) => {
      for (const [name, child] of Object.entries(parent.properties ?? {})) visit(child, `${prefix}.${name}`, (parent.required ?? []).includes(name));
    };
    if (schema.type === 'array' && schema.items) {
      const items = schema.items;
      if (items.properties) children(items, `${path}[]`);
      else if (items['x-kubernetes-validations']) rows.at(-1)!.rules.push(...items['x-kubernetes-validations']);
    } else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      const values = schema.additionalProperties;
      if (values['x-kubernetes-validations']) rows.at(-1)!.rules.push(...values['x-kubernetes-validations']);
      children(values, `${path}.<key>`);
    } else {
      children(schema, path);
    }
  };
  for (const top of ['spec', 'status']) {
    const schema = root.properties?.[top];
    if (schema) visit(schema, top, (root.required ?? []).includes(top));
  }
  return rows;
}

/** Markdown table cell text: no pipes or newlines, `<` and `>` outside code escaped. */
function cell(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');
}

export function generateResourcesDoc(crds = loadCrds()): string {
  const out: string[] = [];
  out.push('# Resource reference');
  out.push('');
  out.push('<!-- Generated from crds/*.yaml by `make generate-docs`; do not edit. test/unit/docs.test.ts fails when it is stale. -->');
  out.push('');
  out.push(`Every field of herald's ${crds.length} kinds, generated from the CRDs in \`crds/\`, which are also`);
  out.push('what `kubectl explain` shows (for example `kubectl explain dingtalkchannel.spec.webhook`).');
  out.push('All kinds are namespaced, have the `status` subresource and belong to the category');
  out.push('`herald` (`kubectl get herald -A`). What the namespace of a resource means is in the');
  out.push('[user guide](../user-guide.md#where-resources-apply).');
  out.push('');
  out.push('Field paths use `[]` for the items of a list and `<key>` for the values of a map.');
  out.push('Rules marked *validated by the API server* are `x-kubernetes-validations`: `kubectl apply`');
  out.push('refuses an object that breaks them. Everything else herald checks itself is reported in');
  out.push('the `Ready` condition ([troubleshooting](../troubleshooting.md#status-conditions)).');
  out.push('');
  for (const crd of crds) out.push(`- [${crd.spec.names.kind}](#${crd.spec.names.kind.toLowerCase()})`);
  for (const crd of crds) {
    const { names, group } = crd.spec;
    const version = crd.spec.versions[0]!;
    const root = version.schema.openAPIV3Schema;
    out.push('');
    out.push(`## ${names.kind}`);
    out.push('');
    out.push((root.description ?? '').replace(/\s+/g, ' ').trim());
    out.push('');
    out.push('| | |');
    out.push('|---|---|');
    out.push(`| API version | \`${group}/${version.name}\` |`);
    out.push(`| Resource | \`${names.plural}\` (singular \`${names.singular}\`) |`);
    out.push(`| Short names | ${(names.shortNames ?? []).map((n) => `\`${n}\``).join(', ') || '—'} |`);
    out.push(`| Categories | ${(names.categories ?? []).map((n) => `\`${n}\``).join(', ') || '—'} |`);
    out.push(`| Scope | ${crd.spec.scope} |`);
    out.push(`| Subresources | ${Object.keys(version.subresources ?? {}).map((n) => `\`${n}\``).join(', ') || '—'} |`);
    out.push('');
    const columns = version.additionalPrinterColumns ?? [];
    if (columns.length > 0) {
      out.push(`\`kubectl get ${names.plural}\` columns (\`-o wide\` adds those of priority 1):`);
      out.push('');
      out.push('| Column | Type | From |');
      out.push('|---|---|---|');
      for (const column of columns) {
        out.push(`| ${column.name}${column.priority ? ' (wide)' : ''} | ${column.type} | \`${column.jsonPath}\` |`);
      }
      out.push('');
    }
    out.push('| Field | Type | Constraints | Description |');
    out.push('|---|---|---|---|');
    for (const row of fieldRows(crd)) {
      const rules = row.rules.map((r) => ` Validated by the API server: ${r.message ? `${r.message} (\`${r.rule}\`)` : `\`${r.rule}\``}.`).join('');
      out.push(`| \`${row.path}\` | ${cell(row.type)} | ${cell(row.constraints.join('; ')) || ''} | ${cell(row.description)}${cell(rules)} |`);
    }
  }
  out.push('');
  return out.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(generateResourcesDoc());
}
