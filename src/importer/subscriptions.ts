// `subscriptions` and `defaultTriggers` → the channels' spec.subscriptions (label
// selector strings become structured selectors), and `context` → the controller
// flags to use.
import type { DingTalkChannel } from '../api/generated.js';
import type { Report } from './report.js';
import type { ConvertedResource } from './resources.js';
import { parseLabelSelector } from './selector.js';
import type { WebhookService } from './services.js';

export function convertSubscriptions(data: Readonly<Record<string, string>>, services: ReadonlyMap<string, WebhookService>, resources: readonly ConvertedResource[], report: Report): void {
  const defaults = (service: string): string[] => {
    const specific = data[`defaultTriggers.${service}`] ?? data.defaultTriggers;
    const parsed = specific === undefined ? undefined : report.about(`defaultTriggers${data[`defaultTriggers.${service}`] ? `.${service}` : ''}`).yaml(specific);
    return Array.isArray(parsed) ? parsed.map(String) : [];
  };
  for (const key of Object.keys(data).filter((k) => k === 'defaultTriggers' || k.startsWith('defaultTriggers.'))) {
    report.about(key).note('applied to the subscriptions without triggers; Applications subscribed without a trigger name need herald.gitops.dev/subscribe.<trigger> annotations per trigger');
  }
  if (data.subscriptions === undefined) return;
  const subscriptions = report.about('subscriptions').yaml(data.subscriptions);
  if (subscriptions === undefined) return;
  if (!Array.isArray(subscriptions)) {
    report.about('subscriptions').omit('expected a list');
    return;
  }
  subscriptions.forEach((subscription: Record<string, unknown>, index) => {
    const about = report.about(`subscriptions[${index}]`);
    const recipients = Array.isArray(subscription?.recipients) ? subscription.recipients.map(String) : [];
    if (recipients.length === 0) about.omit('no recipients');
    let selector;
    if (subscription?.selector !== undefined && String(subscription.selector).trim() !== '') {
      const parsed = parseLabelSelector(String(subscription.selector));
      if ('problem' in parsed) {
        about.omit(`selector: ${parsed.problem}; subscription left out`);
        return;
      }
      selector = parsed.selector;
    }
    for (const recipient of recipients) {
      // `service` or `service:recipient`; a webhook service takes no recipient.
      const serviceName = recipient.split(':')[0]!;
      const service = services.get(serviceName);
      if (!service) {
        about.omit(`recipient ${recipient}: not a converted DingTalk webhook service`);
        continue;
      }
      const explicit = Array.isArray(subscription.triggers) ? subscription.triggers.map(String) : [];
      const triggers = [...new Set(explicit.length > 0 ? explicit : defaults(serviceName))];
      if (triggers.length === 0) {
        about.omit(`recipient ${recipient}: no triggers and no defaultTriggers`);
        continue;
      }
      const channel = resources.find((r) => r.kind === 'DingTalkChannel' && r.name === service.channelName)!.objects[0] as DingTalkChannel;
      channel.spec.subscriptions = [...(channel.spec.subscriptions ?? []), { triggers, ...(selector ? { selector } : {}) }];
    }
    for (const other of Object.keys(subscription ?? {})) {
      if (!['recipients', 'triggers', 'selector'].includes(other)) about.omit(`${other}: not converted`);
    }
  });
}

export function convertContext(text: string, report: Report): void {
  const context = report.about('context').yaml(text) as Record<string, unknown> | undefined;
  if (!context || typeof context !== 'object') return;
  const flags: string[] = [];
  for (const [name, value] of Object.entries(context)) {
    flags.push(name === 'argocdUrl' ? `--argocd-url ${String(value)}` : `--context ${name}=${String(value)}`);
  }
  if (flags.length > 0) {
    report.nextStep(`context: start the controller with ${flags.join(' ')} (or the environment variables HERALD_ARGOCD_URL, HERALD_CONTEXT); herald template notify takes the same flags`);
  }
}
