// Every metric herald exports. One registry per process (not prom-client's global),
// so tests and the CLI can create their own. docs/metrics.md lists these; a test
// compares the two.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: 'herald_' });
    // These are gauges named like counters, which `promtool check metrics` rejects;
    // the same totals are sum() of the by-type gauges next to them.
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
      registry.removeSingleMetric(`herald_nodejs_${name}`);
    }
  }
  const registers = [registry];
  return {
    registry,
    deliveries: new Counter({
      name: 'herald_deliveries_total',
      help: 'Notification deliveries by trigger, channel and result (sent, failed, rejected, digested).',
      labelNames: ['trigger', 'channel', 'result'] as const,
      registers,
    }),
    triggerEvaluations: new Counter({
      name: 'herald_trigger_evaluations_total',
      help: 'Trigger condition evaluations by trigger and result (fired, not_fired, missing_field, error, suppressed).',
      labelNames: ['trigger', 'result'] as const,
      registers,
    }),
    deliveryLatency: new Histogram({
      name: 'herald_delivery_latency_seconds',
      help: 'Time from herald seeing the Application change to the channel accepting the message.',
      labelNames: ['channel'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
      registers,
    }),
    rateLimited: new Counter({
      name: 'herald_rate_limited_total',
      help: 'Messages that had to wait for a channel rate-limit slot (herald side) or were answered 130101 (DingTalk side).',
      labelNames: ['channel', 'source'] as const,
      registers,
    }),
    retries: new Counter({
      name: 'herald_delivery_retries_total',
      help: 'Delivery attempts that failed transiently and were scheduled again, by channel and reason.',
      labelNames: ['channel', 'reason'] as const,
      registers,
    }),
    digests: new Counter({
      name: 'herald_digests_total',
      help: 'Digest messages sent because several messages waited for the same channel.',
      labelNames: ['channel'] as const,
      registers,
    }),
    outboxPending: new Gauge({
      name: 'herald_outbox_pending',
      help: 'Messages decided but not yet accepted by their channel (held in Application outbox annotations), by channel.',
      labelNames: ['channel'] as const,
      registers,
    }),
    outboxFolded: new Counter({
      name: 'herald_outbox_folded_total',
      help: "Messages folded because an Application's outbox reached its limit, by channel.",
      labelNames: ['channel'] as const,
      registers,
    }),
    templateBudgetExceeded: new Counter({
      name: 'herald_template_budget_exceeded_total',
      help: "Template renders stopped by a budget (RenderTimeLimit, RenderMemoryLimit, RenderOutputLimit), by the template's namespace and reason.",
      labelNames: ['namespace', 'reason'] as const,
      registers,
    }),
    webhookRequests: new Counter({
      name: 'herald_webhook_requests_total',
      help: 'Git webhook requests by provider and result (accepted, ignored, unauthorized, malformed, too_large, busy, not_configured, error).',
      labelNames: ['provider', 'result'] as const,
      registers,
    }),
    refreshRequests: new Counter({
      name: 'herald_refresh_requests_total',
      help: 'Argo CD refresh annotations written for pushes, by result (ok, error).',
      labelNames: ['result'] as const,
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'herald_reconcile_duration_seconds',
      help: 'Time spent reconciling one object, by kind.',
      labelNames: ['kind'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'herald_queue_depth',
      help: 'Keys waiting in a work queue, by queue.',
      labelNames: ['queue'] as const,
      registers,
    }),
    appInfo: new Gauge({
      name: 'herald_app_info',
      help: 'One series per watched Argo CD Application with its health and sync status.',
      labelNames: ['namespace', 'name', 'project', 'health_status', 'sync_status'] as const,
      registers,
    }),
    resourceReady: new Gauge({
      name: 'herald_resource_ready',
      help: '1 when a herald resource (trigger, template, channel) is Ready, else 0.',
      labelNames: ['kind', 'namespace', 'name'] as const,
      registers,
    }),
    isLeader: new Gauge({
      name: 'herald_leader',
      help: '1 while this replica holds the leader Lease and sends notifications.',
      registers,
    }),
    informerRestarts: new Counter({
      name: 'herald_informer_restarts_total',
      help: 'Watches restarted after an error, by informer.',
      labelNames: ['informer'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
