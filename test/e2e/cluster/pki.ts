// Client certificates for the node's components, signed by the control plane's CA
// (test/support/controlplane/pki.ts leaves ca.crt and ca.key in its folder).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface ClientCert {
  cert: string;
  key: string;
}

/** A client certificate with the given CN and O (Kubernetes' user and group). */
export function issueClientCert(caDir: string, outDir: string, name: string, commonName: string, organization?: string): ClientCert {
  const subject = organization ? `/O=${organization}/CN=${commonName}` : `/CN=${commonName}`;
  const cert = join(outDir, `${name}.crt`);
  const key = join(outDir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-CA', join(caDir, 'ca.crt'), '-CAkey', join(caDir, 'ca.key'),
      '-keyout', key, '-out', cert, '-subj', subject,
      '-addext', 'extendedKeyUsage=clientAuth',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { cert, key };
}

/** A kubeconfig for one component, with its certificate files referenced by path. */
export function componentKubeconfig(server: string, caFile: string, client: ClientCert): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: herald-e2e',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${caFile}`,
    'users:',
    '- name: component',
    '  user:',
    `    client-certificate: ${client.cert}`,
    `    client-key: ${client.key}`,
    'contexts:',
    '- name: herald-e2e',
    '  context:',
    '    cluster: herald-e2e',
    '    user: component',
    'current-context: herald-e2e',
    '',
  ].join('\n');
}
