// The Deployment's memory limit, Node's heap limit and the render processes agree, and
// the integration tests start the operator with that same heap limit (read from
// config/manager, not copied).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { controllerConfig } from '../../src/config.js';
import { RenderPool } from '../../src/sandbox/pool.js';
import { DEFAULT_RENDER_LIMITS } from '../../src/templates/limits.js';
import { deploymentNodeOptions, managerContainer } from '../support/operator.js';

function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}

/** What one render process costs besides its heap: Node itself (code, stacks, young generation). */
const RENDER_PROCESS_OVERHEAD_MIB = 48;

test("config/manager: the memory limit is the heap limit plus a third, plus every render process, and the tests use it", (t) => {
  const container = managerContainer();
  const limit = mebibytes(container.resources?.limits?.memory ?? '');
  const options = container.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
  const heap = Number(/--max-old-space-size=(\d+)\b/.exec(options)?.[1]);
  // The render budgets as the Deployment runs herald: its arguments, else the defaults.
  const config = controllerConfig(container.args?.slice(1).filter((arg) => !arg.includes('$(')) ?? [], {});
  const renderProcesses = config.render.processes * (config.render.memoryMiB + RENDER_PROCESS_OVERHEAD_MIB);
  t.is((heap * 4) / 3 + renderProcesses, limit, `limit ${limit} MiB, NODE_OPTIONS "${options}", render processes ${renderProcesses} MiB`);
  t.is(deploymentNodeOptions(), options);
});

test('a render process stays within its heap plus the overhead the sizing allows', async (t) => {
  const limits = { ...DEFAULT_RENDER_LIMITS, processes: 1 };
  const pool = new RenderPool({ limits });
  t.teardown(() => pool.stop());
  const context = { app: { metadata: { name: 'a' } }, context: {}, trigger: 't', channel: { name: 'c', type: 'dingtalk' }, notificationType: 'dingtalk' };
  // Warm: compile and render a few templates, then one that fills its output budget.
  for (let i = 0; i < 20; i++) await pool.render({ group: 'g', key: `k${i}`, spec: { message: `{% for i in range(200) %}{{ app.metadata.name | upper }}{% endfor %}${i}` }, context });
  await t.throwsAsync(pool.render({ group: 'g', spec: { message: '{% for i in range(100000) %}xxxxxxxxxx{% endfor %}' }, context }));
  const [pid] = pool.pids();
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const peakMiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
  t.log(`render process peak RSS ${peakMiB.toFixed(1)} MiB`);
  t.true(peakMiB < limits.memoryMiB + RENDER_PROCESS_OVERHEAD_MIB, `${peakMiB} MiB`);
});
