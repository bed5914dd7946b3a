// `make controlplane-binaries` and `make controlplane-up`: prepare the binaries, or
// start a control plane by hand for debugging and keep it until Ctrl-C.
import { ControlPlane } from './controlplane.js';
import { binaryCacheDir, resolveBinaries, resolveNodeBinaries, resolvePrometheus } from './binaries.js';
import { installBaseCrds } from './install.js';

const usage = `usage: node build/test/support/controlplane/cli.js <command>

commands:
  binaries   find or build etcd, kube-apiserver and kubectl; print where they are
  node-binaries
             the same for kube-controller-manager, kube-scheduler, kube-proxy and
             kubelet (the single-node cluster of test/e2e), and prometheus with
             Kubernetes service discovery
  up         start etcd + kube-apiserver on loopback with the CRDs installed,
             print the kubeconfig path, and run until Ctrl-C

environment:
  KUBEBUILDER_ASSETS  folder with etcd, kube-apiserver and kubectl to use as they are
  HERALD_CACHE_DIR    where built binaries are cached (default ~/.cache/herald)`;

async function main(): Promise<number> {
  const command = process.argv[2];
  if (command === 'binaries') {
    const binaries = resolveBinaries();
    for (const [name, binary] of Object.entries(binaries)) process.stdout.write(`${name}\t${binary.source}\t${binary.path}\n`);
    process.stdout.write(`cache\t${binaryCacheDir()}\n`);
    return 0;
  }
  if (command === 'node-binaries') {
    for (const [name, binary] of Object.entries(resolveNodeBinaries())) process.stdout.write(`${name}\t${binary.source}\t${binary.path}\n`);
    const prometheus = resolvePrometheus();
    process.stdout.write(`prometheus\t${prometheus.source}\t${prometheus.path}\n`);
    return 0;
  }
  if (command === 'up') {
    const cp = await ControlPlane.start();
    installBaseCrds(cp);
    process.stdout.write(`control plane ${cp.version} at ${cp.server}\nexport KUBECONFIG=${cp.kubeconfigPath}\nPress Ctrl-C to stop.\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await cp.stop();
    return 0;
  }
  process.stdout.write(`${usage}\n`);
  return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
