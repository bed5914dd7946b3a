// Leader election on a coordination.k8s.io Lease, in the manner of client-go: the
// holder renews every retry period; a candidate takes over only after it has seen
// the same record unchanged for a whole lease duration (its own clock, so clock
// skew between replicas does not matter); a leader that cannot renew within the
// renew deadline stops leading before anyone else may start.
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.js';
import { statusCodeOf } from './errors.js';

export interface LeaderElectionOptions {
  kc: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  log: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private observedRecord = '';
  private observedAt = 0;
  private lastRenew = 0;
  private readonly retryMs: number;
  private readonly renewDeadlineMs: number;

  constructor(private readonly options: LeaderElectionOptions) {
    this.api = options.kc.makeApiClient(CoordinationV1Api);
    this.retryMs = Math.max(500, (options.leaseDurationSeconds * 1000) / 5);
    this.renewDeadlineMs = (options.leaseDurationSeconds * 1000 * 2) / 3;
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.retryMs);
    this.timer.unref?.();
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    if (leading) {
      this.options.log.info('became leader', { lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity });
      this.options.onStartedLeading();
    } else {
      this.options.log.warn('stopped leading', { lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity });
      this.options.onStoppedLeading();
    }
  }

  private async tick(): Promise<void> {
    try {
      const acquired = await this.tryAcquireOrRenew();
      if (acquired) {
        this.lastRenew = Date.now();
        this.setLeading(true);
      } else if (this.leading) {
        this.setLeading(false);
      }
    } catch (error) {
      this.options.log.warn('leader election: lease update failed', { error });
      if (this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs) this.setLeading(false);
    }
    this.schedule();
  }

  private spec(now: V1MicroTime, previous?: V1Lease): V1Lease['spec'] {
    const sameHolder = previous?.spec?.holderIdentity === this.options.identity;
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: this.options.leaseDurationSeconds,
      acquireTime: sameHolder ? previous?.spec?.acquireTime : now,
      renewTime: now,
      leaseTransitions: (previous?.spec?.leaseTransitions ?? 0) + (previous && !sameHolder ? 1 : 0),
    };
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = new V1MicroTime();
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
      try {
        await this.api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: this.spec(now) } });
        return true;
      } catch (createError) {
        if (statusCodeOf(createError) === 409) return false;
        throw createError;
      }
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const record = `${holder}|${String(lease.spec?.renewTime ?? '')}`;
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = Date.now();
    }
    const durationMs = (lease.spec?.leaseDurationSeconds ?? this.options.leaseDurationSeconds) * 1000;
    const expired = holder === '' || this.observedAt + durationMs < Date.now();
    if (holder !== identity && !expired) return false;
    try {
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { metadata: { ...lease.metadata, name, namespace }, spec: this.spec(now, lease) },
      });
      return true;
    } catch (error) {
      if (statusCodeOf(error) === 409) return false;
      throw error;
    }
  }

  /** Stops electing; a leader releases the Lease so a successor need not wait for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace });
      if (lease.spec?.holderIdentity === this.options.identity) {
        await this.api.replaceNamespacedLease({
          name: this.options.name,
          namespace: this.options.namespace,
          body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
        });
      }
    } catch (error) {
      this.options.log.warn('could not release the leader lease', { error });
    }
  }
}
