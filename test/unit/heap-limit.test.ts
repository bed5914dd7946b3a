// The Deployment's memory limit and Node's heap limit agree, and the integration tests
// start the operator with that same heap limit (read from config/manager, not copied).
import test from 'ava';
import { deploymentNodeOptions, managerContainer } from '../support/operator.js';

function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}

test("config/manager: --max-old-space-size is 3/4 of the container's memory limit, and the tests use it", (t) => {
  const container = managerContainer();
  const limit = mebibytes(container.resources?.limits?.memory ?? '');
  const options = container.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
  const heap = Number(/--max-old-space-size=(\d+)\b/.exec(options)?.[1]);
  t.is(heap, (limit * 3) / 4, `limit ${limit} MiB, NODE_OPTIONS "${options}"`);
  t.is(deploymentNodeOptions(), options);
});
