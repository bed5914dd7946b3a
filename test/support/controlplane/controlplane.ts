// A real etcd + kube-apiserver on loopback for tests and the demo.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../net.js';
import { spawnTied, terminate } from '../process.js';
import { resolveBinaries, type ControlPlaneBinaries } from './binaries.js';
import { generatePki, kubeconfigYaml, type Pki } from './pki.js';

export interface ControlPlaneOptions {
  /** Working folder (certificates, etcd data, logs); a fresh temp folder by default. */
  dir?: string;
  /** Extra kube-apiserver flags (they come last, so they override the defaults). */
  apiserverArgs?: string[];
  /** More subjectAltNames for the API server's certificate (test/e2e's node reaches it by other names). */
  serverSans?: string[];
  log?: (line: string) => void;
}

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

export class ControlPlane {
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    readonly server: string,
    readonly kubeconfigPath: string,
    readonly version: string,
    readonly binaries: ControlPlaneBinaries,
    readonly pki: Pki,
    private readonly processes: ChildProcess[],
  ) {}

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const log = options.log ?? ((line: string) => process.stderr.write(`[controlplane] ${line}\n`));
    const binaries = resolveBinaries();
    removeStaleDirs();
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'herald-cp-'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'owner.pid'), String(process.pid));
    const pki = generatePki(dir, options.serverSans);
    const [etcdClientPort, etcdPeerPort, apiserverPort] = await freePorts(3);
    const processes: ChildProcess[] = [];
    const started = Date.now();
    try {
      const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
      const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
      processes.push(
        launch(binaries.etcd.path, [
          '--name=default',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=default=${peerUrl}`,
          '--unsafe-no-fsync=true',
          '--quota-backend-bytes=8589934592',
          '--log-level=warn',
        ], join(dir, 'etcd.log')),
      );
      // A flag given in apiserverArgs replaces the default (list flags would add up).
      const overridden = new Set((options.apiserverArgs ?? []).map((arg) => arg.split('=')[0]));
      const byDefault = (args: string[]) => args.filter((arg) => !overridden.has(arg.split('=')[0]));
      processes.push(
        launch(binaries['kube-apiserver'].path, [
          ...byDefault([
            `--etcd-servers=${etcdUrl}`,
            '--bind-address=127.0.0.1',
            '--advertise-address=127.0.0.1',
            `--secure-port=${apiserverPort}`,
            `--cert-dir=${join(dir, 'apiserver-certs')}`,
            `--tls-cert-file=${pki.serverCert}`,
            `--tls-private-key-file=${pki.serverKey}`,
            `--client-ca-file=${join(dir, 'ca.crt')}`,
            '--service-account-issuer=https://kubernetes.default.svc',
            `--service-account-key-file=${pki.serviceAccountPub}`,
            `--service-account-signing-key-file=${pki.serviceAccountKey}`,
            '--service-cluster-ip-range=10.0.0.0/24',
            '--authorization-mode=RBAC',
            '--allow-privileged=true',
            '--enable-priority-and-fairness=false',
            '--profiling=false',
          ]),
          ...(options.apiserverArgs ?? []),
        ], join(dir, 'kube-apiserver.log')),
      );
      const server = `https://127.0.0.1:${apiserverPort}`;
      await waitReady(server, pki, processes, dir);
      const version = await getVersion(server, pki);
      const kubeconfigPath = join(dir, 'kubeconfig');
      writeFileSync(kubeconfigPath, kubeconfigYaml(server, pki), { mode: 0o600 });
      log(`kube-apiserver ${version} ready at ${server} in ${((Date.now() - started) / 1000).toFixed(1)} s (etcd ${binaries.etcd.source}, kube-apiserver ${binaries['kube-apiserver'].source}, kubectl ${binaries.kubectl.source})`);
      return new ControlPlane(dir, server, kubeconfigPath, version, binaries, pki, processes);
    } catch (error) {
      await Promise.all(processes.map((child) => terminate(child, 2000)));
      throw error;
    }
  }

  get pids(): number[] {
    return this.processes.map((child) => child.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** Runs the matching kubectl against this control plane. */
  kubectl(args: string[], input?: string): CommandResult {
    const result = spawnSync(this.binaries.kubectl.path, ['--kubeconfig', this.kubeconfigPath, ...args], {
      input,
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  }

  /** Like kubectl(), but throws with kubectl's own message on a non-zero exit. */
  kubectlOrThrow(args: string[], input?: string): string {
    const result = this.kubectl(args, input);
    if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
    return result.stdout;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // The API server first, so that it does not log etcd errors while going down.
      for (const child of [...this.processes].reverse()) await terminate(child, 10_000);
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

/**
 * A run killed with SIGKILL takes its servers with it (pdeathsig) but cannot remove its
 * folder; the next start removes folders whose owning process is gone (a folder without
 * its owner.pid yet is being set up and is left alone).
 */
export function removeStaleDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('herald-cp-')) continue;
    const dir = join(tmpdir(), name);
    try {
      const owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
      if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // not ours, or already gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function launch(binary: string, args: string[], logFile: string): ChildProcess {
  const out = createWriteStream(logFile);
  const child = spawnTied(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return child;
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function get(server: string, path: string, pki: Pki): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}${path}`,
      { ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function waitReady(server: string, pki: Pki, processes: ChildProcess[], dir: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = '';
  while (Date.now() < deadline) {
    for (const child of processes) {
      if (child.exitCode !== null || child.signalCode !== null) {
        const name = child === processes[0] ? 'etcd' : 'kube-apiserver';
        throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) during start:\n${tail(join(dir, `${name}.log`))}`);
      }
    }
    try {
      const res = await get(server, '/readyz', pki);
      if (res.status === 200) return;
      last = `${res.status} ${res.body.slice(0, 500)}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`kube-apiserver not ready after 120 s (last answer: ${last}):\n${tail(join(dir, 'kube-apiserver.log'))}`);
}

async function getVersion(server: string, pki: Pki): Promise<string> {
  const res = await get(server, '/version', pki);
  return (JSON.parse(res.body) as { gitVersion: string }).gitVersion;
}
