// API calls share keep-alive connections. @kubernetes/client-node 1.x makes a new
// https.Agent (so a new TCP + TLS connection) for every request; bench/engine's
// profile showed TLS setup as the operator's largest cost. Connections are counted
// at https.Agent.prototype.createConnection, against the real API server.
import test from 'ava';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../src/kube/client.js';
import { testCluster } from '../support/cluster.js';
import { connectionsOpenedBy } from '../support/connections.js';

function socketsOpenedBy(kc: KubeConfig, calls: number): Promise<number> {
  const api = kc.makeApiClient(CoreV1Api);
  return connectionsOpenedBy(async () => {
    for (let i = 0; i < calls; i++) await api.listNamespace({ limit: 1 });
  });
}

test.serial('herald’s kubeconfig reuses one connection for sequential API calls', async (t) => {
  const kc = loadKubeConfig(testCluster().kubeconfigPath);
  t.is(await socketsOpenedBy(kc, 10), 1);
});

test.serial('a plain client-node KubeConfig opens one connection per call (why herald wraps it)', async (t) => {
  const kc = new KubeConfig();
  kc.loadFromFile(testCluster().kubeconfigPath);
  t.is(await socketsOpenedBy(kc, 10), 10);
});
