// `herald trigger run TRIGGER APP`: evaluates a NotificationTrigger against an
// Application with the operator's engine and explains, per condition and channel,
// what the operator would do and why (fired, missing field, suppressed by the ledger).
import { formatTriggerErrors, compileTrigger } from '../triggers/index.js';
import { maskSecrets } from '../secrets.js';
import { renderFlags, renderLimitsOf } from '../config.js';
import { RenderPool } from '../sandbox/pool.js';
import { flagsHelp, UsageError, type FlagSpec, type ParsedArgs } from '../flags.js';
import { runSubcommand } from './commands.js';
import { contextFlags, explainContextLines, openDebugWorkspace } from './context.js';
import { resolveInScope, sourceFlags, UnusableResourceError } from './lookup.js';
import { explainTrigger, formatExplanation } from './trigger-explain.js';

const flags: FlagSpec[] = [
  { name: 'channel', value: 'NAME', help: 'Explain for this DingTalkChannel only, even if no subscription routes the trigger to it (default: every routed channel)' },
  { name: 'now', value: 'TIME', help: 'RFC 3339 time that now() returns (default: the current time)' },
  ...contextFlags,
  ...sourceFlags,
  // The controller's budgets, so that a template over one fails here as it does there.
  ...renderFlags.filter((flag) => flag.name !== 'template-render-processes'),
];

export const triggerHelp = `Usage: herald trigger run TRIGGER APP [flags]

Evaluates the NotificationTrigger TRIGGER against the Argo CD Application APP with
the operator's engine (same scoping, CEL environment, send ledger), and prints for
each condition: its index, when, the result (fired, not fired, missing field,
error with the message), the oncePer expression and value, and for each channel
the trigger is routed to (or --channel) whether the operator would send, or why
not (already in the ledger herald.gitops.dev/notified, or waiting in the outbox).
Nothing is written and nothing is sent.

Flags:
${flagsHelp(flags)}

Exit codes: 0 evaluated; 1 not found, the trigger does not compile, or a condition
failed to evaluate (other than a missing field) or its template cannot render;
2 usage error.

Examples:
  herald trigger run on-sync-succeeded guestbook
  herald trigger run on-sync-succeeded guestbook -n argocd --channel dingtalk-ops
  herald trigger run on-deployed guestbook -f config/samples -f guestbook.yaml
`;

export function runTrigger(argv: string[]): Promise<number> {
  return runSubcommand(argv, { command: 'trigger', name: 'run', help: triggerHelp, flags, arguments: ['TRIGGER', 'APP'] }, triggerRun);
}

async function triggerRun(args: ParsedArgs, [triggerName, appName]: readonly [string, string]): Promise<number> {
  const nowText = args.one('now');
  const now = nowText === undefined ? new Date() : new Date(nowText);
  if (Number.isNaN(now.getTime())) throw new UsageError(`--now must be an RFC 3339 time such as 2024-05-01T08:00:00Z, got "${nowText}"`);

  const { workspace, context } = await openDebugWorkspace(args, appName);
  const trigger = resolveInScope(workspace.resources.triggers, workspace, 'NotificationTrigger', triggerName);
  const compiled = compileTrigger(trigger.object.spec);
  if (!compiled.ok) {
    throw new UnusableResourceError(`NotificationTrigger ${trigger.namespace}/${trigger.name} does not compile: ${formatTriggerErrors(compiled.errors)}`);
  }
  const channelName = args.one('channel');
  const channel = channelName ? resolveInScope(workspace.resources.channels, workspace, 'DingTalkChannel', channelName) : undefined;

  // Templates render as in the operator: in a render process, under the same budgets.
  const limits = renderLimitsOf((name) => (name === 'template-render-processes' ? '1' : args.one(name) ?? ''), 1);
  let pool: RenderPool | undefined;
  const explanation = await explainTrigger({
    app: workspace.app,
    triggerName,
    triggerRef: { namespace: trigger.namespace, name: trigger.name },
    compiled: compiled.trigger,
    controlNamespace: workspace.controlNamespace,
    channels: workspace.resources.channels,
    templates: workspace.resources.templates,
    ...(channel ? { channel: { namespace: channel.namespace, name: channel.name } } : {}),
    context: context.values,
    now,
    render: (spec, templateContext) => (pool ??= new RenderPool({ limits })).render({ group: 'cli', spec, context: templateContext }),
  }).finally(() => pool?.stop());
  const status = workspace.app.status ?? {};
  const header = [
    `NotificationTrigger ${trigger.namespace}/${trigger.name}${trigger.object.spec.description ? `: ${trigger.object.spec.description.trim()}` : ''}`,
    `Application ${workspace.appNamespace}/${workspace.app.metadata.name}: sync ${status.sync?.status ?? '-'}, health ${status.health?.status ?? '-'}, operation ${status.operationState?.phase ?? '-'}`,
    `Evaluated at ${now.toISOString()} (${workspace.source.description})`,
    ...(args.has('explain') ? explainContextLines(context).map((line) => line.replace(/^# /, '')) : []),
  ];
  for (const note of context.notes) process.stderr.write(maskSecrets(`note: ${note}\n`));
  process.stdout.write(maskSecrets(formatExplanation(explanation, header)));
  const failed =
    explanation.conditions.some((c) => c.outcome === 'error') ||
    explanation.conditions.some((c) => c.channels.some((l) => l.verdict.kind === 'problem' || (l.verdict.kind === 'send' && l.verdict.problems)));
  return failed ? 1 : 0;
}
