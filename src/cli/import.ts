// `herald import FILE`: converts an Argo CD notifications ConfigMap into herald
// manifests (src/importer does the converting), writes them, and reports on stderr
// everything that was not converted.
import { appendFile, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { HeraldError } from '../errors.js';
import { convertNotificationsConfigMap, type ConvertedResource, type ImportResult, type SecretStub } from '../importer/index.js';
import { maskSecrets, registerSecret } from '../secrets.js';
import { isNamespaceName } from '../names.js';
import { flagsHelp, positionals, UsageError, type FlagSpec } from '../flags.js';
import { commandArgs } from './commands.js';
import { DEFAULT_CONTROL_NAMESPACE } from './lookup.js';

/** The input is not an Argo CD notifications ConfigMap. */
export class ImportInputError extends HeraldError {}

/** Exit code when manifests were written but something was left out. */
export const EXIT_OMISSIONS = 3;

/** With --include-secrets: the file in the output directory that holds the real robot URLs. */
export const SECRETS_FILE = 'secrets.yaml';

const flags: FlagSpec[] = [
  { name: 'output', short: 'o', value: 'DIR|-', default: '-', help: 'Where to write the manifests: a directory (one file per resource, created if needed, files overwritten) or - for stdout' },
  { name: 'namespace', short: 'n', value: 'NAMESPACE', default: DEFAULT_CONTROL_NAMESPACE, help: "Namespace of the generated resources (herald's control namespace, where Argo CD's ConfigMap lived)" },
  { name: 'include-secrets', help: `Write the robots' real webhook URLs (with their access tokens) into DIR/${SECRETS_FILE}, apart from the manifests; needs -o DIR. Without it the Secrets hold a placeholder` },
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
template actions, unknown keys) is listed on stderr with the reason.

A robot's URL carries its access token, and the manifests are meant to be committed:
the generated Secret holds a placeholder, and the report prints the kubectl line
that fills it in. --include-secrets writes the real URLs into DIR/${SECRETS_FILE}
instead (do not commit that file). No token is ever printed.

Flags:
${flagsHelp(flags)}

Exit codes: 0 everything converted; ${EXIT_OMISSIONS} converted, but something was left out
(see the report); 1 FILE is not an Argo CD notifications ConfigMap or cannot be
read or written; 2 usage error.

Examples:
  herald import argocd-notifications-cm.yaml -o notifications/
  kubectl get cm argocd-notifications-cm -n argocd -o yaml | herald import - > herald.yaml
  herald import argocd-notifications-cm.yaml -o notifications/ --include-secrets
`;

export async function runImport(argv: string[]): Promise<number> {
  const args = commandArgs(argv, flags, importHelp);
  if (!args) return 0;
  const [file] = positionals(args, ['FILE']) as [string];
  const namespace = args.one('namespace') ?? DEFAULT_CONTROL_NAMESPACE;
  if (!isNamespaceName(namespace)) throw new UsageError(`--namespace "${namespace}" is not a valid namespace name`);
  const output = args.one('output') ?? '-';
  const includeSecrets = args.has('include-secrets');
  if (includeSecrets && output === '-') throw new UsageError(`--include-secrets needs -o DIR: the real robot URLs go into DIR/${SECRETS_FILE}, apart from the manifests`);

  const text = await readInput(file);
  const { data, secrets } = findConfigMap(file, text);
  for (const value of Object.values(secrets)) registerSecret(value);
  const result = convertNotificationsConfigMap(data, { namespace, secrets, includeSecrets });
  // Inline tokens in the ConfigMap are masked too, wherever a message might show them.
  for (const secret of result.secrets) registerSecret(secret.stringData.url);

  const written: string[] = [];
  let secretsFile: string | undefined;
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
      if (result.secrets.length > 0) secretsFile = await writeSecrets(output, result.secrets, file);
    } catch (error) {
      throw new ImportInputError(`cannot write to ${output}: ${(error as Error).message}`, { cause: error });
    }
  }
  process.stderr.write(maskSecrets(formatReport(result, written, secretsFile)));
  return result.omitted.length > 0 ? EXIT_OMISSIONS : 0;
}

/** The Secrets with the real robot URLs, owner-readable only, and kept out of Git by the directory's .gitignore. */
async function writeSecrets(dir: string, secrets: SecretStub[], file: string): Promise<string> {
  const path = join(dir, SECRETS_FILE);
  const header = `# Written by herald import --include-secrets from ${file}: the robots' webhook URLs with their access tokens.\n# Do not commit this file.\n`;
  await writeFile(path, header + secrets.map((secret) => stringify(secret, { lineWidth: 0 })).join('---\n'), { mode: 0o600 });
  await chmod(path, 0o600); // also when the file was there before
  const gitignore = join(dir, '.gitignore');
  const ignored = await readFile(gitignore, 'utf8').catch(() => '');
  if (!ignored.split(/\r?\n/).some((line) => line.trim() === SECRETS_FILE || line.trim() === `/${SECRETS_FILE}`)) {
    await appendFile(gitignore, `${ignored === '' || ignored.endsWith('\n') ? '' : '\n'}${SECRETS_FILE}\n`);
  }
  return path;
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
  const header = `# Converted by herald import from ${file} (${resource.from}).\n${resource.comment ? `# ${resource.comment}\n` : ''}`;
  return header + resource.objects.map((object) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

function formatReport(result: ImportResult, written: string[], secretsFile: string | undefined): string {
  const count = (kind: ConvertedResource['kind']) => result.resources.filter((r) => r.kind === kind).length;
  const lines = [
    `herald import: ${count('DingTalkChannel')} DingTalkChannel(s) with their Secret, ${count('NotificationTrigger')} NotificationTrigger(s), ${count('NotificationTemplate')} NotificationTemplate(s)`,
  ];
  if (written.length > 0) lines.push(`Written: ${written.join(', ')}`);
  if (secretsFile) {
    lines.push(
      `Warning: ${secretsFile} holds the robots' webhook URLs with their access tokens. Do not commit it (listed in ${join(dirname(secretsFile), '.gitignore')}); ` +
        `apply it (kubectl apply -f ${secretsFile}) and delete it.`,
    );
  }
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
