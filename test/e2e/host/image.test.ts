// `make image` wrote an OCI archive; herald runs in it as a non-root user on a read-only
// root filesystem, without capabilities or network (as the Deployment runs it).
import { existsSync } from 'node:fs';
import test from 'ava';
import { defaultArchive } from '../image/build.js';
import { runInImage } from '../image/run-in-image.js';

const archive = process.env.IMAGE_ARCHIVE ?? defaultArchive();

test('the OCI archive exists and `herald --help` exits 0 in it as a non-root user', (t) => {
  t.true(existsSync(archive), `${archive} exists (make image)`);
  const run = runInImage(archive, ['herald', '--help']);
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /^Usage: herald <command>/);
  t.regex(run.stdout, /controller/);
  t.not(run.user.split(':')[0], '0', 'the image runs as a non-root user');
  t.is(run.user, '65532:65532');
});

test('the image runs Node 20 and cannot write its root filesystem', (t) => {
  const version = runInImage(archive, ['/nodejs/bin/node', '-p', 'process.version + " " + process.getuid()']);
  t.is(version.status, 0, version.stderr);
  t.regex(version.stdout.trim(), /^v20\.\d+\.\d+ 65532$/);
  const write = runInImage(archive, ['/nodejs/bin/node', '-e', 'require("fs").writeFileSync("/app/probe", "x")']);
  t.not(write.status, 0);
  t.regex(write.stderr, /EROFS: read-only file system/);
});
