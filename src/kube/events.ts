// Kubernetes Events for `kubectl describe`. Repeats of the same event within ten
// minutes bump the count of the existing Event instead of creating new ones.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
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

const REPEAT_WINDOW_MS = 10 * 60 * 1000;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class EventRecorder implements EventSink {
  private readonly api: CoreV1Api;
  private readonly recent = new Map<string, { name: string; count: number; last: number }>();

  constructor(kc: KubeConfig, private readonly instance: string, private readonly log: Logger) {
    this.api = kc.makeApiClient(CoreV1Api);
  }

  record(object: InvolvedObject, type: EventType, reason: string, message: string): void {
    void this.write(object, type, reason, maskSecrets(message).slice(0, 1024));
  }

  private async write(object: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const key = `${object.namespace}/${object.kind}/${object.name}/${object.uid ?? ''}/${reason}/${message}`;
    const now = new Date();
    const seen = this.recent.get(key);
    try {
      if (seen && now.getTime() - seen.last < REPEAT_WINDOW_MS) {
        seen.count += 1;
        seen.last = now.getTime();
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
      this.recent.set(key, { name: created.metadata!.name!, count: 1, last: now.getTime() });
      if (this.recent.size > 5000) this.prune(now.getTime());
    } catch (error) {
      this.recent.delete(key);
      this.log.warn('could not record event', { reason, object: `${object.kind} ${object.namespace}/${object.name}`, error });
    }
  }

  private prune(now: number): void {
    for (const [key, value] of this.recent) if (now - value.last > REPEAT_WINDOW_MS) this.recent.delete(key);
  }
}
