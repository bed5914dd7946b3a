// The command table of the `herald` binary.
import { runCheck } from './check.js';
import { runController } from './controller.js';
import { runImport } from './import.js';
import { runTemplate } from './template.js';
import { runTrigger } from './trigger.js';

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

export const commands: Record<string, Command> = {
  controller: { summary: 'Run the operator', run: runController },
  template: { summary: 'Debug a NotificationTemplate: template notify TEMPLATE APP (--stdout | --channel NAME)', run: runTemplate },
  trigger: { summary: 'Debug a NotificationTrigger: trigger run TRIGGER APP', run: runTrigger },
  import: { summary: 'Convert an Argo CD notifications ConfigMap into herald resources: import FILE', run: runImport },
  check: { summary: 'Validate herald manifests offline (schema, CEL, templates): check FILE|DIR...', run: runCheck },
};

export function mainHelp(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `Usage: herald <command> [flags]

herald sends Argo CD Application sync and health changes to DingTalk groups and
turns Git push webhooks into immediate Argo CD refreshes.

Commands:
${lines.join('\n')}

Run "herald <command> --help" for a command's flags.
`;
}
