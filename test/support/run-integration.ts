// Starts one control plane for the whole integration run, installs the CRDs every
// test needs, runs ava against it, and always tears it down (also on Ctrl-C).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ControlPlane } from './controlplane/controlplane.js';
import { installBaseCrds, repoRoot } from './controlplane/install.js';

async function main(): Promise<number> {
  const cp = await ControlPlane.start();
  let child: ReturnType<typeof spawn> | undefined;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    process.stderr.write(`\n[integration] ${signal}: stopping tests and the control plane\n`);
    child?.kill(signal);
    void cp.stop().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    installBaseCrds(cp);
    process.stdout.write(`[integration] running against a real kube-apiserver ${cp.version} (etcd + kube-apiserver on loopback)\n`);
    const ava = join(repoRoot, 'node_modules/ava/entrypoints/cli.mjs');
    child = spawn(process.execPath, [ava, '--config', 'ava.integration.config.js', ...process.argv.slice(2)], {
      cwd: repoRoot,
      stdio: 'inherit',
      env: {
        ...process.env,
        HERALD_TEST_KUBECONFIG: cp.kubeconfigPath,
        HERALD_TEST_KUBECTL: cp.binaries.kubectl.path,
        HERALD_TEST_SERVER_VERSION: cp.version,
      },
    });
    const code = await new Promise<number>((done) => child!.once('exit', (c, s) => done(c ?? (s ? 1 : 0))));
    return interrupted ? 130 : code;
  } finally {
    if (!interrupted) await cp.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[integration] ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
