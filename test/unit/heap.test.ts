import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tuneHeapGrowth } from '../../src/heap.js';

test('an operator-chosen heap growth on the command line is left alone', () => {
  assert.equal(tuneHeapGrowth(['--heap-growing-percent=30'], ''), false);
  assert.equal(tuneHeapGrowth(['--max-old-space-size=100', '--heap_growing_percent=40'], ''), false);
});

test('an operator-chosen heap growth in NODE_OPTIONS is left alone, among other flags', () => {
  assert.equal(tuneHeapGrowth([], '--max-old-space-size=100 --heap_growing_percent=20'), false);
  assert.equal(tuneHeapGrowth([], '  --heap-growing_percent=20  '), false);
});

test('other heap flags do not count as a choice: the growth is tuned', () => {
  assert.equal(tuneHeapGrowth([], ''), true);
  assert.equal(tuneHeapGrowth(['--max-old-space-size=100'], '--no-warnings --max-semi-space-size=16'), true);
});
