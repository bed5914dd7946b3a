// `make demo`: the whole herald story on one machine, in about half a minute.
//
//   1. a real etcd + kube-apiserver on loopback (the test control plane), with herald's
//      CRDs, Argo CD's Application CRD and config/samples in namespace argocd;
//   2. a local DingTalk robot (keyword ArgoCD, signing) that prints every message it
//      receives, or your real robot when DINGTALK_WEBHOOK_URL (and DINGTALK_SECRET) is set;
//   3. `herald controller` as a child process;
//   4. an Application `guestbook` whose status the demo writes as Argo CD would:
//      sync Running → Succeeded + Healthy → Degraded → Healthy;
//   5. a signed GitLab push to herald's webhook receiver, and the refresh annotation
//      herald writes on the matching Application.
//
// Everything is torn down at the end (also on Ctrl-C). KEEP=1 keeps it running and
// prints the kubeconfig and commands to try. Secrets are never printed.
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CustomObjectsApi, KubeConfig, PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';
import type { OutgoingMessage } from '../../src/channels/channel.js';
import { buildDingTalkBody } from '../../src/channels/dingtalk/index.js';
import { ControlPlane } from './controlplane/controlplane.js';
import { heraldEntry, installBaseCrds, repoRoot } from './controlplane/install.js';
import { describeAnswer, type DingTalkRobotServer, formatMessageForHumans, type ReceivedRequest, startDingTalkRobot } from './dingtalk-robot.js';
import { buildApp, REVISIONS, type AppOptions } from './fixtures/apps.js';
import { spawnTied, terminate } from './process.js';
import { gitlabPush } from './webhook-payloads.js';

const NAMESPACE = 'argocd';
const APP = 'guestbook';
const CHANNEL = 'dingtalk-ops';
const ROBOT_SECRET_NAME = 'dingtalk-ops-robot';
const REPO = 'demo/guestbook';
const GIT_HOST = 'gitlab.example.com';
const REPO_URL = `https://${GIT_HOST}/${REPO}.git`;
const KEEP = /^(1|true|yes)$/i.test(process.env.KEEP ?? '');
const STEP_TIMEOUT_MS = Number(process.env.DEMO_STEP_TIMEOUT_MS ?? 60_000);

const started = Date.now();

// ---------------------------------------------------------------------------
// Output: a timeline, with every secret masked.

const secrets: string[] = [];
function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4 && !secrets.includes(value)) secrets.push(value);
}
function mask(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('****');
  // Any access token in a URL, whatever its origin.
  return out.replace(/(access_token=)[^&\s"]+/g, '$1****').replace(/([?&]sign=)[^&\s"]+/g, '$1****');
}
const clock = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const pad = ' '.repeat(clock().length + 3);
function say(symbol: string, text: string): void {
  const [first, ...rest] = mask(text).split('\n');
  process.stdout.write(`[${clock()}] ${symbol} ${first}\n${rest.map((line) => `${pad}${line}\n`).join('')}`);
}
const indent = (text: string, by = '  ') => text.split('\n').map((line) => by + line).join('\n');
function heading(text: string): void {
  process.stdout.write(`\n${mask(text)}\n`);
}

// ---------------------------------------------------------------------------
// Teardown, once, on success, failure and Ctrl-C.

const cleanups: Array<() => Promise<void> | void> = [];
let tearingDown: Promise<void> | undefined;
function teardown(): Promise<void> {
  tearingDown ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        process.stderr.write(`demo: cleanup: ${mask(String(error))}\n`);
      }
    }
  })();
  return tearingDown;
}
let interrupted = false;
function onSignal(signal: NodeJS.Signals): void {
  if (interrupted) return;
  interrupted = true;
  process.stdout.write(`\n${signal}: tearing everything down…\n`);
  void teardown().then(() => {
    process.stdout.write(`Stopped. Wall time ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
    process.exit(KEEP ? 0 : 130);
  });
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// ---------------------------------------------------------------------------
// Helpers

/** Set when the channel turns Ready=False (say, DingTalk answered 310000): no use waiting for messages. */
let channelProblem: string | undefined;

async function waitUntil<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (interrupted) throw new Error('interrupted');
    if (channelProblem) throw new Error(`the DingTalkChannel is not Ready: ${channelProblem}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface AppAnnotations {
  [key: string]: string;
}

/** Watches one collection, restarting the watch when the server closes it. */
function watchCollection(kc: KubeConfig, path: string, onEvent: (type: string, object: any) => void): () => void {
  let stopped = false;
  let abort: AbortController | undefined;
  const watch = new Watch(kc);
  const start = async () => {
    if (stopped) return;
    try {
      abort = await watch.watch(path, { allowWatchBookmarks: false }, onEvent, () => {
        if (!stopped) setTimeout(() => void start(), 300);
      });
    } catch {
      if (!stopped) setTimeout(() => void start(), 500);
    }
  };
  void start();
  return () => {
    stopped = true;
    abort?.abort();
  };
}

function describeRobotRequest(request: ReceivedRequest): string {
  const outcome = request.accepted ? 'accepted (errcode 0)' : describeAnswer(request);
  const signed = request.query.sign ? 'signed' : 'unsigned';
  const body = request.json === undefined ? '(body is not JSON)' : formatMessageForHumans(request.json).trimEnd();
  return `DingTalk message #${request.seq} (${signed}) → ${outcome}\n${indent(body)}`;
}

/** An outbox entry's message (the rendered template) as the DingTalk body herald builds from it, readably. */
function readableOutboxBody(message: OutgoingMessage): string {
  try {
    return formatMessageForHumans(buildDingTalkBody(message.rendered).body).trimEnd();
  } catch (error) {
    return `(cannot show the message: ${error instanceof Error ? error.message : String(error)})`;
  }
}

function kubectlPath(cp: ControlPlane): { path: string; onPath: boolean } {
  const onPath = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).status === 0;
  return { path: cp.binaries.kubectl.path, onPath };
}

// ---------------------------------------------------------------------------

interface Operator {
  child: ChildProcess;
  ports: { webhook?: number; health?: number; metrics?: number };
  logFile: string;
  tail(lines?: number): string;
}

async function startHerald(kubeconfig: string, workDir: string): Promise<Operator> {
  const logFile = join(workDir, 'herald-controller.log');
  const log: WriteStream = createWriteStream(logFile);
  const args = [
    heraldEntry,
    'controller',
    '--kubeconfig', kubeconfig,
    '--control-namespace', NAMESPACE,
    '--namespaces', NAMESPACE,
    '--bind-address', '127.0.0.1',
    '--webhook-port', '0',
    '--health-port', '0',
    '--metrics-port', '0',
    '--argocd-url', 'http://localhost:8080',
    // The demo's robot is the local one on 127.0.0.1: allowed explicitly, as any host but oapi.dingtalk.com must be.
    '--dingtalk-allowed-hosts', 'http://127.0.0.1:*',
    '--lease-duration', '4',
    '--log-level', 'info',
  ];
  const child = spawnTied(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  const lines: string[] = [];
  let startedRecord: Record<string, unknown> | undefined;
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      log.write(chunk);
      rest += chunk;
      const parts = rest.split('\n');
      rest = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        if (!startedRecord && line.includes('herald controller started')) {
          try {
            startedRecord = JSON.parse(line) as Record<string, unknown>;
          } catch {
            // not the JSON line
          }
        }
      }
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  cleanups.push(async () => {
    await terminate(child, 15_000);
    log.end();
  });
  const tail = (count = 25) => lines.slice(-count).join('\n');
  const record = await waitUntil('herald to start', () => {
    if (child.exitCode !== null) throw new Error(`herald controller exited with code ${child.exitCode}:\n${tail()}`);
    return startedRecord;
  });
  const ports = (record.ports ?? {}) as Operator['ports'];
  await waitUntil('herald /readyz', async () => {
    if (child.exitCode !== null) throw new Error(`herald controller exited with code ${child.exitCode}:\n${tail()}`);
    try {
      return (await fetch(`http://127.0.0.1:${ports.health}/readyz`)).status === 200;
    } catch {
      return false;
    }
  });
  return { child, ports, logFile, tail };
}

async function main(): Promise<void> {
  const realUrl = process.env.DINGTALK_WEBHOOK_URL?.trim() || undefined;
  const realSecret = process.env.DINGTALK_SECRET?.trim() || undefined;
  registerSecret(realSecret);
  if (realUrl) {
    const token = /access_token=([^&]+)/.exec(realUrl)?.[1];
    // Without a token in the URL, the whole URL is the secret.
    registerSecret(token ?? realUrl);
  }

  heading(`herald demo: Argo CD → herald → DingTalk, and Git push → Argo CD refresh${KEEP ? ' (KEEP=1: stays up until Ctrl-C)' : ''}`);
  const workDir = mkdtempSync(join(tmpdir(), 'herald-demo-'));
  let keepWorkDir = false;
  cleanups.push(() => {
    if (!keepWorkDir) rmSync(workDir, { recursive: true, force: true });
  });

  // 1. Control plane ----------------------------------------------------------
  say('⚙', 'Starting a local Kubernetes control plane (etcd + kube-apiserver on loopback)…');
  const cp = await ControlPlane.start({ log: () => undefined });
  cleanups.push(() => cp.stop());
  say('✔', `kube-apiserver ${cp.version} ready at ${cp.server}`);
  installBaseCrds(cp);
  cp.kubectlOrThrow(['create', 'namespace', NAMESPACE]);
  cp.kubectlOrThrow(['apply', '-n', NAMESPACE, '-f', join(repoRoot, 'config/samples')]);
  const kinds = new Map<string, number>();
  for (const name of cp.kubectlOrThrow(['get', 'herald', '-n', NAMESPACE, '-o', 'name']).trim().split('\n')) {
    const kind = name.split('.')[0]!;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  say('✔', `Installed herald's CRDs (crds/), Argo CD's Application CRD (test/support/crds/), and config/samples\n` +
    `into namespace ${NAMESPACE}: ${[...kinds].map(([kind, count]) => `${count} ${kind}`).join(', ')} (kubectl get herald -n ${NAMESPACE})`);

  // 2. The robot -------------------------------------------------------------
  let robot: DingTalkRobotServer | undefined;
  let robotUrl: string;
  let robotSecret: string | undefined;
  if (realUrl) {
    robotUrl = realUrl;
    robotSecret = realSecret;
    say('✔', `Using your DingTalk robot (DINGTALK_WEBHOOK_URL${realSecret ? ' and DINGTALK_SECRET' : ''}): ${realUrl}\n` +
      `Messages appear in your DingTalk group; this window shows what herald put in each one.\n` +
      `The robot must accept the keyword "ArgoCD"${realSecret ? ' and signing (加签) with that secret' : ''}.`);
  } else {
    const token = `demo${randomBytes(12).toString('hex')}`;
    robotSecret = `SEC${randomBytes(24).toString('hex')}`;
    registerSecret(token);
    registerSecret(robotSecret);
    robot = await startDingTalkRobot({
      robots: [{ token, secret: robotSecret, keywords: ['ArgoCD'] }],
      onRequest: (request) => say('💬', describeRobotRequest(request)),
    });
    cleanups.push(() => robot!.close());
    robotUrl = robot.webhookUrl(token);
    say('✔', `Local DingTalk robot listening at ${robotUrl} (keyword "ArgoCD", signing 加签 on)`);
  }
  const secretData: Record<string, string> = { url: robotUrl, ...(robotSecret ? { secret: robotSecret } : {}) };
  cp.kubectlOrThrow(['apply', '-n', NAMESPACE, '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: ROBOT_SECRET_NAME, namespace: NAMESPACE }, stringData: secretData,
  }));
  if (!robotSecret) {
    cp.kubectlOrThrow(['patch', 'dingtalkchannel', CHANNEL, '-n', NAMESPACE, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/webhook/signSecretRef' }])]);
  }
  const gitlabToken = randomBytes(16).toString('hex');
  registerSecret(gitlabToken);
  cp.kubectlOrThrow(['apply', '-n', NAMESPACE, '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'argocd-secret', namespace: NAMESPACE }, stringData: { 'webhook.gitlab.secret': gitlabToken },
  }));
  say('✔', `Secret ${ROBOT_SECRET_NAME} (robot URL${robotSecret ? ' and signing secret' : ''}) and Secret argocd-secret (webhook.gitlab.secret) created; values not shown`);

  // 3. herald ------------------------------------------------------------------
  say('⚙', 'Starting herald controller (node build/bundle/herald.js controller --control-namespace argocd …)');
  const herald = await startHerald(cp.kubeconfigPath, workDir);
  const fail = (error: unknown) => {
    keepWorkDir = true;
    return new Error(`${error instanceof Error ? error.message : String(error)}\n\nLast lines of herald's log (${herald.logFile}):\n${herald.tail()}`);
  };
  say('✔', `herald is ready: webhook :${herald.ports.webhook}, health :${herald.ports.health}, metrics :${herald.ports.metrics} (log: ${herald.logFile})`);
  await waitUntil(`DingTalkChannel ${CHANNEL} to be Ready`, () => {
    const out = cp.kubectl(['get', 'dingtalkchannel', CHANNEL, '-n', NAMESPACE, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    return out.stdout.trim() === 'True';
  }).catch((error) => {
    throw fail(error);
  });
  say('✔', `DingTalkChannel ${CHANNEL} is Ready (kubectl get dingtalk -n ${NAMESPACE})`);

  // Watch the Application and herald's Events as they change.
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const seenOutbox = new Map<string, { trigger: string; channel: string; key: string }>();
  const delivered = new Set<string>();
  const deliveredTriggers = new Set<string>();
  let refreshSeen: string | undefined;
  const stopAppWatch = watchCollection(kc, `/apis/argoproj.io/v1alpha1/namespaces/${NAMESPACE}/applications`, (type, object) => {
    if (type === 'BOOKMARK' || object?.metadata?.name !== APP) return;
    const annotations = (object.metadata.annotations ?? {}) as AppAnnotations;
    let outbox: Record<string, { trigger: string; channel: string; key: string; body: OutgoingMessage }>;
    let ledger: Record<string, number>;
    try {
      outbox = JSON.parse(annotations['herald.gitops.dev/outbox'] ?? '{}');
      ledger = JSON.parse(annotations['herald.gitops.dev/notified'] ?? '{}');
    } catch {
      return; // a partial annotation: the next event has the whole one
    }
    for (const [id, entry] of Object.entries(outbox)) {
      if (seenOutbox.has(id)) continue;
      seenOutbox.set(id, entry);
      say('📝', `herald decided: ${entry.trigger} → ${entry.channel}; the rendered message is now in the Application's herald.gitops.dev/outbox annotation` +
        (realUrl ? `\n${indent(readableOutboxBody(entry.body))}` : ''));
    }
    // A message leaves the outbox once DingTalk accepted it.
    for (const [id, entry] of seenOutbox) {
      if (id in outbox || delivered.has(id)) continue;
      delivered.add(id);
      deliveredTriggers.add(entry.trigger);
      say('📒', entry.key in ledger
        ? `DingTalk accepted ${entry.trigger} → ${entry.channel}: moved from the outbox into the send ledger herald.gitops.dev/notified`
        : `DingTalk accepted ${entry.trigger} → ${entry.channel}: out of the outbox (its condition no longer holds, so the ledger keeps nothing for it)`);
    }
    const refresh = annotations['argocd.argoproj.io/refresh'];
    if (refresh && refresh !== refreshSeen) {
      refreshSeen = refresh;
      say('🔄', `herald annotated Application ${NAMESPACE}/${APP}: argocd.argoproj.io/refresh: ${refresh} (Argo CD refreshes now instead of at its next 3-minute poll)`);
    }
  });
  cleanups.push(stopAppWatch);
  const eventWatchStart = new Date();
  const stopEventWatch = watchCollection(kc, `/api/v1/namespaces/${NAMESPACE}/events`, (type, event) => {
    if (type !== 'ADDED' || event?.source?.component !== 'herald' || event.type !== 'Warning') return;
    if (Date.parse(event.lastTimestamp ?? event.metadata?.creationTimestamp ?? 0) < eventWatchStart.getTime() - 1000) return;
    say('⚠', `Event ${event.reason} on ${event.involvedObject?.kind}/${event.involvedObject?.name}: ${event.message}`);
    if (event.involvedObject?.kind === 'DingTalkChannel') channelProblem = `${event.reason}: ${event.message}`;
  });
  cleanups.push(stopEventWatch);

  // 4. The Argo CD story --------------------------------------------------------
  const api = kc.makeApiClient(CustomObjectsApi);
  const base = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', namespace: NAMESPACE };
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const appBase: AppOptions = {
    name: APP,
    namespace: NAMESPACE,
    repoURL: REPO_URL,
    path: 'guestbook',
    targetRevision: 'main',
    destinationNamespace: 'guestbook',
    initiatedBy: 'alice',
    revision: REVISIONS.first,
  };
  const setStatus = async (options: AppOptions) => {
    const { status } = buildApp({ ...appBase, ...options });
    await api.patchNamespacedCustomObject({ ...base, name: APP, body: [{ op: 'add', path: '/status', value: status }] }, jsonPatch);
  };
  const expect = async (triggers: string[]) => {
    await waitUntil(`DingTalk to accept ${triggers.join(', ')}`, () => triggers.every((trigger) => deliveredTriggers.has(trigger))).catch((error) => {
      throw fail(error);
    });
  };
  const iso = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

  heading('— Argo CD syncs guestbook (the demo writes the Application status as Argo CD would) —');
  await api.createNamespacedCustomObject({
    ...base,
    body: buildApp({
      ...appBase,
      phase: null,
      syncStatus: 'OutOfSync',
      healthStatus: 'Missing',
      annotations: {
        'herald.gitops.dev/subscribe.on-health-degraded': CHANNEL,
        'herald.gitops.dev/subscribe.on-health-recovered': CHANNEL,
      },
    }),
  });
  say('▶', `Created Application ${NAMESPACE}/${APP} (${REPO_URL}, branch main): OutOfSync, never synced.\n` +
    `It is subscribed to on-health-degraded and on-health-recovered by annotations; the channel's own\n` +
    `subscriptions send on-sync-running, on-sync-succeeded, on-deployed and on-sync-failed for every app.`);

  const syncStart = Date.now();
  await setStatus({ phase: 'Running', startedAt: iso(syncStart) });
  say('▶', 'Argo CD: alice started a sync of 6f1b2c3 → operation Running, health Progressing');
  await expect(['on-sync-running']);

  await new Promise((resolve) => setTimeout(resolve, 1500));
  const finished = Date.now();
  await setStatus({ phase: 'Succeeded', healthStatus: 'Healthy', startedAt: iso(syncStart), finishedAt: iso(finished), reconciledAt: iso(finished + 1000) });
  say('▶', 'Argo CD: the sync Succeeded, the app is Synced and Healthy');
  await expect(['on-sync-succeeded', 'on-deployed']);

  await setStatus({
    phase: 'Succeeded', healthStatus: 'Degraded', healthMessage: 'Deployment "guestbook-ui" exceeded its progress deadline',
    startedAt: iso(syncStart), finishedAt: iso(finished), reconciledAt: iso(),
  });
  say('▶', 'Argo CD: health turned Degraded (Deployment "guestbook-ui" exceeded its progress deadline)');
  await expect(['on-health-degraded']);

  // notified() has one-second resolution: let the degradation be at least a second old.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await setStatus({ phase: 'Succeeded', healthStatus: 'Healthy', startedAt: iso(syncStart), finishedAt: iso(finished), reconciledAt: iso() });
  say('▶', 'Argo CD: health is Healthy again');
  await expect(['on-health-recovered']);

  // 5. A Git push -----------------------------------------------------------------
  heading('— A developer pushes to main on GitLab —');
  const push = gitlabPush({ repo: REPO, host: GIT_HOST, ref: 'refs/heads/main', commits: [{ modified: ['guestbook/guestbook-ui-deployment.yaml'] }] }, gitlabToken);
  const answer = await fetch(`http://127.0.0.1:${herald.ports.webhook}/api/webhook`, { method: 'POST', headers: push.headers, body: push.body });
  const answerText = await answer.text();
  say('▶', `POST /api/webhook (X-Gitlab-Event: Push Hook, X-Gitlab-Token from argocd-secret, ${REPO_URL} refs/heads/main)\n` +
    `herald answered HTTP ${answer.status} ${answerText.trim()}`);
  if (answer.status !== 202) throw fail(new Error(`the webhook receiver answered ${answer.status}`));
  await waitUntil('the refresh annotation', () => refreshSeen !== undefined).catch((error) => {
    throw fail(error);
  });

  // Done --------------------------------------------------------------------------
  const messages = robot ? robot.accepted().length : delivered.size;
  heading(`Done: ${messages} DingTalk messages (on-sync-running, on-sync-succeeded, on-deployed, on-health-degraded, on-health-recovered), ` +
    `each sent once (the outbox emptied, the ledger holding what suppresses a repeat); 1 Git push turned into an Argo CD refresh.`);
  const explain = spawnSync(process.execPath, [heraldEntry, 'trigger', 'run', 'on-deployed', APP, '-n', NAMESPACE], {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: cp.kubeconfigPath },
    timeout: 30_000,
  });
  process.stdout.write(`\nWhy does herald not send on-deployed again? Ask it (herald trigger run on-deployed ${APP} -n ${NAMESPACE}):\n` +
    `${indent(mask((explain.stdout || explain.stderr).trimEnd()))}\n`);
  if (!KEEP) process.stdout.write(`\nKEEP=1 make demo keeps all this running and prints the kubeconfig, to look around with kubectl.\n`);

  if (KEEP) {
    const kubectl = kubectlPath(cp);
    process.stdout.write(`\nKEEP=1: everything stays up until Ctrl-C. In another shell:\n\n` +
      `  export KUBECONFIG=${cp.kubeconfigPath}\n` +
      (kubectl.onPath ? '' : `  export PATH=${dirname(kubectl.path)}:$PATH   # kubectl ${cp.version}\n`) +
      `  kubectl get herald -n ${NAMESPACE}\n` +
      `  kubectl describe dingtalkchannel ${CHANNEL} -n ${NAMESPACE}\n` +
      `  kubectl get app ${APP} -n ${NAMESPACE} -o yaml\n` +
      `  node build/bundle/herald.js trigger run on-deployed ${APP} -n ${NAMESPACE}\n` +
      `  node build/bundle/herald.js template notify app-sync-change ${APP} -n ${NAMESPACE} --channel ${CHANNEL}\n` +
      `  curl -s http://127.0.0.1:${herald.ports.metrics}/metrics | grep '^herald_deliveries_total'\n` +
      `  kubectl patch app ${APP} -n ${NAMESPACE} --type merge -p '{"status":{"health":{"status":"Degraded"}}}'\n\n` +
      `Messages the robot receives keep appearing here. herald's log: ${herald.logFile}\n`);
    keepWorkDir = false;
    await new Promise<void>(() => undefined); // until Ctrl-C (onSignal tears down and exits)
  }
}

main().then(
  async () => {
    await teardown();
    process.stdout.write(`\nTore everything down. Wall time ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
    process.exit(0);
  },
  async (error: unknown) => {
    if (interrupted) return;
    process.stderr.write(`\ndemo failed: ${mask(error instanceof Error ? error.message : String(error))}\n`);
    await teardown();
    process.stderr.write(`Wall time ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
    process.exit(1);
  },
);
