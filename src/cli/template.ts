// `herald template notify TEMPLATE APP`: renders a NotificationTemplate for an
// Application with the operator's own code (scoping, nunjucks environment, DingTalk
// body builder, signing), prints the exact request with secrets masked, and with
// --channel sends it through the real DingTalk sender and prints the answer.
import type { DingTalkChannelSpec } from '../api/generated.js';
import type { OutgoingMessage } from '../channels/channel.js';
import { buildDingTalkBody, dingTalkRobotFromSpec, fitToSize, missingKeyword, signedUrl, type DingTalkRobot } from '../channels/dingtalk.js';
import type { ChannelAnswer } from '../channels/errors.js';
import { DEFAULT_ARGOCD_URL, notificationContext } from '../config.js';
import { errorMessage } from '../errors.js';
import { maskSecrets, maskUrl, registerSecret } from '../secrets.js';
import { compileTemplate, formatTemplateErrors, initiatorOf, renderTemplate, type TemplateContext } from '../templates/index.js';
import { flagsHelp, parseFlags, positionals, UsageError, type FlagSpec } from '../flags.js';
import { openWorkspace, resolveInScope, sourceFlags, UnusableResourceError, type ResolvedChannel, type Workspace } from './lookup.js';

const flags: FlagSpec[] = [
  { name: 'channel', value: 'NAME', help: 'DingTalkChannel (resolved like the operator does) whose robot receives the message: reads its Secret, checks its keywords, sends, prints the answer' },
  { name: 'stdout', help: 'Print the request only and send nothing; with --channel, use that channel (mentions, keywords, URL) without sending' },
  { name: 'trigger', value: 'NAME', default: 'template-notify', help: 'Value of `trigger` in the template context' },
  { name: 'argocd-url', value: 'URL', default: DEFAULT_ARGOCD_URL, help: "context.argocdUrl (the controller's --argocd-url)" },
  { name: 'context', value: 'KEY=VALUE', repeatable: true, help: "More template context (the controller's --context)" },
  ...sourceFlags,
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

export async function runTemplate(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(templateHelp);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'notify') throw new UsageError(`unknown subcommand "template ${sub}" (known: notify)`);
  return templateNotify(rest);
}

export async function templateNotify(argv: string[]): Promise<number> {
  const args = parseFlags(argv, flags);
  if (args.has('help')) {
    process.stdout.write(templateHelp);
    return 0;
  }
  const [templateName, appName] = positionals(args, ['TEMPLATE', 'APP']) as [string, string];
  const channelName = args.one('channel');
  const dryRun = args.has('stdout');
  if (!dryRun && !channelName) throw new UsageError('say where the message goes: --channel NAME to send it, or --stdout to only print it');
  const context = notificationContext(args.one('argocd-url') ?? DEFAULT_ARGOCD_URL, args.flags.get('context') ?? []);

  const workspace = await openWorkspace(args, appName);
  const template = resolveInScope(workspace.resources.templates, workspace, 'NotificationTemplate', templateName);
  const compiled = compileTemplate(template.object.spec);
  if (!compiled.ok) {
    throw new UnusableResourceError(`NotificationTemplate ${template.namespace}/${template.name} does not compile: ${formatTemplateErrors(compiled.errors)}`);
  }
  const channel = channelName ? resolveInScope(workspace.resources.channels, workspace, 'DingTalkChannel', channelName) : undefined;

  const initiator = initiatorOf(workspace.app);
  const templateContext: TemplateContext = {
    app: workspace.app as unknown as Record<string, unknown>,
    context,
    trigger: args.one('trigger') ?? 'template-notify',
    channel: { name: channel?.name ?? '', type: 'dingtalk' },
    notificationType: 'dingtalk',
    initiator,
  };
  let rendered;
  try {
    rendered = renderTemplate(compiled.template, templateContext);
  } catch (error) {
    throw new UnusableResourceError(`NotificationTemplate ${template.namespace}/${template.name} does not render for this Application: ${errorMessage(error)}`, { cause: error });
  }
  const message: OutgoingMessage = { rendered, ...(initiator ? { initiator } : {}) };

  const out: string[] = [
    `# NotificationTemplate ${template.namespace}/${template.name} for Application ${workspace.appNamespace}/${workspace.app.metadata.name} ` +
      `(trigger ${templateContext.trigger}${channel ? `, DingTalkChannel ${channel.namespace}/${channel.name}` : ''}; ${workspace.source.description})`,
  ];
  const now = Date.now();
  const target = channel ? await channelTarget(workspace, channel, now, dryRun) : undefined;
  const built = target?.robot ? target.robot.build(message) : buildDingTalkBody(message.rendered, { initiator, mentions: channel?.object.spec.mentions });
  const fitted = fitToSize(built.body);
  const notes = [...(target?.notes ?? []), ...built.notes, ...(fitted.truncated ? ["the text was shortened to fit DingTalk's 20000-byte limit"] : [])];

  out.push(`POST ${target?.url ?? '<the channel robot webhook URL>'}`);
  out.push('Content-Type: application/json; charset=utf-8', '', JSON.stringify(fitted.body, null, 2));
  print(out);
  for (const note of notes) process.stderr.write(maskSecrets(`note: ${note}\n`));

  const missing = channel ? missingKeyword(fitted.body, channel.object.spec.keywords ?? []) : undefined;
  if (missing) {
    process.stderr.write(maskSecrets(`herald: not sent: ${missing}\n`));
    return 1;
  }
  if (dryRun || !target?.robot) return 0;
  return send(target.robot, message);
}

interface ChannelTarget {
  robot?: DingTalkRobot;
  /** The request URL, token and signature masked. */
  url?: string;
  notes: string[];
}

/** Reads the channel's Secrets and builds its sender; in a dry run a missing Secret is only a note. */
async function channelTarget(workspace: Workspace, channel: ResolvedChannel, now: number, dryRun: boolean): Promise<ChannelTarget> {
  const spec: DingTalkChannelSpec = channel.object.spec;
  const fail = (why: string): ChannelTarget => {
    if (!dryRun) throw new UnusableResourceError(`DingTalkChannel ${channel.namespace}/${channel.name}: ${why}`);
    return { notes: [`DingTalkChannel ${channel.namespace}/${channel.name}: ${why}; showing the body only`] };
  };
  if (!spec.webhook) return fail(spec.app ? 'spec.app (enterprise internal app robot) is not implemented yet' : 'spec.webhook is missing');
  const read = async (field: string, ref: { name: string; key: string }): Promise<string | { problem: string }> => {
    const data = await workspace.source.secret(channel.namespace, ref.name);
    if (!data) return { problem: `${field}: Secret ${channel.namespace}/${ref.name} not found` };
    const value = data[ref.key];
    if (value === undefined || value === '') return { problem: `${field}: Secret ${channel.namespace}/${ref.name} has no (or an empty) key "${ref.key}"` };
    registerSecret(value);
    return value;
  };
  const webhookUrl = await read('spec.webhook.urlSecretRef', spec.webhook.urlSecretRef);
  if (typeof webhookUrl !== 'string') return fail(webhookUrl.problem);
  let signSecret: string | undefined;
  if (spec.webhook.signSecretRef) {
    const value = await read('spec.webhook.signSecretRef', spec.webhook.signSecretRef);
    if (typeof value !== 'string') return fail(value.problem);
    signSecret = value;
  }
  let robot: DingTalkRobot;
  try {
    // The operator builds the same sender through the channel registry; the clock is
    // fixed here so that the URL printed is the URL sent.
    robot = dingTalkRobotFromSpec(spec, { webhookUrl, signSecret }, { now: () => now });
  } catch (error) {
    return fail(errorMessage(error));
  }
  return { robot, url: displayUrl(signedUrl(webhookUrl.trim(), signSecret, now)), notes: [] };
}

/**
 * The request URL for printing: the access token and signature replaced by ***, the
 * rest (host, path, timestamp) kept, so the user can see which robot is addressed.
 */
export function displayUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '***';
  }
  for (const key of ['access_token', 'sign']) if (parsed.searchParams.has(key)) parsed.searchParams.set(key, '***');
  parsed.username = parsed.username ? '***' : '';
  parsed.password = parsed.password ? '***' : '';
  return maskUrl(parsed.toString());
}

async function send(robot: DingTalkRobot, message: OutgoingMessage): Promise<number> {
  try {
    const receipt = await robot.send(message);
    const answer = receipt.response as { errcode?: number; errmsg?: string };
    print(['', `DingTalk answered: errcode ${answer.errcode ?? '?'}, errmsg ${JSON.stringify(answer.errmsg ?? '')}`]);
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
