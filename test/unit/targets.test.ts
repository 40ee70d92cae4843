import assert from 'node:assert/strict';
import { test } from 'node:test';
import { globToRegExp } from '../../src/devices/names.js';
import { makeSelector, type SelectionRules } from '../../src/devices/targets.js';
import { device } from '../helpers/devices.js';

const RULES: SelectionRules = {
  scrapeTag: 'tag:exporter',
  requireExporterTag: false,
  targetDevices: [],
  excludeDevices: [],
  deviceTags: [],
  allowedCidrs: ['100.64.0.0/10', 'fd7a:115c:a1e0::/48'],
  port: 5252,
};

const stateOf = (rules: Partial<SelectionRules>, d = device()) => makeSelector({ ...RULES, ...rules })([d])[0]!;

test('online tagged devices are scraped by IPv4 on the client metrics port', () => {
  const s = stateOf({});
  assert.equal(s.state, 'eligible');
  assert.deepEqual(s.target, {
    deviceId: '1001',
    deviceName: 'gateway-1.tail1234.ts.net',
    address: '100.101.102.103',
    url: 'http://100.101.102.103:5252/metrics',
  });
});

test('IPv6-only devices are scraped by bracketed IPv6', () => {
  const s = stateOf({}, device({ addresses: ['fd7a:115c:a1e0::42'] }));
  assert.equal(s.target?.url, 'http://[fd7a:115c:a1e0::42]:5252/metrics');
});

test('offline and untagged devices are not scraped', () => {
  assert.equal(stateOf({}, device({ online: false })).state, 'offline');
  assert.equal(stateOf({}, device({ tags: [] })).state, 'untagged');
  assert.equal(stateOf({}, device({ tags: ['tag:other'] })).state, 'untagged');
});

test('TARGET_DEVICES: restricts tagged devices, adds untagged ones unless REQUIRE_EXPORTER_TAG', () => {
  assert.equal(stateOf({ targetDevices: ['db-*'] }).state, 'excluded');
  assert.equal(stateOf({ targetDevices: ['gateway-*'] }, device({ tags: [] })).state, 'eligible');
  assert.equal(
    stateOf({ targetDevices: ['gateway-*'], requireExporterTag: true }, device({ tags: [] })).state,
    'untagged',
  );
  assert.equal(stateOf({ targetDevices: ['gateway-*'], requireExporterTag: true }).state, 'eligible');
  // Matches the full MagicDNS name too, case-insensitively.
  assert.equal(stateOf({ targetDevices: ['GATEWAY-1.tail1234.ts.net'] }).state, 'eligible');
});

test('EXCLUDE_DEVICES and DEVICE_TAGS', () => {
  assert.equal(stateOf({ excludeDevices: ['gate*'] }).state, 'excluded');
  assert.equal(stateOf({ deviceTags: ['tag:prod'] }).state, 'excluded');
  assert.equal(stateOf({ deviceTags: ['tag:prod'] }, device({ tags: ['tag:exporter', 'tag:prod'] })).state, 'eligible');
});

test('addresses outside the allowed ranges are refused before any socket opens (SSRF)', () => {
  for (const addr of ['169.254.169.254', '10.0.0.1', '127.0.0.1', '192.168.1.1', '100.128.0.1', '::1', 'fe80::1']) {
    const s = stateOf({}, device({ addresses: [addr] }));
    assert.equal(s.state, 'address_refused', addr);
    assert.equal(s.target, undefined);
  }
  assert.equal(stateOf({}, device({ addresses: [] })).state, 'address_refused');
  assert.equal(stateOf({}, device({ addresses: ['not-an-ip', '100.64.0.1'] })).target?.address, '100.64.0.1');
  assert.equal(stateOf({ allowedCidrs: ['127.0.0.0/8'] }, device({ addresses: ['127.0.0.5'] })).state, 'eligible');
});

test('globs escape regex characters', () => {
  assert.ok(globToRegExp('a.b*').test('a.bcd'));
  assert.ok(!globToRegExp('a.b*').test('axbcd'));
  assert.ok(globToRegExp('*').test('anything'));
});

test('DEVICE_TAGS takes a device carrying any one of the listed tags, not only all of them', () => {
  const rules = { deviceTags: ['tag:prod', 'tag:staging'] };
  assert.equal(stateOf(rules, device({ tags: ['tag:exporter', 'tag:staging'] })).state, 'eligible');
  assert.equal(stateOf(rules, device({ tags: ['tag:exporter', 'tag:dev'] })).state, 'excluded');
});

test('client metrics start at 1.78.0: a client exactly there is scraped, one patch below is not', () => {
  const at = (clientVersion: string) => stateOf({}, device({ clientVersion }));
  assert.equal(at('1.78.0').state, 'eligible');
  assert.equal(at('1.78.0-t62b8bf6a0-g3c35ee987').state, 'eligible');
  assert.equal(at('1.77.99').state, 'client_too_old');
  assert.equal(at('1.77.99').target, undefined);
});

test('without an IPv4 address the first valid IPv6 one is scraped, skipping malformed entries', () => {
  const s = stateOf({}, device({ addresses: ['not-an-ip', 'fd7a:115c:a1e0::42'] }));
  assert.equal(s.state, 'eligible');
  assert.equal(s.target?.url, 'http://[fd7a:115c:a1e0::42]:5252/metrics');
});

test('replicas split the devices: each is scraped by exactly one shard, the others say other_shard', () => {
  // Ids '1' and '42' hash to shards 0 and 1 of 2 (pinned in shard.test.ts).
  const devices = [device({ id: '1' }), device({ id: '42' })];
  const [zero, one] = [0, 1].map((index) => makeSelector({ ...RULES, shard: { index, count: 2 } })(devices));
  assert.deepEqual(
    zero!.map((s) => s.state),
    ['eligible', 'other_shard'],
  );
  assert.deepEqual(
    one!.map((s) => s.state),
    ['other_shard', 'eligible'],
  );
  assert.equal(zero![1]!.target, undefined);
  assert.equal(one![0]!.device.id, '1');
});

test('a Device object is decided once per selector; a new object for the device is decided again', () => {
  const select = makeSelector(RULES);
  const d = device();
  const [first] = select([d]);
  const [again] = select([d]);
  assert.equal(again, first, 'the same Device object: the same Selection object');
  const offline = { ...d, online: false };
  const [changed] = select([offline]);
  assert.notEqual(changed, first);
  assert.equal(changed!.state, 'offline');
  // Another selector (other rules) keeps its own decisions.
  assert.equal(makeSelector({ ...RULES, excludeDevices: [d.name] })([d])[0]!.state, 'excluded');
});
