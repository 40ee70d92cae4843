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

test('bearer check: exact token only', () => {
  const ok = bearerChecker('s3cret-token-0123456789');
  assert.equal(ok('Bearer s3cret-token-0123456789'), true);
  assert.equal(ok('bearer s3cret-token-0123456789'), true);
  assert.equal(ok('Bearer s3cret-token-012345678'), false);
  assert.equal(ok('Basic s3cret-token-0123456789'), false);
  assert.equal(ok(undefined), false);
  assert.equal(ok('Bearer '), false);
});
