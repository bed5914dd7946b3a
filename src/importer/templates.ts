// `template.<name>` → a NotificationTemplate: `message` becomes spec.message and the
// body for a converted DingTalk webhook service becomes spec.dingtalk; each text is
// translated from Go templates to nunjucks and the result must compile.
import { HERALD_API_VERSION } from '../api/groups.js';
import type { NotificationTemplate, NotificationTemplateSpec } from '../api/generated.js';
import { isObjectName } from '../names.js';
import { compileTemplate, formatTemplateErrors } from '../templates/index.js';
import { convertDingTalkBody } from './dingtalk-body.js';
import { goTemplateToNunjucks } from './gotemplate/index.js';
import type { Report } from './report.js';
import type { ConvertedResource, ImportOptions } from './resources.js';
import type { WebhookService } from './services.js';

interface GoTemplateSection {
  message?: unknown;
  webhook?: Record<string, { method?: unknown; path?: unknown; body?: unknown }>;
  [notifier: string]: unknown;
}

export function convertTemplate(key: string, text: string, services: ReadonlyMap<string, WebhookService>, options: ImportOptions, report: Report): ConvertedResource | undefined {
  const about = report.about(key);
  const name = key.slice('template.'.length);
  if (!isObjectName(name)) {
    about.omit(`"${name}" is not a valid resource name`);
    return undefined;
  }
  const section = about.yaml(text) as GoTemplateSection | undefined;
  if (section === undefined) return undefined;
  if (!section || typeof section !== 'object') {
    about.omit('a template must be a mapping (message, webhook, …)');
    return undefined;
  }
  const spec: NotificationTemplateSpec = {};

  for (const [field, value] of Object.entries(section)) {
    if (field === 'message') {
      if (typeof value !== 'string') {
        about.at('message').omit('expected text');
        continue;
      }
      const message = goTemplateToNunjucks(value);
      about.at('message').translated(message);
      spec.message = message.text;
    } else if (field === 'webhook' && value && typeof value === 'object') {
      for (const [service, webhook] of Object.entries(value as Record<string, { method?: unknown; path?: unknown; body?: unknown }>)) {
        const where = `webhook.${service}`;
        if (!services.has(service)) {
          about.at(where).omit(`${service} is not a converted DingTalk webhook service`);
          continue;
        }
        if (spec.dingtalk) {
          about.at(where).omit('a NotificationTemplate has one DingTalk message; the body for another service was already converted');
          continue;
        }
        if (webhook.method !== undefined && String(webhook.method).toUpperCase() !== 'POST') about.at(`${where}.method`).note('herald always POSTs to DingTalk');
        if (webhook.path !== undefined && String(webhook.path) !== '') about.at(`${where}.path`).omit("herald posts to the robot URL of the channel's Secret; a per-template path is not converted");
        if (webhook.body === undefined) {
          about.at(where).omit('no body');
          continue;
        }
        const dingtalk = convertDingTalkBody(String(webhook.body), about.at(`${where}.body`));
        if (dingtalk) spec.dingtalk = dingtalk;
      }
    } else {
      about.omit(`${field}: herald sends to DingTalk only; this part of the template is not converted`);
    }
  }
  if (!spec.message && !spec.dingtalk) {
    about.omit('nothing left to convert: no message and no DingTalk webhook body');
    return undefined;
  }
  if (!spec.dingtalk) about.note('no DingTalk webhook body: herald sends spec.message as a DingTalk text message');
  const compiled = compileTemplate(spec);
  if (!compiled.ok) {
    about.omit(`the converted template does not compile (${formatTemplateErrors(compiled.errors)}); it was not written`);
    return undefined;
  }
  const template: NotificationTemplate = { apiVersion: HERALD_API_VERSION, kind: 'NotificationTemplate', metadata: { name, namespace: options.namespace }, spec };
  return { kind: 'NotificationTemplate', name, from: key, objects: [template] };
}
