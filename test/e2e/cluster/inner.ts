// The node's side of a cluster run (run.ts starts it in the run's cgroup and in new
// network and mount namespaces): starts the cluster, runs the command, stops.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SingleNodeCluster } from './node.js';
import { NODE_IP } from './network.js';

interface InnerArgs {
  dir: string;
  cgroup: string;
  images: Array<{ archive: string; name: string }>;
  pauseImage: { archive: string; name: string };
}

async function main(): Promise<number> {
  const args = JSON.parse(process.argv[2]!) as InnerArgs;
  // The runner signals this process directly (unshare does not forward signals).
  writeFileSync(join(args.dir, 'inner.pid'), String(process.pid));
  const command = process.argv.slice(3);
  let child: ChildProcess | undefined;
  let interrupted = false;
  let cluster: SingleNodeCluster | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n[cluster] ${signal}: stopping\n`);
    if (child) child.kill(signal);
    else void (cluster?.stop() ?? Promise.resolve()).then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  cluster = await SingleNodeCluster.start({
    dir: args.dir,
    cgroup: args.cgroup,
    images: [args.pauseImage, ...args.images],
    pauseImage: args.pauseImage.name,
  });
  if (interrupted) {
    await cluster.stop();
    return 130;
  }
  try {
    if (command.length === 0) return 0;
    child = spawn(command[0]!, command.slice(1), {
      stdio: 'inherit',
      env: {
        ...process.env,
        HERALD_E2E_DIR: args.dir,
        HERALD_E2E_KUBECONFIG: cluster.kubeconfigPath,
        HERALD_E2E_KUBECTL: cluster.controlPlane.binaries.kubectl.path,
        HERALD_E2E_SERVER_VERSION: cluster.controlPlane.version,
        HERALD_E2E_NODE_IP: NODE_IP,
        HERALD_E2E_CONTAINERD: cluster.containerdSocket,
        HERALD_E2E_IMAGES: JSON.stringify(args.images),
        HERALD_E2E_PAUSE_IMAGE: args.pauseImage.name,
        HERALD_E2E_CGROUP: args.cgroup,
        // test/support's helpers (testCluster, createTestNamespace, scenario) read these.
        HERALD_TEST_KUBECONFIG: cluster.kubeconfigPath,
        HERALD_TEST_KUBECTL: cluster.controlPlane.binaries.kubectl.path,
        HERALD_TEST_SERVER_VERSION: cluster.controlPlane.version,
      },
    });
    const code = await new Promise<number>((resolve) => child!.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
    return interrupted ? 130 : code;
  } finally {
    await cluster.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[cluster] ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
