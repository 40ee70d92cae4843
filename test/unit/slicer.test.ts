import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Slicer } from '../../src/slicer.js';

// Background work shares one time budget per turn of the event loop, keeps its order, and always makes
// progress.

const spin = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

/** Counts turns of the event loop (check phases) until stopped. */
function loopTurns(): { count: () => number; stop: () => void } {
  let turns = 0;
  let on = true;
  const tick = (): void => {
    turns++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  return { count: () => turns, stop: () => (on = false) };
}

test('work within the budget runs at once; work past it waits for a later turn, in order', async () => {
  const slicer = new Slicer(20);
  await slicer.run(() => undefined); // opens a budget window
  const order: string[] = [];
  const a = slicer.run(() => order.push('a'));
  assert.deepEqual(order, ['a'], 'budget left: ran synchronously');
  await a;
  spin(25);
  const b = slicer.run(() => order.push('b'));
  const c = slicer.run(() => order.push('c'));
  assert.deepEqual(order, ['a'], 'budget spent: queued');
  await Promise.all([b, c]);
  assert.deepEqual(order, ['a', 'b', 'c']);
});

test('pieces beyond the budget are spread over several turns of the loop', async () => {
  const slicer = new Slicer(2);
  spin(3);
  const turns = loopTurns();
  await Promise.all(Array.from({ length: 10 }, () => slicer.run(() => spin(1))));
  turns.stop();
  assert.ok(turns.count() >= 4, `10 pieces of 1 ms with a 2 ms budget ran within ${turns.count()} turns of the loop`);
});

test('a zero budget runs one piece per turn and finishes', async () => {
  const slicer = new Slicer(0);
  const turns = loopTurns();
  const results = await Promise.all([1, 2, 3, 4, 5].map((n) => slicer.run(() => n * 2)));
  turns.stop();
  assert.deepEqual(results, [2, 4, 6, 8, 10]);
  assert.ok(turns.count() >= 4, `${turns.count()} turns`);
});

test('a piece that throws rejects its own promise only', async () => {
  const slicer = new Slicer(0);
  const bad = slicer.run(() => {
    throw new Error('boom');
  });
  const good = slicer.run(() => 'ok');
  await assert.rejects(bad, /boom/);
  assert.equal(await good, 'ok');
});

test('queued pieces run together in one turn while the budget lasts', async (t) => {
  // A new slicer has no budget window yet: its first pieces queue, and the first turn runs them all.
  // 20 ms is plenty for five trivial pieces (a piece that outlasted it would only split them over two turns).
  const slicer = new Slicer(20);
  const order: number[] = [];
  const turns = loopTurns();
  t.after(() => turns.stop());
  const done = Promise.all([1, 2, 3, 4, 5].map((n) => slicer.run(() => order.push(n))));
  assert.deepEqual(order, [], 'queued, not run at once');
  await done;
  const used = turns.count();
  turns.stop();
  assert.deepEqual(order, [1, 2, 3, 4, 5]);
  assert.ok(used <= 2, `five quick pieces took ${used} turns of the loop`);
});

test('a piece run at once that throws runs once and rejects', async () => {
  const slicer = new Slicer(1000);
  await slicer.run(() => undefined); // opens a budget window
  let calls = 0;
  const bad = slicer.run(() => {
    calls++;
    throw new Error('boom');
  });
  assert.equal(calls, 1, 'ran at once');
  await assert.rejects(bad, /boom/);
  assert.equal(calls, 1);
});
