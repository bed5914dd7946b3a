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

test('depth is reported', (t) => {
  const depths: number[] = [];
  const queue = new WorkQueue('test', (depth) => depths.push(depth));
  queue.add('x');
  queue.add('y');
  queue.add('x');
  t.is(queue.depth, 2);
  t.deepEqual(depths, [1, 2]);
  queue.stop();
});

/** A clock whose timers fire only when the test advances it. */
function fakeClock(random: () => number) {
  let now = 0;
  const timers = new Set<{ at: number; callback: () => void }>();
  return {
    clock: {
      setTimeout: (callback: () => void, ms: number) => {
        const timer = { at: now + ms, callback };
        timers.add(timer);
        return timer;
      },
      clearTimeout: (timer: unknown) => void timers.delete(timer as { at: number; callback: () => void }),
      random,
    },
    advance(ms: number) {
      now += ms;
      for (const timer of [...timers].filter((entry) => entry.at <= now)) {
        timers.delete(timer);
        timer.callback();
      }
    },
  };
}

test('a failing key comes back after a delay that doubles per failure up to 60 s; forget() starts over', async (t) => {
  // Jitter at its top (random 1): the delay is the ceiling, 200 ms · 2^(failures-1).
  const fake = fakeClock(() => 1);
  const queue = new WorkQueue('test', () => undefined, fake.clock);
  const handled: string[] = [];
  queue.run(1, async (key) => void handled.push(key));
  const delays: number[] = [];
  for (let failure = 1; failure <= 11; failure++) {
    const delay = queue.addRateLimited('z');
    delays.push(delay);
    fake.advance(delay - 1);
    t.is(queue.depth, 0, `failure ${failure}: back before its delay`);
    fake.advance(1);
    t.is(queue.depth, 1, `failure ${failure}: back after its delay`);
    await new Promise(setImmediate);
    t.is(handled.length, failure);
  }
  t.deepEqual(delays, [200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 60_000, 60_000]);
  queue.forget('z');
  t.is(queue.addRateLimited('z'), 200);
  queue.stop();
});

test('with jitter the delays still grow: each at least half its ceiling, so two failures later at least double', (t) => {
  let seed = 7;
  const fake = fakeClock(() => ((seed = (seed * 48271) % 2147483647) / 2147483647));
  const queue = new WorkQueue('test', () => undefined, fake.clock);
  const delays = Array.from({ length: 9 }, () => queue.addRateLimited('k'));
  for (let i = 0; i < delays.length; i++) {
    const ceiling = Math.min(60_000, 200 * 2 ** i);
    t.true(delays[i]! >= ceiling / 2 && delays[i]! <= ceiling, `failure ${i + 1}: ${delays[i]}`);
    if (i >= 2) t.true(delays[i]! >= 2 * delays[i - 2]!, `failure ${i + 1} at least doubles failure ${i - 1}`);
  }
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
