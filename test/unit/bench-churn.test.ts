import assert from 'node:assert/strict';
import { test } from 'node:test';
import { churnCases } from '../../bench/churn.js';

const cases = (spec: string, defaultConfig = false): string[] =>
  churnCases(spec, defaultConfig).map((c) => `${c.devices}@${c.churnPercent}%${c.collectors === 'all' ? '+all' : ''}`);

test('BENCH_CHURN_SIZES: a bare size up to 10,000 runs 0, 1, 10 and 100 %, a larger one 1 %', () => {
  assert.deepEqual(cases('10000,50000'), ['10000@0%', '10000@1%', '10000@10%', '10000@100%', '50000@1%']);
  assert.deepEqual(cases(' 1000 '), ['1000@0%', '1000@1%', '1000@10%', '1000@100%']);
  assert.deepEqual(cases('10001'), ['10001@1%']);
});

test('BENCH_CHURN_SIZES: percentages named after a colon; empty or none runs nothing', () => {
  assert.deepEqual(cases('10000:0/1,50000:5'), ['10000@0%', '10000@1%', '50000@5%']);
  assert.deepEqual(cases(''), []);
  assert.deepEqual(cases('none', true), []);
});

test('the default-configuration case: 1 % with COLLECTORS=all, at each size up to 10,000 only', () => {
  assert.deepEqual(cases('1000:0,10000:100,50000', true), [
    '1000@0%',
    '1000@1%+all',
    '10000@100%',
    '10000@1%+all',
    '50000@1%',
  ]);
});

test('BENCH_CHURN_SIZES: a size or a percentage out of range is refused, not run', () => {
  for (const bad of ['0', '100001', 'ten', '1000.5', '1000:101', '1000:-1', '1000:x', '1000:']) {
    assert.throws(() => churnCases(bad, false), RangeError, bad);
  }
});
