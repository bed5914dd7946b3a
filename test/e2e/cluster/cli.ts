// The e2e cluster by hand and for scripts:
//   node build/test/e2e/cluster/cli.js run [--image ARCHIVE=NAME]... -- COMMAND...
//   node build/test/e2e/cluster/cli.js up [--image ARCHIVE=NAME]...
import { ensureDebianTools, imageTools } from '../support/debian.js';
import { ensurePauseImage } from './pause-image.js';
import { runInCluster } from './run.js';

const usage = `usage: node build/test/e2e/cluster/cli.js <command> [--image ARCHIVE=NAME]... [-- COMMAND...]

commands:
  run   start a single-node cluster (etcd, kube-apiserver, kube-controller-manager,
        kube-scheduler, containerd, kubelet, kube-proxy) in its own network and mount
        namespaces, run COMMAND in there with HERALD_E2E_KUBECONFIG, HERALD_E2E_KUBECTL,
        HERALD_E2E_NODE_IP, ... set, then tear everything down; exits with COMMAND's code
  up    the same, and keep it until Ctrl-C; it prints how to reach it (nsenter)

options:
  --image ARCHIVE=NAME   import this OCI archive into the node's containerd as NAME

Needs root. Nothing is left behind, even when this process is killed (a reaper cleans up).`;

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  if (command !== 'run' && command !== 'up') {
    process.stdout.write(`${usage}\n`);
    return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
  }
  const images: Array<{ archive: string; name: string }> = [];
  let i = 0;
  for (; i < rest.length && rest[i] !== '--'; i++) {
    if (rest[i] === '--image' && rest[i + 1]?.includes('=')) {
      const [archive, name] = rest[++i]!.split('=') as [string, string];
      images.push({ archive, name });
    } else {
      process.stderr.write(`unknown argument ${rest[i]}\n${usage}\n`);
      return 2;
    }
  }
  const inner = rest.slice(i + 1);
  ensureDebianTools(imageTools);
  const pause = ensurePauseImage();
  const hold = [
    'sh',
    '-c',
    'echo "cluster up. From another shell: nsenter --target $$ --net --mount -- $HERALD_E2E_KUBECTL --kubeconfig $HERALD_E2E_KUBECONFIG get nodes"; echo "Press Ctrl-C to stop."; exec sleep infinity',
  ];
  if (command === 'run' && inner.length === 0) {
    process.stderr.write(`run needs a command after --\n${usage}\n`);
    return 2;
  }
  return runInCluster({ images, command: command === 'up' ? hold : inner }, pause);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[cluster] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
