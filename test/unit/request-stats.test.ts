import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_DURATION_BUCKETS, RequestStats } from '../../src/control/request-stats.js';

test('RequestStats counts requests, sums durations and puts each in its own (non-cumulative) bucket, le inclusive', () => {
  const stats = new RequestStats();
  stats.record('devices', 0.05); // exactly on the first bound: in it
  stats.record('devices', 0.0500001); // just above: the next one
  stats.record('devices', 30); // the last bound
  stats.record('devices', 31); // above every bound: counted, in no bucket
  const snap = stats.snapshot();
  assert.equal(snap.length, 1);
  const [endpoint, s] = snap[0]!;
  assert.equal(endpoint, 'devices');
  assert.equal(s.requests, 4);
  assert.ok(Math.abs(s.durationSum - 61.1000001) < 1e-9, String(s.durationSum));
  const expected = API_DURATION_BUCKETS.map(() => 0);
  expected[0] = 1;
  expected[1] = 1;
  expected[API_DURATION_BUCKETS.length - 1] = 1;
  assert.deepEqual(s.bucketCounts, expected);
});

test('RequestStats counts errors by reason per endpoint; a request without a reason is no error', () => {
  const stats = new RequestStats();
  stats.record('users', 0.2, 'timeout');
  stats.record('users', 0.2, 'timeout');
  stats.record('users', 0.2, 'http_500');
  stats.record('users', 0.2);
  const s = new Map(stats.snapshot()).get('users')!;
  assert.equal(s.requests, 4);
  assert.deepEqual(
    [...s.errors],
    [
      ['timeout', 2],
      ['http_500', 1],
    ],
  );
});

test('RequestStats.snapshot: endpoints sorted by name, and a copy later records do not change', () => {
  const stats = new RequestStats();
  for (const e of ['users', 'devices', 'keys', 'dns']) stats.record(e, 0.1, 'x');
  const first = stats.snapshot();
  assert.deepEqual(
    first.map(([e]) => e),
    ['devices', 'dns', 'keys', 'users'],
  );
  stats.record('devices', 0.1, 'x');
  const devices = first[0]![1];
  assert.equal(devices.requests, 1);
  assert.equal(devices.errors.get('x'), 1);
  assert.equal(devices.bucketCounts[1], 1);
  assert.equal(new Map(stats.snapshot()).get('devices')!.requests, 2);
});
