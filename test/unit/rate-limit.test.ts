import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bearerChecker } from '../../src/server/bearer.js';
import { createRateLimiter } from '../../src/server/rate-limit.js';

test('token bucket: burst, then refill at the rate, per client', () => {
  let now = 0;
  const limit = createRateLimiter(2, 3, () => now);
  assert.deepEqual(
    [1, 2, 3, 4].map(() => limit.take('a')),
    [0, 0, 0, 1],
  );
  assert.equal(limit.take('b'), 0, 'another client has its own bucket');
  now += 500;
  assert.equal(limit.take('a'), 0, 'one token back after half a second at 2/s');
  assert.equal(limit.take('a'), 1);
  assert.equal(createRateLimiter(0, 1).take('x'), 0, 'rate 0 disables the limit');
});

// A token every 100 s in these: a dropped bucket (full again) is told apart from one refilled by the rate.

test('buckets of clients idle for over a minute are dropped, by a sweep at most once a minute', () => {
  let now = 0;
  const limit = createRateLimiter(0.01, 2, () => now);
  const spend = (client: string): number[] => [1, 2, 3].map(() => limit.take(client));
  assert.deepEqual(spend('a'), [0, 0, 100]);
  now = 1;
  assert.deepEqual(spend('b'), [0, 0, 100]);
  now = 60_000;
  assert.deepEqual(spend('c'), [0, 0, 100]);
  now = 60_001;
  assert.equal(limit.take('a'), 0, 'idle for over a minute: dropped, a full bucket again');
  assert.ok(limit.take('b') > 0, 'idle for exactly a minute: kept');
  now = 120_001;
  assert.ok(limit.take('c') > 0, 'idle for over a minute, but the last sweep was only a minute ago');
});

test('beyond 10,000 clients every bucket is dropped at once; 10,000 are kept', () => {
  let now = 0;
  const full = createRateLimiter(0.01, 1, () => now);
  now = 50_000;
  for (let i = 0; i < 10_000; i++) full.take(`client-${i}`);
  now = 60_001;
  assert.ok(full.take('client-0') > 0, 'the minute sweep with 10,000 clients, none idle: all kept');
  now = 115_000;
  assert.ok(full.take('client-1') > 0, 'idle for over a minute, but 10,000 clients do not sweep before the minute');

  const crowded = createRateLimiter(0.01, 1, () => 0);
  assert.equal(crowded.take('a'), 0);
  for (let i = 1; i < 10_000; i++) crowded.take(`client-${i}`);
  assert.equal(crowded.take('a'), 100, '10,000 clients: still limited');
  crowded.take('client-10000');
  assert.equal(crowded.take('a'), 0, 'one more: all buckets dropped at once');
});

test('bearer check: exact token only', () => {
  const ok = bearerChecker('s3cret-token-0123456789');
  assert.equal(ok('Bearer s3cret-token-0123456789'), true);
  assert.equal(ok('bearer s3cret-token-0123456789'), true);
  assert.equal(ok('Bearer s3cret-token-012345678'), false);
  assert.equal(ok('Basic s3cret-token-0123456789'), false);
  assert.equal(ok(undefined), false);
  assert.equal(ok('Bearer '), false);
});
