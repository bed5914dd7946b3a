// Runs a command in an image from an OCI archive, the way a locked-down Pod would: the
// image's own user, read-only root filesystem, no capabilities, no new privileges, no
// network. buildah unpacks the image, runc runs it; nothing else is needed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildah } from './buildah.js';

export interface ImageRun {
  status: number;
  stdout: string;
  stderr: string;
  /** The image's configured user, as uid:gid. */
  user: string;
}

interface ImageConfig {
  User?: string;
  Env?: string[];
  WorkingDir?: string;
}

export function runInImage(archive: string, args: string[]): ImageRun {
  const container = buildah(['from', '--quiet', `oci-archive:${archive}`]).stdout.trim().split('\n').pop()!;
  const bundle = mkdtempSync(join(tmpdir(), 'herald-image-run-'));
  try {
    const rootfs = buildah(['mount', container]).stdout.trim();
    const inspected = JSON.parse(buildah(['inspect', '--type', 'container', container]).stdout) as { OCIv1: { config?: ImageConfig } };
    const config = inspected.OCIv1.config ?? {};
    const [uid, gid] = (config.User ?? '0:0').split(':').map(Number);
    const spec = spawnSync('runc', ['spec', '--bundle', bundle], { encoding: 'utf8' });
    if (spec.status !== 0) throw new Error(`runc spec failed: ${spec.stderr}`);
    const runtime = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    runtime.root = { path: rootfs, readonly: true };
    runtime.process.terminal = false;
    runtime.process.args = args;
    runtime.process.env = config.Env ?? ['PATH=/usr/local/bin:/usr/bin:/bin'];
    runtime.process.cwd = config.WorkingDir || '/';
    runtime.process.user = { uid: uid ?? 0, gid: gid ?? uid ?? 0 };
    runtime.process.noNewPrivileges = true;
    runtime.process.capabilities = { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] };
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(runtime));
    const id = `herald-image-test-${process.pid}`;
    const result = spawnSync('runc', ['--root', join(bundle, 'state'), 'run', '--bundle', bundle, id], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    spawnSync('runc', ['--root', join(bundle, 'state'), 'delete', '--force', id]);
    return { status: result.status ?? -1, stdout: result.stdout ?? '', stderr: `${result.stderr ?? ''}${result.error?.message ?? ''}`, user: `${uid}:${gid}` };
  } finally {
    buildah(['umount', container], { allowFailure: true });
    buildah(['rm', container], { allowFailure: true });
    rmSync(bundle, { recursive: true, force: true });
  }
}
