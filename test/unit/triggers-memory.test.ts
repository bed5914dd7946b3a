// What evaluating triggers keeps in memory: the CEL form of an Application is shared by
// the triggers of one reconcile, and not kept for as long as the app stays cached.
import test from 'ava';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { toCelInput } from '../../src/triggers/values.js';
import { buildApp, REVISIONS } from '../support/fixtures/apps.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const appNamed = (name: string) => buildApp({ name, phase: 'Succeeded', revision: REVISIONS.first });

test('the triggers of one reconcile share one conversion of the app', (t) => {
  const app = appNamed('shared');
  const first = toCelInput(app);
  t.is(toCelInput(app), first);
  t.is((first as { metadata: { name: string } }).metadata.name, 'shared');
  // Another object with the same content is another version: converted anew.
  t.not(toCelInput(structuredClone(app)), first);
});

/** Converts `app` and returns a weak reference to its conversion (no strong one left on the stack). */
function convertWeakly(app: object): WeakRef<object> {
  return new WeakRef(toCelInput(app));
}

test('the conversion of a cached app is not kept once other apps were evaluated', async (t) => {
  // The app stays referenced, as an informer's cache holds it for as long as it exists.
  const cached = appNamed('cached');
  const conversion = convertWeakly(cached);
  // A WeakRef's target is kept at least until the end of the current job.
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  t.truthy(conversion.deref(), 'still among the recent conversions');
  for (let i = 0; i < 1000; i++) toCelInput(appNamed(`other-${i}`));
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  t.is(conversion.deref(), undefined, 'a conversion per cached app doubles the memory the app cache takes');
  t.is((cached.metadata as { name: string }).name, 'cached');
});
