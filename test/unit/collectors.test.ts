import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientMetricsCollector, relabelFamilies } from '../../src/collectors/client-metrics.js';
import { deviceLabels, type Collector } from '../../src/collectors/collector.js';
import { deviceConnectivityCollector } from '../../src/collectors/device-connectivity.js';
import { deviceInfoCollector } from '../../src/collectors/device-info.js';
import { deviceRoutesCollector } from '../../src/collectors/device-routes.js';
import { deviceTimesCollector } from '../../src/collectors/device-times.js';
import { makeDeviceVersionsCollector } from '../../src/collectors/device-versions.js';
import { exporterCollector } from '../../src/collectors/exporter.js';
import { runCollectors } from '../../src/collectors/index.js';
import { makeHttpCollector } from '../../src/collectors/http.js';
import { gauge, type MetricFamily } from '../../src/exposition/family.js';
import { render } from '../../src/exposition/render.js';
import { device } from '../helpers/devices.js';
import { refreshData } from '../helpers/refresh-data.js';

/** name -> device_id(+extra labels) -> value, for compact assertions. */
function values(families: MetricFamily[], name: string, extra: string[] = []): Record<string, number> {
  const fam = families.find((f) => f.name === name);
  assert.ok(fam, `family ${name} missing`);
  const out: Record<string, number> = {};
  for (const s of fam.samples) {
    const key = [s.labels.device_id ?? '', ...extra.map((l) => s.labels[l] ?? '')].join('|');
    out[key] = s.value;
  }
  return out;
}

const collect = (c: Collector, devices = DEVICES) => c.collect(refreshData(devices));

const DEVICES = [
  device({
    id: '1',
    name: 'gw.tail.ts.net',
    online: true,
    authorized: true,
    updateAvailable: true,
    multipleConnections: true,
  }),
  device({
    id: '2',
    name: 'laptop.tail.ts.net',
    online: false,
    lastSeenSeconds: 1_749_000_000,
    os: 'macOS',
    clientVersion: '1.62.0',
    keyExpiryDisabled: true,
    expiresSeconds: undefined,
    tailnetLockError: 'bad sig',
    blocksIncomingConnections: true,
  }),
  device({
    id: '3',
    name: 'shared.other.ts.net',
    isExternal: true,
    createdSeconds: undefined,
    isEphemeral: true,
    authorized: false,
    user: 'bob@other.com',
  }),
];

test('device count and info: online from connectedToControl, os, version', () => {
  const f = collect(deviceInfoCollector);
  assert.deepEqual(values(f, 'tailscale_device_count'), { '': 3 });
  const info = f.find((x) => x.name === 'tailscale_device_info')!;
  assert.deepEqual(info.samples[1]!.labels, {
    device_id: '2',
    device_name: 'laptop.tail.ts.net',
    online: 'false',
    os: 'macOS',
    version: '1.62.0',
  });
  assert.deepEqual(values(f, 'tailscale_device_online'), { 1: 1, 2: 0, 3: 1 });
  assert.deepEqual(values(f, 'tailscale_device_authorized'), { 1: 1, 2: 1, 3: 0 });
  assert.deepEqual(values(f, 'tailscale_device_user', ['user_email']), {
    '1|alice@example.com': 1,
    '2|alice@example.com': 1,
    '3|bob@other.com': 1,
  });
  assert.deepEqual(values(f, 'tailscale_device_update_available'), { 1: 1, 2: 0, 3: 0 });
  assert.deepEqual(values(f, 'tailscale_device_external'), { 1: 0, 2: 0, 3: 1 });
  assert.deepEqual(values(f, 'tailscale_device_ephemeral'), { 1: 0, 2: 0, 3: 1 });
  assert.deepEqual(values(f, 'tailscale_device_blocks_incoming_connections'), { 1: 0, 2: 1, 3: 0 });
  assert.deepEqual(values(f, 'tailscale_device_multiple_connections'), { 1: 1, 2: 0, 3: 0 });
  assert.deepEqual(values(f, 'tailscale_device_tailnet_lock_error'), { 1: 0, 2: 1, 3: 0 });
  assert.deepEqual(values(f, 'tailscale_device_key_expiry_disabled'), { 1: 0, 2: 1, 3: 0 });
});

test('timestamps: connected devices are seen now, expiry-disabled keys and external created times are absent (never 0)', () => {
  const f = collect(deviceTimesCollector);
  assert.deepEqual(values(f, 'tailscale_device_last_seen_timestamp'), {
    1: 1_750_000_000,
    2: 1_749_000_000,
    3: 1_750_000_000,
  });
  assert.deepEqual(values(f, 'tailscale_device_machine_key_expiry'), { 1: 1_800_000_000, 3: 1_800_000_000 });
  assert.deepEqual(values(f, 'tailscale_device_created_timestamp'), { 1: 1_700_000_000, 2: 1_700_000_000 });
  for (const fam of f) for (const s of fam.samples) assert.ok(s.value > 0, `${fam.name} ${JSON.stringify(s.labels)}`);
  // A never-seen offline device has no last-seen series.
  const never = deviceTimesCollector.collect(
    refreshData([device({ id: '9', online: false, lastSeenSeconds: undefined })]),
  );
  assert.deepEqual(values(never, 'tailscale_device_last_seen_timestamp'), {});
});

test('routes, exit nodes and subnet routers', () => {
  const f = collect(deviceRoutesCollector, [
    device({ id: 'exit', advertisedRoutes: ['0.0.0.0/0', '::/0'], enabledRoutes: ['0.0.0.0/0', '::/0'] }),
    device({ id: 'offer', advertisedRoutes: ['0.0.0.0/0', '::/0'], enabledRoutes: [] }),
    device({ id: 'router', advertisedRoutes: ['10.0.0.0/24', '10.1.0.0/24'], enabledRoutes: ['10.0.0.0/24'] }),
    device({ id: 'pending', advertisedRoutes: ['10.2.0.0/24'], enabledRoutes: [] }),
    device({ id: 'unknown', advertisedRoutes: undefined, enabledRoutes: undefined }),
  ]);
  assert.deepEqual(values(f, 'tailscale_device_routes_advertised', ['route']), {
    'exit|0.0.0.0/0': 1,
    'exit|::/0': 1,
    'offer|0.0.0.0/0': 1,
    'offer|::/0': 1,
    'router|10.0.0.0/24': 1,
    'router|10.1.0.0/24': 1,
    'pending|10.2.0.0/24': 1,
  });
  assert.deepEqual(values(f, 'tailscale_device_routes_enabled', ['route']), {
    'exit|0.0.0.0/0': 1,
    'exit|::/0': 1,
    'router|10.0.0.0/24': 1,
  });
  assert.deepEqual(values(f, 'tailscale_device_exit_node'), { exit: 1, offer: 0, router: 0, pending: 0 });
  assert.deepEqual(values(f, 'tailscale_device_exit_node_option'), { exit: 1, offer: 1, router: 0, pending: 0 });
  assert.deepEqual(values(f, 'tailscale_device_subnet_router'), { exit: 0, offer: 0, router: 1, pending: 0 });
});

test('routes advertised by a device whose answer has no enabledRoutes field: none approved', () => {
  const f = collect(deviceRoutesCollector, [
    device({ id: 'r', advertisedRoutes: ['10.0.0.0/24', '0.0.0.0/0'], enabledRoutes: undefined }),
  ]);
  assert.deepEqual(values(f, 'tailscale_device_routes_advertised', ['route']), {
    'r|10.0.0.0/24': 1,
    'r|0.0.0.0/0': 1,
  });
  assert.deepEqual(values(f, 'tailscale_device_routes_enabled', ['route']), {});
  assert.deepEqual(values(f, 'tailscale_device_exit_node'), { r: 0 });
  assert.deepEqual(values(f, 'tailscale_device_exit_node_option'), { r: 1 });
  assert.deepEqual(values(f, 'tailscale_device_subnet_router'), { r: 0 });
});

test('connectivity: DERP latency by region, endpoints, client supports, posture serials', () => {
  const f = collect(deviceConnectivityCollector, [
    device({
      id: '1',
      clientConnectivity: {
        endpoints: ['1.2.3.4:41641', '[2001:db8::1]:41641'],
        latency: [
          { region: 'Frankfurt', latencyMs: 12.5, preferred: true },
          { region: 'New York City', latencyMs: 88, preferred: false },
        ],
        clientSupports: { ipv6: true, udp: true, upnp: false },
        mappingVariesByDestIP: false,
      },
      postureSerialNumbers: ['SN1', 'SN2'],
    }),
    device({ id: '2' }),
  ]);
  assert.deepEqual(values(f, 'tailscale_device_latency_ms', ['derp_region', 'preferred']), {
    '1|Frankfurt|true': 12.5,
    '1|New York City|false': 88,
  });
  assert.deepEqual(values(f, 'tailscale_device_endpoints_total'), { 1: 2 });
  assert.deepEqual(values(f, 'tailscale_device_client_supports', ['feature']), {
    '1|ipv6': 1,
    '1|udp': 1,
    '1|upnp': 0,
  });
  assert.deepEqual(values(f, 'tailscale_device_posture_serial_numbers_total'), { 1: 2 });
});

test('client supports are written in feature order, whatever order the API listed them in', () => {
  // The API's JSON object order is not guaranteed, and the conversion keeps it: two devices reporting the
  // same features in other orders still get their series in one order.
  const connectivity = (clientSupports: Record<string, boolean>) => ({
    endpoints: [],
    latency: [],
    clientSupports,
    mappingVariesByDestIP: undefined,
  });
  const f = collect(deviceConnectivityCollector, [
    device({ id: '1', clientConnectivity: connectivity({ upnp: false, udp: true, ipv6: true, hairpinning: false }) }),
    device({ id: '2', clientConnectivity: connectivity({ hairpinning: true, ipv6: false, udp: true, upnp: true }) }),
  ]);
  const supports = f.find((x) => x.name === 'tailscale_device_client_supports')!;
  assert.deepEqual(
    supports.samples.map((s) => `${s.labels.device_id} ${s.labels.feature} ${s.value}`),
    ['1 hairpinning 0', '1 ipv6 1', '1 udp 1', '1 upnp 0', '2 hairpinning 1', '2 ipv6 0', '2 udp 1', '2 upnp 1'],
  );
  // The order is what /metrics shows.
  const lines = render([supports]).text.split('\n');
  assert.deepEqual(
    lines
      .filter((l) => l.startsWith('tailscale_device_client_supports{device_id="1"'))
      .map((l) => /feature="(\w+)"/.exec(l)![1]),
    ['hairpinning', 'ipv6', 'udp', 'upnp'],
  );
});

test('no device list yet: no device families at all (never an empty tailnet)', () => {
  for (const c of [
    deviceInfoCollector,
    deviceTimesCollector,
    deviceRoutesCollector,
    deviceConnectivityCollector,
    makeDeviceVersionsCollector('1.80.0'),
    makeDeviceVersionsCollector(undefined),
  ]) {
    assert.deepEqual(c.collect(refreshData(undefined)), []);
  }
});

test('relabelling adds device labels first and renames colliding ones exported_*', () => {
  const out = relabelFamilies(
    [
      {
        name: 'tailscaled_inbound_bytes_total',
        type: 'counter',
        help: 'h',
        samples: [
          {
            name: 'tailscaled_inbound_bytes_total',
            labels: { path: 'derp', device_id: 'spoof', exported_device_id: 'x' },
            value: 5,
          },
        ],
      },
      {
        name: 'go_goroutines',
        type: 'gauge',
        help: 'not ours',
        samples: [{ name: 'go_goroutines', labels: {}, value: 1 }],
      },
    ],
    'id1',
    'gw',
  );
  assert.equal(out.length, 1, 'only tailscaled_* families are re-exported');
  assert.equal(out[0]!.type, 'counter');
  assert.deepEqual(out[0]!.samples[0]!.labels, {
    device_id: 'id1',
    device_name: 'gw',
    path: 'derp',
    exported_device_id: 'spoof',
    exported_exported_device_id: 'x',
  });
});

test('client metrics of failed devices without retained data are absent', () => {
  const target = { deviceId: 'd', deviceName: 'n', address: '100.64.0.1', url: 'http://100.64.0.1:5252/metrics' };
  const scrapes = new Map([
    [
      'd',
      {
        last: { ok: false as const, target, reason: 'timeout' as const, message: 'x', durationSeconds: 1 },
        families: undefined,
        lastSuccessSeconds: undefined,
      },
    ],
  ]);
  assert.deepEqual(clientMetricsCollector.collect(refreshData([], { scrapes })), []);
});

test('client metrics come in device order, by name then id, whatever order the scrapes finished in', () => {
  const state = (deviceId: string, deviceName: string) => {
    const target = { deviceId, deviceName, address: '100.64.0.1', url: 'u' };
    return {
      last: { ok: true as const, target, families: [], bytes: 1, durationSeconds: 0, series: 1 },
      families: [gauge('tailscaled_up', 'h', [[{ device_id: deviceId, device_name: deviceName }, 1]])],
      lastSuccessSeconds: 1,
    };
  };
  const finished = [state('2', 'web'), state('9', 'db'), state('3', 'web'), state('5', 'api'), state('1', 'web')];
  const scrapes = new Map(finished.map((s) => [s.last.target.deviceId, s]));
  const order = clientMetricsCollector
    .collect(refreshData([], { scrapes }))
    .map((f) => `${f.samples[0]!.labels.device_name}/${f.samples[0]!.labels.device_id}`);
  assert.deepEqual(order, ['api/5', 'db/9', 'web/1', 'web/2', 'web/3']);
});

test('exporter self-metrics: api_up, staleness, build info, per-device scrape state', () => {
  const target = { deviceId: 'd1', deviceName: 'gw', address: '100.64.0.1', url: 'u' };
  const f = exporterCollector.collect(
    refreshData([], {
      api: {
        up: false,
        lastSuccessSeconds: 1_749_999_000,
        listDurationSeconds: 0,
        stats: new (class {
          snapshot() {
            return [
              [
                'devices',
                {
                  requests: 3,
                  errors: new Map([['http_status', 2]]),
                  durationSum: 1.2,
                  bucketCounts: [1, 0, 0, 0, 2, 0, 0, 0, 0],
                },
              ],
            ] as const;
          }
        })() as never,
      },
      scrapes: new Map([
        [
          'd1',
          {
            last: { ok: false as const, target, reason: 'parse' as const, message: 'm', durationSeconds: 0.2 },
            families: undefined,
            lastSuccessSeconds: 1_749_999_900,
          },
        ],
      ]),
      errors: {
        deviceScrapeErrors: new Map([
          ['d1\u0000parse', 4],
          ['gone\u0000timeout', 1],
        ]),
        apiRefreshFailures: 2,
        cycleOverruns: 1,
        addressRefusals: 0,
        invalidApiDevices: 0,
        renderDropped: 0,
        typeConflicts: 0,
      },
    }),
  );
  assert.deepEqual(values(f, 'tsmetrics_api_up'), { '': 0 });
  assert.deepEqual(values(f, 'tsmetrics_last_successful_refresh_timestamp_seconds'), { '': 1_749_999_000 });
  assert.deepEqual(values(f, 'tsmetrics_api_refresh_failures_total'), { '': 2 });
  assert.deepEqual(values(f, 'tsmetrics_device_scrape_up'), { d1: 0 });
  assert.deepEqual(values(f, 'tsmetrics_device_scrape_errors_total', ['reason']), { 'd1|parse': 4 });
  const hist = f.find((x) => x.name === 'tsmetrics_api_request_duration_seconds')!;
  const bucket = (le: string) => hist.samples.find((s) => s.labels.le === le)!.value;
  assert.equal(bucket('0.05'), 1);
  assert.equal(bucket('1'), 3);
  assert.equal(bucket('+Inf'), 3);
  const build = f.find((x) => x.name === 'tsmetrics_build_info')!;
  assert.deepEqual(build.samples[0]!.labels, { version: '9.9.9', node_version: process.version });
});

test("the HTTP server's figures: requests by handler and code, in flight, open, refused by cap, header timeouts, reloads failed", () => {
  // Counted in the order requests came; written sorted, so the series keep their place from one snapshot to the next.
  const http = makeHttpCollector({
    requests: new Map([
      ['metrics\u0000429', 1],
      ['health\u0000200', 2],
      ['metrics\u0000200', 5],
    ]),
    inFlight: 1,
    openConnections: 3,
    refused: new Map([
      ['per_address', 2],
      ['max_connections', 4],
    ]),
    headerTimeouts: 6,
    webConfigReloadFailures: 7,
  });
  assert.equal(http.name, 'exporter');
  assert.deepEqual(render(http.collect(refreshData([]))).text.split('\n'), [
    '# HELP tsmetrics_http_connections_open Open HTTP connections when the snapshot was built.',
    '# TYPE tsmetrics_http_connections_open gauge',
    'tsmetrics_http_connections_open 3',
    '# HELP tsmetrics_http_connections_refused_total Connections closed unanswered by a cap: per_address (HTTP_MAX_CONNECTIONS_PER_ADDRESS) or max_connections (HTTP_MAX_CONNECTIONS).',
    '# TYPE tsmetrics_http_connections_refused_total counter',
    'tsmetrics_http_connections_refused_total{reason="max_connections"} 4',
    'tsmetrics_http_connections_refused_total{reason="per_address"} 2',
    '# HELP tsmetrics_http_header_timeouts_total Connections closed because no complete request arrived within HTTP_HEADER_TIMEOUT.',
    '# TYPE tsmetrics_http_header_timeouts_total counter',
    'tsmetrics_http_header_timeouts_total 6',
    '# HELP tsmetrics_http_requests_in_flight HTTP requests being handled when the snapshot was built.',
    '# TYPE tsmetrics_http_requests_in_flight gauge',
    'tsmetrics_http_requests_in_flight 1',
    '# HELP tsmetrics_http_requests_total HTTP requests answered, by handler and status code (429 rate limited, 503 over the in-flight limit included).',
    '# TYPE tsmetrics_http_requests_total counter',
    'tsmetrics_http_requests_total{handler="health",code="200"} 2',
    'tsmetrics_http_requests_total{handler="metrics",code="200"} 5',
    'tsmetrics_http_requests_total{handler="metrics",code="429"} 1',
    '# HELP tsmetrics_web_config_reload_failures_total Re-reads of WEB_CONFIG_FILE or its certificates that failed; the previous settings stay in force.',
    '# TYPE tsmetrics_web_config_reload_failures_total counter',
    'tsmetrics_web_config_reload_failures_total 7',
    '',
  ]);
});

test('a throwing collector loses only its own families and reports collector_success 0', () => {
  const boom: Collector = {
    name: 'boom',
    stage: 'list',
    collect: () => {
      throw new Error('x');
    },
  };
  const failed: string[] = [];
  const f = runCollectors(refreshData(DEVICES), [deviceInfoCollector, boom], (n) => failed.push(n));
  assert.deepEqual(failed, ['boom']);
  assert.ok(f.some((x) => x.name === 'tailscale_device_count'));
  const success = f.find((x) => x.name === 'tsmetrics_collector_success')!;
  assert.deepEqual(
    success.samples.map((s) => [s.labels.collector, s.value]),
    [
      ['devices', 1],
      ['boom', 0],
    ],
  );
  // A failed fetch makes the collector unsuccessful even though rendering worked.
  const down = runCollectors(
    refreshData(DEVICES, {
      api: { up: false, lastSuccessSeconds: 1, listDurationSeconds: 2, stats: refreshData([]).api.stats },
    }),
    [deviceInfoCollector],
  );
  const s2 = down.find((x) => x.name === 'tsmetrics_collector_success')!;
  assert.deepEqual(
    s2.samples.map((s) => [s.labels.collector, s.value]),
    [['devices', 0]],
  );
  const d2 = down.find((x) => x.name === 'tsmetrics_collector_duration_seconds')!;
  assert.ok(d2.samples[0]!.value >= 2, 'the fetch time counts');
});

test("a collector's repeated series, or a family another collector also writes, is caught by the renderer", () => {
  // Two devices with the same id (an API answer that slipped through) and a collector writing a device
  // family of its own: with the old trust flag (collector output taken as distinct) both copies were written.
  const twin = { ...DEVICES[0]! };
  const rogue: Collector = {
    name: 'rogue',
    stage: 'list',
    collect: () => [gauge('tailscale_device_online', 'h', [[deviceLabels(DEVICES[0]!), 1]])],
  };
  const { text, stats } = render(runCollectors(refreshData([DEVICES[0]!, twin]), [deviceInfoCollector, rogue]));
  const online = text.split('\n').filter((l) => l.startsWith('tailscale_device_online{'));
  assert.equal(online.length, 1, text);
  assert.ok(stats.duplicates >= 1 + 1, `duplicates ${stats.duplicates}`);
  assert.ok(stats.firstDrop?.startsWith('duplicate series in '));
});
