// herald installed for real: the image built by `make image`, dist/install.yaml applied
// server-side into a real single-node cluster, the Pod Ready with its probes, the demo
// story played through it with messages reaching a local robot from the pod network, a
// signed Git push through the herald-webhook Service, a real Prometheus scraping it
// through service discovery with herald's alert rules, and a leader Pod deleted with
// nothing lost. The steps run in order and build on each other.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import test from 'ava';
import { repoRoot } from '../../support/controlplane/install.js';
import { startDingTalkRobot, type DingTalkRobotServer } from '../../support/dingtalk-robot.js';
import { addSeconds, buildApp, REVISIONS, type AppOptions } from '../../support/fixtures/apps.js';
import { sleep, waitFor } from '../../support/wait.js';
import { githubPush } from '../../support/webhook-payloads.js';
import { argocdApplicationCrd } from '../support/argocd-crd.js';
import { e2eEnv, kubectlFor } from '../support/env.js';
import { startPrometheus, type PrometheusServer } from '../support/prometheus.js';
import { AlertTimeline } from '../support/alerts.js';

const env = e2eEnv();
const kubectl = kubectlFor(env);
const NS = 'argocd';
const CHANNEL = 'dingtalk-ops';
/** Shipped durations divided by this in the Prometheus test overlay (15m → 30s). */
const TIME_FACTOR = 30;

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { containers: Array<{ image: string; securityContext?: { readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean } }> };
  status: { podIP?: string; phase: string; conditions?: Array<{ type: string; status: string }>; containerStatuses?: Array<{ ready: boolean; restartCount: number; image: string }> };
}

const state: {
  robot?: DingTalkRobotServer;
  token: string;
  secret: string;
  webhookSecret: string;
  prometheus?: PrometheusServer;
} = {
  token: `token-${randomBytes(8).toString('hex')}`,
  secret: `SEC${randomBytes(24).toString('hex')}`,
  webhookSecret: randomBytes(16).toString('hex'),
};

// A failed step shows what herald and the cluster said: the run's folder (and its logs)
// goes away with the cluster.
test.afterEach.always((t) => {
  if (t.passed) return;
  const show = (args: string[]) => {
    const result = kubectl.try(args);
    t.log(`$ kubectl ${args.join(' ')}\n${(result.stdout + result.stderr).trimEnd().split('\n').slice(-60).join('\n')}`);
  };
  show(['get', 'pods', '-A', '-o', 'wide']);
  show(['get', 'events', '-n', NS, '--sort-by=.lastTimestamp']);
  show(['logs', '-n', NS, '-l', 'app.kubernetes.io/name=herald', '--all-containers', '--prefix', '--tail=60']);
});

test.after.always(async () => {
  await state.prometheus?.stop();
  await state.robot?.close();
});

function heraldPods(): Pod[] {
  return kubectl
    .json<{ items: Pod[] }>(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/name=herald,app.kubernetes.io/component=controller'])
    .items.filter((pod) => !pod.metadata.deletionTimestamp);
}

const isReady = (pod: Pod) => pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

function leaderPod(): string | undefined {
  const lease = kubectl.try(['get', 'lease', 'herald-leader', '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}']);
  if (lease.status !== 0 || !lease.stdout) return undefined;
  // The identity is "<hostname>-<pid>", and a Pod's hostname is its name.
  return heraldPods().find((pod) => lease.stdout.startsWith(`${pod.metadata.name}-`))?.metadata.name;
}

function createApp(options: AppOptions): void {
  kubectl(['create', '-f', '-'], JSON.stringify(buildApp({ namespace: NS, ...options })));
}

/** Argo CD writes status with ordinary updates; so does the test. */
function setStatus(name: string, options: AppOptions): void {
  const { status } = buildApp({ namespace: NS, name, ...options });
  kubectl(['patch', 'application', name, '-n', NS, '--type=json', '-p', JSON.stringify([{ op: 'add', path: '/status', value: status }])]);
}

function outboxSize(name: string): number {
  const raw = kubectl(['get', 'application', name, '-n', NS, '-o', 'jsonpath={.metadata.annotations.herald\\.gitops\\.dev/outbox}']);
  if (!raw.trim()) return 0;
  const parsed = JSON.parse(raw) as unknown;
  return Array.isArray(parsed) ? parsed.length : Object.keys(parsed as object).length;
}

/** The outbox's size once it has not changed for 5 s (herald has decided what it will). */
async function settledOutbox(name: string): Promise<number> {
  let last = -1;
  let since = Date.now();
  await waitFor(() => {
    const size = outboxSize(name);
    if (size !== last) {
      last = size;
      since = Date.now();
    }
    return Date.now() - since >= 5000;
  }, `the outbox of ${name} to settle`, 60_000);
  return last;
}

/** A sync of `revision` played as Argo CD does: Running, then Succeeded and Healthy. */
function sync(name: string, revision: string): void {
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  setStatus(name, { phase: 'Running', revision, startedAt, initiatedBy: 'alice' });
  setStatus(name, { phase: 'Succeeded', healthStatus: 'Healthy', revision, startedAt, finishedAt: addSeconds(startedAt, 1), initiatedBy: 'alice' });
}

function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

test.serial('dist/install.yaml, with the image set by kustomize, runs herald as a Ready Pod with its probes', async (t) => {
  kubectl(['apply', '--server-side', '-f', argocdApplicationCrd()]);
  kubectl(['apply', '--server-side', '-f', join(repoRoot, 'test/support/crds/monitoring-coreos.yaml')]);
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  kubectl(['create', 'namespace', NS]);
  // Argo CD's own Secret, where herald reads the Git webhook secrets.
  kubectl(['create', 'secret', 'generic', 'argocd-secret', '-n', NS, `--from-literal=webhook.github.secret=${state.webhookSecret}`]);

  const image = env.images[0]!.name;
  const colon = image.lastIndexOf(':');
  const overlay = mkdtempSync(join(env.dir, 'install-'));
  copyFileSync(join(repoRoot, 'dist/install.yaml'), join(overlay, 'install.yaml'));
  writeFileSync(
    join(overlay, 'kustomization.yaml'),
    JSON.stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['install.yaml'],
      images: [{ name: 'ghcr.io/herald/herald', newName: image.slice(0, colon), newTag: image.slice(colon + 1) }],
      // The story's robot is the local one on the node's address (plain http): allowed as an
      // admin would allow a proxy (docs/security.md), since herald only allows oapi.dingtalk.com.
      patches: [
        {
          target: { kind: 'Deployment', name: 'herald-controller' },
          patch: JSON.stringify([
            { op: 'add', path: '/spec/template/spec/containers/0/env/-', value: { name: 'HERALD_DINGTALK_ALLOWED_HOSTS', value: `http://${env.nodeIp}:*` } },
          ]),
        },
      ],
    }),
  );
  kubectl(['apply', '--server-side', '-k', overlay]);
  kubectl(['rollout', 'status', 'deployment/herald-controller', '-n', NS, '--timeout=300s']);

  const deployment = kubectl.json<{ status: { conditions: Array<{ type: string; status: string }> } }>(['get', 'deployment', 'herald-controller', '-n', NS]);
  t.is(deployment.status.conditions.find((c) => c.type === 'Available')?.status, 'True', 'the Deployment is Available');
  const [pod] = heraldPods();
  t.truthy(pod);
  t.true(isReady(pod!), 'the Pod passed its readiness probe');
  t.is(pod!.spec.containers[0]!.image, image);
  t.is(pod!.status.containerStatuses?.[0]?.restartCount, 0, 'the liveness probe never restarted it');
  t.true(pod!.spec.containers[0]!.securityContext?.readOnlyRootFilesystem, 'read-only root filesystem');
  t.regex(kubectl(['exec', '-n', NS, pod!.metadata.name, '--', 'herald', '--help']), /Usage: herald/);
  t.is(kubectl(['exec', '-n', NS, pod!.metadata.name, '--', '/nodejs/bin/node', '-p', 'process.getuid()']).trim(), '65532', 'it runs as the nonroot user');
  t.log(`Pod ${pod!.metadata.name} Ready at ${pod!.status.podIP}, image ${image}`);
});

test.serial('Prometheus finds herald through kubernetes_sd_configs, as the ServiceMonitor selects it', async (t) => {
  kubectl(['create', 'namespace', 'monitoring']);
  kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: ServiceAccount
metadata: {name: prometheus, namespace: monitoring}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: prometheus-discovery}
rules:
  - apiGroups: [""]
    resources: [services, endpoints, pods]
    verbs: [get, list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: prometheus-discovery}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: prometheus-discovery}
subjects: [{kind: ServiceAccount, name: prometheus, namespace: monitoring}]
`);
  const dir = join(env.dir, 'prometheus');
  mkdirSync(dir, { recursive: true });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, kubectl(['create', 'token', 'prometheus', '-n', 'monitoring', '--duration=2h']).trim(), { mode: 0o600 });
  const server = kubectl(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}']);
  state.prometheus = await startPrometheus({ dir, apiServer: server, caFile: join(env.dir, 'controlplane', 'ca.crt'), tokenFile, factor: TIME_FACTOR });
  const prometheus = state.prometheus;
  const [pod] = heraldPods();
  await waitFor(async () => (await prometheus.targets()).some((target) => target.health === 'up'), 'the herald target to be up', 90_000);
  const targets = await prometheus.targets();
  t.is(targets.length, 1, 'one target: the herald-metrics endpoint of the one Pod');
  const target = targets[0]!;
  t.is(target.scrapeUrl, `http://${pod!.status.podIP}:9001/metrics`);
  t.like(target.labels, { job: 'herald-metrics', namespace: NS, service: 'herald-metrics', endpoint: 'metrics', pod: pod!.metadata.name });
  t.log(`Prometheus scrapes ${target.scrapeUrl} (${JSON.stringify(target.labels)})`);
});

test.serial('an Argo CD sync story reaches the robot from the Pod, through the pod network', async (t) => {
  const robot = await startDingTalkRobot({ host: env.nodeIp, robots: [{ token: state.token, secret: state.secret, keywords: ['ArgoCD'] }] });
  state.robot = robot;
  kubectl(['apply', '-n', NS, '-f', join(repoRoot, 'config/samples')]);
  kubectl(['apply', '-n', NS, '-f', '-'], JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'dingtalk-ops-robot', namespace: NS },
    stringData: { url: robot.webhookUrl(state.token), secret: state.secret },
  }));
  await waitFor(() => kubectl(['get', 'dingtalkchannel', CHANNEL, '-n', NS, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']) === 'True', 'the channel to be Ready', 60_000);

  const revision = REVISIONS.first;
  createApp({ name: 'guestbook', phase: null, syncStatus: 'OutOfSync', healthStatus: 'Healthy', annotations: { 'herald.gitops.dev/subscribe.on-health-degraded': CHANNEL } });
  setStatus('guestbook', { phase: 'Running', revision, initiatedBy: 'alice' });
  await robot.waitForAccepted(1, { timeoutMs: 120_000 });
  setStatus('guestbook', { phase: 'Succeeded', healthStatus: 'Healthy', revision, initiatedBy: 'alice' });
  await robot.waitForAccepted(3, { timeoutMs: 120_000 });
  setStatus('guestbook', { phase: 'Succeeded', healthStatus: 'Degraded', healthMessage: 'Deployment "guestbook-ui" exceeded its progress deadline', revision, initiatedBy: 'alice' });
  await robot.waitForAccepted(4, { timeoutMs: 120_000 });
  await sleep(3000);
  t.is(robot.accepted().length, 4, 'sync running, sync succeeded, deployed, health degraded: no more, no less');
  const [pod] = heraldPods();
  t.deepEqual([...new Set(robot.requests.map((r) => r.remoteAddress.replace(/^::ffff:/, '')))], [pod!.status.podIP], 'every request came from the herald Pod');
  t.regex(pod!.status.podIP!, /^10\.244\.0\./);
  t.log(`${robot.accepted().length} messages from ${pod!.status.podIP} to the robot at ${robot.url}`);

  const prometheus = state.prometheus!;
  await waitFor(async () => Number((await prometheus.query('count(herald_app_info)'))[0]?.value[1] ?? 0) === 1, 'herald_app_info to count the one app', 60_000);
  const sent = await prometheus.query('sum(herald_deliveries_total{result="sent"})');
  t.true(Number(sent[0]?.value[1] ?? 0) >= 4, 'deliveries are counted');
});

test.serial('a signed GitHub push through the herald-webhook Service refreshes the app', async (t) => {
  const clusterIp = kubectl(['get', 'service', 'herald-webhook', '-n', NS, '-o', 'jsonpath={.spec.clusterIP}']);
  const url = `http://${clusterIp}:8080/api/webhook`;
  const push = githubPush({ repo: 'argoproj/argocd-example-apps', ref: 'refs/heads/main', defaultBranch: 'main', commits: [{ modified: ['guestbook/guestbook-ui-deployment.yaml'] }] }, state.webhookSecret);
  const forged = githubPush({ repo: 'argoproj/argocd-example-apps', ref: 'refs/heads/main', defaultBranch: 'main' }, 'not-the-secret');
  t.is((await post(url, forged.headers, forged.body)).status, 401, 'a push signed with another secret is refused');
  t.is(kubectl(['get', 'application', 'guestbook', '-n', NS, '-o', 'jsonpath={.metadata.annotations.argocd\\.argoproj\\.io/refresh}']), '');
  const answer = await post(url, push.headers, push.body);
  t.true(answer.status >= 200 && answer.status < 300, `herald accepted the push (${answer.status} ${answer.body})`);
  await waitFor(
    () => kubectl(['get', 'application', 'guestbook', '-n', NS, '-o', 'jsonpath={.metadata.annotations.argocd\\.argoproj\\.io/refresh}']) === 'normal',
    'the refresh annotation',
    30_000,
  );
  t.pass();
  t.log(`push through ${url} → argocd.argoproj.io/refresh=normal on guestbook`);
});

// Both alerts are followed during one outage of the robot; each gets its own test. The
// outage is real: the robot refuses every request, so the messages of a sync wait in the
// outbox (herald_outbox_pending, set by the channel's dispatcher) and every attempt counts
// as a failed delivery, until both alerts fire; then the robot comes back.
const outage: { timeline?: AlertTimeline } = {};
const FAILING = 'HeraldDeliveriesFailing';
const BACKLOG = 'HeraldOutboxBacklog';

test.serial('with the robot down, the delivery-failure alert goes pending → firing → resolved', async (t) => {
  const robot = state.robot!;
  const prometheus = state.prometheus!;
  const timeline = new AlertTimeline(prometheus, [FAILING, BACKLOG]);
  outage.timeline = timeline;
  const watching = timeline.watch();
  const report = (error: unknown) => {
    t.log(timeline.report());
    throw error;
  };
  try {
    robot.setMode(state.token, 'down');
    sync('guestbook', REVISIONS.second);
    await waitFor(() => outboxSize('guestbook') > 0, 'messages to wait in the outbox', 60_000);
    await waitFor(async () => Number((await prometheus.query('sum(herald_outbox_pending)'))[0]?.value[1] ?? 0) > 0, 'Prometheus to see herald_outbox_pending > 0', 60_000);
    await waitFor(() => timeline.reached(FAILING, 'firing'), `${FAILING} to fire`, 300_000).catch(report);
    await waitFor(() => timeline.reached(BACKLOG, 'firing'), `${BACKLOG} to fire`, 300_000).catch(report);
    t.true(outboxSize('guestbook') > 0, 'the messages still wait in the outbox');
    robot.setMode(state.token, 'ok');
    await waitFor(() => outboxSize('guestbook') === 0, 'the outbox to empty', 180_000);
    await waitFor(() => timeline.latest(FAILING) === 'resolved' && timeline.latest(BACKLOG) === 'resolved', 'the alerts to resolve', 300_000).catch(report);
  } finally {
    await timeline.stop(watching);
  }
  t.log(timeline.report());
  // The overlay scales the rule's 15-minute window to 30 s but not herald's 30-s probe of an
  // unreachable channel, so late in the outage a window can hold no attempt at all (0/0):
  // the alert may resolve and fire again before the robot returns. What must hold: pending
  // first, then firing, and resolved at the end.
  const states = timeline.states(FAILING);
  t.deepEqual(states.slice(0, 2), ['pending', 'firing']);
  t.is(states.at(-1), 'resolved');
});

test.serial('during the same outage, HeraldOutboxBacklog goes pending → firing → resolved', (t) => {
  const timeline = outage.timeline;
  t.truthy(timeline, 'the outage was played');
  t.deepEqual(timeline!.states(BACKLOG), ['pending', 'firing', 'resolved']);
});

test.serial('two replicas: deleting the leader Pod hands over and loses nothing', async (t) => {
  const robot = state.robot!;
  kubectl(['scale', 'deployment/herald-controller', '-n', NS, '--replicas=2']);
  kubectl(['rollout', 'status', 'deployment/herald-controller', '-n', NS, '--timeout=300s']);
  await waitFor(() => heraldPods().filter(isReady).length === 2, 'two Ready Pods', 120_000);
  await waitFor(() => leaderPod() !== undefined, 'a leader', 60_000);
  const leader = leaderPod()!;
  const before = robot.accepted().length;

  robot.setMode(state.token, 'down');
  sync('guestbook', REVISIONS.third);
  // The leader decided the messages (they are in the outbox) but could not send them.
  await waitFor(() => outboxSize('guestbook') >= 3, 'three messages in the outbox', 60_000);
  const decided = await settledOutbox('guestbook');
  // Deleted and gone (its grace period ends) before the robot answers again, so that only
  // the next leader can deliver.
  kubectl(['delete', 'pod', leader, '-n', NS, '--timeout=120s']);
  await waitFor(() => {
    const now = leaderPod();
    return now !== undefined && now !== leader;
  }, 'another Pod to take the Lease', 120_000);
  // What waits now is what the old leader decided (and, had it not got that far, what the
  // new one decided on taking over): all of it must arrive, once.
  const waiting = await settledOutbox('guestbook');
  t.true(waiting >= decided, `the ${decided} messages the old leader decided still wait (${waiting})`);
  robot.setMode(state.token, 'ok');
  await robot.waitForAccepted(before + waiting, { timeoutMs: 180_000 });
  await waitFor(() => outboxSize('guestbook') === 0, 'the outbox to empty', 60_000);
  await sleep(5000);
  const delivered = robot.accepted().slice(before);
  t.log(delivered.map((r) => `${new Date(r.time).toISOString()} ${r.remoteAddress} ${JSON.stringify(r.json).slice(0, 160)}`).join('\n'));
  t.is(delivered.length, waiting, 'every message that waited was delivered once');
  const newLeader = heraldPods().find((pod) => pod.metadata.name === leaderPod());
  t.truthy(newLeader);
  t.true(delivered.every((r) => r.remoteAddress.replace(/^::ffff:/, '') === newLeader!.status.podIP), 'the new leader delivered them');
  t.log(`leader ${leader} deleted; ${newLeader!.metadata.name} took over and delivered the ${waiting} waiting messages`);
});
