import test from 'ava';
import { WorkQueue } from '../../src/controller/queue.js';
import { KeyedMutex } from '../../src/controller/mutex.js';

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

test('a key is queued once and never processed by two workers at once; a re-add while in flight runs again after', async (t) => {
  const queue = new WorkQueue('test');
  const running = new Set<string>();
  let overlap = false;
  const processed: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  queue.run(4, async (key) => {
    if (running.has(key)) overlap = true;
    running.add(key);
    processed.push(key);
    if (processed.length === 1) await gate;
    running.delete(key);
  });
  queue.add('a');
  queue.add('a');
  await tick();
  queue.add('a'); // while in flight: marked dirty
  queue.add('a');
  queue.add('b');
  await tick();
  release();
  await tick(20);
  t.false(overlap);
  t.deepEqual(processed.sort(), ['a', 'a', 'b']);
  t.true(queue.isIdle());
  queue.stop();
});

test('depth is reported; rate-limited re-adds back off per key and forget() resets', async (t) => {
  const depths: number[] = [];
  const queue = new WorkQueue('test', (depth) => depths.push(depth));
  queue.add('x');
  queue.add('y');
  t.is(queue.depth, 2);
  t.deepEqual(depths, [1, 2]);
  const first = queue.addRateLimited('z');
  const second = queue.addRateLimited('z');
  t.true(second >= first / 2 && first <= 200 && second <= 400);
  queue.forget('z');
  t.true(queue.addRateLimited('z') <= 200);
  queue.stop();
});

test('the keyed mutex serialises critical sections per key only', async (t) => {
  const mutex = new KeyedMutex();
  const order: string[] = [];
  await Promise.all([
    mutex.run('k', async () => { order.push('k1 start'); await tick(10); order.push('k1 end'); }),
    mutex.run('k', async () => { order.push('k2 start'); order.push('k2 end'); }),
    mutex.run('other', async () => { order.push('other'); }),
  ]);
  t.deepEqual(order.filter((s) => s.startsWith('k')), ['k1 start', 'k1 end', 'k2 start', 'k2 end']);
  t.true(order.indexOf('other') < order.indexOf('k1 end'));
});
