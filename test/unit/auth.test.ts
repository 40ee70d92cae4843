import assert from 'node:assert/strict';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { createAuthenticator } from '../../src/server/auth.js';

// Who may read the data routes (src/server/auth.ts): each decision for bearer and basic credentials.

const TOKEN = 'a-token-of-sixteen-chars';
const HASH = bcrypt.hashSync('s3cret', 4);
const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const b64 = (text: string): string => Buffer.from(text).toString('base64');

test('required: a token, basic users or both need a credential; neither (an empty user list included) needs none', () => {
  const none = new Map<string, string>();
  const alice = new Map([['alice', HASH]]);
  assert.equal(createAuthenticator(TOKEN, () => none).required, true);
  assert.equal(createAuthenticator(undefined, () => alice).required, true);
  assert.equal(createAuthenticator(TOKEN, () => alice).required, true);
  assert.equal(createAuthenticator(undefined, () => none).required, false);
});

test('challenges: one WWW-Authenticate value per configured scheme, Basic first', () => {
  const alice = new Map([['alice', HASH]]);
  assert.deepEqual(createAuthenticator(TOKEN, () => new Map()).challenges(), ['Bearer realm="tsmetrics"']);
  assert.deepEqual(createAuthenticator(undefined, () => alice).challenges(), ['Basic realm="tsmetrics"']);
  assert.deepEqual(createAuthenticator(TOKEN, () => alice).challenges(), [
    'Basic realm="tsmetrics"',
    'Bearer realm="tsmetrics"',
  ]);
  assert.deepEqual(createAuthenticator(undefined, () => new Map()).challenges(), []);
});

test('quick: the bearer token passes at once; a wrong or absent one does not; without a token no bearer passes', () => {
  const auth = createAuthenticator(TOKEN, () => new Map());
  assert.equal(auth.quick(`Bearer ${TOKEN}`), true);
  assert.equal(auth.quick('Bearer wrong-token-of-sixteen'), false);
  assert.equal(auth.quick(undefined), false);
  assert.equal(auth.quick(''), false);
  assert.equal(auth.quick(basic('alice', 's3cret')), false, 'no users: basic credentials are nothing');
  const basicOnly = createAuthenticator(undefined, () => new Map([['alice', HASH]]));
  assert.equal(basicOnly.quick(`Bearer ${TOKEN}`), false);
  assert.equal(basicOnly.quick(undefined), false);
  assert.equal(basicOnly.quick(basic('alice', 's3cret')), false, 'not verified yet');
});

test('needsSlowCheck: only a well-formed Basic header, and only when basic users are configured', () => {
  const users = new Map([['alice', HASH]]);
  const auth = createAuthenticator(TOKEN, () => users);
  assert.equal(auth.needsSlowCheck(basic('alice', 's3cret')), true);
  assert.equal(auth.needsSlowCheck(basic('nobody', 'x')), true, 'an unknown user costs a check too');
  assert.equal(auth.needsSlowCheck(basic('', 'x')), true, 'an empty user name is still a credential');
  assert.equal(auth.needsSlowCheck(`basic ${b64('alice:s3cret')}`), true, 'the scheme is case-blind');
  assert.equal(auth.needsSlowCheck(`Basic  \t${b64('alice:s3cret')}  `), true, 'blanks around the value');
  assert.equal(auth.needsSlowCheck(`Basic ${b64('alice')}`), false, 'no colon: no user and password');
  assert.equal(auth.needsSlowCheck(`Basic${b64('alice:s3cret')}`), false, 'no blank after the scheme');
  assert.equal(auth.needsSlowCheck(`xBasic ${b64('alice:s3cret')}`), false);
  assert.equal(auth.needsSlowCheck(`Basic ${b64('alice:s3cret')} x`), false, 'junk after the value');
  assert.equal(auth.needsSlowCheck('Basic !!!'), false, 'not base64');
  assert.equal(auth.needsSlowCheck('Basic '), false);
  assert.equal(auth.needsSlowCheck(`Bearer ${TOKEN}`), false);
  assert.equal(auth.needsSlowCheck(undefined), false);
  users.clear();
  assert.equal(auth.needsSlowCheck(basic('alice', 's3cret')), false, 'no users: nothing to check');
});

test('verify: the right password passes and is remembered; wrong ones, unknown users and non-basic headers fail', async () => {
  const users = new Map([
    ['alice', HASH],
    ['bob', bcrypt.hashSync('builder', 4)],
  ]);
  const auth = createAuthenticator(undefined, () => users);
  assert.equal(await auth.verify(undefined), false);
  assert.equal(await auth.verify(`Bearer ${TOKEN}`), false);
  assert.equal(await auth.verify(`Basic ${b64('alice')}`), false);
  assert.equal(await auth.verify(basic('alice', 'builder')), false, "bob's password is not alice's");
  assert.equal(await auth.verify(basic('carol', 's3cret')), false, 'unknown user');
  assert.equal(auth.quick(basic('alice', 'builder')), false, 'a failure is not remembered');
  assert.equal(await auth.verify(`basic  ${b64('alice:s3cret')} `), true);
  assert.equal(await auth.verify(basic('bob', 'builder')), true);
  // Both remembered, each for its own password only.
  assert.equal(auth.quick(basic('alice', 's3cret')), true);
  assert.equal(auth.quick(basic('bob', 'builder')), true);
  assert.equal(auth.quick(basic('alice', 'wrong')), false);
  assert.equal(auth.quick(basic('bob', 's3cret')), false);
  assert.equal(auth.quick(basic('carol', 's3cret')), false);
  assert.equal(auth.quick(`Bearer ${TOKEN}`), false);
  assert.equal(auth.quick(`Basic ${b64('alice')}`), false);
});

test('verify: a password with a colon splits at the first colon; an empty user name is a user like any other', async () => {
  const users = new Map([
    ['alice', bcrypt.hashSync('pa:ss:word', 4)],
    ['', bcrypt.hashSync('anon', 4)],
  ]);
  const auth = createAuthenticator(undefined, () => users);
  assert.equal(await auth.verify(basic('alice', 'pa:ss:word')), true);
  assert.equal(await auth.verify(basic('alice', 'pa')), false);
  assert.equal(await auth.verify(basic('', 'anon')), true);
  assert.equal(auth.quick(basic('', 'anon')), true);
});

test('verify: an unknown user costs a bcrypt check of its own (the dummy hash), not an instant answer', async () => {
  const auth = createAuthenticator(undefined, () => new Map([['alice', HASH]]));
  const started = performance.now();
  assert.equal(await auth.verify(basic('nobody', 's3cret')), false);
  // The dummy hash has cost 10: tens of milliseconds, against under one for a missing or malformed hash.
  assert.ok(performance.now() - started >= 10, `${performance.now() - started} ms`);
});

test('verify: four distinct checks at once, a fifth is busy; the same credentials share one; a finished check frees its place', async () => {
  const users = new Map(Array.from({ length: 6 }, (_, i) => [`u${i}`, HASH] as const));
  const auth = createAuthenticator(undefined, () => users);
  const running = [0, 1, 2, 3].map((i) => auth.verify(basic(`u${i}`, 's3cret')));
  const shared = auth.verify(basic('u0', 's3cret'));
  assert.equal(await auth.verify(basic('u4', 's3cret')), 'busy');
  assert.deepEqual(await Promise.all([...running, shared]), [true, true, true, true, true]);
  assert.equal(await auth.verify(basic('u4', 's3cret')), true, 'the finished checks left room');
  // Failed checks free their places as well.
  const failing = [0, 1, 2, 3].map((i) => auth.verify(basic(`u${i}`, 'wrong')));
  assert.deepEqual(await Promise.all(failing), [false, false, false, false]);
  assert.equal(await auth.verify(basic('u5', 's3cret')), true);
});

test('remembered successes: 1,024 are kept; the next one starts the memory afresh', async () => {
  const users = new Map(Array.from({ length: 1025 }, (_, i) => [`u${i}`, HASH] as const));
  const auth = createAuthenticator(undefined, () => users);
  for (let i = 0; i < 1024; i++) assert.equal(await auth.verify(basic(`u${i}`, 's3cret')), true);
  assert.equal(auth.quick(basic('u0', 's3cret')), true, 'the first of 1,024 is still remembered');
  assert.equal(auth.quick(basic('u1023', 's3cret')), true);
  assert.equal(await auth.verify(basic('u1024', 's3cret')), true);
  assert.equal(auth.quick(basic('u0', 's3cret')), false, 'the memory was emptied');
  assert.equal(auth.quick(basic('u1023', 's3cret')), false);
  assert.equal(auth.quick(basic('u1024', 's3cret')), true, 'the newest success is kept');
});
