import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resultsPath } from '../../bench/lib.js';

test('npm run bench writes under dist/ unless asked to replace the committed bench/results.md', () => {
  assert.equal(resultsPath({}, '/repo'), '/repo/dist/bench/results.md');
  assert.equal(resultsPath({ BENCH_RESULTS: '' }, '/repo'), '/repo/dist/bench/results.md');
  assert.equal(resultsPath({ BENCH_RESULTS: 'bench/results.md' }, '/repo'), '/repo/bench/results.md');
  assert.equal(resultsPath({ BENCH_RESULTS: '/tmp/r.md' }, '/repo'), '/tmp/r.md');
});
