// Which (trigger, channel) pairs apply to an Application, within DESIGN §2 scoping:
// resources in the control namespace apply to every app; resources in another
// namespace apply only to apps of that namespace and shadow same-named control ones;
// nothing ever reaches a third namespace.
import { ANNOTATIONS } from '../api/groups.js';
import type { DingTalkChannel } from '../api/generated.js';
import { isObjectName } from '../names.js';
import { matchesSelector, type LabelSelector } from './selector.js';

export interface NamespacedLookup<T> {
  get(namespace: string, name: string): T | undefined;
  list(namespace: string): T[];
}

export interface RoutedApp {
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ObjectRef {
  namespace: string;
  name: string;
}

export interface Route {
  trigger: string;
  channel: ObjectRef;
}

/** The app's own namespace first, then the control namespace. */
export function resolveScoped<T>(lookup: NamespacedLookup<T>, appNamespace: string, controlNamespace: string, name: string): ObjectRef | undefined {
  if (lookup.get(appNamespace, name)) return { namespace: appNamespace, name };
  if (appNamespace !== controlNamespace && lookup.get(controlNamespace, name)) return { namespace: controlNamespace, name };
  return undefined;
}


export function routesFor(
  app: RoutedApp,
  controlNamespace: string,
  channels: NamespacedLookup<DingTalkChannel>,
): { routes: Route[]; problems: string[] } {
  const routes = new Map<string, Route>();
  const problems: string[] = [];
  const add = (trigger: string, channel: ObjectRef) => routes.set(`${trigger}\u0000${channel.namespace}/${channel.name}`, { trigger, channel });

  for (const [key, value] of Object.entries(app.annotations ?? {})) {
    if (!key.startsWith(ANNOTATIONS.subscribePrefix)) continue;
    const trigger = key.slice(ANNOTATIONS.subscribePrefix.length);
    for (const raw of value.split(';')) {
      const name = raw.trim();
      if (!name) continue;
      if (!isObjectName(name)) {
        problems.push(`annotation ${key}: "${name}" is not a channel name (channels are named, never namespace/name)`);
        continue;
      }
      const ref = resolveScoped(channels, app.namespace, controlNamespace, name);
      if (ref) add(trigger, ref);
      else problems.push(`annotation ${key}: no DingTalkChannel "${name}" in namespace ${app.namespace}${app.namespace === controlNamespace ? '' : ` or ${controlNamespace}`}`);
    }
  }

  const visible = new Map<string, DingTalkChannel>();
  for (const channel of channels.list(controlNamespace)) visible.set(channel.metadata.name!, channel);
  if (app.namespace !== controlNamespace) {
    for (const name of visible.keys()) if (channels.get(app.namespace, name)) visible.delete(name);
    for (const channel of channels.list(app.namespace)) visible.set(channel.metadata.name!, channel);
  }
  for (const channel of visible.values()) {
    const namespace = channel.metadata.namespace!;
    for (const subscription of channel.spec.subscriptions ?? []) {
      if (namespace === controlNamespace && subscription.namespaces?.length && !subscription.namespaces.includes(app.namespace)) continue;
      if (!matchesSelector(subscription.selector as LabelSelector | undefined, app.labels)) continue;
      for (const trigger of subscription.triggers) add(trigger, { namespace, name: channel.metadata.name! });
    }
  }
  return { routes: [...routes.values()], problems };
}
