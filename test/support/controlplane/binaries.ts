// Finds or builds the control-plane binaries: KUBEBUILDER_ASSETS first, then PATH,
// then a per-version cache outside the clone, built from the Go module proxy on a miss.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ETCD_VERSION, KUBERNETES_VERSION, PROMETHEUS_MODULE_VERSION } from './versions.js';

export type BinaryName = 'etcd' | 'kube-apiserver' | 'kubectl';
/** The rest of a single-node cluster (test/e2e), built from the same Kubernetes module. */
export type NodeBinaryName = 'kube-controller-manager' | 'kube-scheduler' | 'kube-proxy' | 'kubelet';
type AnyBinaryName = BinaryName | NodeBinaryName | 'prometheus';

export interface ResolvedBinary {
  path: string;
  source: 'KUBEBUILDER_ASSETS' | 'PATH' | 'cache' | 'built';
}

export type ControlPlaneBinaries = Record<BinaryName, ResolvedBinary>;
export type NodeBinaries = Record<NodeBinaryName, ResolvedBinary>;

const here = dirname(fileURLToPath(import.meta.url));
/** Source folder of the Go tool modules (works from build/ and from the source tree). */
function toolsDir(): string {
  const candidates = [join(here, 'tools'), resolve(here, '../../../../test/support/controlplane/tools')];
  for (const candidate of candidates) {
    if (existsSync(join(candidate, 'kubernetes', 'go.mod'))) return candidate;
  }
  throw new Error(`cannot find the control-plane tool modules (looked in ${candidates.join(', ')})`);
}

export function cacheRoot(): string {
  if (process.env.HERALD_CACHE_DIR) return process.env.HERALD_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'herald');
}

export function binaryCacheDir(): string {
  return join(cacheRoot(), 'controlplane', `kubernetes-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_${process.platform}-${process.arch}`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Minor version a binary reports, e.g. 36 for v1.36.3; undefined when it cannot tell. */
export function reportedMinor(name: AnyBinaryName, path: string): number | undefined {
  const args = name === 'kubectl' ? ['version', '--client', '-o', 'json'] : ['--version'];
  const result = spawnSync(path, args, { encoding: 'utf8', timeout: 20_000 });
  const text = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  const match = name === 'kubectl' ? /"minor":\s*"(\d+)/.exec(text) : /v?1\.(\d+)\.\d+/.exec(text);
  return match ? Number(match[1]) : undefined;
}

const pinnedMinor = Number(/^v1\.(\d+)\./.exec(KUBERNETES_VERSION)![1]);

/** PATH binaries are used only within kubectl's supported skew of the pinned server. */
function acceptableFromPath(name: AnyBinaryName, path: string): boolean {
  if (name === 'etcd') return true;
  // A node runs the server's own version: kubelet and friends must match the pinned minor.
  if (name !== 'kube-apiserver' && name !== 'kubectl') return reportedMinor(name, path) === pinnedMinor;
  const minor = reportedMinor(name, path);
  return minor !== undefined && Math.abs(minor - pinnedMinor) <= 1;
}

// A plain `go build` reports v0.0.0-master; these are the variables Kubernetes' own
// release build stamps, so that the binaries name their real version.
const kubernetesVersionFlags = (() => {
  const [major, minor] = KUBERNETES_VERSION.slice(1).split('.');
  const vars = { gitVersion: KUBERNETES_VERSION, gitMajor: major, gitMinor: minor, gitTreeState: 'clean' };
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) =>
    Object.entries(vars).map(([name, value]) => `-X ${pkg}.${name}=${value}`),
  );
})();

const kubernetesTarget = (cmd: string) => ({ module: 'kubernetes', pkg: `k8s.io/kubernetes/cmd/${cmd}`, ldflags: kubernetesVersionFlags });

/** Prometheus v3.MM.P for module version v0.3MM.P. */
const prometheusVersion = PROMETHEUS_MODULE_VERSION.replace(/^v0\.3(\d\d)\./, (_, minor: string) => `3.${Number(minor)}.`).replace(/^v/, '');

const buildTargets: Record<AnyBinaryName, { module: string; pkg: string; ldflags: string[]; tags?: string[] }> = {
  etcd: { module: 'etcd', pkg: 'go.etcd.io/etcd/server/v3', ldflags: [] },
  'kube-apiserver': kubernetesTarget('kube-apiserver'),
  kubectl: kubernetesTarget('kubectl'),
  'kube-controller-manager': kubernetesTarget('kube-controller-manager'),
  'kube-scheduler': kubernetesTarget('kube-scheduler'),
  'kube-proxy': kubernetesTarget('kube-proxy'),
  kubelet: kubernetesTarget('kubelet'),
  // Only the Kubernetes service discovery (Prometheus' own build tags): what the e2e needs, and
  // a fraction of the full build. Debian's prometheus is built without it.
  prometheus: {
    module: 'prometheus',
    pkg: 'github.com/prometheus/prometheus/cmd/prometheus',
    ldflags: [`-X github.com/prometheus/common/version.Version=${prometheusVersion}`],
    tags: ['remove_all_sd', 'enable_kubernetes_sd'],
  },
};

function log(message: string): void {
  process.stderr.write(`[controlplane] ${message}\n`);
}

/** Builds one binary into the cache; a lock directory keeps parallel callers from building twice. */
function build(name: AnyBinaryName, dir = binaryCacheDir()): string {
  mkdirSync(dir, { recursive: true });
  const target = join(dir, name);
  const lock = join(dir, `.${name}.lock`);
  const deadline = Date.now() + 60 * 60 * 1000;
  for (;;) {
    if (isExecutable(target)) return target;
    try {
      mkdirSync(lock);
      break;
    } catch {
      const holder = statSync(lock, { throwIfNoEntry: false });
      // A lock older than any real build was left by a killed run.
      if (holder && Date.now() - holder.mtimeMs > 45 * 60 * 1000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for another build of ${name} (lock ${lock})`);
      execFileSync('sleep', ['2']);
    }
  }
  try {
    if (isExecutable(target)) return target;
    if (!onPath('go')) {
      throw new Error(
        `${name} not found in KUBEBUILDER_ASSETS, on PATH or in ${dir}, and Go is not installed to build it. ` +
          'Install Go, or set KUBEBUILDER_ASSETS to a folder holding etcd, kube-apiserver and kubectl.',
      );
    }
    const { module, pkg, ldflags, tags } = buildTargets[name];
    const started = Date.now();
    log(`building ${name} (${pkg}) from the Go module proxy; this happens once per version`);
    const temp = `${target}.tmp-${process.pid}`;
    const result = spawnSync('go', ['build', '-trimpath', ...(tags ? [`-tags=${tags.join(',')}`] : []), `-ldflags=-s -w ${ldflags.join(' ')}`, '-o', temp, pkg], {
      cwd: join(toolsDir(), module),
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' },
    });
    if (result.status !== 0) throw new Error(`go build of ${pkg} failed (exit ${result.status ?? result.signal})`);
    renameSync(temp, target);
    log(`built ${name} in ${((Date.now() - started) / 1000).toFixed(0)} s → ${target}`);
    return target;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function resolveOne(name: AnyBinaryName): ResolvedBinary {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets) {
    const candidate = join(assets, name);
    if (isExecutable(candidate)) return { path: candidate, source: 'KUBEBUILDER_ASSETS' };
  }
  const fromPath = onPath(name);
  if (fromPath && acceptableFromPath(name, fromPath)) return { path: fromPath, source: 'PATH' };
  const cached = join(binaryCacheDir(), name);
  if (isExecutable(cached)) return { path: cached, source: 'cache' };
  return { path: build(name), source: 'built' };
}

export function resolveBinaries(): ControlPlaneBinaries {
  return {
    etcd: resolveOne('etcd'),
    'kube-apiserver': resolveOne('kube-apiserver'),
    kubectl: resolveOne('kubectl'),
  };
}

/** kube-controller-manager, kube-scheduler, kube-proxy and kubelet for test/e2e's node. */
export function resolveNodeBinaries(): NodeBinaries {
  return {
    'kube-controller-manager': resolveOne('kube-controller-manager'),
    'kube-scheduler': resolveOne('kube-scheduler'),
    'kube-proxy': resolveOne('kube-proxy'),
    kubelet: resolveOne('kubelet'),
  };
}

export function prometheusCacheDir(): string {
  return join(cacheRoot(), 'prometheus', `prometheus-${PROMETHEUS_MODULE_VERSION}_${process.platform}-${process.arch}`);
}

/**
 * Prometheus with kubernetes_sd_configs for test/e2e, from the cache or built from the
 * pinned module (tools/prometheus). Never from PATH: Debian's prometheus is built without
 * Kubernetes service discovery ("field kubernetes_sd_configs not found").
 */
export function resolvePrometheus(): ResolvedBinary {
  const cached = join(prometheusCacheDir(), 'prometheus');
  if (isExecutable(cached)) return { path: cached, source: 'cache' };
  return { path: build('prometheus', prometheusCacheDir()), source: 'built' };
}
