// A real single-node cluster: etcd and kube-apiserver (test/support/controlplane),
// kube-controller-manager, kube-scheduler, containerd + runc, the CNI bridge, host-local
// and loopback plugins, kubelet and kube-proxy. It runs inside the private network and
// mount namespaces that cli.ts made (the node's whole network is a bridge in there, so
// nothing can leave the machine, and every mount goes away with the namespace).
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { ControlPlane } from '../../support/controlplane/controlplane.js';
import { resolveNodeBinaries, type NodeBinaries } from '../../support/controlplane/binaries.js';
import { freePorts } from '../../support/net.js';
import { spawnTied, terminate } from '../../support/process.js';
import { sleep } from '../../support/wait.js';
import { componentKubeconfig, issueClientCert } from './pki.js';
import { containerdConfig, cniConfig, kubeletConfig, kubeProxyConfig } from './configs.js';
import { BRIDGE, NODE_IP, NODE_NAME, POD_CIDR, SERVICE_CIDR, KUBERNETES_SERVICE_IP } from './network.js';

export interface NodeOptions {
  /** The run's folder (cli.ts made it); everything of the node goes below it. */
  dir: string;
  /** kubelet's cgroupRoot: the run's cgroup. */
  cgroup: string;
  /** OCI archives to import into containerd before kubelet starts (the pause image among them). */
  images: Array<{ archive: string; name: string }>;
  pauseImage: string;
  log?: (line: string) => void;
}

/** Folders that must not be shared with the host; a tmpfs over each, in this mount namespace. */
const privateDirs = ['/run/netns', '/run/containerd', '/var/lib/cni', '/var/log'];

function sh(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr ?? ''}${result.error?.message ?? ''}`);
  return result.stdout;
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export class SingleNodeCluster {
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    readonly controlPlane: ControlPlane,
    readonly binaries: NodeBinaries,
    readonly containerdSocket: string,
    private readonly processes: Array<{ name: string; child: ChildProcess }>,
  ) {}

  get kubeconfigPath(): string {
    return this.controlPlane.kubeconfigPath;
  }

  static async start(options: NodeOptions): Promise<SingleNodeCluster> {
    const log = options.log ?? ((line: string) => process.stderr.write(`[cluster] ${line}\n`));
    const started = Date.now();
    const binaries = resolveNodeBinaries();
    const { dir } = options;
    const logs = join(dir, 'logs');
    mkdirSync(logs, { recursive: true });
    setUpNamespaces();
    const processes: Array<{ name: string; child: ChildProcess }> = [];
    const launch = (name: string, binary: string, args: string[]) => {
      const out = createWriteStream(join(logs, `${name}.log`));
      const child = spawnTied(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.pipe(out);
      child.stderr?.pipe(out);
      processes.push({ name, child });
      return child;
    };
    const cp = await ControlPlane.start({
      dir: join(dir, 'controlplane'),
      serverSans: [`IP:${NODE_IP}`, `IP:${KUBERNETES_SERVICE_IP}`, 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc.cluster.local'],
      apiserverArgs: [
        // Inside the node's own network namespace: loopback and the pod bridge only.
        '--bind-address=0.0.0.0',
        `--advertise-address=${NODE_IP}`,
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        `--kubelet-client-certificate=${join(dir, 'controlplane', 'admin.crt')}`,
        `--kubelet-client-key=${join(dir, 'controlplane', 'admin.key')}`,
        '--kubelet-preferred-address-types=InternalIP',
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
      ],
      log,
    });
    try {
      const caDir = cp.dir;
      const pkiDir = join(dir, 'pki');
      mkdirSync(pkiDir, { recursive: true });
      const kubeconfig = (name: string, cn: string, org?: string) => {
        const file = join(pkiDir, `${name}.kubeconfig`);
        writeFileSync(file, componentKubeconfig(cp.server, join(caDir, 'ca.crt'), issueClientCert(caDir, pkiDir, name, cn, org)), { mode: 0o600 });
        return file;
      };
      const kcmKubeconfig = kubeconfig('kube-controller-manager', 'system:kube-controller-manager');
      const schedulerKubeconfig = kubeconfig('kube-scheduler', 'system:kube-scheduler');
      const kubeletKubeconfig = kubeconfig('kubelet', `system:node:${NODE_NAME}`, 'system:nodes');
      const proxyKubeconfig = kubeconfig('kube-proxy', 'system:kube-proxy');
      const [kubeletHealthz, proxyHealthz, proxyMetrics, kubeletPort] = await freePorts(4);

      launch('kube-controller-manager', binaries['kube-controller-manager'].path, [
        `--kubeconfig=${kcmKubeconfig}`,
        `--authentication-kubeconfig=${kcmKubeconfig}`,
        `--authorization-kubeconfig=${kcmKubeconfig}`,
        '--bind-address=127.0.0.1',
        '--secure-port=0',
        '--leader-elect=false',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${cp.pki.serviceAccountKey}`,
        `--root-ca-file=${join(caDir, 'ca.crt')}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--controllers=*,-bootstrapsigner,-tokencleaner',
      ]);
      launch('kube-scheduler', binaries['kube-scheduler'].path, [
        `--kubeconfig=${schedulerKubeconfig}`,
        `--authentication-kubeconfig=${schedulerKubeconfig}`,
        `--authorization-kubeconfig=${schedulerKubeconfig}`,
        '--bind-address=127.0.0.1',
        '--secure-port=0',
        '--leader-elect=false',
      ]);

      const containerdDir = join(dir, 'containerd');
      mkdirSync(containerdDir, { recursive: true });
      const socket = join(containerdDir, 'containerd.sock');
      const cniConfDir = join(dir, 'cni', 'net.d');
      mkdirSync(cniConfDir, { recursive: true });
      writeFileSync(join(cniConfDir, '10-herald-e2e.conflist'), cniConfig(join(dir, 'cni', 'ipam')));
      writeFileSync(join(containerdDir, 'config.toml'), containerdConfig({ dir: containerdDir, socket, cniConfDir, pauseImage: options.pauseImage }));
      launch('containerd', '/usr/bin/containerd', ['--config', join(containerdDir, 'config.toml')]);
      await waitUntil(() => ctr(socket, ['version']).ok, 'containerd to answer', 60_000, () => tail(join(logs, 'containerd.log')));
      for (const image of options.images) importImage(socket, image.archive);

      const kubeletDir = join(dir, 'kubelet');
      mkdirSync(join(kubeletDir, 'pod-logs'), { recursive: true });
      writeFileSync(join(kubeletDir, 'resolv.conf'), '');
      writeFileSync(
        join(kubeletDir, 'config.yaml'),
        kubeletConfig({
          cgroupRoot: options.cgroup,
          socket,
          caFile: join(caDir, 'ca.crt'),
          healthzPort: kubeletHealthz!,
          port: kubeletPort!,
          podLogsDir: join(kubeletDir, 'pod-logs'),
          resolvConf: join(kubeletDir, 'resolv.conf'),
        }),
      );
      launch('kubelet', binaries.kubelet.path, [
        `--config=${join(kubeletDir, 'config.yaml')}`,
        `--kubeconfig=${kubeletKubeconfig}`,
        `--root-dir=${join(kubeletDir, 'root')}`,
        `--cert-dir=${join(kubeletDir, 'pki')}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${NODE_IP}`,
        '--v=1',
      ]);
      const proxyConfig = join(dir, 'kube-proxy.yaml');
      writeFileSync(proxyConfig, kubeProxyConfig({ kubeconfig: proxyKubeconfig, healthzPort: proxyHealthz!, metricsPort: proxyMetrics! }));
      launch('kube-proxy', binaries['kube-proxy'].path, [`--config=${proxyConfig}`]);

      const cluster = new SingleNodeCluster(dir, cp, binaries, socket, processes);
      await cluster.waitHealthy(logs);
      log(`single-node cluster ${cp.version} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (node ${NODE_NAME} ${NODE_IP}, pods ${POD_CIDR}, services ${SERVICE_CIDR})`);
      return cluster;
    } catch (error) {
      for (const { child } of [...processes].reverse()) await terminate(child, 5000);
      await cp.stop();
      throw error;
    }
  }

  private async waitHealthy(logs: string): Promise<void> {
    const exitedEarly = () => {
      for (const { name, child } of this.processes) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}):\n${tail(join(logs, `${name}.log`))}`);
        }
      }
    };
    const cp = this.controlPlane;
    await waitUntil(
      () => {
        exitedEarly();
        const out = cp.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return out.status === 0 && out.stdout.trim() === 'True';
      },
      `node ${NODE_NAME} to be Ready`,
      180_000,
      () => tail(join(logs, 'kubelet.log')),
    );
    // Pods need their ServiceAccount and the cluster CA ConfigMap (kube-controller-manager),
    // and the kubernetes Service routed (kube-proxy).
    await waitUntil(
      () => {
        exitedEarly();
        return cp.kubectl(['get', 'serviceaccount', 'default', '-n', 'default']).status === 0 && cp.kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', 'default']).status === 0;
      },
      'the default ServiceAccount and kube-root-ca.crt',
      120_000,
      () => tail(join(logs, 'kube-controller-manager.log')),
    );
    await waitUntil(
      async () => {
        exitedEarly();
        return (await probe(`https://${KUBERNETES_SERVICE_IP}:443/readyz`)) !== undefined;
      },
      `the kubernetes Service (${KUBERNETES_SERVICE_IP}:443) to route to the API server`,
      120_000,
      () => tail(join(logs, 'kube-proxy.log')),
    );
  }

  /** Runs kubectl against the cluster. */
  kubectl(args: string[], input?: string) {
    return this.controlPlane.kubectl(args, input);
  }

  kubectlOrThrow(args: string[], input?: string): string {
    return this.controlPlane.kubectlOrThrow(args, input);
  }

  /** Stops the node's processes, then the control plane. Containers are left to the reaper (cli.ts). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const { child } of [...this.processes].reverse()) await terminate(child, 10_000);
      await this.controlPlane.stop();
    })();
    return this.stopping;
  }
}

/** Loopback up, the pod bridge with the node's address, forwarding; private folders. */
function setUpNamespaces(): void {
  sh('ip', ['link', 'set', 'lo', 'up']);
  sh('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  sh('ip', ['addr', 'add', `${NODE_IP}/${POD_CIDR.split('/')[1]}`, 'dev', BRIDGE]);
  sh('ip', ['link', 'set', BRIDGE, 'up']);
  // The namespace has no default route: without this one, a connection to a Service IP
  // from the node itself fails before kube-proxy's rules can rewrite it.
  sh('ip', ['route', 'add', SERVICE_CIDR, 'dev', BRIDGE, 'src', NODE_IP]);
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  // kube-proxy's rules must see pod-to-pod traffic through a Service on the same bridge.
  if (existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) writeFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', '1');
  for (const dir of privateDirs) {
    mkdirSync(dir, { recursive: true });
    sh('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', dir]);
  }
}

export function ctr(socket: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { encoding: 'utf8', timeout: 300_000 });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

export function importImage(socket: string, archive: string): void {
  const result = ctr(socket, ['images', 'import', '--all-platforms', archive]);
  if (!result.ok) throw new Error(`ctr images import ${archive} failed: ${result.output}`);
}

/** GET over TLS without verifying (only reachability matters); the status, or undefined. */
function probe(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function waitUntil(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs: number, diagnose: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}:\n${diagnose()}`);
    await sleep(500);
  }
}
