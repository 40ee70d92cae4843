import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { userRedactor } from '../../src/collectors/pii.js';

const expected = (key: string, user: string): string =>
  `user-${createHmac('sha256', key).update(user).digest('hex').slice(0, 16)}`;

test('userRedactor: without a key names pass through; with one, a keyed hash of the lower-cased name', () => {
  assert.equal(userRedactor(undefined)('Alice@Example.com'), 'Alice@Example.com');
  const redact = userRedactor('k1');
  assert.equal(redact('alice@example.com'), expected('k1', 'alice@example.com'));
  // Case does not make another user: the hash is of the lower-cased name, the same from any spelling.
  assert.equal(redact('Alice@Example.COM'), expected('k1', 'alice@example.com'));
  assert.equal(redact('ALICE@EXAMPLE.COM'), redact('alice@example.com'));
  assert.notEqual(redact('bob@example.com'), redact('alice@example.com'));
  // Another key, another pseudonym: the hash is keyed.
  assert.notEqual(userRedactor('k2')('alice@example.com'), redact('alice@example.com'));
  // No user stays no user (not the hash of the empty string).
  assert.equal(redact(''), '');
});

test('userRedactor: the same answer every time, also once its cache of 100,001 names has been emptied', () => {
  const redact = userRedactor('k');
  const first = redact('Carol@example.com');
  for (let i = 0; i < 100_001; i++) redact(`user${i}@example.com`);
  assert.equal(redact('Carol@example.com'), first);
  assert.equal(redact('carol@example.com'), expected('k', 'carol@example.com'));
});
