// The controller's notification context, kept current by a watch on the one
// ConfigMap (a field selector on its name: one small informer, no list of the
// namespace's ConfigMaps). A change applies to the next message rendered, without a
// restart. A ConfigMap that does not validate is reported (log line and a Warning
// Event on it) and the last good context stays in force; nothing ever throws.
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { EventReasons } from '../api/reasons.js';
import type { EventSink } from '../kube/events.js';
import { Informer } from '../kube/informer.js';
import type { Logger } from '../observability/logger.js';
import { describeContext, parseContextData, resolveContext, type ContextOverrides, type ResolvedContext } from './index.js';

/** The part of a ConfigMap the context reads. */
export interface ContextConfigMap {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export interface ContextStateOptions {
  namespace: string;
  /** The ConfigMap's name; empty: flags and defaults only. */
  name: string;
  overrides: ContextOverrides;
  log: Logger;
  events: EventSink;
}

/** What the ConfigMap's successive versions make of the context (no I/O but the log and Events). */
export class ContextState {
  readonly origin: string;
  private resolved: ResolvedContext;
  /** The last ConfigMap values that validated (kept while a later version does not). */
  private lastGood: Record<string, string> | undefined;
  private lastVersion: string | undefined = '';
  private readonly log: Logger;

  constructor(private readonly options: ContextStateOptions) {
    this.origin = `ConfigMap ${options.namespace}/${options.name}`;
    this.log = options.log.child({ component: 'context', configMap: `${options.namespace}/${options.name}` });
    this.resolved = resolveContext(options.overrides);
  }

  /** `context` for templates, as of the latest ConfigMap event. Cheap: call it per render. */
  current(): Record<string, string> {
    return this.resolved.values;
  }

  resolvedContext(): ResolvedContext {
    return this.resolved;
  }

  /** A new version of the ConfigMap, or undefined when there is none. */
  apply(configMap: ContextConfigMap | undefined): void {
    const version = configMap ? `${configMap.metadata?.uid}/${configMap.metadata?.resourceVersion}` : undefined;
    if (version === this.lastVersion) return;
    this.lastVersion = version;
    if (!configMap) {
      this.lastGood = undefined;
      this.resolved = resolveContext(this.options.overrides);
      this.log.info(`${this.origin} not found; the notification context comes from flags and defaults`, { context: describeContext(this.resolved) });
      return;
    }
    const parsed = parseContextData(configMap.data, configMap.binaryData);
    if (!parsed.ok) {
      const kept = this.lastGood ? 'the last valid version stays in force' : 'using flags and defaults until it is fixed';
      const message = `${this.origin} is not a valid notification context: ${parsed.problems.join('; ')}; ${kept}`;
      this.log.error(message, { problems: parsed.problems });
      this.options.events.record(
        { apiVersion: 'v1', kind: 'ConfigMap', namespace: this.options.namespace, name: this.options.name, uid: configMap.metadata?.uid },
        'Warning',
        EventReasons.InvalidContext,
        message,
      );
      return;
    }
    this.lastGood = parsed.values;
    this.resolved = resolveContext(this.options.overrides, { values: parsed.values, origin: this.origin });
    this.log.info('notification context loaded', { context: describeContext(this.resolved) });
  }
}

export interface ContextSourceOptions extends Omit<ContextStateOptions, 'events'> {
  kc: KubeConfig;
  events: EventSink;
  watchTimeoutSeconds?: number;
  /** How long start-up waits for the first read before going on with flags and defaults (default 10 s). */
  syncTimeoutMs?: number;
}

/** The ContextState fed by a watch on the ConfigMap (no watch when the name is empty). */
export class ContextSource {
  readonly state: ContextState;
  private readonly informer: Informer<V1ConfigMap> | undefined;

  constructor(private readonly options: ContextSourceOptions) {
    this.state = new ContextState(options);
    if (!options.name) return;
    const { namespace, name, kc } = options;
    const core = kc.makeApiClient(CoreV1Api);
    const fieldSelector = `metadata.name=${name}`;
    this.informer = new Informer<V1ConfigMap>({
      name: 'context-configmap',
      kc,
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      fieldSelector,
      listPage: (cont) => core.listNamespacedConfigMap({ namespace, fieldSelector, _continue: cont }),
      transform: (cm) => ({
        metadata: { name: cm.metadata?.name, namespace: cm.metadata?.namespace, uid: cm.metadata?.uid, resourceVersion: cm.metadata?.resourceVersion },
        data: cm.data,
        binaryData: cm.binaryData,
      }),
      watchTimeoutSeconds: options.watchTimeoutSeconds,
      log: options.log,
    });
    const reload = () => this.state.apply(this.informer!.get(name, namespace));
    this.informer.on('add', reload);
    this.informer.on('update', reload);
    this.informer.on('delete', reload);
  }

  current(): Record<string, string> {
    return this.state.current();
  }

  start(): void {
    this.informer?.start();
  }

  /** Resolves once the ConfigMap was read, or after the sync timeout (RBAC missing, API down): start-up never hangs on it. */
  async waitForSync(): Promise<void> {
    if (!this.informer) {
      this.options.log.info('no context ConfigMap (--context-configmap is empty); the notification context comes from flags and defaults', { context: describeContext(this.state.resolvedContext()) });
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.options.syncTimeoutMs ?? 10_000)));
    const result = await Promise.race([this.informer.waitForSync().then(() => 'synced' as const), timeout]);
    clearTimeout(timer);
    if (result === 'synced') {
      this.state.apply(this.informer.get(this.options.name, this.options.namespace));
      return;
    }
    this.options.log.error(`${this.state.origin} could not be read yet (see the informer's warnings; does the Role allow get, list and watch on it?); starting with flags and defaults, it applies as soon as it can be read`);
  }

  stop(): void {
    this.informer?.stop();
  }
}
