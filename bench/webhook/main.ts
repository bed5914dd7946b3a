// bench/webhook: push-to-patch latency of the Git webhook receiver in the running
// operator, against a real etcd + kube-apiserver. 1,000 Applications, 10 of which
// follow the pushed repository and branch (in different URL forms); each push is
// timed from the moment the POST is sent until a watch has seen
// argocd.argoproj.io/refresh=normal on all 10, and checked to have touched no other
// app. Also times the pure matching step at 1,000 and 10,000 apps in-process.
// Prints human-readable lines and, last, one JSON line with every figure.
//
//   node build/bench/webhook/main.js [--apps 1000] [--matching 10] [--pushes 50]
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';
import { ANNOTATIONS } from '../../src/api/groups.js';
import { findApplicationsToRefresh } from '../../src/webhook/match.js';
import type { ApplicationLike, PushEvent } from '../../src/webhook/types.js';
import { buildApp } from '../../test/support/fixtures/apps.js';
import { githubPush } from '../../test/support/webhook-payloads.js';
import { startBenchCluster } from '../lib/controlplane.js';
import { BenchOperator } from '../lib/operator.js';
import { inParallel, withRetry } from '../lib/pool.js';
import { machine, printJson, printer } from '../lib/report.js';
import { distribution, round, type Distribution } from '../lib/stats.js';

interface Options {
  apps: number;
  matching: number;
  pushes: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { apps: 1000, matching: 10, pushes: 50 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, '') as keyof Options;
    const value = Number(argv[i + 1]);
    if (!(name in options) || !Number.isInteger(value) || value < 1) throw new Error(`usage: main.js [--apps N] [--matching N] [--pushes N] (bad ${argv[i]} ${argv[i + 1]})`);
    options[name] = value;
  }
  if (options.matching > options.apps) throw new Error('--matching cannot exceed --apps');
  return options;
}

const NAMESPACE = 'bench-webhook';
const SECRET = 'bench-webhook-secret';
const HOT_REPO = 'acme/hot';
// The matching apps write the pushed repository in every form users write it.
const HOT_URL_FORMS = [
  'https://github.com/acme/hot.git',
  'https://github.com/acme/hot',
  'git@github.com:acme/hot.git',
  'ssh://git@github.com:22/acme/hot.git',
  'HTTPS://GitHub.com/Acme/Hot/',
];

/** App i: the first `matching` follow acme/hot's default branch; some others acme/hot's release branch; the rest 100 other repos. */
function appSpec(i: number, matching: number): { name: string; repoURL: string; targetRevision: string } {
  const name = `app-${String(i).padStart(5, '0')}`;
  if (i < matching) return { name, repoURL: HOT_URL_FORMS[i % HOT_URL_FORMS.length]!, targetRevision: i % 2 ? 'HEAD' : 'main' };
  if (i % 50 === 0) return { name, repoURL: 'https://github.com/acme/hot.git', targetRevision: 'release' };
  return { name, repoURL: `https://github.com/acme/service-${i % 100}.git`, targetRevision: 'HEAD' };
}

/** POSTs a delivery; resolves with the status when the answer has arrived. */
function post(port: number, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/webhook', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Microseconds per findApplicationsToRefresh call over `count` in-memory apps. */
function timeMatching(count: number, matching: number): number {
  const apps: ApplicationLike[] = Array.from({ length: count }, (_, i) => {
    const spec = appSpec(i, matching);
    return { metadata: { name: spec.name, namespace: NAMESPACE }, spec: { source: { repoURL: spec.repoURL, targetRevision: spec.targetRevision, path: 'deploy' } } };
  });
  const push: PushEvent = {
    provider: 'github',
    repoURLs: ['https://github.com/acme/hot', 'https://github.com/acme/hot.git', 'git@github.com:acme/hot.git'],
    revision: 'main',
    isTag: false,
    defaultBranch: 'main',
    changedFiles: ['deploy/values.yaml'],
  };
  for (let i = 0; i < 50; i++) findApplicationsToRefresh([push], apps);
  const rounds = Math.max(20, Math.round(200_000 / count));
  const started = performance.now();
  let found = 0;
  for (let i = 0; i < rounds; i++) found = findApplicationsToRefresh([push], apps).length;
  const perCall = ((performance.now() - started) * 1000) / rounds;
  if (found !== matching) throw new Error(`matching found ${found} apps, expected ${matching}`);
  return perCall;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const log = printer('webhook');
  log(`${options.apps} Applications, ${options.matching} follow the pushed branch; ${options.pushes} pushes`);

  const matchMicros = { [options.apps]: timeMatching(options.apps, options.matching), 10_000: timeMatching(10_000, options.matching) };
  for (const [count, micros] of Object.entries(matchMicros)) log(`matching one push against ${count} apps (in-process): ${round(micros, 1)} µs`);

  const cluster = await startBenchCluster(log);
  let operator: BenchOperator | undefined;
  try {
    const { kc } = cluster;
    const core = kc.makeApiClient(CoreV1Api);
    const api = kc.makeApiClient(CustomObjectsApi);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await core.createNamespacedSecret({ namespace: NAMESPACE, body: { metadata: { name: 'argocd-secret' }, stringData: { 'webhook.github.secret': SECRET } } });
    const created = performance.now();
    await inParallel(Array.from({ length: options.apps }, (_, i) => i), 16, async (i) => {
      const spec = appSpec(i, options.matching);
      const body = buildApp({ ...spec, namespace: NAMESPACE, path: 'deploy' });
      await withRetry(() => api.createNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace: NAMESPACE, plural: 'applications', body }));
    });
    log(`created ${options.apps} Applications in ${Math.round(performance.now() - created)} ms`);

    operator = BenchOperator.start({
      kubeconfig: cluster.cp.kubeconfigPath,
      controlNamespace: NAMESPACE,
      extraArgs: ['--webhook-port', '0', '--leader-election=false'],
    });
    const started = await operator.waitStarted();
    const port = (started.ports as { webhook?: number } | undefined)?.webhook;
    if (!port) throw new Error('the operator reported no webhook port');
    await operator.waitIdle(0);
    log(`operator started, webhook receiver on port ${port}, initial reconcile done`);

    // A watch keeps the refresh annotation of every app as the API server reports it.
    const refreshOf = new Map<string, string | undefined>();
    const waiters: Array<() => void> = [];
    let finished = false;
    const list = (await api.listNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace: NAMESPACE, plural: 'applications' })) as {
      metadata: { resourceVersion: string };
      items: Array<{ metadata: { name: string; annotations?: Record<string, string> } }>;
    };
    for (const item of list.items) refreshOf.set(item.metadata.name, item.metadata.annotations?.[ANNOTATIONS.argoRefresh]);
    const watch = await new Watch(kc).watch(
      `/apis/argoproj.io/v1alpha1/namespaces/${NAMESPACE}/applications`,
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
      (phase, obj: { metadata: { name: string; annotations?: Record<string, string> } }) => {
        if (phase !== 'ADDED' && phase !== 'MODIFIED') return;
        refreshOf.set(obj.metadata.name, obj.metadata.annotations?.[ANNOTATIONS.argoRefresh]);
        for (const wake of waiters.splice(0)) wake();
      },
      (error) => {
        if (error && !finished) log(`watch ended: ${String(error)}`);
      },
    );
    const until = async (predicate: () => boolean, what: string) => {
      const deadline = Date.now() + 30_000;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 200);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    };
    const hot = Array.from({ length: options.matching }, (_, i) => appSpec(i, options.matching).name);
    const refreshedCount = () => [...refreshOf.values()].filter((value) => value === 'normal').length;

    const latencies: number[] = [];
    const answers: number[] = [];
    let extra = 0;
    for (let round_ = 0; round_ < options.pushes; round_++) {
      // Argo CD removes the annotation after refreshing; do that, and wait until it shows.
      await inParallel(hot, 10, (name) =>
        withRetry(() =>
          api.patchNamespacedCustomObject(
            { group: 'argoproj.io', version: 'v1alpha1', namespace: NAMESPACE, plural: 'applications', name, body: { metadata: { annotations: { [ANNOTATIONS.argoRefresh]: null } } } },
            merge,
          ),
        ).then(() => undefined),
      );
      await until(() => refreshedCount() === 0, 'the annotations to be cleared');
      const delivery = githubPush({ repo: HOT_REPO, ref: 'refs/heads/main', after: randomBytes(20).toString('hex'), commits: [{ modified: ['deploy/values.yaml'] }] }, SECRET);
      const sent = performance.now();
      const status = await post(port, delivery.headers, delivery.body);
      answers.push(performance.now() - sent);
      if (status !== 202) throw new Error(`push answered ${status}`);
      await until(() => hot.every((name) => refreshOf.get(name) === 'normal'), 'the refresh annotations');
      latencies.push(performance.now() - sent);
      extra = Math.max(extra, refreshedCount() - hot.length);
    }
    finished = true;
    watch.abort();

    const latency: Distribution = distribution(latencies);
    const answer: Distribution = distribution(answers);
    log(`push → all ${options.matching} refresh annotations seen by a watch: p50 ${round(latency.p50)} ms, p95 ${round(latency.p95)} ms, p99 ${round(latency.p99)} ms, max ${round(latency.max)} ms (${latency.count} pushes)`);
    log(`push → 202 answer: p50 ${round(answer.p50)} ms, p99 ${round(answer.p99)} ms`);
    log(extra === 0 ? `no other of the ${options.apps} apps was ever refreshed` : `WRONG: up to ${extra} non-matching apps were refreshed`);
    printJson({
      bench: 'webhook',
      apps: options.apps,
      matching: options.matching,
      pushes: options.pushes,
      pushToPatchMs: { p50: round(latency.p50), p95: round(latency.p95), p99: round(latency.p99), max: round(latency.max), mean: round(latency.mean) },
      answerMs: { p50: round(answer.p50), p99: round(answer.p99) },
      nonMatchingRefreshed: extra,
      matchMicrosPerPush: Object.fromEntries(Object.entries(matchMicros).map(([count, micros]) => [count, round(micros, 1)])),
      machine: machine(),
    });
    if (extra !== 0) process.exitCode = 1;
  } finally {
    await operator?.stop();
    await cluster.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/webhook failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
