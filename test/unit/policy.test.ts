import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coverageCollector } from '../../src/collectors/coverage.js';
import { makeDeviceInfoCollector } from '../../src/collectors/device-info.js';
import { makeDeviceVersionsCollector } from '../../src/collectors/device-versions.js';
import { makeExpectedCollector } from '../../src/collectors/expected.js';
import { userRedactor } from '../../src/collectors/pii.js';
import { parseExpectedDevices } from '../../src/config/expected-devices.js';
import { loadConfig } from '../../src/config/load.js';
import type { Selection } from '../../src/devices/targets.js';
import type { MetricFamily } from '../../src/exposition/family.js';
import { render } from '../../src/exposition/render.js';
import { compareVersions, parseClientVersion } from '../../src/control/client-version.js';
import { device } from '../helpers/devices.js';
import { refreshData } from '../helpers/refresh-data.js';

const samples = (fams: MetricFamily[], name: string) => fams.find((f) => f.name === name)?.samples ?? [];

test('tailscale_device_tags: one series per tag', () => {
  const f = makeDeviceInfoCollector({ labelsFromTags: [], userLabel: (u) => u }).collect(
    refreshData([device({ id: '1', tags: ['tag:a', 'tag:b'] }), device({ id: '2', tags: [] })]),
  );
  assert.deepEqual(
    samples(f, 'tailscale_device_tags').map((s) => [s.labels.device_id, s.labels.tag, s.value]),
    [
      ['1', 'tag:a', 1],
      ['1', 'tag:b', 1],
    ],
  );
});

test('DEVICE_LABELS_FROM_TAGS adds bounded labels to tailscale_device_info', () => {
  const { labelsFromTags } = loadConfig({
    TEST_DEVICES: 'a',
    DEVICE_LABELS_FROM_TAGS: 'team=tag:team-(.+),env=tag:(prod|staging)',
  });
  const f = makeDeviceInfoCollector({ labelsFromTags, userLabel: (u) => u }).collect(
    refreshData([
      device({ id: '1', tags: ['tag:exporter', 'tag:team-net', 'tag:prod'] }),
      device({ id: '2', tags: ['tag:dev'] }),
    ]),
  );
  const info = samples(f, 'tailscale_device_info');
  assert.equal(info[0]!.labels.team, 'net');
  assert.equal(info[0]!.labels.env, 'prod');
  assert.equal(info[1]!.labels.team, '', 'every device gets every derived label');
  assert.equal(info[1]!.labels.env, '');
  assert.throws(
    () => loadConfig({ TEST_DEVICES: 'a', DEVICE_LABELS_FROM_TAGS: 'team=tag:(' }),
    /^ConfigError: DEVICE_LABELS_FROM_TAGS=/,
  );
  assert.throws(
    () => loadConfig({ TEST_DEVICES: 'a', DEVICE_LABELS_FROM_TAGS: 'device_id=tag:(.+)' }),
    /DEVICE_LABELS_FROM_TAGS=/,
  );
});

test('client versions parse from the API format; unparseable ones are counted', () => {
  assert.deepEqual(parseClientVersion('1.76.1-t1234-g5678'), [1, 76, 1]);
  assert.deepEqual(parseClientVersion('1.80.2'), [1, 80, 2]);
  assert.deepEqual(parseClientVersion('1.82'), [1, 82, 0]);
  assert.equal(parseClientVersion('weird'), undefined);
  assert.ok(compareVersions([1, 80, 0], [1, 79, 9]) > 0);
  const c = makeDeviceVersionsCollector('1.80.0');
  const f = c.collect(
    refreshData([
      device({ id: 'old', clientVersion: '1.76.1-t1234-g5678' }),
      device({ id: 'new', clientVersion: '1.80.2-t62b8bf6a0-g3c35ee987' }),
      device({ id: 'odd', clientVersion: 'banana' }),
      device({ id: 'ext', clientVersion: '' }),
    ]),
  );
  assert.deepEqual(
    samples(f, 'tailscale_device_client_version_below_minimum').map((s) => [s.labels.device_id, s.value]),
    [
      ['old', 1],
      ['new', 0],
    ],
  );
  assert.deepEqual(
    samples(f, 'tailscale_device_client_version_info').map((s) => [s.labels.device_id, s.labels.major_minor]),
    [
      ['old', '1.76'],
      ['new', '1.80'],
    ],
  );
  assert.equal(samples(f, 'tsmetrics_client_version_unparseable')[0]!.value, 1);
  assert.equal(
    makeDeviceVersionsCollector(undefined)
      .collect(refreshData([device()]))
      .some((x) => x.name === 'tailscale_device_client_version_below_minimum'),
    false,
    'opt-in',
  );
});

test('client versions: up to 4-digit major and minor and 6-digit patch, blanks trimmed, nothing before or after', () => {
  const cases: [string, readonly number[] | undefined][] = [
    ['1.80.12', [1, 80, 12]],
    ['1.80.123456-t1', [1, 80, 123456]],
    ['12.3', [12, 3, 0]],
    ['1234.5678.9', [1234, 5678, 9]],
    ['v1.80.2', [1, 80, 2]],
    [' 1.80.2\n', [1, 80, 2]],
    ['1.80.2+abc', [1, 80, 2]],
    ['12345.1.0', undefined],
    ['1.12345', undefined],
    ['release-1.80.2', undefined],
    ['go1.80.2', undefined],
    ['1.80 beta', undefined],
    ['1.80x', undefined],
    ['1', undefined],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseClientVersion(text), want, JSON.stringify(text));
});

test('versions compare by major, then minor, then patch; equal versions compare 0', () => {
  assert.equal(compareVersions([1, 80, 2], [1, 80, 2]), 0);
  assert.ok(compareVersions([1, 80, 1], [1, 80, 2]) < 0);
  assert.ok(compareVersions([1, 80, 3], [1, 80, 2]) > 0);
  assert.ok(compareVersions([1, 79, 9], [1, 80, 0]) < 0);
  assert.ok(compareVersions([2, 0, 0], [1, 99, 99]) > 0);
});

test('below the minimum means strictly older: a device at MIN_CLIENT_VERSION is not below it', () => {
  const f = makeDeviceVersionsCollector('1.80.2').collect(
    refreshData([
      device({ id: 'at', clientVersion: '1.80.2-t62b8bf6a0-g3c35ee987' }),
      device({ id: 'patch-older', clientVersion: '1.80.1' }),
      device({ id: 'patch-newer', clientVersion: '1.80.3' }),
      device({ id: 'trimmed', clientVersion: ' 1.80.2 ' }),
    ]),
  );
  assert.deepEqual(
    samples(f, 'tailscale_device_client_version_below_minimum').map((s) => [s.labels.device_id, s.value]),
    [
      ['at', 0],
      ['patch-older', 1],
      ['patch-newer', 0],
      ['trimmed', 0],
    ],
  );
  assert.equal(samples(f, 'tsmetrics_client_version_unparseable')[0]!.value, 0);
  // Its HELP and TYPE, as /metrics shows them.
  const below = f.filter((x) => x.name === 'tailscale_device_client_version_below_minimum');
  assert.deepEqual(
    render(below)
      .text.split('\n')
      .filter((l) => l.startsWith('# ')),
    [
      '# HELP tailscale_device_client_version_below_minimum 1 if the device client is older than MIN_CLIENT_VERSION (clientVersion).',
      '# TYPE tailscale_device_client_version_below_minimum gauge',
    ],
  );
});

test('scrape coverage: a bounded state per device and the ratio of devices meant to be scraped', () => {
  const target = (id: string) => ({ deviceId: id, deviceName: id, address: '100.64.0.1', url: 'u' });
  const selections: Selection[] = [
    { device: device({ id: 'ok' }), state: 'eligible', target: target('ok') },
    { device: device({ id: 'bad' }), state: 'eligible', target: target('bad') },
    { device: device({ id: 'old' }), state: 'client_too_old' },
    { device: device({ id: 'off' }), state: 'offline' },
    { device: device({ id: 'tagless' }), state: 'untagged' },
  ];
  const scrapes = new Map([
    [
      'ok',
      {
        last: { ok: true as const, target: target('ok'), families: [], bytes: 1, durationSeconds: 0, series: 0 },
        families: [],
        lastSuccessSeconds: 1,
      },
    ],
    [
      'bad',
      {
        last: {
          ok: false as const,
          target: target('bad'),
          reason: 'timeout' as const,
          message: '',
          durationSeconds: 0,
        },
        families: undefined,
        lastSuccessSeconds: undefined,
      },
    ],
  ]);
  const f = coverageCollector.collect(refreshData([], { selections, scrapes }));
  assert.deepEqual(
    samples(f, 'tsmetrics_device_scrape_coverage').map((s) => [s.labels.device_id, s.labels.state]),
    [
      ['ok', 'scraped'],
      ['bad', 'failing'],
      ['old', 'client_too_old'],
      ['off', 'offline'],
      ['tagless', 'untagged'],
    ],
  );
  assert.equal(samples(f, 'tsmetrics_scrape_coverage_ratio')[0]!.value, 1 / 3);
});

test('expected devices: wanted, present (online and matching) and, in strict mode, unexpected devices', () => {
  const spec = parseExpectedDevices(`
strict: true
selectors:
  - name: gateways
    match: { name: "gateway-*" }
    min: 3
    severity: critical
  - name: databases
    match: { tag: "tag:db" }
`);
  const f = makeExpectedCollector(() => spec).collect(
    refreshData([
      device({ id: '1', name: 'gateway-1.t.ts.net', hostname: 'gateway-1' }),
      device({ id: '2', name: 'gateway-2.t.ts.net', hostname: 'gateway-2', online: false }),
      device({ id: '3', name: 'db.t.ts.net', hostname: 'db', tags: ['tag:db'] }),
      device({ id: '4', name: 'stray.t.ts.net', hostname: 'stray', tags: [] }),
    ]),
  );
  assert.deepEqual(
    samples(f, 'tsmetrics_expected_devices').map((s) => [s.labels.selector, s.labels.severity, s.value]),
    [
      ['gateways', 'critical', 3],
      ['databases', 'warning', 1],
    ],
  );
  assert.deepEqual(
    samples(f, 'tsmetrics_expected_devices_present').map((s) => [s.labels.selector, s.value]),
    [
      ['gateways', 1],
      ['databases', 1],
    ],
  );
  assert.deepEqual(
    samples(f, 'tailscale_device_unexpected').map((s) => s.labels.device_id),
    ['4'],
  );
  assert.throws(() => parseExpectedDevices('selectors: []'), /selectors/);
  assert.throws(() => parseExpectedDevices('selectors:\n  - name: x\n    match: {}\n'), /match needs name or tag/);
  assert.throws(() => parseExpectedDevices('selectors: [ {'), /not valid YAML/);
  assert.throws(
    () => parseExpectedDevices('selectors:\n  - name: x\n    match: { tag: "tag:a" }\n    mni: 2\n'),
    /Unrecognized key/i,
  );
});

test('REDACT_USER_EMAILS: a stable keyed hash, different per key, never the address', () => {
  const a = userRedactor('key-number-one-0123456789');
  const b = userRedactor('key-number-two-0123456789');
  assert.equal(a('alice@example.com'), a('Alice@example.com'));
  assert.match(a('alice@example.com'), /^user-[0-9a-f]{16}$/);
  assert.notEqual(a('alice@example.com'), b('alice@example.com'));
  assert.notEqual(a('alice@example.com'), a('bob@example.com'));
  assert.equal(userRedactor(undefined)('alice@example.com'), 'alice@example.com');
  assert.throws(
    () => loadConfig({ TEST_DEVICES: 'a', REDACT_USER_EMAILS: 'true' }),
    /REDACT_USER_EMAILS=true needs REDACT_KEY/,
  );
});
