// The setting most engine tests share: a namespace that is herald's control
// namespace, the sample catalog applied into it, the sample channel pointed at a
// local DingTalk robot (keyword ArgoCD, signing), and helpers to play Argo CD.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ExecutionContext } from 'ava';
import { createTestNamespace, testCluster } from './cluster.js';
import { repoRoot } from './controlplane/install.js';
import { startDingTalkRobot, type DingTalkRobotServer, type ReceivedRequest } from './dingtalk-robot.js';
import { buildApp, REVISIONS, type AppOptions, type Application } from './fixtures/apps.js';

export const CHANNEL = 'dingtalk-ops';

export interface Scenario {
  namespace: string;
  robot: DingTalkRobotServer;
  token: string;
  secret: string;
  createApp(options: AppOptions): Promise<Application>;
  /** Replaces the app's whole status with that of `buildApp(options)` (an ordinary JSON patch, as Argo CD writes). */
  setStatus(name: string, options: AppOptions): Promise<void>;
  getApp(name: string): Promise<Application>;
  applyYaml(yaml: string): void;
}

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

export async function setupScenario(
  t: ExecutionContext,
  fileUrl: string,
  options: { perMinute?: number; namespace?: string; robotPerMinute?: number } = {},
): Promise<Scenario> {
  const cluster = testCluster();
  const namespace = options.namespace ?? (await createTestNamespace(fileUrl));
  const token = `token-${randomBytes(8).toString('hex')}`;
  const secret = `SEC${randomBytes(24).toString('hex')}`;
  const robot = await startDingTalkRobot({ robots: [{ token, secret, keywords: ['ArgoCD'] }], perMinute: options.robotPerMinute });
  t.teardown(() => robot.close());
  cluster.kubectlOrThrow(['apply', '-n', namespace, '-f', join(repoRoot, 'config/samples')]);
  cluster.kubectlOrThrow(['apply', '-n', namespace, '-f', '-'], JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'dingtalk-ops-robot', namespace },
    stringData: { url: robot.webhookUrl(token), secret },
  }));
  if (options.perMinute !== undefined) {
    cluster.kubectlOrThrow(['patch', '-n', namespace, 'dingtalkchannel', CHANNEL, '--type=merge', '-p', JSON.stringify({ spec: { rateLimit: { perMinute: options.perMinute } } })]);
  }
  const api = cluster.kc.makeApiClient(CustomObjectsApi);
  const base = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', namespace };
  return {
    namespace,
    robot,
    token,
    secret,
    async createApp(appOptions) {
      const app = buildApp({ namespace, ...appOptions });
      return (await api.createNamespacedCustomObject({ ...base, body: app })) as Application;
    },
    async setStatus(name, appOptions) {
      const { status } = buildApp({ namespace, name, ...appOptions });
      await api.patchNamespacedCustomObject({ ...base, name, body: [{ op: 'add', path: '/status', value: status }] }, jsonPatch);
    },
    async getApp(name) {
      return (await api.getNamespacedCustomObject({ ...base, name })) as Application;
    },
    applyYaml(yaml) {
      cluster.kubectlOrThrow(['apply', '-n', namespace, '-f', '-'], yaml);
    },
  };
}

export async function patchAppAnnotations(namespace: string, name: string, annotations: Record<string, string | null>): Promise<void> {
  const api = testCluster().kc.makeApiClient(CustomObjectsApi);
  await api.patchNamespacedCustomObject(
    { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', namespace, name, body: { metadata: { annotations } } },
    merge,
  );
}

// The sample template's headline for each catalog trigger (config/samples).
const HEADLINES: Record<string, string> = {
  'on-created': '🆕 应用已创建',
  'on-deleted': '🗑️ 应用正在删除',
  'on-deployed': '🚀 已部署 (同步成功且健康)',
  'on-health-degraded': '⚠️ 健康状态降级',
  'on-health-recovered': '💚 健康状态已恢复',
  'on-sync-failed': '❌ 同步失败',
  'on-sync-running': '🔄 正在同步',
  'on-sync-status-unknown': '❓ 同步状态未知',
  'on-sync-succeeded': '✅ 同步成功',
};

/** Which catalog trigger a message rendered from app-sync-change was sent for. */
export function triggerOf(request: ReceivedRequest): string {
  const text = String((request.json as { markdown?: { text?: string } })?.markdown?.text ?? '');
  const headline = /\*\*(.+?)\*\*/.exec(text)?.[1] ?? '';
  return Object.entries(HEADLINES).find(([, words]) => headline === words)?.[0] ?? `unknown: ${headline}`;
}

export function markdownOf(request: ReceivedRequest): { title: string; text: string } {
  const markdown = (request.json as { markdown?: { title?: string; text?: string } })?.markdown ?? {};
  return { title: markdown.title ?? '', text: markdown.text ?? '' };
}

/** Accepted messages for one app, by trigger. */
export function acceptedFor(robot: DingTalkRobotServer, app: string): string[] {
  return robot.accepted().filter((request) => markdownOf(request).title.includes(` ${app} `) || markdownOf(request).text.includes(`/${app}\n`)).map(triggerOf);
}

/** Non-negotiable 4: the robot's token and signing secret never appear in what the operator printed. */
export function assertNoSecretsIn(t: ExecutionContext, output: string[], scenario: Pick<Scenario, 'token' | 'secret'>): void {
  const text = output.join('\n');
  t.true(output.length > 0, 'the operator printed something');
  t.false(text.includes(scenario.token), 'the access token is not in the operator output');
  t.false(text.includes(scenario.secret), 'the signing secret is not in the operator output');
}

/** Kubernetes Events about one object, newest last. */
export function eventsFor(namespace: string, kind: string, name: string): Array<{ reason: string; message: string; type: string; count?: number }> {
  const out = testCluster().kubectlOrThrow([
    'get', 'events', '-n', namespace, '-o', 'json',
    '--field-selector', `involvedObject.kind=${kind},involvedObject.name=${name}`,
  ]);
  return (JSON.parse(out) as { items: Array<{ reason: string; message: string; type: string; count?: number }> }).items;
}

export function readyOf(namespace: string, resource: string, name: string): { status?: string; reason?: string; message?: string; lastError?: string } {
  const object = JSON.parse(testCluster().kubectlOrThrow(['get', resource, name, '-n', namespace, '-o', 'json'])) as {
    status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }>; lastError?: string };
  };
  const ready = object.status?.conditions?.find((condition) => condition.type === 'Ready');
  return { status: ready?.status, reason: ready?.reason, message: ready?.message, lastError: object.status?.lastError };
}

/**
 * Replaces the catalog routing with one trigger, `on-revision`, that sends once per
 * synced revision the text "ArgoCD <app> <revision>": tests then know exactly which
 * message each change is worth. Apps subscribe with the annotation in REVISION_SUBSCRIPTION.
 */
export function useRevisionTrigger(scenario: Scenario): void {
  testCluster().kubectlOrThrow(['patch', '-n', scenario.namespace, 'dingtalkchannel', CHANNEL, '--type=merge', '-p', '{"spec":{"subscriptions":null}}']);
  scenario.applyYaml(`apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTemplate
metadata: {name: revision}
spec:
  dingtalk: {msgType: text, text: "ArgoCD {{ app.metadata.name }} {{ app.status.sync.revision }}"}
---
apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTrigger
metadata: {name: on-revision}
spec:
  conditions:
    - when: has(app.status.sync.revision)
      oncePer: app.status.sync.revision
      send: [revision]
`);
}

export const REVISION_SUBSCRIPTION = { 'herald.gitops.dev/subscribe.on-revision': CHANNEL };

/** "<app> <revision>" of each accepted on-revision message, in arrival order. */
export function revisionMessages(robot: DingTalkRobotServer): string[] {
  return robot.accepted().map((request) => String((request.json as { text?: { content?: string } }).text?.content ?? '').replace(/^ArgoCD /, ''));
}

/**
 * Issue 4's classic story on a new app `guestbook` (subscribed to on-health-degraded by
 * annotation): never synced → sync Running → Succeeded + Healthy → Degraded, waiting
 * after each step for its messages (1, then 2, then 1).
 */
export async function playClassicScenario(scenario: Scenario): Promise<void> {
  const { robot } = scenario;
  const revision = REVISIONS.first;
  await scenario.createApp({
    name: 'guestbook',
    phase: null,
    syncStatus: 'OutOfSync',
    healthStatus: 'Healthy',
    annotations: { 'herald.gitops.dev/subscribe.on-health-degraded': CHANNEL },
  });
  await scenario.setStatus('guestbook', { phase: 'Running', revision, initiatedBy: 'alice' });
  await robot.waitForAccepted(1);
  await scenario.setStatus('guestbook', { phase: 'Succeeded', healthStatus: 'Healthy', revision, initiatedBy: 'alice' });
  await robot.waitForAccepted(3);
  await scenario.setStatus('guestbook', { phase: 'Succeeded', healthStatus: 'Degraded', healthMessage: 'Deployment "guestbook-ui" exceeded its progress deadline', revision, initiatedBy: 'alice' });
  await robot.waitForAccepted(4);
}
