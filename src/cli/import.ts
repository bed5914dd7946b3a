// `herald import FILE`: converts an Argo CD notifications ConfigMap into herald
// manifests (src/importer does the converting), writes them, and reports on stderr
// everything that was not converted.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { UsageError } from '../config.js';
import { HeraldError } from '../errors.js';
import { convertNotificationsConfigMap, type ConvertedResource, type ImportResult } from '../importer/index.js';
import { maskSecrets, registerSecret } from '../secrets.js';
import { cliFlagsHelp, parseCli, positionals, type CliFlag } from './args.js';
import { DEFAULT_CONTROL_NAMESPACE } from './lookup.js';

/** The input is not an Argo CD notifications ConfigMap. */
export class ImportInputError extends HeraldError {}

/** Exit code when manifests were written but something was left out. */
export const EXIT_OMISSIONS = 3;

const flags: CliFlag[] = [
  { name: 'output', short: 'o', value: 'DIR|-', default: '-', help: 'Where to write the manifests: a directory (one file per resource, created if needed, files overwritten) or - for stdout' },
  { name: 'namespace', short: 'n', value: 'NAMESPACE', default: DEFAULT_CONTROL_NAMESPACE, help: "Namespace of the generated resources (herald's control namespace, where Argo CD's ConfigMap lived)" },
];

export const importHelp = `Usage: herald import FILE [flags]

Converts an Argo CD notifications ConfigMap (argocd-notifications-cm; FILE may hold
other documents too, and - reads stdin) into herald resources:
  service.webhook.<name> with a DingTalk robot URL
                   → DingTalkChannel <name> + Secret <name>-robot (key url; $key
                     references are resolved when argocd-notifications-secret is
                     in FILE too)
  trigger.<name>   → NotificationTrigger (expr conditions translated to CEL)
  template.<name>  → NotificationTemplate (Go templates translated to nunjucks; a
                     DingTalk webhook body becomes spec.dingtalk, message becomes
                     spec.message)
  subscriptions, defaultTriggers → the channels' spec.subscriptions
  context          → the controller flags to use (--argocd-url, --context)
Everything that is not converted (other services, untranslatable expressions or
template actions, unknown keys) is listed on stderr with the reason. The report
masks robot tokens; the generated Secret holds the URL from the ConfigMap.

Flags:
${cliFlagsHelp(flags)}

Exit codes: 0 everything converted; ${EXIT_OMISSIONS} converted, but something was left out
(see the report); 1 FILE is not an Argo CD notifications ConfigMap or cannot be
read or written; 2 usage error.

Examples:
  herald import argocd-notifications-cm.yaml -o notifications/
  kubectl get cm argocd-notifications-cm -n argocd -o yaml | herald import - > herald.yaml
`;

export async function runImport(argv: string[]): Promise<number> {
  const args = parseCli(argv, flags);
  if (args.has('help')) {
    process.stdout.write(importHelp);
    return 0;
  }
  const [file] = positionals(args, ['FILE']) as [string];
  const namespace = args.one('namespace') ?? DEFAULT_CONTROL_NAMESPACE;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) throw new UsageError(`--namespace "${namespace}" is not a valid namespace name`);
  const output = args.one('output') ?? '-';

  const text = await readInput(file);
  const { data, secrets } = findConfigMap(file, text);
  for (const value of Object.values(secrets)) registerSecret(value);
  const result = convertNotificationsConfigMap(data, { namespace, secrets });

  const written: string[] = [];
  if (output === '-') {
    process.stdout.write(result.resources.map((r) => render(r, file)).join('---\n'));
  } else {
    try {
      await mkdir(output, { recursive: true });
      for (const resource of result.resources) {
        const path = join(output, `${resource.kind.toLowerCase()}-${resource.name}.yaml`);
        await writeFile(path, render(resource, file));
        written.push(path);
      }
    } catch (error) {
      throw new ImportInputError(`cannot write to ${output}: ${(error as Error).message}`, { cause: error });
    }
  }
  process.stderr.write(maskSecrets(formatReport(result, written)));
  return result.omitted.length > 0 ? EXIT_OMISSIONS : 0;
}

async function readInput(file: string): Promise<string> {
  try {
    if (file === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    }
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ImportInputError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

interface KubeDoc {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown };
  data?: Record<string, unknown>;
  stringData?: Record<string, unknown>;
}

/** The notifications ConfigMap in the file, and argocd-notifications-secret's values if it is there too. */
function findConfigMap(file: string, text: string): { data: Record<string, string>; secrets: Record<string, string> } {
  const docs: KubeDoc[] = [];
  for (const doc of parseAllDocuments(text, { prettyErrors: false })) {
    if (doc.errors.length > 0) throw new ImportInputError(`${file}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    const value = doc.toJS() as KubeDoc | null;
    if (value && typeof value === 'object') docs.push(value);
  }
  const configMaps = docs.filter((d) => d.kind === 'ConfigMap');
  const configMap = configMaps.find((d) => d.metadata?.name === 'argocd-notifications-cm') ?? (configMaps.length === 1 ? configMaps[0] : undefined);
  if (!configMap) {
    throw new ImportInputError(
      configMaps.length === 0
        ? `${file}: no ConfigMap found (expected argocd-notifications-cm: kubectl get configmap argocd-notifications-cm -n argocd -o yaml)`
        : `${file}: ${configMaps.length} ConfigMaps and none is named argocd-notifications-cm`,
    );
  }
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(configMap.data ?? {})) data[key] = typeof value === 'string' ? value : stringify(value);
  const secrets: Record<string, string> = {};
  const secret = docs.find((d) => d.kind === 'Secret' && d.metadata?.name === 'argocd-notifications-secret');
  for (const [key, value] of Object.entries(secret?.data ?? {})) secrets[key] = Buffer.from(String(value), 'base64').toString('utf8');
  for (const [key, value] of Object.entries(secret?.stringData ?? {})) secrets[key] = String(value);
  return { data, secrets };
}

function render(resource: ConvertedResource, file: string): string {
  const header = `# Converted by herald import from ${file} (${resource.from}).\n`;
  return header + resource.objects.map((object) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

function formatReport(result: ImportResult, written: string[]): string {
  const count = (kind: ConvertedResource['kind']) => result.resources.filter((r) => r.kind === kind).length;
  const lines = [
    `herald import: ${count('DingTalkChannel')} DingTalkChannel(s) with their Secret, ${count('NotificationTrigger')} NotificationTrigger(s), ${count('NotificationTemplate')} NotificationTemplate(s)`,
  ];
  if (written.length > 0) lines.push(`Written: ${written.join(', ')}`);
  const section = (title: string, items: string[]) => {
    if (items.length === 0) return;
    lines.push('', `${title} (${items.length}):`, ...items.map((item) => `  - ${item}`));
  };
  section('Not converted', result.omitted);
  section('Notes', result.notes);
  section('Next steps', result.nextSteps);
  if (result.omitted.length === 0) lines.push('', 'Everything was converted.');
  return `${lines.join('\n')}\n`;
}
