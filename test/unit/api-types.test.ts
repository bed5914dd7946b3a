import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateTypes } from '../../src/api/codegen.js';
import { repoRoot } from '../support/controlplane/install.js';

test('src/api/generated.ts is generated from crds/ and up to date (run `make generate`)', (t) => {
  const committed = readFileSync(join(repoRoot, 'src/api/generated.ts'), 'utf8');
  t.is(generateTypes(join(repoRoot, 'crds')), committed);
});
