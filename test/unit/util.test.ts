import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { Readable } from 'node:stream';
import { backoffDelayMs } from '../../src/util/backoff.js';
import { BodyTooLargeError, readBody } from '../../src/util/body.js';
import { fnv1a32 } from '../../src/util/fnv.js';
import { hostPort } from '../../src/util/host.js';
import { eachLimited } from '../../src/util/pool.js';
import { sleep } from '../../src/util/sleep.js';
import { rfc3339Seconds } from '../../src/util/time.js';

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

test('the worker pool runs every item once, never more than its limit at a time, and stops on request', async () => {
  const items = Array.from({ length: 20 }, (_, i) => i);
  const done: number[] = [];
  let running = 0;
  let most = 0;
  await eachLimited(items, 3, async (item, index) => {
    assert.equal(item, index);
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setImmediate(r));
    running--;
    done.push(item);
  });
  assert.deepEqual(
    done.sort((a, b) => a - b),
    items,
  );
  assert.equal(most, 3);
  let started = 0;
  await eachLimited(
    items,
    2,
    async () => {
      started++;
      await new Promise((r) => setImmediate(r));
    },
    () => started >= 5,
  );
  assert.ok(started >= 5 && started <= 6, `started ${started}`);
  await eachLimited([], 4, () => Promise.reject(new Error('never called')));
});

test('the worker pool rejects with the first error and starts nothing after it', async () => {
  const started: number[] = [];
  const boom = new Error('boom');
  await assert.rejects(
    eachLimited([0, 1, 2, 3, 4, 5, 6, 7], 2, async (item) => {
      started.push(item);
      await new Promise((r) => setImmediate(r));
      if (item === 0) throw boom;
    }),
    (err) => err === boom,
  );
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1]);
});

test('the body reader returns the bytes and stops past its cap, declared or not', async () => {
  const chunks = (): Readable => Readable.from([Buffer.from('hello '), Buffer.from('world')]);
  assert.equal((await readBody(chunks(), 11)).toString(), 'hello world');
  assert.equal((await readBody(chunks(), 11, '11')).toString(), 'hello world');
  // A declared length over the cap is refused before a byte is read; an undeclared one when it passes the cap.
  await assert.rejects(
    readBody(chunks(), 10, '11'),
    (err) => err instanceof BodyTooLargeError && /Content-Length 11/.test(err.message),
  );
  await assert.rejects(
    readBody(chunks(), 10),
    (err) => err instanceof BodyTooLargeError && /body exceeds 10 bytes/.test(err.message),
  );
  await assert.rejects(readBody(chunks(), 100, '5'), SyntaxError);
  // A body shorter than its Content-Length is what arrived.
  assert.equal((await readBody(chunks(), 100, '20')).toString(), 'hello world');
});

test('RFC 3339 parsing: nanoseconds, offsets, the zero time, lower-case separators', () => {
  assert.equal(rfc3339Seconds('2026-08-01T12:00:00Z'), Date.UTC(2026, 7, 1, 12) / 1000);
  assert.ok(
    Math.abs(rfc3339Seconds('2026-08-01T12:00:00.123456789Z')! - (Date.UTC(2026, 7, 1, 12) / 1000 + 0.123456789)) <
      1e-6,
  );
  assert.equal(rfc3339Seconds('2026-08-01T14:00:00+02:00'), Date.UTC(2026, 7, 1, 12) / 1000);
  assert.equal(rfc3339Seconds('0001-01-01T00:00:00Z'), undefined);
  assert.equal(rfc3339Seconds(''), undefined);
  assert.equal(rfc3339Seconds('yesterday'), undefined);
  assert.equal(rfc3339Seconds(undefined), undefined);
  assert.equal(rfc3339Seconds('1969-12-31T23:59:59Z'), undefined);
  assert.equal(rfc3339Seconds('2026-08-01t12:00:00z'), Date.UTC(2026, 7, 1, 12) / 1000);
});

test('sleep leaves no abort listener behind, whether it ran out or was aborted', async () => {
  const ac = new AbortController();
  await sleep(1, ac.signal);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0, 'removed when the delay is over');
  const pending = sleep(60_000, ac.signal);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1, 'listening while it sleeps');
  ac.abort(new Error('stopping'));
  await assert.rejects(pending, /stopping/);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0, 'removed once it fired');
});

test('RFC 3339 parsing: the whole text must be the timestamp, and the epoch itself counts as no time', () => {
  assert.equal(rfc3339Seconds('on 2026-08-01T12:00:00Z'), undefined);
  assert.equal(rfc3339Seconds('2026-08-01T12:00:00Z and more'), undefined);
  assert.equal(rfc3339Seconds('2026-08-01T12:00:00+02:00x'), undefined);
  assert.equal(rfc3339Seconds('1970-01-01T00:00:00Z'), undefined);
  assert.equal(rfc3339Seconds('1970-01-01T00:00:01Z'), 1);
  assert.equal(rfc3339Seconds('1970-01-01T01:00:00+01:00'), undefined, 'the epoch in another zone');
});

test('the body reader takes an empty Content-Length as undeclared, and names a body longer than the declared one', async () => {
  const chunks = (): Readable => Readable.from([Buffer.from('hello '), Buffer.from('world')]);
  assert.equal((await readBody(chunks(), 11, '')).toString(), 'hello world');
  await assert.rejects(
    readBody(chunks(), 10, ''),
    (err) => err instanceof BodyTooLargeError && err.message === 'body exceeds 10 bytes',
  );
  let destroyed = 0;
  const body = {
    [Symbol.asyncIterator]: (): AsyncIterator<Buffer> => chunks()[Symbol.asyncIterator](),
    destroy(): void {
      destroyed++;
    },
  };
  await assert.rejects(
    readBody(body, 100, '6'),
    (err) => err instanceof SyntaxError && err.message === 'body longer than its Content-Length',
  );
  assert.equal(destroyed, 1);
});
