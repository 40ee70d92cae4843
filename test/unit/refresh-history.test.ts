import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScrapeResult } from '../../src/devices/scraper.js';
import type { Selection, SelectionState } from '../../src/devices/targets.js';
import { counter, type MetricFamily } from '../../src/exposition/family.js';
import { ApiHistory } from '../../src/refresh/api-history.js';
import { RefusalHistory } from '../../src/refresh/refusal-history.js';
import { RETAIN_INTERVALS, retained, ScrapeHistory } from '../../src/refresh/scrape-history.js';
import type { Device } from '../../src/control/device.js';

// What the refresher remembers between cycles, driven directly with a clock the test holds: retention of a
// failing device's last good data, error counts, the changes that are logged, the API's up/down history and
// refused addresses.

const INTERVAL_SECONDS = 30;
const RETAIN_SECONDS = RETAIN_INTERVALS * INTERVAL_SECONDS;
const T0 = 1_800_000_000;

const target = (id: string) => ({ deviceId: id, deviceName: `${id}.ts.net`, address: '100.64.0.1', url: 'http://x' });
const families = (id: string, value: number): MetricFamily[] => [counter('c_total', 'help', [[{ id }, value]])];
const ok = (id: string, value = 1): ScrapeResult => ({
  ok: true,
  target: target(id),
  families: families(id, value),
  bytes: 10,
  durationSeconds: 0.01,
  series: 1,
});
const failed = (id: string, reason: 'timeout' | 'connect' = 'timeout'): ScrapeResult => ({
  ok: false,
  target: target(id),
  reason,
  message: 'no answer',
  durationSeconds: 5,
});

test('a failing device keeps its last good families for exactly RETAIN_INTERVALS intervals, then loses them', () => {
  assert.equal(RETAIN_INTERVALS, 3);
  assert.equal(retained(T0, T0 + RETAIN_SECONDS, RETAIN_SECONDS), true, 'the last moment it is kept');
  assert.equal(retained(T0, T0 + RETAIN_SECONDS + 1, RETAIN_SECONDS), false, 'a second later it is gone');
  assert.equal(retained(undefined, T0, RETAIN_SECONDS), false, 'never scraped: nothing to keep');

  const h = new ScrapeHistory(RETAIN_SECONDS);
  h.add([ok('a', 7)], T0);
  const good = h.states.get('a')!.families;
  assert.deepEqual(good, families('a', 7));
  // Failing at every interval after: the good families are served until RETAIN_INTERVALS intervals have passed.
  for (let i = 1; i <= RETAIN_INTERVALS; i++) {
    h.add([failed('a')], T0 + i * INTERVAL_SECONDS);
    const s = h.states.get('a')!;
    assert.equal(s.families, good, `kept after ${i} failing interval(s)`);
    assert.equal(s.lastSuccessSeconds, T0);
    assert.equal(s.last.ok, false);
  }
  h.add([failed('a')], T0 + (RETAIN_INTERVALS + 1) * INTERVAL_SECONDS);
  assert.equal(h.states.get('a')!.families, undefined, 'gone one interval later');
  assert.equal(h.states.get('a')!.lastSuccessSeconds, T0, 'the last success is still known');
  // A device that never answered has nothing to keep.
  h.add([failed('b')], T0);
  assert.equal(h.states.get('b')!.families, undefined);
  assert.equal(h.states.get('b')!.lastSuccessSeconds, undefined);
});

test('failures are counted by device and reason; only the start and end of a run of failures are changes', () => {
  const h = new ScrapeHistory(RETAIN_SECONDS);
  assert.deepEqual(h.add([ok('a'), ok('b')], T0), []);
  const first = h.add([failed('a'), ok('b')], T0 + 30);
  assert.deepEqual(
    first.map((c) => c.kind),
    ['failing'],
  );
  const change = first[0]!;
  assert.equal(change.kind === 'failing' && change.result.target.deviceId, 'a');
  assert.equal(h.failingSinceMs('a'), (T0 + 30) * 1000);
  assert.equal(h.failingSinceMs('b'), undefined);
  // Still failing (for another reason): counted, not reported again, and the run keeps its start.
  assert.deepEqual(h.add([failed('a', 'connect'), ok('b')], T0 + 60), []);
  assert.equal(h.failingSinceMs('a'), (T0 + 30) * 1000);
  assert.deepEqual(
    [...h.errors],
    [
      ['a\u0000timeout', 1],
      ['a\u0000connect', 1],
    ],
  );
  h.add([failed('a'), ok('b')], T0 + 90);
  assert.equal(h.errors.get('a\u0000timeout'), 2);
  const back = h.add([ok('a'), failed('b', 'connect')], T0 + 120);
  assert.deepEqual(
    back.map((c) => [c.kind, c.kind === 'recovered' ? c.target.deviceId : c.result.target.deviceId]),
    [
      ['recovered', 'a'],
      ['failing', 'b'],
    ],
    'in the order of the results',
  );
  assert.equal(h.failingSinceMs('a'), undefined);
  assert.equal(h.errors.get('a\u0000timeout'), 2, 'counters only grow while the device is scraped');
  // A device no longer scraped is forgotten: its state, its counters and its run of failures.
  h.add([ok('a')], T0 + 150);
  assert.deepEqual([...h.states.keys()], ['a']);
  assert.equal(h.errors.get('b\u0000connect'), undefined);
  assert.equal(h.failingSinceMs('b'), undefined);
  assert.deepEqual(
    h.add([failed('b')], T0 + 180).map((c) => c.kind),
    ['failing'],
    'back and failing: a new run',
  );
});

test('families that arrive during a cycle replace the previous ones of a known device at once', () => {
  const h = new ScrapeHistory(RETAIN_SECONDS);
  h.add([ok('a', 1)], T0);
  const states = h.states;
  const fresh = families('a', 2);
  h.replaceFamilies('a', fresh, T0 + 30);
  assert.equal(states.get('a')!.families, fresh, 'in the map already published');
  assert.equal(states.get('a')!.lastSuccessSeconds, T0 + 30);
  h.replaceFamilies('new', fresh, T0 + 30);
  assert.equal(h.states.has('new'), false, 'a device the history does not know waits for the cycle to end');
});

test('the API history: an outage is an error when it begins, a warning while it lasts, news once when it ends', () => {
  const api = new ApiHistory();
  assert.equal(api.up, false);
  assert.equal(api.add({ ok: false }, T0), 'error', 'no list yet: the first failure is an error');
  assert.equal(api.add({ ok: false }, T0 + 30), 'warn');
  assert.equal(api.add({ ok: true, invalidDevices: 2 }, T0 + 60), undefined, 'the first answer is no recovery');
  assert.equal(api.up, true);
  assert.equal(api.lastSuccessSeconds, T0 + 60);
  assert.equal(api.add({ ok: true, invalidDevices: 1 }, T0 + 90), undefined);
  assert.equal(api.add({ ok: false }, T0 + 120), 'error', 'down after being up: an error again');
  assert.equal(api.up, false);
  assert.equal(api.lastSuccessSeconds, T0 + 90, 'a failure keeps the last success');
  assert.equal(api.add({ ok: false }, T0 + 150), 'warn');
  assert.equal(api.add({ ok: true, invalidDevices: 0 }, T0 + 180), 'recovered');
  assert.equal(api.failures, 4);
  assert.equal(api.invalidDevices, 3);
});

test('a refused address is counted every cycle and reported in the cycle its refusal begins', () => {
  const device = (id: string) => ({ id, name: id, addresses: ['8.8.8.8'] }) as unknown as Device;
  const sel = (id: string, state: SelectionState): Selection => ({ device: device(id), state });
  const r = new RefusalHistory();
  assert.deepEqual(
    r.add([sel('a', 'address_refused'), sel('b', 'eligible')]).map((s) => s.device.id),
    ['a'],
  );
  assert.deepEqual(
    r.add([sel('a', 'address_refused'), sel('b', 'address_refused')]).map((s) => s.device.id),
    ['b'],
  );
  assert.deepEqual(r.add([sel('a', 'eligible'), sel('b', 'address_refused')]), []);
  assert.deepEqual(
    r.add([sel('a', 'address_refused')]).map((s) => s.device.id),
    ['a'],
    'refused again after a cycle without',
  );
  assert.equal(r.refusals, 5);
});

test('error counters of devices with longer ids are kept while the device is still scraped', () => {
  const h = new ScrapeHistory(RETAIN_SECONDS);
  h.add([failed('node-1'), ok('node-2')], T0);
  h.add([failed('node-1'), failed('node-2', 'connect')], T0 + INTERVAL_SECONDS);
  assert.deepEqual(
    [...h.errors],
    [
      ['node-1\u0000timeout', 2],
      ['node-2\u0000connect', 1],
    ],
  );
  h.add([ok('node-2')], T0 + 2 * INTERVAL_SECONDS);
  assert.deepEqual([...h.errors], [['node-2\u0000connect', 1]], 'only the device no longer scraped is forgotten');
});
