// The operator's view of the cluster: informers for Applications and herald's kinds
// (in the watched namespaces), and Secrets per namespace where channels live (only
// their data is kept). Watch events only hand keys to the callbacks; readers get the
// newest object from here.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject, type V1Secret } from '@kubernetes/client-node';
import { APPLICATIONS, ARGO_GROUP, ARGO_VERSION, HERALD_GROUP, HERALD_VERSION, KINDS, type HeraldKind } from '../api/groups.js';
import type { DingTalkChannel, NotificationTemplate, NotificationTrigger } from '../api/generated.js';
import { Informer } from '../kube/informer.js';
import { StringInterner } from '../kube/intern.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { appKeyOf, type Application } from './app-reconciler.js';
import type { ConfigSources } from './config-reconciler.js';

export type HeraldObject = NotificationTrigger | NotificationTemplate | DingTalkChannel;

export interface CachesDeps {
  kc: KubeConfig;
  log: Logger;
  metrics: Metrics;
  controlNamespace: string;
  /** Application namespaces to watch; empty: all. */
  namespaces: string[];
  watchTimeoutSeconds?: number;
  /** An Application was added, changed or deleted. */
  appChanged: (appKey: string) => void;
  /** A herald resource was added, changed or deleted: `<Kind>/<namespace>/<name>`. */
  configChanged: (key: string) => void;
  /** A Secret in a namespace where channels live was added, changed or deleted. */
  secretChanged: (namespace: string, name: string | undefined) => void;
}

/**
 * Fields herald never reads are dropped, and repeated string values are shared
 * (`strings`); both keep thousands of cached apps small. No value that a trigger or
 * template may read changes.
 */
function slimApplication(app: Application, strings: StringInterner): Application {
  const metadata = { ...app.metadata } as Application['metadata'] & { managedFields?: unknown };
  delete metadata.managedFields;
  return strings.internValues({ ...app, metadata });
}

/** The informer kept data of a Secret: name, namespace, resourceVersion and data. */
function slimSecret(secret: V1Secret): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secret.metadata?.name, namespace: secret.metadata?.namespace, resourceVersion: secret.metadata?.resourceVersion },
    data: secret.data,
  };
}

function onChange<T>(informer: Informer<T & KubernetesObject>, handler: (object: T) => void): void {
  informer.on('add', handler);
  informer.on('update', handler);
  informer.on('delete', handler);
}

/** A herald resource's key in the config work queue. */
export const configKey = (kind: HeraldKind, namespace: string | undefined, name: string | undefined): string => `${kind}/${namespace}/${name}`;
const configKeyOf = (kind: HeraldKind, object: KubernetesObject): string => configKey(kind, object.metadata!.namespace, object.metadata!.name);

export class Caches implements ConfigSources {
  private readonly appInformers: Informer<Application & KubernetesObject>[] = [];
  private readonly heraldInformers = new Map<HeraldKind, Informer<HeraldObject & KubernetesObject>[]>();
  private readonly secretInformers = new Map<string, Informer<V1Secret>>();
  /** Apps of the first list created at most a second before the caches were (first-sight.ts: inFirstList). */
  private readonly listedNew = new Set<string>();

  constructor(private readonly deps: CachesDeps) {
    const { kc, log, metrics, controlNamespace, namespaces, watchTimeoutSeconds } = deps;
    const custom = kc.makeApiClient(CustomObjectsApi);
    const scopes = (list: string[]) => (list.length > 0 ? list.map((ns) => ns as string | undefined) : [undefined]);
    const watched = namespaces.length > 0 ? [...new Set([controlNamespace, ...namespaces])] : [];
    // One table for every app informer: apps in different namespaces share values too.
    const strings = new StringInterner();
    const slimApp = (app: Application & KubernetesObject) => slimApplication(app, strings) as Application & KubernetesObject;
    // Only apps created about when herald started can be in doubt; older ones are not kept.
    const recentSince = (Math.floor(Date.now() / 1000) - 1) * 1000;
    const noteFirstList = (apps: readonly Application[]) => {
      for (const app of apps) {
        const created = Date.parse((app.metadata as { creationTimestamp?: string }).creationTimestamp ?? '');
        if (created >= recentSince) this.listedNew.add(appKeyOf(app.metadata.namespace!, app.metadata.name!));
      }
    };

    for (const namespace of scopes(namespaces)) {
      const informer = new Informer<Application & KubernetesObject>({
        name: `applications${namespace ? `/${namespace}` : ''}`,
        kc,
        path: namespace ? `/apis/${ARGO_GROUP}/${ARGO_VERSION}/namespaces/${namespace}/${APPLICATIONS}` : `/apis/${ARGO_GROUP}/${ARGO_VERSION}/${APPLICATIONS}`,
        log,
        watchTimeoutSeconds,
        transform: slimApp,
        onFirstList: noteFirstList,
        onRestart: () => metrics.informerRestarts.inc({ informer: 'applications' }),
        listPage: (cont) =>
          (namespace
            ? custom.listNamespacedCustomObject({ group: ARGO_GROUP, version: ARGO_VERSION, namespace, plural: APPLICATIONS, limit: 500, _continue: cont })
            : custom.listClusterCustomObject({ group: ARGO_GROUP, version: ARGO_VERSION, plural: APPLICATIONS, limit: 500, _continue: cont })) as never,
      });
      onChange<Application>(informer, (app) => deps.appChanged(appKeyOf(app.metadata.namespace!, app.metadata.name!)));
      this.appInformers.push(informer);
    }

    for (const kind of Object.keys(KINDS) as HeraldKind[]) {
      const { plural } = KINDS[kind];
      const list: Informer<HeraldObject & KubernetesObject>[] = [];
      for (const namespace of scopes(watched)) {
        const informer = new Informer<HeraldObject & KubernetesObject>({
          name: `${plural}${namespace ? `/${namespace}` : ''}`,
          kc,
          path: namespace ? `/apis/${HERALD_GROUP}/${HERALD_VERSION}/namespaces/${namespace}/${plural}` : `/apis/${HERALD_GROUP}/${HERALD_VERSION}/${plural}`,
          log,
          watchTimeoutSeconds,
          onRestart: () => metrics.informerRestarts.inc({ informer: plural }),
          listPage: (cont) =>
            (namespace
              ? custom.listNamespacedCustomObject({ group: HERALD_GROUP, version: HERALD_VERSION, namespace, plural, _continue: cont })
              : custom.listClusterCustomObject({ group: HERALD_GROUP, version: HERALD_VERSION, plural, _continue: cont })) as never,
        });
        onChange<HeraldObject>(informer, (object) => deps.configChanged(configKeyOf(kind, object as KubernetesObject)));
        list.push(informer);
      }
      this.heraldInformers.set(kind, list);
    }
  }

  /** Starts the Application and herald informers and waits for their initial lists. */
  async start(): Promise<void> {
    for (const informer of this.informers()) informer.start();
    await Promise.all(this.informers().map((informer) => informer.waitForSync()));
  }

  stop(): void {
    for (const informer of this.informers()) informer.stop();
    for (const informer of this.secretInformers.values()) informer.stop();
  }

  private informers(): Array<Pick<Informer<KubernetesObject>, 'start' | 'stop' | 'waitForSync'>> {
    return [...this.appInformers, ...[...this.heraldInformers.values()].flat()];
  }

  getApp(namespace: string, name: string): Application | undefined {
    for (const informer of this.appInformers) {
      const app = informer.get(name, namespace);
      if (app) return app;
    }
    return undefined;
  }

  /** Whether an app created about when herald started was in the first list of Applications (created before herald watched). */
  inFirstList(app: Application): boolean {
    return this.listedNew.has(appKeyOf(app.metadata.namespace!, app.metadata.name!));
  }

  *allApps(): Iterable<Application> {
    for (const informer of this.appInformers) yield* informer.list();
  }

  private heraldGet(kind: HeraldKind, namespace: string, name: string): HeraldObject | undefined {
    for (const informer of this.heraldInformers.get(kind) ?? []) {
      const object = informer.get(name, namespace);
      if (object) return object;
    }
    return undefined;
  }

  trigger(namespace: string, name: string): NotificationTrigger | undefined {
    return this.heraldGet('NotificationTrigger', namespace, name) as NotificationTrigger | undefined;
  }

  template(namespace: string, name: string): NotificationTemplate | undefined {
    return this.heraldGet('NotificationTemplate', namespace, name) as NotificationTemplate | undefined;
  }

  channel(namespace: string, name: string): DingTalkChannel | undefined {
    return this.heraldGet('DingTalkChannel', namespace, name) as DingTalkChannel | undefined;
  }

  /** `<Kind>/<namespace>/<name>` of every cached herald resource. */
  configKeys(): string[] {
    return [...this.heraldInformers.entries()].flatMap(([kind, informers]) => informers.flatMap((informer) => informer.list().map((object) => configKeyOf(kind, object))));
  }

  /** A Secret of a namespace whose Secrets are watched (see ensureSecrets). */
  secret(namespace: string, name: string): V1Secret | undefined {
    return this.secretInformers.get(namespace)?.get(name, namespace);
  }

  /** Secrets are watched per namespace, only where channels live. */
  async ensureSecrets(namespace: string): Promise<void> {
    let informer = this.secretInformers.get(namespace);
    if (!informer) {
      const { kc, log, metrics, watchTimeoutSeconds } = this.deps;
      const core = kc.makeApiClient(CoreV1Api);
      informer = new Informer<V1Secret>({
        name: `secrets/${namespace}`,
        kc,
        path: `/api/v1/namespaces/${namespace}/secrets`,
        log,
        watchTimeoutSeconds,
        onRestart: () => metrics.informerRestarts.inc({ informer: 'secrets' }),
        transform: slimSecret,
        listPage: (cont) => core.listNamespacedSecret({ namespace, _continue: cont }),
      });
      onChange<V1Secret>(informer, (secret) => this.deps.secretChanged(namespace, secret.metadata?.name));
      this.secretInformers.set(namespace, informer);
      informer.start();
    }
    await informer.waitForSync();
  }
}
