import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tuneHeapGrowth } from '../../src/heap.js';

test('an operator-chosen heap growth on the command line is left alone', () => {
  assert.equal(tuneHeapGrowth(['--heap-growing-percent=30']), false);
  assert.equal(tuneHeapGrowth(['--max-old-space-size=100', '--heap_growing_percent=40']), false);
});

test('other flags do not count as a choice: the growth is tuned', () => {
  assert.equal(tuneHeapGrowth([]), true);
  assert.equal(tuneHeapGrowth(['--max-old-space-size=100', '--no-warnings', '--max-semi-space-size=16']), true);
});

test('only the option itself counts as a choice, not one whose name merely starts like it', () => {
  assert.equal(tuneHeapGrowth(['--heap-growing-percentage=30']), true);
});
