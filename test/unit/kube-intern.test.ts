// StringInterner: shares repeated string values of decoded objects without changing
// any value (src/kube/intern.ts; the Application informer's cache uses it).
import test from 'ava';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InternerOptionsError, StringInterner } from '../../src/kube/intern.js';
import { buildApp, REVISIONS } from '../support/fixtures/apps.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const appText = (i: number) =>
  JSON.stringify(buildApp({ name: `app-${i}`, phase: 'Succeeded', revision: REVISIONS.first, destinationNamespace: 'team-a-prod', labels: { team: 'a' } }));

test('interning changes no value, key or structure, and returns the same object', (t) => {
  const text = JSON.stringify({ a: 'x', n: 1, b: true, z: null, list: ['x', 2, { deep: ['y', null] }], nested: { empty: '', s: 'x' } });
  const strings = new StringInterner();
  const value = JSON.parse(text) as object;
  t.is(strings.internValues(value), value);
  t.deepEqual(value, JSON.parse(text));
  const app = JSON.parse(appText(1)) as object;
  strings.internValues(app);
  t.deepEqual(app, JSON.parse(appText(1)));
});

test('a "__proto__" key decoded from JSON stays an own string property', (t) => {
  const value = JSON.parse('{"__proto__":"x","o":{"__proto__":"y"}}') as Record<string, unknown>;
  new StringInterner().internValues(value);
  t.is(Object.getPrototypeOf(value), Object.prototype);
  t.deepEqual(Object.getOwnPropertyDescriptor(value, '__proto__')?.value, 'x');
  t.deepEqual(Object.getOwnPropertyDescriptor(value.o, '__proto__')?.value, 'y');
});

test('scalars and null pass through', (t) => {
  const strings = new StringInterner();
  t.is(strings.internValues(null), null);
  t.is(strings.internValues(3), 3);
  t.is(strings.internValues('s'), 's');
  t.is(strings.size, 0);
});

test('the table holds at most two generations and skips long strings', (t) => {
  const strings = new StringInterner({ maxEntries: 10, maxLength: 8 });
  for (let i = 0; i < 1000; i++) t.is(strings.intern(`v-${i}`), `v-${i}`);
  t.true(strings.size <= 20);
  strings.intern('x'.repeat(9));
  t.true(strings.size <= 20);
  const before = strings.size;
  strings.intern('y'.repeat(9));
  t.is(strings.size, before, 'a string over maxLength is not kept');
});

test('a value seen in the previous generation is carried into the current one', (t) => {
  const strings = new StringInterner({ maxEntries: 2 });
  strings.intern('kept');
  strings.intern('a'); // current [kept, a]
  strings.intern('b'); // full: previous [kept, a], current [b]
  t.is(strings.size, 3);
  strings.intern('kept'); // found in previous and carried: current [b, kept]
  t.is(strings.size, 4);
  strings.intern('kept'); // now found in current
  t.is(strings.size, 4);
  strings.intern('c'); // full: previous [b, kept], current [c]; `a` is forgotten
  t.is(strings.size, 3);
});

test('bounds must be positive integers', (t) => {
  t.throws(() => new StringInterner({ maxEntries: 0 }), { instanceOf: InternerOptionsError });
  t.throws(() => new StringInterner({ maxLength: 1.5 }), { instanceOf: InternerOptionsError });
});

/** Heap growth, after a full GC, from keeping `count` decoded apps (interned or not). */
function heapOf(count: number, strings: StringInterner | undefined): number {
  const texts = Array.from({ length: count }, (_, i) => appText(i));
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = texts.map((text) => {
    const app = JSON.parse(text) as object;
    return strings ? strings.internValues(app) : app;
  });
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  if (kept.length !== count) throw new Error('unreachable'); // keeps `kept` alive across the GC
  return grown;
}

test('interned copies of decoded apps take much less heap', (t) => {
  const plain = heapOf(2000, undefined);
  const interned = heapOf(2000, new StringInterner());
  t.true(interned < plain * 0.75, `interned ${interned} bytes, plain ${plain} bytes`);
});
