// The secret masker (every form a registered value takes in text) and the logger that
// runs each line through it, batching lines per event-loop turn.
import { spawnSync } from 'node:child_process';
import test from 'ava';
import { batchedStderr, createLogger } from '../../src/observability/logger.js';
import { maskSecrets, registerSecret } from '../../src/secrets.js';

test('a registered value is masked as written, URL-encoded and JSON-escaped', (t) => {
  const value = 'tok"en/with+marks';
  registerSecret(value);
  t.is(maskSecrets(`a ${value} b`), 'a *** b');
  t.is(maskSecrets(`https://x/?q=${encodeURIComponent(value)}&z=1`), 'https://x/?q=***&z=1');
  t.is(maskSecrets(JSON.stringify({ error: `failed: ${value}` })), '{"error":"failed: ***"}');
});

test('a value registered after the masker was used is masked too; short values are not registered', (t) => {
  t.is(maskSecrets('late-secret-0001 here'), 'late-secret-0001 here');
  registerSecret('late-secret-0001');
  t.is(maskSecrets('late-secret-0001 here'), '*** here');
  registerSecret('abc');
  t.is(maskSecrets('abc abc'), 'abc abc');
});

test('where one value starts another, the longer is masked whole; regex marks in a value are literal', (t) => {
  registerSecret('prefix-secret');
  registerSecret('prefix-secret-longer');
  t.is(maskSecrets('x prefix-secret-longer y prefix-secret z'), 'x *** y *** z');
  registerSecret('a.b*c(d)[e]');
  t.is(maskSecrets('a.b*c(d)[e] aXbbc(d)[e]'), '*** aXbbc(d)[e]');
});

test('hundreds of registered values are all masked', (t) => {
  const values = Array.from({ length: 400 }, (_, i) => `robot-token-${String(i).padStart(4, '0')}-${'f'.repeat(40)}`);
  for (const value of values) registerSecret(value);
  t.is(maskSecrets(values.join(' ')), values.map(() => '***').join(' '));
});

test('the logger masks values in the message, in fields, in errors and their causes', (t) => {
  registerSecret('logger-secret-0001');
  const lines: string[] = [];
  const log = createLogger('debug', (line) => lines.push(line));
  log.info('sent with logger-secret-0001', {
    url: 'https://robot/?access_token=logger-secret-0001',
    error: new Error('outer', { cause: new Error('inner logger-secret-0001') }),
    nested: { deep: ['logger-secret-0001'] },
  });
  t.is(lines.length, 1);
  t.false(lines[0]!.includes('logger-secret-0001'));
  const record = JSON.parse(lines[0]!) as Record<string, unknown>;
  t.is(record.msg, 'sent with ***');
  t.deepEqual(record.error, { message: 'outer', cause: { message: 'inner ***' } });
  t.deepEqual(record.nested, { deep: ['***'] });
});

test('batched stderr writes the lines of one event-loop turn in one write, in order', async (t) => {
  const writes: string[] = [];
  const write = batchedStderr({ write: (text: string) => writes.push(text) > 0 });
  write('one\n');
  write('two\n');
  t.deepEqual(writes, [], 'nothing is written during the turn');
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(writes, ['one\ntwo\n']);
  write('three\n');
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(writes, ['one\ntwo\n', 'three\n']);
});

test('a line logged just before process.exit reaches stderr', (t) => {
  const logger = new URL('../../src/observability/logger.js', import.meta.url).href;
  const script = `import { createLogger } from '${logger}'; const log = createLogger('info'); log.info('first'); log.error('last words'); process.exit(3);`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  t.is(run.status, 3);
  t.deepEqual(run.stderr.trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg), ['first', 'last words']);
});
