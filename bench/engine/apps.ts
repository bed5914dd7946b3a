// The Applications bench/engine creates: realistic objects of about 8 KB (a dozen
// managed resources in status.resources and in the last sync result), all routed to
// the sample channel by its selector subscription, and the states the bench moves
// them through, each worth a known number of notifications:
//   base    — last sync Succeeded and Healthy at REVISIONS.first; already notified
//             (its ledger holds on-deployed and on-sync-succeeded for that revision);
//   running — a sync of a new revision is running: exactly one on-sync-running;
//   failed  — a sync of a new revision failed: exactly one on-sync-failed (and it
//             re-arms on-sync-running, which sends nothing).
// Going back to base sends nothing (its revision is in the ledger).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { DingTalkChannel, NotificationTrigger } from '../../src/api/generated.js';
import { decide } from '../../src/controller/engine.js';
import { routesFor } from '../../src/controller/routing.js';
import { compileTrigger, type CompiledTrigger } from '../../src/triggers/index.js';
import { buildApp, REVISIONS, type Application } from '../../test/support/fixtures/apps.js';
import { repoRoot } from '../../test/support/controlplane/install.js';

export type AppState = { kind: 'base' } | { kind: 'running' | 'failed'; revision: string; startedAt: string };

export const BASE_REVISION = REVISIONS.first;

const KINDS: Array<[group: string, kind: string, suffix: string]> = [
  ['apps', 'Deployment', 'api'],
  ['apps', 'Deployment', 'worker'],
  ['', 'Service', 'api'],
  ['', 'Service', 'worker-metrics'],
  ['', 'ConfigMap', 'config'],
  ['', 'Secret', 'credentials'],
  ['', 'ServiceAccount', 'runtime'],
  ['networking.k8s.io', 'Ingress', 'public'],
  ['autoscaling', 'HorizontalPodAutoscaler', 'api'],
  ['policy', 'PodDisruptionBudget', 'api'],
  ['rbac.authorization.k8s.io', 'Role', 'runtime'],
  ['rbac.authorization.k8s.io', 'RoleBinding', 'runtime'],
  ['batch', 'CronJob', 'nightly-report'],
  ['monitoring.coreos.com', 'ServiceMonitor', 'api'],
];

function resources(name: string, namespace: string, syncStatus: string, healthStatus: string): Array<Record<string, unknown>> {
  return KINDS.map(([group, kind, suffix]) => ({
    ...(group ? { group } : {}),
    version: group === 'autoscaling' ? 'v2' : 'v1',
    kind,
    namespace,
    name: `${name}-${suffix}`,
    status: syncStatus,
    ...(['Deployment', 'Service', 'Ingress', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'CronJob'].includes(kind)
      ? { health: { status: kind === 'Deployment' ? healthStatus : 'Healthy' } }
      : {}),
  }));
}

/** Team labels make the selector subscription match through real label data. */
export function appLabels(index: number): Record<string, string> {
  return { 'app.kubernetes.io/part-of': `shop-${index % 50}`, team: `team-${index % 20}`, 'herald.bench/engine': 'true' };
}

export function appName(index: number): string {
  return `svc-${String(index).padStart(5, '0')}`;
}

/** The Application as the bench creates or patches it (status only changes between states). */
export function benchApp(index: number, namespace: string, state: AppState, annotations?: Record<string, string>): Application {
  const name = appName(index);
  const destinationNamespace = `team-${index % 20}-prod`;
  const common = {
    name,
    namespace,
    labels: appLabels(index),
    ...(annotations ? { annotations } : {}),
    repoURL: `https://git.example.com/shop/${name}.git`,
    path: `deploy/overlays/prod`,
    targetRevision: 'main',
    destinationNamespace,
    initiatedBy: 'automated',
    images: [`registry.example.com/shop/${name}:1.4.2`, 'registry.example.com/base/envoy:1.29.1'],
  };
  if (state.kind === 'base') {
    return buildApp({ ...common, phase: 'Succeeded', revision: BASE_REVISION, resources: resources(name, destinationNamespace, 'Synced', 'Healthy') });
  }
  if (state.kind === 'running') {
    const app = buildApp({
      ...common,
      phase: 'Running',
      revision: state.revision,
      startedAt: state.startedAt,
      syncStatus: 'OutOfSync',
      healthStatus: 'Progressing',
      resources: resources(name, destinationNamespace, 'OutOfSync', 'Progressing'),
    });
    // Argo CD's application controller records the revision being synced in syncResult
    // as soon as the sync starts; Argo CD's catalog triggers key their oncePer on it.
    app.status.operationState.syncResult = { revision: state.revision, source: app.spec.source };
    return app;
  }
  return buildApp({
    ...common,
    phase: 'Failed',
    revision: state.revision,
    startedAt: state.startedAt,
    syncStatus: 'OutOfSync',
    healthStatus: 'Healthy',
    resources: resources(name, destinationNamespace, 'OutOfSync', 'Healthy'),
  });
}

/** A 40-hex revision whose first 12 digits (what the sample template shows) are unique per `serial`. */
export function revisionFor(phase: number, serial: number): string {
  const head = `${phase.toString(16)}${serial.toString(16).padStart(11, '0')}`;
  return `${head}${'d3adb33f'.repeat(4)}`.slice(0, 40);
}

// ---- the sample catalog, compiled with the operator's own code ------------------

export interface Catalog {
  triggers: Map<string, CompiledTrigger>;
  channel: DingTalkChannel;
}

export function loadSampleCatalog(namespace: string): Catalog {
  const dir = join(repoRoot, 'config/samples');
  const triggers = new Map<string, CompiledTrigger>();
  let channel: DingTalkChannel | undefined;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const object = doc.toJS() as { kind?: string; metadata: { name: string; namespace?: string } };
      if (object?.kind === 'NotificationTrigger') {
        const result = compileTrigger((object as NotificationTrigger).spec);
        if (!result.ok) throw new Error(`sample trigger ${object.metadata.name} does not compile`);
        triggers.set(object.metadata.name, result.trigger);
      } else if (object?.kind === 'DingTalkChannel') {
        channel = { ...(object as DingTalkChannel), metadata: { ...object.metadata, namespace } };
      }
    }
  }
  if (!channel) throw new Error('config/samples has no DingTalkChannel');
  return { triggers, channel };
}

/**
 * The send ledger herald would hold for this app after notifying its current state:
 * the real routing and decision code (src/controller routing.ts and engine.ts, which
 * evaluate the compiled CEL triggers and build ledger keys), with an empty ledger.
 */
export function ledgerFor(app: Application, catalog: Catalog, now: Date, channelList: DingTalkChannel[] = [catalog.channel]): Record<string, number> {
  const namespace = app.metadata.namespace;
  const byName = new Map(channelList.map((channel) => [channel.metadata.name, channel]));
  const channels = {
    get: (ns: string, name: string) => (ns === namespace ? byName.get(name) : undefined),
    list: (ns: string) => (ns === namespace ? channelList : []),
  };
  const { routes } = routesFor({ namespace, labels: app.metadata.labels, annotations: app.metadata.annotations }, namespace, channels);
  const decision = decide({
    app: app as unknown as Record<string, unknown>,
    appUid: app.metadata.name,
    now,
    routes,
    trigger: (name) => {
      const compiled = catalog.triggers.get(name);
      return compiled ? { ref: { namespace, name }, compiled } : undefined;
    },
    render: () => ({ message: 'ArgoCD' }),
    context: {},
    initiator: undefined,
    ledger: {},
    outbox: {},
    // As if herald had sent the current state: its keys and the first-sight markers.
    firstSight: { mode: 'send', windowMs: 0, watchingSince: now },
  });
  const seconds = Math.floor(now.getTime() / 1000);
  const markers = Object.fromEntries(decision.recorded.map((key) => [key, decision.ledger[key]!]));
  return { ...markers, ...Object.fromEntries(decision.newEntries.map(({ entry }) => [entry.key, seconds])) };
}
