// Generates src/api/generated.ts from the CRDs in crds/, the single source of truth
// for the schema. `make generate` writes it; a unit test fails when it is stale.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { Schema } from '../manifests/schema.js';


interface Crd {
  spec: { names: { kind: string }; versions: Array<{ name: string; schema: { openAPIV3Schema: Schema } }> };
}

function comment(text: string | undefined, indent: string): string {
  if (!text) return '';
  const lines = text.trim().replace(/\*\//g, '*\\/').split('\n');
  return `${indent}/** ${lines.join(`\n${indent} * `)} */\n`;
}

function typeOf(schema: Schema, indent: string): string {
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array':
      return `Array<${schema.items ? typeOf(schema.items, indent) : 'unknown'}>`;
    case 'object': {
      if (schema.properties) return objectType(schema, indent);
      if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        return `Record<string, ${typeOf(schema.additionalProperties, indent)}>`;
      }
      return 'Record<string, unknown>';
    }
    default:
      return 'unknown';
  }
}

function objectType(schema: Schema, indent: string): string {
  const inner = `${indent}  `;
  const required = new Set(schema.required ?? []);
  let out = '{\n';
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    out += comment(prop.description, inner);
    out += `${inner}${name}${required.has(name) ? '' : '?'}: ${typeOf(prop, inner)};\n`;
  }
  if (schema['x-kubernetes-preserve-unknown-fields']) out += `${inner}[key: string]: unknown;\n`;
  return `${out}${indent}}`;
}

export function generateTypes(crdDir: string): string {
  let out =
    '// Generated from crds/*.yaml by `make generate` (src/api/codegen.ts). Do not edit.\n' +
    "import type { V1ObjectMeta } from '@kubernetes/client-node';\n";
  const files = readdirSync(crdDir).filter((file) => file.endsWith('.yaml')).sort();
  for (const file of files) {
    const crd = parse(readFileSync(join(crdDir, file), 'utf8')) as Crd;
    const kind = crd.spec.names.kind;
    const root = crd.spec.versions[0]!.schema.openAPIV3Schema;
    const props = root.properties ?? {};
    out += `\n${comment(root.description, '')}export interface ${kind} {\n`;
    out += '  apiVersion?: string;\n  kind?: string;\n  metadata: V1ObjectMeta;\n';
    out += `  spec: ${kind}Spec;\n  status?: ${kind}Status;\n}\n`;
    out += `\nexport type ${kind}Spec = ${typeOf(props.spec!, '')};\n`;
    out += `\nexport type ${kind}Status = ${typeOf(props.status!, '')};\n`;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(generateTypes(process.argv[2] ?? 'crds'));
}
