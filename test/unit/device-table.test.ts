import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeviceScrapeState } from '../../src/collectors/collector.js';
import type { Device } from '../../src/control/device.js';
import type { Selection, SelectionState } from '../../src/devices/targets.js';
import { RefreshStatus } from '../../src/refresh/status.js';
import { DeviceTable, parseDeviceQuery, type DeviceQuery } from '../../src/server/device-table.js';
import { device } from '../helpers/devices.js';

// The status page's device table (src/server/device-table.ts): states, order, search, pages and counts.

const selection = (d: Device, state: SelectionState): Selection =>
  state === 'eligible'
    ? { device: d, state, target: { deviceId: d.id, deviceName: d.name, address: '', url: '' } }
    : { device: d, state };
const result = (d: Device, ok: boolean): DeviceScrapeState =>
  ok
    ? {
        last: {
          ok: true,
          target: { deviceId: d.id, deviceName: d.name, address: '', url: '' },
          families: [],
          bytes: 1,
          durationSeconds: 0.1,
          series: 1,
        },
        families: [],
        lastSuccessSeconds: 1,
      }
    : {
        last: {
          ok: false,
          target: { deviceId: d.id, deviceName: d.name, address: '', url: '' },
          reason: 'timeout',
          message: 'm',
          durationSeconds: 1,
        },
        families: undefined,
        lastSuccessSeconds: undefined,
      };
const query = (q: Partial<DeviceQuery> = {}): DeviceQuery => ({ state: 'all', q: '', page: 1, ...q });

/** Names out of order, upper and lower case, in several states. */
function sample(): RefreshStatus {
  const status = new RefreshStatus(0);
  const d = (id: string, name: string, hostname: string, addresses: string[]): Device =>
    device({ id, name, hostname, addresses });
  const rows: Array<[Device, SelectionState, boolean | undefined]> = [
    [d('5', 'mango.ts.net', 'Mango-Host', ['100.64.0.5', 'fd00::5']), 'eligible', true],
    [d('1', 'apple.ts.net', 'apple', ['100.64.0.1']), 'eligible', true],
    [d('4', 'Zebra.ts.net', 'zebra', ['100.64.0.4']), 'eligible', true],
    [d('3', 'kiwi.ts.net', 'kiwi', ['100.64.0.3']), 'eligible', false],
    [d('2', 'banana.ts.net', 'banana', ['100.64.0.2']), 'offline', undefined],
    [d('6', 'cherry.ts.net', 'cherry', ['100.64.0.6']), 'eligible', undefined],
    [d('7', 'apple.ts.net', 'apple-2', ['100.64.1.1']), 'eligible', true],
  ];
  status.selections = rows.map(([dev, state]) => selection(dev, state));
  status.scrapes = new Map(
    rows.filter(([, , ok]) => ok !== undefined).map(([dev, , ok]) => [dev.id, result(dev, ok!)] as const),
  );
  status.failingDevices = [
    { deviceId: '3', deviceName: 'kiwi.ts.net', reason: 'timeout', message: '', hint: '', since: 'T0' },
    { deviceId: '5', deviceName: 'mango.ts.net', reason: 'timeout', message: '', hint: '', since: 'T-stale' },
  ];
  return status;
}

const ids = (p: ReturnType<DeviceTable['page']>): string[] => p.rows.map((r) => r.selection.device.id);

test('rows: states in display order, by name (code-unit order) within a state; counts per state and the total', () => {
  const p = new DeviceTable().page(sample(), query());
  assert.deepEqual(ids(p), ['3', '6', '2', '4', '1', '7', '5']);
  assert.deepEqual(
    p.rows.map((r) => r.state),
    ['failing', 'pending', 'offline', 'scraped', 'scraped', 'scraped', 'scraped'],
  );
  assert.deepEqual(
    [...p.counts].filter(([, n]) => n > 0),
    [
      ['failing', 1],
      ['pending', 1],
      ['offline', 1],
      ['scraped', 4],
    ],
  );
  assert.equal(p.counts.get('untagged'), 0, 'every state is counted, the empty ones as 0');
  assert.deepEqual([p.total, p.matching, p.page, p.pages], [7, 7, 1, 1]);
});

test('rows: failing-since for failing devices only; the scrape result for eligible devices only', () => {
  const p = new DeviceTable().page(sample(), query());
  const byId = new Map(p.rows.map((r) => [r.selection.device.id, r]));
  assert.equal(byId.get('3')!.failingSince, 'T0');
  assert.equal(byId.get('5')!.failingSince, undefined, 'scraped now: a stale failing entry is not shown');
  assert.equal(byId.get('3')!.scrape?.last.ok, false);
  assert.equal(byId.get('1')!.scrape?.last.ok, true);
  assert.equal(byId.get('6')!.scrape, undefined, 'pending: no result yet');
  const status = sample();
  // An offline device whose id has a (stale) scrape result: the result is not shown for it.
  status.scrapes = new Map([...status.scrapes, ['2', result(device({ id: '2' }), true)]]);
  const offline = new DeviceTable().page(status, query({ state: 'offline' }));
  assert.equal(offline.rows[0]!.scrape, undefined);
  assert.equal(offline.rows[0]!.state, 'offline');
});

test('search: name and host name case-blind, id and address as substrings; within the chosen state', () => {
  const table = new DeviceTable();
  const status = sample();
  const found = (q: string, state: DeviceQuery['state'] = 'all'): string[] =>
    ids(table.page(status, query({ q, state })));
  assert.deepEqual(found('ZEBRA.TS'), ['4'], 'name, whatever its case');
  assert.deepEqual(found('MANGO-H'), ['5'], 'host name, whatever its case');
  assert.deepEqual(found('apple-2'), ['7'], 'host name only');
  assert.deepEqual(found('100.64.0.6'), ['6'], 'address');
  assert.deepEqual(found('fd00::5'), ['5'], 'a second address');
  assert.deepEqual(found('7'), ['7'], 'id');
  assert.deepEqual(found('apple'), ['1', '7']);
  assert.deepEqual(found('apple', 'failing'), []);
  assert.deepEqual(found('nothing-like-it'), []);
  const none = table.page(status, query({ q: 'nothing-like-it' }));
  assert.deepEqual([none.matching, none.page, none.pages, none.total], [0, 1, 1, 7]);
});

test('state filter: that state only, counts unchanged by the filter or the search', () => {
  const table = new DeviceTable();
  const p = table.page(sample(), query({ state: 'scraped', q: 'a' }));
  assert.deepEqual(ids(p), ['4', '1', '7', '5']);
  assert.equal(p.counts.get('scraped'), 4);
  assert.equal(p.counts.get('failing'), 1);
  assert.equal(p.total, 7);
  const empty = table.page(sample(), query({ state: 'excluded' }));
  assert.deepEqual([ids(empty), empty.matching, empty.page, empty.pages], [[], 0, 1, 1]);
});

test('pages of 100: the first, the last partial one, and a page past the end clamps to the last', () => {
  const status = new RefreshStatus(0);
  const devices = Array.from({ length: 201 }, (_, i) =>
    device({ id: String(i), name: `d${String(i).padStart(3, '0')}`, addresses: [] }),
  );
  status.selections = devices.map((d) => selection(d, 'offline'));
  const table = new DeviceTable();
  const first = table.page(status, query());
  assert.deepEqual([first.rows.length, first.page, first.pages, first.matching], [100, 1, 3, 201]);
  assert.deepEqual([ids(first)[0], ids(first)[99]], ['0', '99']);
  const second = table.page(status, query({ page: 2 }));
  assert.deepEqual([ids(second)[0], ids(second)[99]], ['100', '199']);
  const last = table.page(status, query({ page: 3 }));
  assert.deepEqual(ids(last), ['200']);
  assert.deepEqual(table.page(status, query({ page: 9 })).page, 3);
  // Exactly 200: two pages, not three.
  status.selections = status.selections.slice(0, 200);
  assert.equal(table.page(status, query()).pages, 2);
});

test('the table is rebuilt when the failing list alone changes (a new failing-since time)', () => {
  const table = new DeviceTable();
  const status = sample();
  assert.equal(table.page(status, query({ state: 'failing' })).rows[0]!.failingSince, 'T0');
  status.failingDevices = [
    { deviceId: '3', deviceName: 'kiwi.ts.net', reason: 'timeout', message: '', hint: '', since: 'T1' },
  ];
  assert.equal(table.page(status, query({ state: 'failing' })).rows[0]!.failingSince, 'T1');
});

test('query parsing: page numbers below 1, fractions and unsafe integers; a missing state is all', () => {
  const parse = (s: string): DeviceQuery => parseDeviceQuery(new URLSearchParams(s));
  assert.deepEqual(parse(''), { state: 'all', q: '', page: 1 });
  assert.equal(parse('page=0').page, 1);
  assert.equal(parse('page=1').page, 1);
  assert.equal(parse('page=2').page, 2);
  assert.equal(parse('page=3.9').page, 3);
  assert.equal(parse('page=x').page, 1);
  assert.equal(parse(`page=${'9'.repeat(20)}`).page, 1);
  assert.equal(parse('state=pending').state, 'pending');
  assert.equal(parse('state=other_shard').state, 'other_shard');
  assert.equal(parse('state=').state, 'all');
  assert.equal(parse(`q=${'y'.repeat(200)}z`).q, 'y'.repeat(200));
});
