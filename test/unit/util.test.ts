import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelayMs } from '../../src/util/backoff.js';
import { fnv1a32 } from '../../src/util/fnv.js';
import { hostPort } from '../../src/util/host.js';
import { sleep } from '../../src/util/sleep.js';

test('back-off doubles from the initial delay up to the cap, jittered either side', () => {
  const policy = { initialMs: 100, maxMs: 1_000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 10].map((retry) => backoffDelayMs(policy, retry, () => 0.5)),
    [100, 200, 400, 800, 1_000, 1_000],
  );
  assert.equal(
    backoffDelayMs(policy, 2, () => 0),
    150,
  );
  assert.equal(
    backoffDelayMs(policy, 2, () => 1),
    250,
  );
  assert.equal(
    backoffDelayMs({ ...policy, jitter: 0 }, 3, () => 1),
    400,
  );
});

test('FNV-1a 32 matches the reference vectors', () => {
  // Vectors from the FNV reference (draft-eastlake-fnv): "", "a", "foobar".
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  assert.equal(fnv1a32('foobar'), 0xbf9cf968);
});

test('host:port brackets IPv6 literals only', () => {
  assert.equal(hostPort('100.64.0.1', 5252), '100.64.0.1:5252');
  assert.equal(hostPort('fd7a:115c:a1e0::1', 5252), '[fd7a:115c:a1e0::1]:5252');
  assert.equal(hostPort('[::1]', '80'), '[::1]:80');
  assert.equal(hostPort('example.ts.net', 443), 'example.ts.net:443');
});

test('sleep resolves after its delay and rejects with the signal’s own reason', async () => {
  await sleep(1);
  const reason = new Error('stopping');
  const ac = new AbortController();
  const pending = sleep(60_000, ac.signal);
  ac.abort(reason);
  await assert.rejects(pending, (err) => err === reason);
  await assert.rejects(sleep(1, ac.signal), (err) => err === reason);
});
