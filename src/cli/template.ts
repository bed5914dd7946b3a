// `herald template notify TEMPLATE APP`: renders a NotificationTemplate for an
// Application with the operator's own code (scoping, nunjucks environment, DingTalk
// body builder, signing), prints the exact request with secrets masked, and with
// --channel sends it through the real DingTalk sender and prints the answer.
import type { OutgoingMessage } from '../channels/channel.js';
import { dingTalkChannel, prepareMessage, type DingTalkRobot, type PreparedMessage } from '../channels/dingtalk/index.js';
import type { ChannelAnswer } from '../channels/errors.js';
import { errorMessage } from '../errors.js';
import { maskSecrets } from '../secrets.js';
import { renderFlags, renderLimitsOf } from '../config.js';
import { RenderPool } from '../sandbox/pool.js';
import { compileTemplate, formatTemplateErrors, initiatorOf, type RenderedNotification, type RenderLimits, type TemplateContext } from '../templates/index.js';
import type { NotificationTemplateSpec } from '../api/generated.js';
import { flagsHelp, UsageError, type FlagSpec, type ParsedArgs } from '../flags.js';
import { runSubcommand } from './commands.js';
import { contextFlags, explainContextLines, openDebugWorkspace } from './context.js';
import { resolveInScope, sourceFlags, UnusableResourceError, type ResolvedChannel, type Workspace } from './lookup.js';

const flags: FlagSpec[] = [
  { name: 'channel', value: 'NAME', help: 'DingTalkChannel (resolved like the operator does) whose robot receives the message: reads its Secret, checks its keywords, sends, prints the answer' },
  { name: 'stdout', help: 'Print the request only and send nothing; with --channel, use that channel (mentions, keywords, URL) without sending' },
  { name: 'trigger', value: 'NAME', default: 'template-notify', help: 'Value of `trigger` in the template context' },
  ...contextFlags,
  ...sourceFlags,
  // The controller's budgets, so that a template over one fails here as it does there.
  ...renderFlags.filter((flag) => flag.name !== 'template-render-processes'),
];

export const templateHelp = `Usage: herald template notify TEMPLATE APP (--stdout | --channel NAME) [flags]

Renders the NotificationTemplate TEMPLATE for the Argo CD Application APP exactly
as the operator would (same scoping: the Application's namespace first, then the
control namespace; same nunjucks environment and DingTalk body), and prints the
request: method, URL (access token and signature masked) and JSON body.

With --channel it also sends the message through that channel's robot and prints
DingTalk's answer. Without a cluster, read everything from files with -f.

Flags:
${flagsHelp(flags)}

Exit codes: 0 rendered (and, with --channel, accepted by DingTalk); 1 not found,
invalid template, keyword missing or send failed; 2 usage error.

Examples:
  herald template notify app-sync-change guestbook --stdout
  herald template notify app-sync-change guestbook -n argocd --channel dingtalk-ops
  herald template notify app-sync-change guestbook --stdout -f config/samples -f guestbook.yaml
`;

export function runTemplate(argv: string[]): Promise<number> {
  return runSubcommand(argv, { command: 'template', name: 'notify', help: templateHelp, flags, arguments: ['TEMPLATE', 'APP'] }, templateNotify);
}

async function templateNotify(args: ParsedArgs, [templateName, appName]: readonly [string, string]): Promise<number> {
  const channelName = args.one('channel');
  const dryRun = args.has('stdout');
  if (!dryRun && !channelName) throw new UsageError('say where the message goes: --channel NAME to send it, or --stdout to only print it');

  const { workspace, context } = await openDebugWorkspace(args, appName);
  const template = resolveInScope(workspace.resources.templates, workspace, 'NotificationTemplate', templateName);
  const compiled = compileTemplate(template.object.spec);
  if (!compiled.ok) {
    throw new UnusableResourceError(`NotificationTemplate ${template.namespace}/${template.name} does not compile: ${formatTemplateErrors(compiled.errors)}`);
  }
  const channel = channelName ? resolveInScope(workspace.resources.channels, workspace, 'DingTalkChannel', channelName) : undefined;

  const initiator = initiatorOf(workspace.app);
  const templateContext: TemplateContext = {
    app: workspace.app as unknown as Record<string, unknown>,
    context: context.values,
    trigger: args.one('trigger') ?? 'template-notify',
    channel: { name: channel?.name ?? '', type: 'dingtalk' },
    notificationType: 'dingtalk',
    initiator,
  };
  let rendered;
  try {
    rendered = await renderBounded(template.object.spec, templateContext, renderLimitsOf((name) => (name === 'template-render-processes' ? '1' : args.one(name) ?? ''), 1));
  } catch (error) {
    throw new UnusableResourceError(`NotificationTemplate ${template.namespace}/${template.name} does not render for this Application: ${errorMessage(error)}`, { cause: error });
  }
  const message: OutgoingMessage = { rendered, ...(initiator ? { initiator } : {}) };

  const out: string[] = [
    `# NotificationTemplate ${template.namespace}/${template.name} for Application ${workspace.appNamespace}/${workspace.app.metadata.name} ` +
      `(trigger ${templateContext.trigger}${channel ? `, DingTalkChannel ${channel.namespace}/${channel.name}` : ''}; ${workspace.source.description})`,
  ];
  if (args.has('explain')) out.push(...explainContextLines(context));
  const target = channel ? await channelTarget(workspace, channel, dryRun) : undefined;
  // Exactly what the operator would send: the channel's robot prepares it (build, fit,
  // keyword check); without a usable robot, the same steps with the channel's spec.
  const spec = channel?.object.spec;
  const prepared = target?.robot ? target.robot.prepare(message) : prepareMessage(message, { mentions: spec?.mentions, keywords: spec?.keywords });
  const notes = [...context.notes, ...(target?.notes ?? []), ...prepared.notes];

  out.push(`POST ${target?.robot?.displayUrl() ?? '<the channel robot webhook URL>'}`);
  out.push('Content-Type: application/json; charset=utf-8', '', JSON.stringify(prepared.body, null, 2));
  print(out);
  for (const note of notes) process.stderr.write(maskSecrets(`note: ${note}\n`));

  if (prepared.missingKeyword) {
    process.stderr.write(maskSecrets(`herald: not sent: ${prepared.missingKeyword}\n`));
    return 1;
  }
  if (dryRun || !target?.robot) return 0;
  return send(target.robot, prepared);
}

/** Renders as the controller does: in a render process, under the same budgets (one process, then it is stopped). */
export async function renderBounded(spec: NotificationTemplateSpec, context: TemplateContext, limits: Readonly<RenderLimits>): Promise<RenderedNotification> {
  const pool = new RenderPool({ limits, queueLimit: 1 });
  try {
    return await pool.render({ group: 'cli', spec, context });
  } finally {
    await pool.stop();
  }
}

interface ChannelTarget {
  robot?: DingTalkRobot;
  notes: string[];
}

/** The channel's robot, built by the operator's own factory; in a dry run a problem is only a note. */
async function channelTarget(workspace: Workspace, channel: ResolvedChannel, dryRun: boolean): Promise<ChannelTarget> {
  // The clock is fixed so that the URL printed is the URL sent.
  const now = Date.now();
  const resolution = await dingTalkChannel({
    namespace: channel.namespace,
    spec: channel.object.spec,
    readSecret: (name) => workspace.source.secret(channel.namespace, name),
    options: { now: () => now },
  });
  if (resolution.ok) return { robot: resolution.channel, notes: [] };
  const why = resolution.problem.message;
  if (!dryRun) throw new UnusableResourceError(`DingTalkChannel ${channel.namespace}/${channel.name}: ${why}`);
  return { notes: [`DingTalkChannel ${channel.namespace}/${channel.name}: ${why}; showing the body only`] };
}

async function send(robot: DingTalkRobot, prepared: PreparedMessage): Promise<number> {
  try {
    const { errcode, errmsg } = (await robot.post(prepared)).response;
    print(['', `DingTalk answered: errcode ${errcode}, errmsg ${JSON.stringify(errmsg)}`]);
    return 0;
  } catch (error) {
    const answer = (error as { answer?: ChannelAnswer }).answer;
    const said = answer?.errcode !== undefined ? `errcode ${answer.errcode}` : answer?.httpStatus !== undefined ? `HTTP ${answer.httpStatus}` : 'no answer';
    print(['', `DingTalk answered: ${said}`]);
    process.stderr.write(`herald: not delivered: ${errorMessage(error)}\n`);
    return 1;
  }
}

function print(lines: string[]): void {
  process.stdout.write(maskSecrets(`${lines.join('\n')}\n`));
}
