// An informer built on @kubernetes/client-node's ListWatch, made resilient:
// - ListWatch stops for good on any error; here it is restarted with capped backoff;
// - lists are paginated, watches ask for bookmarks and a server-side timeout, so a
//   silently dead connection cannot stall events for long;
// - objects can be transformed (fields herald never reads are dropped) before they
//   enter the cache, which is what keeps memory flat with thousands of apps.
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.js';
import { backoffDelay } from '../backoff.js';

export type ListPage<T extends KubernetesObject> = (continueToken: string | undefined) => Promise<KubernetesListObject<T>>;
export type InformerEvent = 'add' | 'update' | 'delete';

export interface InformerOptions<T extends KubernetesObject> {
  name: string;
  kc: KubeConfig;
  /** Collection path to watch, e.g. /apis/argoproj.io/v1alpha1/applications. */
  path: string;
  listPage: ListPage<T>;
  transform?: (obj: T) => T;
  labelSelector?: string;
  /** Field selector for the watch, e.g. metadata.name=x (listPage must apply it too). */
  fieldSelector?: string;
  /** How long the API server keeps one watch open before closing it (default 300). */
  watchTimeoutSeconds?: number;
  log: Logger;
  onRestart?: () => void;
  /** The objects of the first complete list (transformed), once. */
  onFirstList?: (objects: readonly T[]) => void;
}

/** Passes bookmarks and a timeout to the API server, and transforms each object. */
class TuningWatch extends Watch {
  constructor(kc: KubeConfig, private readonly timeoutSeconds: number, private readonly transform: (obj: any) => any) {
    super(kc);
  }
  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController> {
    const params = { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.timeoutSeconds };
    return super.watch(path, params, (phase, obj, raw) => {
      callback(phase, phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? this.transform(obj) : obj, raw);
    }, done);
  }
}

export class Informer<T extends KubernetesObject> {
  private readonly listWatch: ListWatch<T>;
  private readonly log: Logger;
  private stopped = false;
  private failures = 0;
  private listedOnce = false;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: InformerOptions<T>) {
    this.log = options.log.child({ informer: options.name });
    const transform = options.transform ?? ((obj: T) => obj);
    const watch = new TuningWatch(options.kc, options.watchTimeoutSeconds ?? 300, transform);
    this.listWatch = new ListWatch<T>(options.path, watch, () => this.listAll(transform), false, options.labelSelector, options.fieldSelector);
    this.listWatch.on('error', (err) => this.onError(err));
  }

  private async listAll(transform: (obj: T) => T): Promise<KubernetesListObject<T>> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.options.listPage(continueToken);
      for (const item of page.items) items.push(transform(item));
      resourceVersion ??= page.metadata?.resourceVersion;
      // Typed lists (core API) deserialise `continue` as `_continue`; custom objects arrive raw.
      const metadata = page.metadata as { _continue?: string; continue?: string } | undefined;
      continueToken = metadata?._continue || metadata?.continue || undefined;
    } while (continueToken);
    if (!this.listedOnce) this.options.onFirstList?.(items);
    this.listedOnce = true;
    this.failures = 0;
    return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion }, items };
  }

  private onError(err: unknown): void {
    if (this.stopped) return;
    this.failures += 1;
    const delay = backoffDelay(this.failures, 500, 30_000);
    this.log.warn('watch failed; restarting', { error: err instanceof Error ? err : String(err), retryInMs: Math.round(delay) });
    clearTimeout(this.restartTimer);
    // Not unref'd: someone awaiting waitForSync() must not see the process exit instead.
    this.restartTimer = setTimeout(() => void this.run(), delay);
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    if (this.failures > 0) this.options.onRestart?.();
    await this.listWatch.start();
    if (this.listedOnce && !this.synced) {
      this.synced = true;
      this.log.debug('synced', { objects: this.listWatch.list().length });
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  on(event: InformerEvent, handler: (obj: T) => void): void {
    this.listWatch.on(event, handler);
  }

  start(): void {
    this.stopped = false;
    void this.run();
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  get(name: string, namespace?: string): T | undefined {
    return this.listWatch.get(name, namespace);
  }

  list(namespace?: string): ReadonlyArray<T> {
    return this.listWatch.list(namespace);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    void this.listWatch.stop();
  }
}
