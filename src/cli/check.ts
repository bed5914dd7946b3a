// `herald check FILE|DIR…`: validates herald manifests offline, for CI pipelines of
// GitOps repositories. The checks live in src/manifests; this is the wiring.
import { checkManifests, defaultCrdDirectory, formatFinding, loadKindSchemas, loadManifests } from '../manifests/index.js';
import { flagsHelp, UsageError, type FlagSpec } from '../flags.js';
import { commandArgs } from './commands.js';

const flags: FlagSpec[] = [
  { name: 'crds', value: 'DIR', help: "Directory of the CRDs to validate against (default: the CRDs herald ships, crds/)" },
  { name: 'quiet', short: 'q', help: 'Print errors only (no notes, no summary)' },
];

export const checkHelp = `Usage: herald check FILE|DIR... [flags]

Validates every herald resource (NotificationTrigger, NotificationTemplate,
DingTalkChannel) in the given YAML or JSON files (directories are read
recursively) without a cluster:
  - the CRD's structural schema: required fields, types, enums, lengths, item
    counts, patterns, bounds, duplicates in sets; unknown fields are errors;
  - the CRD's x-kubernetes-validations rules (CEL);
  - trigger expressions: CEL compiled and type-checked against the Application;
  - templates: every nunjucks field compiled.
Each problem is printed as file:line: Kind/name: field: message. Documents of other
kinds are ignored; unknown herald kinds are skipped with a note.

Flags:
${flagsHelp(flags)}

Exit codes: 0 no errors; 1 errors found (or a file cannot be read); 2 usage error.

Examples:
  herald check config/samples/
  herald check notifications/ apps/guestbook/notifications.yaml
`;

export async function runCheck(argv: string[]): Promise<number> {
  const args = commandArgs(argv, flags, checkHelp);
  if (!args) return 0;
  if (args.positionals.length === 0) throw new UsageError('missing argument FILE|DIR');
  const kinds = loadKindSchemas(args.one('crds') ?? defaultCrdDirectory());
  const loaded = await loadManifests(args.positionals);
  const report = checkManifests(loaded.manifests, loaded.problems, kinds);
  const quiet = args.has('quiet');
  const errors = report.findings.filter((f) => f.severity === 'error');
  for (const finding of report.findings) {
    if (quiet && finding.severity !== 'error') continue;
    process.stdout.write(`${formatFinding(finding)}\n`);
  }
  if (!quiet) {
    const resources = `${report.checked} herald resource${report.checked === 1 ? '' : 's'} in ${report.files} file${report.files === 1 ? '' : 's'}`;
    const ignored = report.ignored > 0 ? `, ${report.ignored} other document${report.ignored === 1 ? '' : 's'} ignored` : '';
    process.stdout.write(
      errors.length === 0 ? `herald check: ${resources} checked, no errors${ignored}\n` : `herald check: ${errors.length} error${errors.length === 1 ? '' : 's'} in ${resources}${ignored}\n`,
    );
  }
  return errors.length > 0 ? 1 : 0;
}
