// Kubernetes Events for `kubectl describe`. Repeats of the same event within ten
// minutes bump the count of the existing Event instead of creating new ones. The
// events remembered for that are bounded (least recently seen forgotten first), so a
// burst of distinct events cannot grow herald's memory.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import { maskSecrets } from '../secrets.js';
import type { Logger } from '../observability/logger.js';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventSink {
  record(object: InvolvedObject, type: EventType, reason: string, message: string): void;
}

export const REPEAT_WINDOW_MS = 10 * 60 * 1000;
export const DEFAULT_REMEMBERED_EVENTS = 2000;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The two Event calls the recorder makes (tests pass a fake). */
export type EventsApi = Pick<CoreV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'>;

export interface EventRecorderOptions {
  /** Distinct events remembered for counting repeats (default 2000). */
  maxRemembered?: number;
  api?: EventsApi;
  /** Milliseconds clock for the repeat window (default performance.now). */
  now?: () => number;
}

export class EventRecorder implements EventSink {
  private readonly api: EventsApi;
  /** Event name and count by what makes an event a repeat; forgotten after the repeat window. */
  private readonly recent: LRUCache<string, { name: string; count: number }>;

  constructor(kc: KubeConfig, private readonly instance: string, private readonly log: Logger, options: EventRecorderOptions = {}) {
    this.api = options.api ?? kc.makeApiClient(CoreV1Api);
    this.recent = new LRUCache({
      max: options.maxRemembered ?? DEFAULT_REMEMBERED_EVENTS,
      ttl: REPEAT_WINDOW_MS,
      // Read the clock on every lookup: a cached reading (the default 1 ms resolution) can outlive a clock jump.
      ttlResolution: 0,
      ...(options.now ? { perf: { now: options.now } } : {}),
    });
  }

  /** How many distinct events are remembered now (at most maxRemembered). */
  get remembered(): number {
    return this.recent.size;
  }

  record(object: InvolvedObject, type: EventType, reason: string, message: string): void {
    void this.write(object, type, reason, maskSecrets(message).slice(0, 1024));
  }

  private async write(object: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const key = `${object.namespace}/${object.kind}/${object.name}/${object.uid ?? ''}/${reason}/${message}`;
    const now = new Date();
    const seen = this.recent.get(key);
    try {
      if (seen) {
        seen.count += 1;
        // Set again: the repeat window runs from the latest repeat.
        this.recent.set(key, seen);
        await this.api.patchNamespacedEvent(
          { name: seen.name, namespace: object.namespace, body: { count: seen.count, lastTimestamp: now } },
          mergePatch,
        );
        return;
      }
      const created = await this.api.createNamespacedEvent({
        namespace: object.namespace,
        body: {
          metadata: { generateName: `${object.name}.`, namespace: object.namespace },
          involvedObject: { apiVersion: object.apiVersion, kind: object.kind, name: object.name, namespace: object.namespace, uid: object.uid },
          type,
          reason,
          message,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: 'herald' },
          reportingComponent: 'herald',
          reportingInstance: this.instance,
        },
      });
      this.recent.set(key, { name: created.metadata!.name!, count: 1 });
    } catch (error) {
      this.recent.delete(key);
      this.log.warn('could not record event', { reason, object: `${object.kind} ${object.namespace}/${object.name}`, error });
    }
  }
}
