import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeExpectedCollector } from '../../src/collectors/expected.js';
import { deviceNameMatcher } from '../../src/devices/names.js';
import { makeSelector } from '../../src/devices/targets.js';
import { device as makeDevice } from '../helpers/devices.js';
import { refreshData } from '../helpers/refresh-data.js';

// TARGET_DEVICES, EXCLUDE_DEVICES, the expected-devices file and /probe name devices the same way.

const device = makeDevice({
  id: 'd1',
  name: 'gw-1.tail1234.ts.net',
  hostname: 'Gateway-Host',
  tags: ['tag:exporter'],
  addresses: ['100.64.0.1'],
});

const WRITTEN: ReadonlyArray<readonly [string, boolean]> = [
  ['gw-1', true],
  ['GW-1', true],
  ['gw-1.tail1234.ts.net', true],
  ['GW-1.TAIL1234.TS.NET.', true],
  ['gateway-host', true],
  [' gw-1 ', true],
  ['gw-2', false],
  ['gw', false],
  ['tail1234.ts.net', false],
];

test('a literal name matches by MagicDNS name, its first label or the OS host name; case and a rooted FQDN do not matter', () => {
  for (const [written, expected] of WRITTEN) {
    assert.equal(deviceNameMatcher(written, { glob: false })(device), expected, `probe target ${written}`);
    assert.equal(deviceNameMatcher(written)(device), expected, `glob ${written}`);
  }
  assert.equal(deviceNameMatcher('gw-*', { glob: false })(device), false, 'a literal name has no wildcard');
  assert.equal(deviceNameMatcher('GW-*')(device), true);
  assert.equal(
    deviceNameMatcher('', { glob: false })(makeDevice({ id: 'x', name: '', hostname: '' })),
    false,
    'an empty name matches nothing',
  );
});

test('TARGET_DEVICES, EXCLUDE_DEVICES and the expected-devices file agree with the matcher for every written form', () => {
  for (const [written, expected] of WRITTEN) {
    const rules = {
      scrapeTag: 'tag:exporter',
      requireExporterTag: false,
      deviceTags: [],
      allowedCidrs: ['100.64.0.0/10'],
      port: 5252,
    };
    const targeted = makeSelector({ ...rules, targetDevices: [written], excludeDevices: [] })([device])[0]!;
    assert.equal(targeted.state !== 'excluded', expected, `TARGET_DEVICES=${written}`);
    const excluded = makeSelector({ ...rules, targetDevices: [], excludeDevices: [written] })([device])[0]!;
    assert.equal(excluded.state === 'excluded', expected, `EXCLUDE_DEVICES=${written}`);
    const collector = makeExpectedCollector(() => ({
      strict: false,
      selectors: [{ name: 's', match: { name: written }, min: 1, severity: 'warning' }],
    }));
    const families = collector.collect(refreshData([device]));
    const present = families.find((f) => f.name === 'tsmetrics_expected_devices_present')!.samples[0]!;
    assert.equal(present.value, expected ? 1 : 0, `expected devices name: ${written}`);
  }
});
