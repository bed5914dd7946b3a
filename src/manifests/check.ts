// `herald check`'s logic (pure, given loaded manifests and the CRD schemas): the
// same checks the API server and herald's reconcilers make, each problem located at
// a file line and a field.
import { HERALD_GROUP } from '../api/groups.js';
import type { NotificationTemplateSpec, NotificationTriggerSpec } from '../api/generated.js';
import { isNamespaceName, isObjectName } from '../names.js';
import { compileTemplate, type TemplateFieldError } from '../templates/index.js';
import { compileTrigger, formatConditionError, type ConditionError } from '../triggers/index.js';
import { formatPath, type FieldPath, type FileProblem, type Manifest } from './load.js';
import { checkValidationRules } from './rules.js';
import { applyDefaults, validateSchema, type KindSchema, type SchemaIssue } from './schema.js';

export interface Finding {
  file: string;
  line?: number;
  /** `Kind/name`, when the finding is about one resource. */
  resource?: string;
  /** Field path, e.g. `spec.conditions[1].when`. */
  field?: string;
  message: string;
  severity: 'error' | 'note';
}

export interface CheckReport {
  findings: Finding[];
  /** herald manifests checked. */
  checked: number;
  /** Documents that are not herald resources (ignored). */
  ignored: number;
  files: number;
}


export function checkManifests(manifests: readonly Manifest[], problems: readonly FileProblem[], kinds: ReadonlyMap<string, KindSchema>): CheckReport {
  const findings: Finding[] = problems.map((p) => ({ file: p.file, ...(p.line === undefined ? {} : { line: p.line }), message: p.message, severity: 'error' as const }));
  let checked = 0;
  let ignored = 0;
  const seen = new Map<string, Manifest>();
  for (const manifest of manifests) {
    const apiVersion = typeof manifest.object.apiVersion === 'string' ? manifest.object.apiVersion : '';
    const kind = typeof manifest.object.kind === 'string' ? manifest.object.kind : '';
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
    if (group !== HERALD_GROUP) {
      ignored++;
      continue;
    }
    const name = nameOf(manifest);
    const resource = `${kind || '(no kind)'}/${name || '(no name)'}`;
    const definition = kinds.get(kind);
    if (!definition) {
      findings.push({ file: manifest.file, line: manifest.lineOf(['kind']), resource, message: `unknown kind "${kind}" in ${HERALD_GROUP}: skipped (known: ${[...kinds.keys()].join(', ')})`, severity: 'note' });
      continue;
    }
    checked++;
    const schema = definition.versions.get(version ?? '');
    if (!schema) {
      findings.push({ file: manifest.file, line: manifest.lineOf(['apiVersion']), resource, field: 'apiVersion', message: `version "${version}" is not served (use ${[...definition.versions.keys()].map((v) => `${HERALD_GROUP}/${v}`).join(' or ')})`, severity: 'error' });
      continue;
    }
    findings.push(...checkMetadata(manifest, resource));
    const key = `${kind}/${namespaceOf(manifest)}/${name}`;
    const earlier = seen.get(key);
    if (earlier && name) {
      findings.push({ file: manifest.file, line: manifest.lineOf(['metadata', 'name']), resource, field: 'metadata.name', message: `defined twice: also at ${earlier.file}:${earlier.lineOf(['metadata', 'name'])}`, severity: 'error' });
    } else {
      seen.set(key, manifest);
    }

    const object = applyDefaults(manifest.object, schema) as Record<string, unknown>;
    const structural = validateSchema(object, schema).filter((issue) => issue.path[0] !== 'metadata' && issue.path[0] !== 'status');
    const rules = checkValidationRules(object, schema);
    const schemaIssues = [...structural, ...rules.issues.filter((issue) => issue.path[0] !== 'status')];
    for (const issue of schemaIssues) findings.push(locateIssue(manifest, resource, issue));
    for (const skipped of rules.skipped) findings.push({ file: manifest.file, line: manifest.line, resource, message: `rule not checked offline: ${skipped}`, severity: 'note' });

    const spec = object.spec;
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) continue;
    if (kind === 'NotificationTrigger') findings.push(...checkTrigger(manifest, resource, spec as NotificationTriggerSpec));
    if (kind === 'NotificationTemplate') findings.push(...checkTemplate(manifest, resource, spec as NotificationTemplateSpec, schemaIssues.length > 0));
  }
  // File by file (in the order given), top to bottom.
  const fileOrder = [...new Set([...manifests.map((m) => m.file), ...problems.map((p) => p.file)])];
  findings.sort((a, b) => fileOrder.indexOf(a.file) - fileOrder.indexOf(b.file) || (a.line ?? 0) - (b.line ?? 0));
  return { findings, checked, ignored, files: fileOrder.length };
}

function nameOf(manifest: Manifest): string {
  const metadata = manifest.object.metadata as { name?: unknown } | undefined;
  return typeof metadata?.name === 'string' ? metadata.name : '';
}

function namespaceOf(manifest: Manifest): string {
  const metadata = manifest.object.metadata as { namespace?: unknown } | undefined;
  return typeof metadata?.namespace === 'string' ? metadata.namespace : '';
}

function checkMetadata(manifest: Manifest, resource: string): Finding[] {
  const at = (path: FieldPath, message: string): Finding => ({ file: manifest.file, line: manifest.lineOf(path), resource, field: formatPath(path), message, severity: 'error' });
  const metadata = manifest.object.metadata;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return [at(['metadata'], 'required: an object with at least a name')];
  const { name, namespace } = metadata as { name?: unknown; namespace?: unknown };
  const out: Finding[] = [];
  if (typeof name !== 'string' || name === '') out.push(at(['metadata', 'name'], 'required: the resource needs a name'));
  else if (!isObjectName(name)) out.push(at(['metadata', 'name'], `"${name}" is not a valid name (lower case letters, digits, '-' and '.', at most 253 characters)`));
  if (namespace !== undefined && (typeof namespace !== 'string' || !isNamespaceName(namespace))) {
    out.push(at(['metadata', 'namespace'], `${JSON.stringify(namespace)} is not a valid namespace name`));
  }
  return out;
}

function locateIssue(manifest: Manifest, resource: string, issue: SchemaIssue): Finding {
  return { file: manifest.file, line: manifest.lineOf(issue.path), resource, field: formatPath(issue.path), message: issue.message, severity: 'error' };
}

function checkTrigger(manifest: Manifest, resource: string, spec: NotificationTriggerSpec): Finding[] {
  if (!Array.isArray(spec.conditions)) return [];
  // Expressions the schema already rejected (missing, empty, not a string) are not compiled again.
  const usable = (value: unknown) => typeof value === 'string' && value.trim() !== '';
  // Values of the wrong type were reported by the schema check; compile the rest only.
  const strings = {
    ...spec,
    conditions: spec.conditions.map((condition) => {
      const c = (condition ?? {}) as unknown as Record<string, unknown>;
      return { ...c, when: typeof c.when === 'string' ? c.when : '', oncePer: typeof c.oncePer === 'string' ? c.oncePer : undefined, send: Array.isArray(c.send) ? c.send : [] };
    }),
  } as NotificationTriggerSpec;
  const result = compileTrigger(strings);
  if (result.ok) return [];
  return result.errors
    // Names are the CRD's rules (required with several conditions, unique), already checked.
    .filter((error) => error.field !== 'name')
    .filter((error) => usable((spec.conditions[error.index] as unknown as Record<string, unknown> | undefined)?.[error.field]))
    .map((error) => locateConditionError(manifest, resource, error));
}

function locateConditionError(manifest: Manifest, resource: string, error: ConditionError): Finding {
  const path = ['spec', 'conditions', error.index, error.field];
  const scalar = manifest.scalarAt(path);
  let line = manifest.lineOf(path);
  let shown: ConditionError = error;
  if (scalar) {
    if (scalar.style === 'literal') {
      const lines = scalar.sourceLines ?? [];
      const at = error.line ?? 1;
      line = scalar.line + Math.min(at, Math.max(1, lines.length)) - 1;
      shown = { ...error, line: undefined };
      // An error at the very end (after the block's final newline) belongs to the end of its last line.
      if (at > lines.length && lines.length > 0) shown = { ...shown, column: lines[lines.length - 1]!.length + 1 };
    } else if (scalar.style === 'folded' && scalar.sourceLines && error.line === undefined) {
      // A folded expression is one line of text; find the source line the column is on.
      const at = foldedPosition(scalar.sourceLines, error.column);
      line = scalar.line + at.line;
      shown = { ...error, column: at.column };
    } else {
      line = scalar.line;
    }
  }
  const text = formatConditionError(shown);
  const colon = text.indexOf(': ');
  return { file: manifest.file, line, resource, field: `spec.${text.slice(0, colon)}`, message: text.slice(colon + 2), severity: 'error' };
}

/** Source line (0-based, within the block) and column of a column in the folded text. */
function foldedPosition(lines: string[], column: number): { line: number; column: number } {
  let start = 1;
  for (let i = 0; i < lines.length; i++) {
    const length = lines[i]!.length;
    if (column <= start + length || i === lines.length - 1) return { line: i, column: Math.max(1, column - start + 1) };
    start += length + 1;
  }
  return { line: 0, column };
}

function checkTemplate(manifest: Manifest, resource: string, spec: NotificationTemplateSpec, schemaFailed: boolean): Finding[] {
  const result = compileTemplate(spec);
  if (result.ok) return [];
  // Missing-field errors repeat what the schema rules said; syntax errors (with a line) never do.
  return result.errors.filter((error) => !schemaFailed || error.line !== undefined).map((error) => locateTemplateError(manifest, resource, error));
}

function locateTemplateError(manifest: Manifest, resource: string, error: TemplateFieldError): Finding {
  const path: FieldPath = error.field === 'spec' ? ['spec'] : ['spec', ...parseField(error.field)];
  const scalar = manifest.scalarAt(path);
  let line = manifest.lineOf(path);
  let where = error.line === undefined ? '' : error.column === undefined ? `line ${error.line}: ` : `line ${error.line}, column ${error.column}: `;
  if (scalar) {
    line = scalar.line;
    if (scalar.style === 'literal' && error.line !== undefined) {
      line = scalar.line + Math.min(error.line, Math.max(1, scalar.sourceLines?.length ?? 1)) - 1;
      where = error.column === undefined ? '' : `column ${error.column}: `;
    }
  }
  return { file: manifest.file, line, resource, field: formatPath(path), message: `${where}${error.message}`, severity: 'error' };
}

/** `dingtalk.btns[1].actionURL` → ['dingtalk', 'btns', 1, 'actionURL']. */
function parseField(field: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const match of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(match[2] !== undefined ? Number(match[2]) : match[1]!);
  return out;
}

/** `file:line: Kind/name: field: message` */
export function formatFinding(finding: Finding): string {
  const where = finding.line === undefined ? finding.file : `${finding.file}:${finding.line}`;
  const parts = [where];
  if (finding.severity === 'note') parts.push('note');
  if (finding.resource) parts.push(finding.resource);
  if (finding.field) parts.push(finding.field);
  return `${parts.join(': ')}: ${finding.message}`;
}
