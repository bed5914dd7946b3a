// Converts an Argo CD notifications ConfigMap (argocd-notifications-cm) into herald
// resources. Pure: the data in, resources and a report out. Nothing is dropped
// silently: every key, service, template part and condition that is not converted
// is in `omitted`, with the reason.
import { parse as parseYaml } from 'yaml';
import { HERALD_API_VERSION } from '../api/groups.js';
import type { DingTalkChannel, DingTalkChannelSpec, NotificationTemplate, NotificationTemplateSpec, NotificationTrigger, NotificationTriggerSpec } from '../api/generated.js';
import { maskUrl } from '../secrets.js';
import { compileTemplate, formatTemplateErrors } from '../templates/index.js';
import { compileTrigger, formatTriggerErrors } from '../triggers/index.js';
import { exprToCel } from './expr/index.js';
import { goTemplateToNunjucks, splitActions } from './gotemplate/index.js';
import { parseLabelSelector } from './selector.js';

export interface ImportOptions {
  /** Namespace of the generated resources (herald's control namespace). */
  namespace: string;
  /** argocd-notifications-secret values, to resolve `$key` references in service URLs. */
  secrets?: Record<string, string>;
}

export interface SecretStub {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string };
  type: 'Opaque';
  stringData: Record<string, string>;
}

/** One output file's worth: a resource (and, for a channel, its Secret). */
export interface ConvertedResource {
  kind: 'DingTalkChannel' | 'NotificationTemplate' | 'NotificationTrigger';
  name: string;
  /** The ConfigMap key it came from. */
  from: string;
  objects: Array<DingTalkChannel | NotificationTemplate | NotificationTrigger | SecretStub>;
}

export interface ImportResult {
  resources: ConvertedResource[];
  /** What was left out, each with its ConfigMap key and the reason. */
  omitted: string[];
  /** Differences in meaning worth knowing. */
  notes: string[];
  /** What the user still has to do (flags, annotations, secret values). */
  nextSteps: string[];
}

const DINGTALK_HOST = 'oapi.dingtalk.com';
const DINGTALK_PATH = '/robot/send';
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

interface WebhookService {
  name: string;
  channelName: string;
  url: string;
}

export function convertNotificationsConfigMap(data: Readonly<Record<string, string>>, options: ImportOptions): ImportResult {
  const result: ImportResult = { resources: [], omitted: [], notes: [], nextSteps: [] };
  const omit = (key: string, why: string) => result.omitted.push(`${key}: ${why}`);
  const note = (key: string, what: string) => result.notes.push(`${key}: ${what}`);
  const keys = Object.keys(data).sort();

  // Services first: templates and subscriptions refer to them.
  const dingtalk = new Map<string, WebhookService>();
  for (const key of keys.filter((k) => k.startsWith('service.'))) {
    const service = convertService(key, data[key]!, options, result, omit, note);
    if (service) dingtalk.set(service.name, service);
  }

  const templates = new Set<string>();
  for (const key of keys.filter((k) => k.startsWith('template.'))) {
    const converted = convertTemplate(key, data[key]!, dingtalk, options, omit, note);
    if (converted) {
      result.resources.push(converted);
      templates.add(converted.name);
    }
  }

  for (const key of keys.filter((k) => k.startsWith('trigger.'))) {
    const converted = convertTrigger(key, data[key]!, templates, options, omit, note);
    if (converted) result.resources.push(converted);
  }

  convertSubscriptions(data, dingtalk, result, omit, note);

  for (const key of keys) {
    if (/^(service|template|trigger)\./.test(key) || key === 'subscriptions' || key === 'defaultTriggers' || key.startsWith('defaultTriggers.')) continue;
    if (key === 'context') {
      convertContext(data[key]!, result, omit);
      continue;
    }
    omit(key, 'not a setting herald has an equivalent for');
  }

  const triggers = new Set(result.resources.filter((r) => r.kind === 'NotificationTrigger').map((r) => r.name));
  for (const resource of result.resources.filter((r) => r.kind === 'DingTalkChannel')) {
    const channel = resource.objects[0] as DingTalkChannel;
    const missing = [...new Set((channel.spec.subscriptions ?? []).flatMap((s) => s.triggers).filter((t) => !triggers.has(t)))];
    if (missing.length > 0) note('subscriptions', `channel ${resource.name} subscribes to ${missing.join(', ')}, which this ConfigMap does not define (apply herald's catalog, config/samples, or write them)`);
  }

  if (dingtalk.size > 0) {
    result.nextSteps.push(
      'Applications subscribed with notifications.argoproj.io/subscribe.<trigger>.<service> annotations need ' +
        'herald.gitops.dev/subscribe.<trigger>: <channel> instead (for example ' +
        `herald.gitops.dev/subscribe.on-sync-succeeded: ${[...dingtalk.values()][0]!.channelName})`,
    );
    result.nextSteps.push('If a robot uses custom keywords or signing, add spec.keywords and spec.webhook.signSecretRef to its DingTalkChannel');
  }
  return result;
}

// ---------------------------------------------------------------------------
// Services

function parseYamlValue(key: string, text: string, omit: (key: string, why: string) => void): unknown {
  try {
    return parseYaml(text);
  } catch (error) {
    omit(key, `not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

function channelNameFor(service: string): string {
  const name = service.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return name === '' ? 'dingtalk' : name.slice(0, 240);
}

/** Replaces `$key` references (argocd-notifications-secret) with their values when known. */
function resolveSecretRefs(text: string, secrets: Record<string, string> | undefined): { value: string; unresolved: string[] } {
  const unresolved: string[] = [];
  const value = text.replace(/\$([A-Za-z0-9_.-]+)/g, (whole, name: string) => {
    const found = secrets?.[name];
    if (found === undefined) {
      unresolved.push(name);
      return whole;
    }
    return found;
  });
  return { value, unresolved };
}

function convertService(
  key: string,
  text: string,
  options: ImportOptions,
  result: ImportResult,
  omit: (key: string, why: string) => void,
  note: (key: string, what: string) => void,
): WebhookService | undefined {
  const match = /^service\.([^.]+)\.(.+)$/.exec(key);
  if (!match || match[1] !== 'webhook') {
    omit(key, 'herald sends to DingTalk robots only; this service is not converted');
    return undefined;
  }
  const name = match[2]!;
  const config = parseYamlValue(key, text, omit) as Record<string, unknown> | undefined;
  if (config === undefined) return undefined;
  if (!config || typeof config !== 'object' || typeof config.url !== 'string') {
    omit(key, 'a webhook service needs a url');
    return undefined;
  }
  const { value: url, unresolved } = resolveSecretRefs(config.url, options.secrets);
  let parsed: URL | undefined;
  try {
    parsed = new URL(url.replace(/\$/g, '%24'));
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.hostname !== DINGTALK_HOST || parsed.pathname !== DINGTALK_PATH) {
    omit(key, `${maskUrl(config.url)} is not a DingTalk robot webhook (a URL starting with https://${DINGTALK_HOST}${DINGTALK_PATH}); herald sends to DingTalk robots only`);
    return undefined;
  }
  for (const [field, value] of Object.entries(config)) {
    if (field === 'url') continue;
    if (field === 'headers' && Array.isArray(value)) {
      for (const header of value as Array<{ name?: unknown; value?: unknown }>) {
        const headerName = String(header?.name ?? '');
        if (/^content-type$/i.test(headerName) && /application\/json/i.test(String(header?.value ?? ''))) continue;
        omit(key, `header ${headerName}: herald sends only Content-Type: application/json to DingTalk`);
      }
      continue;
    }
    if (/^retry(WaitMin|WaitMax|Max)$/.test(field)) {
      note(key, `${field}: herald retries by itself (bounded exponential backoff, messages kept in the outbox)`);
      continue;
    }
    omit(key, `${field}: no DingTalkChannel equivalent`);
  }
  const channelName = channelNameFor(name);
  if (channelName !== name) note(key, `the channel is named ${channelName} (Kubernetes names are lower case)`);
  const secretName = `${channelName}-robot`;
  if (unresolved.length > 0) {
    result.nextSteps.push(
      `Secret ${options.namespace}/${secretName} key url: replace ${unresolved.map((u) => `$${u}`).join(', ')} with the value from argocd-notifications-secret`,
    );
  }
  const spec: DingTalkChannelSpec = { webhook: { urlSecretRef: { name: secretName, key: 'url' } } };
  const channel: DingTalkChannel = { apiVersion: HERALD_API_VERSION, kind: 'DingTalkChannel', metadata: { name: channelName, namespace: options.namespace }, spec };
  const secret: SecretStub = { apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName, namespace: options.namespace }, type: 'Opaque', stringData: { url } };
  result.resources.push({ kind: 'DingTalkChannel', name: channelName, from: key, objects: [channel, secret] });
  return { name, channelName, url };
}

// ---------------------------------------------------------------------------
// Templates

interface GoTemplateSection {
  message?: unknown;
  webhook?: Record<string, { method?: unknown; path?: unknown; body?: unknown }>;
  [notifier: string]: unknown;
}

function convertTemplate(
  key: string,
  text: string,
  services: ReadonlyMap<string, WebhookService>,
  options: ImportOptions,
  omit: (key: string, why: string) => void,
  note: (key: string, what: string) => void,
): ConvertedResource | undefined {
  const name = key.slice('template.'.length);
  if (!NAME.test(name)) {
    omit(key, `"${name}" is not a valid resource name`);
    return undefined;
  }
  const section = parseYamlValue(key, text, omit) as GoTemplateSection | undefined;
  if (section === undefined) return undefined;
  if (!section || typeof section !== 'object') {
    omit(key, 'a template must be a mapping (message, webhook, …)');
    return undefined;
  }
  const spec: NotificationTemplateSpec = {};
  const translate = (where: string, source: unknown): string | undefined => {
    if (typeof source !== 'string') {
      omit(key, `${where}: expected text`);
      return undefined;
    }
    const t = goTemplateToNunjucks(source);
    for (const problem of t.problems) omit(key, `${where}: ${problem}`);
    for (const n of t.notes) note(key, `${where}: ${n}`);
    return t.text;
  };

  for (const [field, value] of Object.entries(section)) {
    if (field === 'message') {
      const message = translate('message', value);
      if (message !== undefined) spec.message = message;
    } else if (field === 'webhook' && value && typeof value === 'object') {
      for (const [service, webhook] of Object.entries(value as Record<string, { method?: unknown; path?: unknown; body?: unknown }>)) {
        const where = `webhook.${service}`;
        if (!services.has(service)) {
          omit(key, `${where}: ${service} is not a converted DingTalk webhook service`);
          continue;
        }
        if (spec.dingtalk) {
          omit(key, `${where}: a NotificationTemplate has one DingTalk message; the body for another service was already converted`);
          continue;
        }
        if (webhook.method !== undefined && String(webhook.method).toUpperCase() !== 'POST') note(key, `${where}.method: herald always POSTs to DingTalk`);
        if (webhook.path !== undefined && String(webhook.path) !== '') omit(key, `${where}.path: herald posts to the robot URL of the channel's Secret; a per-template path is not converted`);
        if (webhook.body === undefined) {
          omit(key, `${where}: no body`);
          continue;
        }
        const dingtalk = convertDingTalkBody(key, `${where}.body`, String(webhook.body), omit, note);
        if (dingtalk) spec.dingtalk = dingtalk;
      }
    } else {
      omit(key, `${field}: herald sends to DingTalk only; this part of the template is not converted`);
    }
  }
  if (!spec.message && !spec.dingtalk) {
    omit(key, 'nothing left to convert: no message and no DingTalk webhook body');
    return undefined;
  }
  if (!spec.dingtalk) note(key, 'no DingTalk webhook body: herald sends spec.message as a DingTalk text message');
  const compiled = compileTemplate(spec);
  if (!compiled.ok) {
    omit(key, `the converted template does not compile (${formatTemplateErrors(compiled.errors)}); it was not written`);
    return undefined;
  }
  const template: NotificationTemplate = { apiVersion: HERALD_API_VERSION, kind: 'NotificationTemplate', metadata: { name, namespace: options.namespace }, spec };
  return { kind: 'NotificationTemplate', name, from: key, objects: [template] };
}

type DingTalkSpec = NonNullable<NotificationTemplateSpec['dingtalk']>;

const PLACEHOLDER = (i: number) => `@@HERALD_GO_${i}@@`;

/**
 * A DingTalk webhook body (JSON with Go template actions inside its strings) into
 * spec.dingtalk. The actions are set aside, the JSON is parsed, and each string field
 * is translated on its own: herald builds the body as an object.
 */
function convertDingTalkBody(
  key: string,
  where: string,
  body: string,
  omit: (key: string, why: string) => void,
  note: (key: string, what: string) => void,
): DingTalkSpec | undefined {
  let pieces;
  try {
    pieces = splitActions(body);
  } catch (error) {
    omit(key, `${where}: ${(error as Error).message}`);
    return undefined;
  }
  const actions: string[] = [];
  const raw = pieces
    .map((piece) => {
      if (piece.kind === 'text') return piece.text;
      if (piece.body.startsWith('/*')) return '';
      actions.push(piece.body);
      return PLACEHOLDER(actions.length - 1);
    })
    .join('');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    omit(key, `${where}: not a JSON object once the template actions are set aside (${(error as Error).message}); only actions inside JSON strings are converted`);
    return undefined;
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    omit(key, `${where}: not a JSON object`);
    return undefined;
  }
  const restore = (text: string) => text.replace(/@@HERALD_GO_(\d+)@@/g, (_, i: string) => `{{${actions[Number(i)]}}}`);
  const field = (path: string, value: unknown): string | undefined => {
    if (typeof value !== 'string') {
      omit(key, `${where}: ${path}: expected a string, got ${JSON.stringify(value)}`);
      return undefined;
    }
    const t = goTemplateToNunjucks(restore(value));
    for (const problem of t.problems) omit(key, `${where}: ${path}: ${problem}`);
    for (const n of t.notes) note(key, `${where}: ${path}: ${n}`);
    return t.text;
  };
  const object = json as Record<string, unknown>;
  const msgtype = object.msgtype;
  const types = ['text', 'markdown', 'link', 'actionCard', 'feedCard'] as const;
  if (typeof msgtype !== 'string' || !(types as readonly string[]).includes(msgtype)) {
    omit(key, `${where}: msgtype ${JSON.stringify(msgtype)} is not a DingTalk robot message type (${types.join(', ')})`);
    return undefined;
  }
  const spec: DingTalkSpec = { msgType: msgtype as DingTalkSpec['msgType'] };
  const content = (object[msgtype] ?? {}) as Record<string, unknown>;
  const set = (target: keyof DingTalkSpec, path: string, value: unknown) => {
    if (value === undefined) return;
    const converted = field(path, value);
    if (converted !== undefined) (spec as Record<string, unknown>)[target] = converted;
  };
  const known: Record<string, Array<[string, keyof DingTalkSpec]>> = {
    text: [['content', 'text']],
    markdown: [['title', 'title'], ['text', 'text']],
    link: [['title', 'title'], ['text', 'text'], ['messageUrl', 'messageURL'], ['picUrl', 'picURL']],
    actionCard: [['title', 'title'], ['text', 'text'], ['singleTitle', 'singleTitle'], ['singleURL', 'singleURL']],
    feedCard: [],
  };
  const handled = new Set(known[msgtype]!.map(([from]) => from));
  for (const [from, to] of known[msgtype]!) set(to, `${msgtype}.${from}`, content[from]);
  if (msgtype === 'actionCard') {
    handled.add('btnOrientation').add('btns');
    if (content.btnOrientation !== undefined) {
      const orientation = String(content.btnOrientation);
      if (orientation === '0' || orientation === '1') spec.btnOrientation = orientation;
      else omit(key, `${where}: actionCard.btnOrientation ${JSON.stringify(content.btnOrientation)} is not "0" or "1"`);
    }
    if (Array.isArray(content.btns)) {
      spec.btns = content.btns.map((b: Record<string, unknown>, i) => ({
        title: field(`actionCard.btns[${i}].title`, b?.title) ?? '',
        actionURL: field(`actionCard.btns[${i}].actionURL`, b?.actionURL) ?? '',
      }));
    }
  }
  if (msgtype === 'feedCard') {
    handled.add('links');
    if (Array.isArray(content.links)) {
      spec.links = content.links.map((l: Record<string, unknown>, i) => {
        const picURL = l?.picURL === undefined ? undefined : field(`feedCard.links[${i}].picURL`, l.picURL);
        return {
          title: field(`feedCard.links[${i}].title`, l?.title) ?? '',
          messageURL: field(`feedCard.links[${i}].messageURL`, l?.messageURL) ?? '',
          ...(picURL === undefined ? {} : { picURL }),
        };
      });
    }
  }
  for (const other of Object.keys(content)) if (!handled.has(other)) omit(key, `${where}: ${msgtype}.${other} is not converted`);

  for (const [topKey, value] of Object.entries(object)) {
    if (topKey === 'msgtype' || topKey === msgtype) continue;
    if (topKey === 'at' && value && typeof value === 'object') {
      const at = value as { atMobiles?: unknown; atUserIds?: unknown; isAtAll?: unknown };
      const list = (path: string, items: unknown) =>
        Array.isArray(items) ? items.flatMap((item, i) => field(`${path}[${i}]`, String(item)) ?? []) : [];
      const mobiles = list('at.atMobiles', at.atMobiles);
      const userIds = list('at.atUserIds', at.atUserIds);
      spec.at = {
        ...(mobiles.length > 0 ? { mobiles } : {}),
        ...(userIds.length > 0 ? { userIds } : {}),
        ...(at.isAtAll === true || at.isAtAll === 'true' ? { all: true } : {}),
      };
      if (Object.keys(spec.at).length === 0) delete spec.at;
      for (const other of Object.keys(at)) if (!['atMobiles', 'atUserIds', 'isAtAll'].includes(other)) omit(key, `${where}: at.${other} is not converted`);
      continue;
    }
    omit(key, `${where}: ${topKey} is not converted`);
  }
  return spec;
}

// ---------------------------------------------------------------------------
// Triggers

function convertTrigger(
  key: string,
  text: string,
  templates: ReadonlySet<string>,
  options: ImportOptions,
  omit: (key: string, why: string) => void,
  note: (key: string, what: string) => void,
): ConvertedResource | undefined {
  const name = key.slice('trigger.'.length);
  if (!NAME.test(name)) {
    omit(key, `"${name}" is not a valid resource name`);
    return undefined;
  }
  const conditions = parseYamlValue(key, text, omit) as Array<Record<string, unknown>> | undefined;
  if (conditions === undefined) return undefined;
  if (!Array.isArray(conditions)) {
    omit(key, 'a trigger must be a list of conditions');
    return undefined;
  }
  const spec: NotificationTriggerSpec = { conditions: [] };
  conditions.forEach((condition, index) => {
    const where = `[${index}]`;
    if (!condition || typeof condition !== 'object' || typeof condition.when !== 'string') {
      omit(key, `${where}: a condition needs when`);
      return;
    }
    const when = exprToCel(condition.when);
    for (const n of when.notes) note(key, `${where}.when: ${n}`);
    if (when.cel === undefined) {
      omit(key, `${where}.when: ${JSON.stringify(condition.when)} cannot be translated to CEL: ${when.problem}; condition left out`);
      return;
    }
    let oncePer: string | undefined;
    if (condition.oncePer !== undefined && condition.oncePer !== '') {
      const translated = exprToCel(String(condition.oncePer));
      for (const n of translated.notes) note(key, `${where}.oncePer: ${n}`);
      if (translated.cel === undefined) {
        omit(key, `${where}.oncePer: ${JSON.stringify(condition.oncePer)} cannot be translated to CEL: ${translated.problem}; condition left out`);
        return;
      }
      oncePer = translated.cel;
    }
    const send = Array.isArray(condition.send) ? condition.send.map(String) : [];
    if (send.length === 0) {
      omit(key, `${where}: a condition needs send`);
      return;
    }
    for (const template of send) {
      if (!templates.has(template)) note(key, `${where}: sends template ${template}, which is not among the converted templates`);
    }
    const converted = {
      ...(typeof condition.description === 'string' ? { description: condition.description } : {}),
      when: when.cel,
      send,
      ...(oncePer === undefined ? {} : { oncePer }),
    };
    // The translation must also type-check against the Application schema.
    const check = compileTrigger({ conditions: [converted] });
    if (!check.ok) {
      omit(key, `${where}: the CEL translation ${JSON.stringify(when.cel)} does not compile (${formatTriggerErrors(check.errors)}); condition left out`);
      return;
    }
    for (const other of Object.keys(condition)) {
      if (!['description', 'when', 'send', 'oncePer'].includes(other)) omit(key, `${where}.${other}: not converted`);
    }
    spec.conditions.push(converted);
  });
  if (spec.conditions.length === 0) {
    omit(key, 'no condition could be converted; the trigger was not written');
    return undefined;
  }
  const trigger: NotificationTrigger = { apiVersion: HERALD_API_VERSION, kind: 'NotificationTrigger', metadata: { name, namespace: options.namespace }, spec };
  return { kind: 'NotificationTrigger', name, from: key, objects: [trigger] };
}

// ---------------------------------------------------------------------------
// Subscriptions, default triggers, context

function convertSubscriptions(
  data: Readonly<Record<string, string>>,
  services: ReadonlyMap<string, WebhookService>,
  result: ImportResult,
  omit: (key: string, why: string) => void,
  note: (key: string, what: string) => void,
): void {
  const defaults = (service: string): string[] => {
    const specific = data[`defaultTriggers.${service}`] ?? data.defaultTriggers;
    const parsed = specific === undefined ? undefined : (parseYamlValue(`defaultTriggers${data[`defaultTriggers.${service}`] ? `.${service}` : ''}`, specific, omit) as unknown);
    return Array.isArray(parsed) ? parsed.map(String) : [];
  };
  for (const key of Object.keys(data).filter((k) => k === 'defaultTriggers' || k.startsWith('defaultTriggers.'))) {
    note(key, 'applied to the subscriptions without triggers; Applications subscribed without a trigger name need herald.gitops.dev/subscribe.<trigger> annotations per trigger');
  }
  if (data.subscriptions === undefined) return;
  const subscriptions = parseYamlValue('subscriptions', data.subscriptions, omit);
  if (subscriptions === undefined) return;
  if (!Array.isArray(subscriptions)) {
    omit('subscriptions', 'expected a list');
    return;
  }
  subscriptions.forEach((subscription: Record<string, unknown>, index) => {
    const where = `subscriptions[${index}]`;
    const recipients = Array.isArray(subscription?.recipients) ? subscription.recipients.map(String) : [];
    if (recipients.length === 0) omit(where, 'no recipients');
    let selector;
    if (subscription?.selector !== undefined && String(subscription.selector).trim() !== '') {
      const parsed = parseLabelSelector(String(subscription.selector));
      if ('problem' in parsed) {
        omit(where, `selector: ${parsed.problem}; subscription left out`);
        return;
      }
      selector = parsed.selector;
    }
    for (const recipient of recipients) {
      // `service` or `service:recipient`; a webhook service takes no recipient.
      const serviceName = recipient.split(':')[0]!;
      const service = services.get(serviceName);
      if (!service) {
        omit(where, `recipient ${recipient}: not a converted DingTalk webhook service`);
        continue;
      }
      const explicit = Array.isArray(subscription.triggers) ? subscription.triggers.map(String) : [];
      const triggers = [...new Set(explicit.length > 0 ? explicit : defaults(serviceName))];
      if (triggers.length === 0) {
        omit(where, `recipient ${recipient}: no triggers and no defaultTriggers`);
        continue;
      }
      const channel = result.resources.find((r) => r.kind === 'DingTalkChannel' && r.name === service.channelName)!.objects[0] as DingTalkChannel;
      channel.spec.subscriptions = [...(channel.spec.subscriptions ?? []), { triggers, ...(selector ? { selector } : {}) }];
    }
    for (const other of Object.keys(subscription ?? {})) {
      if (!['recipients', 'triggers', 'selector'].includes(other)) omit(where, `${other}: not converted`);
    }
  });
}

function convertContext(text: string, result: ImportResult, omit: (key: string, why: string) => void): void {
  const context = parseYamlValue('context', text, omit) as Record<string, unknown> | undefined;
  if (!context || typeof context !== 'object') return;
  const flags: string[] = [];
  for (const [name, value] of Object.entries(context)) {
    flags.push(name === 'argocdUrl' ? `--argocd-url ${String(value)}` : `--context ${name}=${String(value)}`);
  }
  if (flags.length > 0) {
    result.nextSteps.push(`context: start the controller with ${flags.join(' ')} (or the environment variables HERALD_ARGOCD_URL, HERALD_CONTEXT); herald template notify takes the same flags`);
  }
}
