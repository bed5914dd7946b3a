import { createHash } from 'node:crypto';
import { Agent as HttpsAgent } from 'node:https';
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

/**
 * A KubeConfig whose API calls share keep-alive connections. @kubernetes/client-node
 * 1.x builds a new https.Agent for every request, so every call pays a TCP connect,
 * a TLS handshake and a new SecureContext (parsing the client key and certificates);
 * here the agent is swapped for one kept per TLS identity (server, CA, client cert
 * and key, verification settings), so a changed credential still gets its own.
 * Watches (applyToFetchOptions) keep their own connection each, as before.
 */
export class KeepAliveKubeConfig extends KubeConfig {
  private readonly agents = new Map<string, HttpsAgent>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getAgent();
    // Only plain HTTPS agents: proxy agents (a subclass) and plain HTTP stay as they are.
    if (!fresh || fresh.constructor !== HttpsAgent || this.getCurrentCluster()?.proxyUrl) return;
    context.setAgent(this.shared(fresh as HttpsAgent));
  }

  private shared(fresh: HttpsAgent): HttpsAgent {
    const options = fresh.options;
    const hash = createHash('sha256');
    hash.update(this.getCurrentCluster()?.server ?? '');
    for (const value of [options.ca, options.cert, options.key, options.pfx, options.passphrase, options.servername, options.rejectUnauthorized]) {
      hash.update('\u0000');
      if (value !== undefined) hash.update(Array.isArray(value) ? value.map(String).join('\u0001') : String(value));
    }
    const key = hash.digest('hex');
    let agent = this.agents.get(key);
    if (!agent) {
      // A rotated credential replaces the old agent; requests still on it finish, and
      // the API server closes its idle connections.
      this.agents.clear();
      agent = new HttpsAgent({ ...options, keepAlive: true });
      this.agents.set(key, agent);
    }
    return agent;
  }
}

/**
 * Loads a kubeconfig file when given, else the default chain (KUBECONFIG, ~/.kube/config,
 * in-cluster), with keep-alive connections for API calls (KeepAliveKubeConfig).
 */
export function loadKubeConfig(path?: string): KeepAliveKubeConfig {
  const kc = new KeepAliveKubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}
