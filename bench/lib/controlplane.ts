// A real etcd + kube-apiserver for a benchmark (the same one the integration tests
// use), with herald's CRDs and the Argo CD Application CRD installed, stopped on
// exit and on Ctrl-C.
import { loadKubeConfig, type KeepAliveKubeConfig } from '../../src/kube/client.js';
import { ControlPlane } from '../../test/support/controlplane/controlplane.js';
import { installBaseCrds } from '../../test/support/controlplane/install.js';

export interface BenchCluster {
  cp: ControlPlane;
  /** Keep-alive connections, so the load generator spends little CPU on TLS. */
  kc: KeepAliveKubeConfig;
  stop(): Promise<void>;
}

export async function startBenchCluster(log: (line: string) => void): Promise<BenchCluster> {
  const cp = await ControlPlane.start({ log });
  const stop = () => cp.stop();
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the control plane`);
    void stop().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  installBaseCrds(cp);
  const kc = loadKubeConfig(cp.kubeconfigPath);
  return { cp, kc, stop };
}
