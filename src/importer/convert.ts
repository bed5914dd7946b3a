// Converts an Argo CD notifications ConfigMap (argocd-notifications-cm) into herald
// resources. Pure: the data in, resources and a report out. Nothing is dropped
// silently: every key, service, template part and condition that is not converted
// is in `omitted`, with the reason.
import type { DingTalkChannel } from '../api/generated.js';
import { Report } from './report.js';
import type { ConversionOutput, ImportOptions } from './resources.js';
import { convertService, type WebhookService } from './services.js';
import { convertContext, convertSubscriptions } from './subscriptions.js';
import { convertTemplate } from './templates.js';
import { convertTrigger } from './triggers.js';

export type { ConversionOutput, ConvertedResource, ImportOptions, SecretStub } from './resources.js';

export interface ImportResult extends ConversionOutput {
  /** What was left out, each with its ConfigMap key and the reason. */
  omitted: string[];
  /** Differences in meaning worth knowing. */
  notes: string[];
  /** What the user still has to do (flags, annotations, secret values). */
  nextSteps: string[];
}

/** The user guide's section on switching from Argo CD's notifications (a docs test checks that it exists). */
export const MIGRATION_SECTION = { title: 'Moving from Argo CD notifications', link: 'docs/user-guide.md#moving-from-argo-cd-notifications' };

export function convertNotificationsConfigMap(data: Readonly<Record<string, string>>, options: ImportOptions): ImportResult {
  const report = new Report();
  const output: ConversionOutput = { resources: [], secrets: [] };
  const resources = output.resources;
  const keys = Object.keys(data).sort();

  // Services first: templates and subscriptions refer to them.
  const dingtalk = new Map<string, WebhookService>();
  for (const key of keys.filter((k) => k.startsWith('service.'))) {
    const service = convertService(key, data[key]!, options, report, output);
    if (service) dingtalk.set(service.name, service);
  }

  const templates = new Set<string>();
  for (const key of keys.filter((k) => k.startsWith('template.'))) {
    const converted = convertTemplate(key, data[key]!, dingtalk, options, report);
    if (converted) {
      resources.push(converted);
      templates.add(converted.name);
    }
  }

  for (const key of keys.filter((k) => k.startsWith('trigger.'))) {
    const converted = convertTrigger(key, data[key]!, templates, options, report);
    if (converted) resources.push(converted);
  }

  convertSubscriptions(data, dingtalk, resources, report);

  for (const key of keys) {
    if (/^(service|template|trigger)\./.test(key) || key === 'subscriptions' || key === 'defaultTriggers' || key.startsWith('defaultTriggers.')) continue;
    if (key === 'context') {
      convertContext(data[key]!, report);
      continue;
    }
    report.about(key).omit('not a setting herald has an equivalent for');
  }

  const triggers = new Set(resources.filter((r) => r.kind === 'NotificationTrigger').map((r) => r.name));
  for (const resource of resources.filter((r) => r.kind === 'DingTalkChannel')) {
    const channel = resource.objects[0] as DingTalkChannel;
    const missing = [...new Set((channel.spec.subscriptions ?? []).flatMap((s) => s.triggers).filter((t) => !triggers.has(t)))];
    if (missing.length > 0) {
      report.about('subscriptions').note(`channel ${resource.name} subscribes to ${missing.join(', ')}, which this ConfigMap does not define (apply herald's catalog, config/samples, or write them)`);
    }
  }

  if (dingtalk.size > 0) {
    report.nextStep(
      'Applications subscribed with notifications.argoproj.io/subscribe.<trigger>.<service> annotations need ' +
        'herald.gitops.dev/subscribe.<trigger>: <channel> instead (for example ' +
        `herald.gitops.dev/subscribe.on-sync-succeeded: ${[...dingtalk.values()][0]!.channelName})`,
    );
    report.nextStep('If a robot uses custom keywords or signing, add spec.keywords and spec.webhook.signSecretRef to its DingTalkChannel');
  }
  report.nextStep(
    "First start: herald records the current state of every Application instead of sending it, so moving from Argo CD's notifications " +
      'sends no burst of old news (only changes from the last 10 minutes, --first-sight-window, are sent; --on-first-sight=send or a ' +
      `trigger's spec.onFirstSight: Send reports the current state too); how to switch over: "${MIGRATION_SECTION.title}" in herald's user guide (${MIGRATION_SECTION.link})`,
  );
  return { ...output, omitted: report.omitted, notes: report.notes, nextSteps: report.nextSteps };
}
