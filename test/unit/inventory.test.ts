import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { BACKEND_INFO, type BackendInfo } from '../../src/config/backends.js';
import type { Resource, ResourceReaders } from '../../src/control/control.js';
import { ApiError } from '../../src/errors.js';
import { Inventory } from '../../src/refresh/inventory.js';
import { memoryLogger } from '../helpers/log.js';

// The inventory on its own, with fake readers and a clock the test holds: what is fetched when, the state each
// resource is left in (data, ok, error, duration, the policy's change time) and what is logged, once.

type Reader = (signal: AbortSignal | undefined, nowSeconds: number, previous: unknown) => Promise<unknown>;

interface Entry {
  readonly level: number;
  readonly msg: string;
  readonly collector?: string;
  readonly scope?: string;
  readonly err?: string;
}

const INFO = 30;
const WARN = 40;
const ERROR = 50;

/** An inventory over `readers`, its clock at `clock.ms`, and what it logged. */
function inventory(
  readers: Partial<Record<Resource, Reader>>,
  enabled: readonly string[],
  o: { intervalMs?: number; backend?: BackendInfo } = {},
) {
  const clock = { ms: 0 };
  const { log, lines } = memoryLogger();
  const inv = new Inventory({
    resources: readers as ResourceReaders,
    enabled,
    intervalMs: o.intervalMs ?? 60_000,
    log,
    now: () => clock.ms,
    ...(o.backend === undefined ? {} : { backend: o.backend }),
  });
  const entries = (): Entry[] => lines.map((l) => JSON.parse(l) as Entry);
  return { inv, clock, entries };
}

/** A reader answering `answers` in turn (the last one from then on), counting its calls and their arguments. */
function scripted(...answers: Array<unknown>) {
  const calls: Array<{ nowSeconds: number; previous: unknown }> = [];
  const read: Reader = (_signal, nowSeconds, previous) => {
    calls.push({ nowSeconds, previous });
    const answer = answers[Math.min(calls.length, answers.length) - 1];
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
  return { read, calls };
}

/** performance.now() as the test sets it, so durations are exact. */
function perfClock(t: TestContext): { ms: number } {
  const perf = { ms: 1_000 };
  t.mock.method(performance, 'now', () => perf.ms);
  return perf;
}

const user = (id: string) => ({ id, loginName: `${id}@example.com` });
const policy = (hash: string) => ({ hash, counts: { acls: 1 } });

test('inventory resources are fetched when due: first call, then once INVENTORY_INTERVAL has passed, not before', async () => {
  const users = scripted([user('u1')]);
  const { inv, clock } = inventory({ users: users.read }, ['users'], { intervalMs: 60_000 });
  clock.ms = 1_000_000;
  await inv.refreshIfDue();
  clock.ms = 1_059_999;
  await inv.refreshIfDue();
  assert.equal(users.calls.length, 1, 'one millisecond short of the interval');
  clock.ms = 1_060_000;
  await inv.refreshIfDue();
  assert.equal(users.calls.length, 2, 'due at exactly the interval');
  clock.ms = 1_119_999;
  await inv.refreshIfDue();
  assert.equal(users.calls.length, 2, 'the interval counts from the last round, not the first');
});

test('health signals are fetched on every call, and they do not push the inventory round back', async () => {
  const users = scripted([user('u1')]);
  const health = scripted({ databaseConnectivity: true });
  const { inv, clock } = inventory({ users: users.read, headscaleHealth: health.read }, ['users', 'devices'], {
    intervalMs: 60_000,
  });
  for (const ms of [0, 30_000, 59_999, 60_000]) {
    clock.ms = ms;
    await inv.refreshIfDue();
  }
  assert.equal(health.calls.length, 4, 'every call');
  assert.equal(users.calls.length, 2, 'at 0 and at 60 s, the health fetches in between notwithstanding');
  assert.deepEqual(inv.current().headscaleHealth.data, { databaseConnectivity: true });
});

test('only enabled resources are fetched; Headscale users come with the users collector', async () => {
  const users = scripted([user('u1')]);
  const hsUsers = scripted([{ id: '1', name: 'alice' }]);
  const keys = scripted([]);
  const { inv } = inventory({ users: users.read, headscaleUsers: hsUsers.read, keys: keys.read }, ['users', 'bogus']);
  await inv.refreshIfDue();
  assert.deepEqual([users.calls.length, hsUsers.calls.length, keys.calls.length], [1, 1, 0]);
  assert.equal(inv.current().keys.ok, undefined, 'never attempted');
});

test('a reader is given the time in whole seconds and its last good data', async () => {
  const users = scripted([user('u1')], new Error('HTTP 500'), [user('u2')]);
  const { inv, clock } = inventory({ users: users.read }, ['users'], { intervalMs: 1_000 });
  clock.ms = 1_999;
  await inv.refreshIfDue();
  clock.ms = 3_000;
  await inv.refreshIfDue();
  clock.ms = 4_500;
  await inv.refreshIfDue();
  assert.deepEqual(users.calls, [
    { nowSeconds: 1, previous: undefined },
    { nowSeconds: 3, previous: [user('u1')] },
    { nowSeconds: 4, previous: [user('u1')] },
  ]);
  assert.deepEqual(inv.current().users.data, [user('u2')]);
});

test('a success stores the data, ok and the fetch duration in seconds', async (t) => {
  const perf = perfClock(t);
  const read: Reader = () => {
    perf.ms += 2_500;
    return Promise.resolve([user('u1')]);
  };
  const { inv } = inventory({ users: read }, ['users']);
  await inv.refreshIfDue();
  assert.deepEqual(inv.current().users, { data: [user('u1')], ok: true, durationSeconds: 2.5 });
});

test('a failure keeps the last good data, says why in one line, and measures its duration in seconds', async (t) => {
  const perf = perfClock(t);
  let fail = false;
  const read: Reader = () => {
    perf.ms += 250;
    return fail ? Promise.reject(new Error('HTTP 500\n<html>the body</html>')) : Promise.resolve([user('u1')]);
  };
  const { inv, clock } = inventory({ users: read }, ['users'], { intervalMs: 1 });
  await inv.refreshIfDue();
  fail = true;
  clock.ms = 10;
  await inv.refreshIfDue();
  assert.deepEqual(inv.current().users, {
    data: [user('u1')],
    ok: false,
    durationSeconds: 0.25,
    error: 'HTTP 500',
  });
});

test('something thrown that is no Error is the failure message as text', async () => {
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what a careless dependency may do
  const read: Reader = () => Promise.reject('socket hang up');
  const { inv } = inventory({ users: read }, ['users']);
  await inv.refreshIfDue();
  assert.equal(inv.current().users.error, 'socket hang up');
  assert.equal(inv.current().users.ok, false);
});

test('a failure is warned about when it begins, with the collector and error; recovery is noted once', async () => {
  const users = scripted([user('u1')], new Error('HTTP 500'), new Error('HTTP 502'), [user('u1')]);
  const { inv, clock, entries } = inventory({ users: users.read }, ['users'], { intervalMs: 1 });
  for (let i = 0; i < 6; i++) {
    clock.ms = i * 10;
    await inv.refreshIfDue();
  }
  assert.deepEqual(
    entries().map(({ level, msg, collector, err }) => ({ level, msg, collector, err })),
    [
      { level: WARN, msg: 'collector failed; keeping its last good data', collector: 'users', err: 'HTTP 500' },
      { level: INFO, msg: 'collector recovered', collector: 'users', err: undefined },
    ],
  );
});

test('the first success is no recovery', async () => {
  const users = scripted([user('u1')]);
  const { inv, entries } = inventory({ users: users.read }, ['users']);
  await inv.refreshIfDue();
  assert.deepEqual(entries(), []);
  assert.equal(inv.current().users.ok, true);
});

test('a refusal (403) names the collector and scope once, at error level, and is not also warned about', async (t) => {
  perfClock(t);
  const users = scripted(new ApiError('users', 'http_status', 'HTTP 403', 403));
  const { inv, clock, entries } = inventory({ users: users.read }, ['users'], { intervalMs: 1 });
  for (let i = 0; i < 3; i++) {
    clock.ms = i * 10;
    await inv.refreshIfDue();
  }
  assert.equal(users.calls.length, 3);
  assert.deepEqual(
    entries().map(({ level, msg, collector, scope }) => ({ level, msg, collector, scope })),
    [
      {
        level: ERROR,
        msg: 'the Tailscale API refused the users collector (403): grant the OAuth client users:read or all:read, or turn the collector off with COLLECTORS',
        collector: 'users',
        scope: 'users:read',
      },
    ],
  );
  assert.deepEqual(inv.current().users, { data: undefined, ok: false, durationSeconds: 0, error: 'users: HTTP 403' });
});

test('an API error other than 403 is a failure like any other', async () => {
  const users = scripted(new ApiError('users', 'http_status', 'HTTP 404', 404));
  const { inv, entries } = inventory({ users: users.read }, ['users']);
  await inv.refreshIfDue();
  assert.deepEqual(
    entries().map(({ level, msg }) => ({ level, msg })),
    [{ level: WARN, msg: 'collector failed; keeping its last good data' }],
  );
});

test('a Headscale resource under the Tailscale backend asks for "the read scope"', async () => {
  const keys = scripted(new ApiError('preauthkeys', 'http_status', 'HTTP 403', 403));
  const absent = scripted({ available: false });
  const { inv, entries } = inventory({ preauthkeys: keys.read, webhooks: absent.read }, ['preauthkeys', 'webhooks']);
  await inv.refreshIfDue();
  const found = entries().map(({ level, msg, collector, scope }) => ({ level, msg, collector, scope }));
  assert.deepEqual(found.length, 2);
  assert.ok(
    found.some(
      (e) =>
        e.level === ERROR &&
        e.msg ===
          'the Tailscale API refused the preauthkeys collector (403): grant the OAuth client the read scope or all:read, or turn the collector off with COLLECTORS' &&
        e.collector === 'preauthkeys' &&
        e.scope === 'the read scope',
    ),
    JSON.stringify(found),
  );
  assert.ok(
    found.some(
      (e) =>
        e.level === INFO &&
        e.msg ===
          'the Tailscale API answered 404 for the webhooks collector: not configured, not on this plan, or the OAuth client lacks webhooks:read; it exports nothing until that changes' &&
        e.collector === 'webhooks' &&
        e.scope === 'webhooks:read',
    ),
    JSON.stringify(found),
  );
});

test('a resource that answers "not available" is noted once per spell, by its public collector name', async () => {
  const posture = scripted(
    { available: false, integrations: [] },
    { available: false, integrations: [] },
    { available: true, integrations: [] },
    { available: false, integrations: [] },
  );
  const { inv, clock, entries } = inventory({ postureIntegrations: posture.read }, ['posture_integrations'], {
    intervalMs: 1,
  });
  for (let i = 0; i < 4; i++) {
    clock.ms = i * 10;
    await inv.refreshIfDue();
  }
  const notFound =
    'the Tailscale API answered 404 for the posture_integrations collector: not configured, not on this plan, or the OAuth client lacks feature_settings:read; it exports nothing until that changes';
  assert.deepEqual(
    entries().map(({ level, msg, collector, scope }) => ({ level, msg, collector, scope })),
    [
      { level: INFO, msg: notFound, collector: 'posture_integrations', scope: 'feature_settings:read' },
      { level: INFO, msg: notFound, collector: 'posture_integrations', scope: 'feature_settings:read' },
    ],
    'once when it begins, once again after it was available',
  );
  assert.deepEqual(inv.current().postureIntegrations.data, { available: false, integrations: [] });
  assert.equal(inv.current().postureIntegrations.ok, true, 'unavailable is an answer, not a failure');
});

test('a list is unavailable only when it is not empty and every entry says so', async () => {
  const cases: Array<[unknown, boolean]> = [
    [[{ logType: 'network', available: false }], true],
    [
      [
        { logType: 'network', available: false },
        { logType: 'configuration', available: false },
      ],
      true,
    ],
    [[], false],
    [
      [
        { logType: 'network', available: false },
        { logType: 'configuration', available: true },
      ],
      false,
    ],
    [[{ logType: 'network', available: true }], false],
    [[{ logType: 'network' }], false],
    [[{ logType: 'network', available: 0 }], false],
    [[null], false],
    [[undefined], false],
    [['available'], false],
  ];
  for (const [data, unavailable] of cases) {
    const { inv, entries } = inventory({ logstream: scripted(data).read }, ['logstream']);
    await inv.refreshIfDue();
    assert.equal(entries().length, unavailable ? 1 : 0, JSON.stringify(data));
    assert.equal(inv.current().logstream.ok, true, JSON.stringify(data));
    assert.deepEqual(inv.current().logstream.data, data);
  }
});

test('a single answer is unavailable only when it is an object saying available: false', async () => {
  const cases: Array<[unknown, boolean]> = [
    [{ available: false, webhooks: [] }, true],
    [{ available: true, webhooks: [] }, false],
    [{ webhooks: [] }, false],
    [null, false],
    [undefined, false],
    [false, false],
    ['available', false],
  ];
  for (const [data, unavailable] of cases) {
    const { inv, entries } = inventory({ webhooks: scripted(data).read }, ['webhooks']);
    await inv.refreshIfDue();
    assert.equal(entries().length, unavailable ? 1 : 0, String(data));
    assert.equal(inv.current().webhooks.ok, true, String(data));
  }
});

test('the policy change time is when a new hash was first seen; the same hash keeps it, a failure too', async () => {
  const read = scripted(policy('aaaa'), policy('aaaa'), new Error('HTTP 500'), policy('aaaa'), policy('bbbb'));
  const { inv, clock } = inventory({ policy: read.read }, ['policy'], { intervalMs: 1_000 });
  const changedAt: Array<number | undefined> = [];
  for (const seconds of [100, 200, 300, 400, 500]) {
    clock.ms = seconds * 1000 + 999;
    await inv.refreshIfDue();
    changedAt.push(inv.current().policy.changedAtSeconds);
  }
  assert.deepEqual(changedAt, [100, 100, 100, 100, 500]);
  assert.deepEqual(inv.current().policy.data, policy('bbbb'));
  assert.equal(inv.current().policy.ok, true);
});

test('an aborted refresh leaves the resource as it was and logs nothing', async () => {
  const ac = new AbortController();
  let fail = false;
  const read: Reader = (signal) => (fail ? Promise.reject(signal?.reason as Error) : Promise.resolve([user('u1')]));
  const { inv, clock, entries } = inventory({ users: read }, ['users'], { intervalMs: 1 });
  await inv.refreshIfDue(ac.signal);
  const before = inv.current().users;
  fail = true;
  ac.abort(new Error('stopping'));
  clock.ms = 10;
  await inv.refreshIfDue(ac.signal);
  assert.deepEqual(inv.current().users, before);
  assert.equal(inv.current().users.ok, true);
  assert.deepEqual(entries(), []);
});

test('current() is a copy: replacing a resource in it changes nothing kept', async () => {
  const { inv } = inventory({ users: scripted([user('u1')]).read }, ['users']);
  await inv.refreshIfDue();
  const copy = inv.current() as unknown as Record<string, unknown>;
  copy.users = undefined;
  assert.deepEqual(inv.current().users.data, [user('u1')]);
});

test('under Headscale a refusal of its users is reported for the users collector, in Headscale terms', async () => {
  const hsUsers = scripted(new ApiError('users', 'http_status', 'HTTP 403', 403));
  const { inv, entries } = inventory({ headscaleUsers: hsUsers.read }, ['users'], { backend: BACKEND_INFO.headscale });
  await inv.refreshIfDue();
  assert.deepEqual(
    entries().map(({ level, msg, collector, scope }) => ({ level, msg, collector, scope })),
    [
      {
        level: ERROR,
        msg: 'the Headscale API refused the users collector (403): check that HEADSCALE_API_KEY is a valid, unexpired API key, or turn the collector off with COLLECTORS',
        collector: 'users',
        scope: 'a Headscale API key',
      },
    ],
  );
  assert.equal(inv.current().headscaleUsers.ok, false);
});
