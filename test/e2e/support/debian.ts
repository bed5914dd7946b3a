// The e2e tools are Debian packages (containerd, runc, CNI plugins, buildah, mmdebstrap,
// iptables, conntrack). Prometheus is not among them: Debian builds it without Kubernetes
// service discovery (test/support/controlplane/binaries.ts builds it). A fresh CI machine
// of this kind has none of them, so every entry point installs what it needs with
// apt-get: `apt-get update` once, then install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface DebianTool {
  /** A file the package installs; present means installed. */
  file: string;
  package: string;
}

function missing(tools: DebianTool[]): DebianTool[] {
  return tools.filter((tool) => !existsSync(tool.file));
}

function aptGet(args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('apt-get', args, {
    encoding: 'utf8',
    timeout: 15 * 60_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}` };
}

/** Installs the packages of the tools that are missing; throws with apt's own words. */
export function ensureDebianTools(tools: DebianTool[], log: (line: string) => void = () => undefined): void {
  const needed = missing(tools);
  if (needed.length === 0) return;
  const packages = [...new Set(needed.map((tool) => tool.package))];
  if (process.getuid?.() !== 0) {
    throw new Error(`missing ${packages.join(', ')}: install them with apt-get (as root), or run this as root`);
  }
  log(`installing Debian packages: ${packages.join(' ')}`);
  const install = ['install', '-y', '--no-install-recommends', ...packages];
  let result = aptGet(install);
  if (!result.ok) {
    // A fresh machine has no package lists yet.
    const update = aptGet(['update']);
    if (!update.ok) throw new Error(`apt-get update failed:\n${update.output.slice(-2000)}`);
    result = aptGet(install);
  }
  if (!result.ok) throw new Error(`apt-get ${install.join(' ')} failed:\n${result.output.slice(-2000)}`);
  const still = missing(tools);
  if (still.length > 0) throw new Error(`apt-get installed ${packages.join(', ')} but ${still.map((t) => t.file).join(', ')} is still missing`);
}

export const imageTools: DebianTool[] = [
  { file: '/usr/bin/buildah', package: 'buildah' },
  { file: '/usr/bin/mmdebstrap', package: 'mmdebstrap' },
  { file: '/usr/sbin/runc', package: 'runc' },
];

export const clusterTools: DebianTool[] = [
  { file: '/usr/bin/containerd', package: 'containerd' },
  { file: '/usr/sbin/runc', package: 'runc' },
  { file: '/usr/lib/cni/bridge', package: 'containernetworking-plugins' },
  { file: '/usr/sbin/iptables', package: 'iptables' },
  { file: '/usr/sbin/conntrack', package: 'conntrack' },
];
