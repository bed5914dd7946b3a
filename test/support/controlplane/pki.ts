// Certificates for a throw-away control plane: a CA, the API server's serving
// certificate, an admin client certificate (system:masters) and the service-account key.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'];

/** `extraSans`: more subjectAltName entries for the serving certificate, e.g. `IP:10.0.0.1`. */
export function generatePki(dir: string, extraSans: string[] = []): Pki {
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=herald-test-ca'], dir);
  openssl(
    [
      'req', '-x509', ...ec, '-CA', 'ca.crt', '-CAkey', 'ca.key',
      '-keyout', 'server.key', '-out', 'server.crt', '-subj', '/CN=kube-apiserver',
      '-addext', `subjectAltName=${['IP:127.0.0.1', 'DNS:localhost', 'DNS:kubernetes.default.svc', ...extraSans].join(',')}`,
      '-addext', 'extendedKeyUsage=serverAuth',
    ],
    dir,
  );
  openssl(
    [
      'req', '-x509', ...ec, '-CA', 'ca.crt', '-CAkey', 'ca.key',
      '-keyout', 'admin.key', '-out', 'admin.crt', '-subj', '/O=system:masters/CN=herald-test-admin',
      '-addext', 'extendedKeyUsage=clientAuth',
    ],
    dir,
  );
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFileSync(join(dir, 'sa.key'), privateKey, { mode: 0o600 });
  writeFileSync(join(dir, 'sa.pub'), publicKey);
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return {
    caCert: read('ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    adminCert: read('admin.crt'),
    adminKey: read('admin.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
  };
}

export function kubeconfigYaml(server: string, pki: Pki): string {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: herald-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(pki.caCert)}`,
    'users:',
    '- name: herald-test-admin',
    '  user:',
    `    client-certificate-data: ${b64(pki.adminCert)}`,
    `    client-key-data: ${b64(pki.adminKey)}`,
    'contexts:',
    '- name: herald-test',
    '  context:',
    '    cluster: herald-test',
    '    user: herald-test-admin',
    'current-context: herald-test',
    '',
  ].join('\n');
}
