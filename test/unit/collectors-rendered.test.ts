import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Collector, DeviceScrapeState, RefreshData } from '../../src/collectors/collector.js';
import { makeDeviceInfoCollector } from '../../src/collectors/device-info.js';
import { exporterCollector } from '../../src/collectors/exporter.js';
import {
  apiKeysCollector,
  headscaleHealthCollector,
  headscaleNodesCollector,
  makeHeadscaleUsersCollector,
  makePreAuthKeysCollector,
} from '../../src/collectors/headscale.js';
import { RequestStats } from '../../src/control/request-stats.js';
import { EMPTY_INVENTORY, type InventoryData } from '../../src/control/inventory.js';
import { render } from '../../src/exposition/render.js';
import { device } from '../helpers/devices.js';
import { refreshData } from '../helpers/refresh-data.js';

// The exact exposition text of the exporter, Headscale and device info collectors: names, HELP, TYPE, every
// label name and value, sample values, series left out when a value is missing, and the order where sorted.

const lines = (c: Pick<Collector, 'collect'>, data: RefreshData): string[] => render(c.collect(data)).text.split('\n');
const upper = (u: string): string => u.toUpperCase();
const withInventory = (inventory: Partial<InventoryData>, overrides: Partial<RefreshData> = {}): RefreshData =>
  refreshData([], { ...overrides, inventory: { ...EMPTY_INVENTORY, ...inventory } });
const ok = <T>(data: T) => ({ data, ok: true, durationSeconds: 0 });

const target = (deviceId: string, deviceName: string) => ({ deviceId, deviceName, address: '100.64.0.1', url: 'u' });
const scrapeState = (
  deviceId: string,
  deviceName: string,
  good: boolean,
  lastSuccessSeconds: number | undefined,
): DeviceScrapeState => ({
  last: good
    ? { ok: true, target: target(deviceId, deviceName), families: [], bytes: 1, durationSeconds: 0.5, series: 1 }
    : { ok: false, target: target(deviceId, deviceName), reason: 'timeout', message: 'm', durationSeconds: 2 },
  families: undefined,
  lastSuccessSeconds,
});

function exporterData(overrides: Partial<RefreshData> = {}): RefreshData {
  const stats = new RequestStats();
  stats.record('devices', 0.03125);
  stats.record('devices', 0.25, 'timeout');
  stats.record('devices', 100, 'network');
  stats.record('devices', 0.5, 'network');
  stats.record('device_routes', 0.5);
  // Inserted out of name order: the series come sorted by device name.
  const scrapes = new Map([
    ['d2', scrapeState('d2', 'web', false, undefined)],
    ['d1', scrapeState('d1', 'db', true, 1_749_999_990)],
    ['d3', scrapeState('d3', 'api', false, 1_749_999_000)],
  ]);
  const base = refreshData([device({ id: 'd1' }), device({ id: 'd2' }), device({ id: 'd3' }), device({ id: 'd4' })], {
    version: '1.2.3',
    simulated: true,
    api: { up: true, lastSuccessSeconds: 1_749_999_950, listDurationSeconds: 0.1, stats },
    selections: [
      { device: device({ id: 'd1' }), state: 'eligible' },
      { device: device({ id: 'd2' }), state: 'eligible' },
      { device: device({ id: 'd4' }), state: 'untagged' },
    ],
    scrapes,
    cycle: { durationSeconds: 3.5, scrapeDurationSeconds: 2.25, startedSeconds: 1_750_000_000 },
    errors: {
      deviceScrapeErrors: new Map([
        ['d3\u0000timeout', 2],
        ['d2\u0000timeout', 5],
        ['d2\u0000connect', 1],
        ['gone\u0000parse', 9],
      ]),
      apiRefreshFailures: 11,
      cycleOverruns: 12,
      addressRefusals: 13,
      invalidApiDevices: 14,
      renderDropped: 15,
      typeConflicts: 16,
    },
    process: { startSeconds: 1_749_000_000, rssBytes: 2048, heapBytes: 1024 },
  });
  return { ...base, ...overrides };
}

test('exporter self-metrics: every family with its HELP, TYPE, labels and values; device series sorted by name', () => {
  assert.deepEqual(lines(exporterCollector, exporterData()), [
    '# HELP nodejs_heap_used_bytes V8 heap in use, in bytes.',
    '# TYPE nodejs_heap_used_bytes gauge',
    'nodejs_heap_used_bytes 1024',
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE process_resident_memory_bytes gauge',
    'process_resident_memory_bytes 2048',
    '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
    '# TYPE process_start_time_seconds gauge',
    'process_start_time_seconds 1749000000',
    '# HELP tsmetrics_api_errors_total Failed Tailscale API requests by endpoint and reason (timeout, network, http_status, rate_limited, auth, invalid_response).',
    '# TYPE tsmetrics_api_errors_total counter',
    'tsmetrics_api_errors_total{endpoint="devices",reason="network"} 2',
    'tsmetrics_api_errors_total{endpoint="devices",reason="timeout"} 1',
    '# HELP tsmetrics_api_invalid_devices_total Device list entries skipped because they had no id or name.',
    '# TYPE tsmetrics_api_invalid_devices_total counter',
    'tsmetrics_api_invalid_devices_total 14',
    '# HELP tsmetrics_api_refresh_failures_total Refresh cycles whose device list call failed.',
    '# TYPE tsmetrics_api_refresh_failures_total counter',
    'tsmetrics_api_refresh_failures_total 11',
    '# HELP tsmetrics_api_request_duration_seconds Duration of Tailscale API requests by endpoint.',
    '# TYPE tsmetrics_api_request_duration_seconds histogram',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="device_routes",le="0.05"} 0',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="device_routes",le="0.1"} 0',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="device_routes",le="0.25"} 0',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="device_routes",le="0.5"} 1',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="device_routes",le="1"} 1',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="device_routes",le="2.5"} 1',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="device_routes",le="5"} 1',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="device_routes",le="10"} 1',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="device_routes",le="30"} 1',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="device_routes",le="+Inf"} 1',
    'tsmetrics_api_request_duration_seconds_sum{endpoint="device_routes"} 0.5',
    'tsmetrics_api_request_duration_seconds_count{endpoint="device_routes"} 1',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="devices",le="0.05"} 1',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="devices",le="0.1"} 1',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="devices",le="0.25"} 2',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="devices",le="0.5"} 3',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="devices",le="1"} 3',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="devices",le="2.5"} 3',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="devices",le="5"} 3',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="devices",le="10"} 3',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="devices",le="30"} 3',
    'tsmetrics_api_request_duration_seconds_bucket{endpoint="devices",le="+Inf"} 4',
    'tsmetrics_api_request_duration_seconds_sum{endpoint="devices"} 100.78125',
    'tsmetrics_api_request_duration_seconds_count{endpoint="devices"} 4',
    '# HELP tsmetrics_api_requests_total Tailscale API requests by endpoint (oauth_token, devices, device_routes), retries included.',
    '# TYPE tsmetrics_api_requests_total counter',
    'tsmetrics_api_requests_total{endpoint="device_routes"} 1',
    'tsmetrics_api_requests_total{endpoint="devices"} 4',
    '# HELP tsmetrics_api_up 1 if the last Tailscale API device list call succeeded.',
    '# TYPE tsmetrics_api_up gauge',
    'tsmetrics_api_up 1',
    '# HELP tsmetrics_build_info Build information, value 1.',
    '# TYPE tsmetrics_build_info gauge',
    `tsmetrics_build_info{version="1.2.3",node_version="${process.version}"} 1`,
    '# HELP tsmetrics_client_metrics_type_conflicts_total Device families dropped because another device declared the same family with another TYPE.',
    '# TYPE tsmetrics_client_metrics_type_conflicts_total counter',
    'tsmetrics_client_metrics_type_conflicts_total 16',
    '# HELP tsmetrics_device_last_scrape_success_timestamp_seconds Unix time of the last successful scrape of the device.',
    '# TYPE tsmetrics_device_last_scrape_success_timestamp_seconds gauge',
    'tsmetrics_device_last_scrape_success_timestamp_seconds{device_id="d3",device_name="api"} 1749999000',
    'tsmetrics_device_last_scrape_success_timestamp_seconds{device_id="d1",device_name="db"} 1749999990',
    '# HELP tsmetrics_device_scrape_duration_seconds Duration of the last scrape of the device client metrics.',
    '# TYPE tsmetrics_device_scrape_duration_seconds gauge',
    'tsmetrics_device_scrape_duration_seconds{device_id="d3",device_name="api"} 2',
    'tsmetrics_device_scrape_duration_seconds{device_id="d1",device_name="db"} 0.5',
    'tsmetrics_device_scrape_duration_seconds{device_id="d2",device_name="web"} 2',
    '# HELP tsmetrics_device_scrape_errors_total Failed device scrapes by reason (timeout, connect, http_status, too_large, parse, too_many_series).',
    '# TYPE tsmetrics_device_scrape_errors_total counter',
    'tsmetrics_device_scrape_errors_total{device_id="d2",device_name="web",reason="connect"} 1',
    'tsmetrics_device_scrape_errors_total{device_id="d2",device_name="web",reason="timeout"} 5',
    'tsmetrics_device_scrape_errors_total{device_id="d3",device_name="api",reason="timeout"} 2',
    '# HELP tsmetrics_device_scrape_up 1 if the last scrape of the device client metrics succeeded.',
    '# TYPE tsmetrics_device_scrape_up gauge',
    'tsmetrics_device_scrape_up{device_id="d3",device_name="api"} 0',
    'tsmetrics_device_scrape_up{device_id="d1",device_name="db"} 1',
    'tsmetrics_device_scrape_up{device_id="d2",device_name="web"} 0',
    '# HELP tsmetrics_devices_discovered Devices in the last good API device list.',
    '# TYPE tsmetrics_devices_discovered gauge',
    'tsmetrics_devices_discovered 4',
    '# HELP tsmetrics_devices_eligible Devices selected for client-metrics scraping.',
    '# TYPE tsmetrics_devices_eligible gauge',
    'tsmetrics_devices_eligible 2',
    '# HELP tsmetrics_devices_scraped Devices scraped successfully in the last cycle.',
    '# TYPE tsmetrics_devices_scraped gauge',
    'tsmetrics_devices_scraped 1',
    '# HELP tsmetrics_exposition_dropped_series_total Series dropped while rendering (invalid names, duplicates, TYPE conflicts).',
    '# TYPE tsmetrics_exposition_dropped_series_total counter',
    'tsmetrics_exposition_dropped_series_total 15',
    '# HELP tsmetrics_last_successful_refresh_timestamp_seconds Unix time of the last successful device list from the API; the age of the API data served.',
    '# TYPE tsmetrics_last_successful_refresh_timestamp_seconds gauge',
    'tsmetrics_last_successful_refresh_timestamp_seconds 1749999950',
    '# HELP tsmetrics_refresh_duration_seconds Duration of the last refresh cycle (API and device scrapes).',
    '# TYPE tsmetrics_refresh_duration_seconds gauge',
    'tsmetrics_refresh_duration_seconds 3.5',
    '# HELP tsmetrics_scrape_address_refused_total Device scrapes refused because the address is outside SCRAPE_ALLOWED_CIDRS.',
    '# TYPE tsmetrics_scrape_address_refused_total counter',
    'tsmetrics_scrape_address_refused_total 13',
    '# HELP tsmetrics_scrape_cycle_duration_seconds Duration of the device scrapes of the last refresh cycle.',
    '# TYPE tsmetrics_scrape_cycle_duration_seconds gauge',
    'tsmetrics_scrape_cycle_duration_seconds 2.25',
    '# HELP tsmetrics_scrape_cycle_overruns_total Refresh cycles that took longer than SCRAPE_INTERVAL.',
    '# TYPE tsmetrics_scrape_cycle_overruns_total counter',
    'tsmetrics_scrape_cycle_overruns_total 12',
    '# HELP tsmetrics_simulated 1 when the data comes from the built-in simulated tailnet (--demo or TEST_DEVICES), 0 for a real control server.',
    '# TYPE tsmetrics_simulated gauge',
    'tsmetrics_simulated 1',
    '',
  ]);
});

test('exporter self-metrics: a real control server, an API down with no success yet, no device list', () => {
  const data = exporterData({
    simulated: false,
    devices: undefined,
    api: { up: false, lastSuccessSeconds: undefined, listDurationSeconds: 0, stats: new RequestStats() },
    scrapes: new Map(),
    selections: [],
  });
  assert.deepEqual(lines(exporterCollector, data), [
    '# HELP nodejs_heap_used_bytes V8 heap in use, in bytes.',
    '# TYPE nodejs_heap_used_bytes gauge',
    'nodejs_heap_used_bytes 1024',
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE process_resident_memory_bytes gauge',
    'process_resident_memory_bytes 2048',
    '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
    '# TYPE process_start_time_seconds gauge',
    'process_start_time_seconds 1749000000',
    '# HELP tsmetrics_api_invalid_devices_total Device list entries skipped because they had no id or name.',
    '# TYPE tsmetrics_api_invalid_devices_total counter',
    'tsmetrics_api_invalid_devices_total 14',
    '# HELP tsmetrics_api_refresh_failures_total Refresh cycles whose device list call failed.',
    '# TYPE tsmetrics_api_refresh_failures_total counter',
    'tsmetrics_api_refresh_failures_total 11',
    '# HELP tsmetrics_api_up 1 if the last Tailscale API device list call succeeded.',
    '# TYPE tsmetrics_api_up gauge',
    'tsmetrics_api_up 0',
    '# HELP tsmetrics_build_info Build information, value 1.',
    '# TYPE tsmetrics_build_info gauge',
    `tsmetrics_build_info{version="1.2.3",node_version="${process.version}"} 1`,
    '# HELP tsmetrics_client_metrics_type_conflicts_total Device families dropped because another device declared the same family with another TYPE.',
    '# TYPE tsmetrics_client_metrics_type_conflicts_total counter',
    'tsmetrics_client_metrics_type_conflicts_total 16',
    '# HELP tsmetrics_devices_discovered Devices in the last good API device list.',
    '# TYPE tsmetrics_devices_discovered gauge',
    'tsmetrics_devices_discovered 0',
    '# HELP tsmetrics_devices_eligible Devices selected for client-metrics scraping.',
    '# TYPE tsmetrics_devices_eligible gauge',
    'tsmetrics_devices_eligible 0',
    '# HELP tsmetrics_devices_scraped Devices scraped successfully in the last cycle.',
    '# TYPE tsmetrics_devices_scraped gauge',
    'tsmetrics_devices_scraped 0',
    '# HELP tsmetrics_exposition_dropped_series_total Series dropped while rendering (invalid names, duplicates, TYPE conflicts).',
    '# TYPE tsmetrics_exposition_dropped_series_total counter',
    'tsmetrics_exposition_dropped_series_total 15',
    '# HELP tsmetrics_refresh_duration_seconds Duration of the last refresh cycle (API and device scrapes).',
    '# TYPE tsmetrics_refresh_duration_seconds gauge',
    'tsmetrics_refresh_duration_seconds 3.5',
    '# HELP tsmetrics_scrape_address_refused_total Device scrapes refused because the address is outside SCRAPE_ALLOWED_CIDRS.',
    '# TYPE tsmetrics_scrape_address_refused_total counter',
    'tsmetrics_scrape_address_refused_total 13',
    '# HELP tsmetrics_scrape_cycle_duration_seconds Duration of the device scrapes of the last refresh cycle.',
    '# TYPE tsmetrics_scrape_cycle_duration_seconds gauge',
    'tsmetrics_scrape_cycle_duration_seconds 2.25',
    '# HELP tsmetrics_scrape_cycle_overruns_total Refresh cycles that took longer than SCRAPE_INTERVAL.',
    '# TYPE tsmetrics_scrape_cycle_overruns_total counter',
    'tsmetrics_scrape_cycle_overruns_total 12',
    '# HELP tsmetrics_simulated 1 when the data comes from the built-in simulated tailnet (--demo or TEST_DEVICES), 0 for a real control server.',
    '# TYPE tsmetrics_simulated gauge',
    'tsmetrics_simulated 0',
    '',
  ]);
});

const NODES = [
  device({
    id: '1',
    name: 'router.hs.example',
    advertisedRoutes: ['10.0.0.0/24', '0.0.0.0/0'],
    enabledRoutes: ['10.0.0.0/24'],
    servingRoutes: ['10.0.0.0/24'],
  }),
  device({ id: '2', name: 'laptop.hs.example', advertisedRoutes: undefined, enabledRoutes: undefined }),
];

test('headscale nodes: headscale_up from the node list call, one route series per route and state', () => {
  assert.deepEqual(lines(headscaleNodesCollector, refreshData(NODES)), [
    '# HELP headscale_node_route Route of a node, value 1: state available (availableRoutes), approved (approvedRoutes) or serving (subnetRoutes).',
    '# TYPE headscale_node_route gauge',
    'headscale_node_route{device_id="1",device_name="router.hs.example",route="10.0.0.0/24",state="available"} 1',
    'headscale_node_route{device_id="1",device_name="router.hs.example",route="0.0.0.0/0",state="available"} 1',
    'headscale_node_route{device_id="1",device_name="router.hs.example",route="10.0.0.0/24",state="approved"} 1',
    'headscale_node_route{device_id="1",device_name="router.hs.example",route="10.0.0.0/24",state="serving"} 1',
    '# HELP headscale_up 1 if the last Headscale node list call succeeded.',
    '# TYPE headscale_up gauge',
    'headscale_up 1',
    '',
  ]);
  const down = refreshData(undefined, {
    api: { up: false, lastSuccessSeconds: undefined, listDurationSeconds: 0, stats: new RequestStats() },
  });
  assert.deepEqual(lines(headscaleNodesCollector, down), [
    '# HELP headscale_up 1 if the last Headscale node list call succeeded.',
    '# TYPE headscale_up gauge',
    'headscale_up 0',
    '',
  ]);
});

test('headscale database connectivity: 1 or 0 from the health call, absent without the endpoint', () => {
  const health = (databaseConnectivity: boolean | undefined) =>
    withInventory({ headscaleHealth: ok({ databaseConnectivity }) });
  assert.deepEqual(lines(headscaleHealthCollector, health(true)), [
    '# HELP headscale_database_connectivity 1 if Headscale reaches its database (GET /api/v1/health: databaseConnectivity; 0 when the health call answers 500); absent on servers without the endpoint (before 0.27).',
    '# TYPE headscale_database_connectivity gauge',
    'headscale_database_connectivity 1',
    '',
  ]);
  assert.deepEqual(lines(headscaleHealthCollector, health(false)), [
    '# HELP headscale_database_connectivity 1 if Headscale reaches its database (GET /api/v1/health: databaseConnectivity; 0 when the health call answers 500); absent on servers without the endpoint (before 0.27).',
    '# TYPE headscale_database_connectivity gauge',
    'headscale_database_connectivity 0',
    '',
  ]);
  assert.deepEqual(lines(headscaleHealthCollector, health(undefined)), ['']);
  assert.deepEqual(lines(headscaleHealthCollector, withInventory({})), ['']);
});

test('headscale users: info labels through the user label, creation time only where given; nothing before a fetch', () => {
  const users = makeHeadscaleUsersCollector(upper);
  const data = withInventory({
    headscaleUsers: ok([
      {
        id: '1',
        name: 'alice',
        displayName: 'Alice A',
        email: 'alice@example.com',
        provider: 'oidc',
        createdSeconds: 1_700_000_000,
      },
      { id: '2', name: 'bob', displayName: '', email: '', provider: '', createdSeconds: undefined },
    ]),
  });
  assert.deepEqual(lines(users, data), [
    '# HELP headscale_user_created_timestamp_seconds Unix time the Headscale user was created (createdAt).',
    '# TYPE headscale_user_created_timestamp_seconds gauge',
    'headscale_user_created_timestamp_seconds{user_id="1"} 1700000000',
    '# HELP headscale_user_info Headscale user, value 1 (GET /api/v1/user: name, displayName, email, provider).',
    '# TYPE headscale_user_info gauge',
    'headscale_user_info{user_id="1",name="ALICE",display_name="ALICE A",email="ALICE@EXAMPLE.COM",provider="oidc"} 1',
    'headscale_user_info{user_id="2",name="BOB",display_name="",email="",provider=""} 1',
    '',
  ]);
  assert.deepEqual(users.collect(withInventory({})), []);
});

test('headscale pre-auth keys: info flags and tags, used, expiry, time left (negative once expired), creation', () => {
  const keys = makePreAuthKeysCollector(upper);
  const data = withInventory({
    preauthkeys: ok([
      {
        id: '7',
        user: 'alice',
        reusable: true,
        ephemeral: false,
        used: true,
        expirationSeconds: 1_750_000_600,
        createdSeconds: 1_749_000_000,
        aclTags: ['tag:a', 'tag:b'],
      },
      {
        id: '8',
        user: 'bob',
        reusable: false,
        ephemeral: true,
        used: false,
        expirationSeconds: 1_749_999_000,
        createdSeconds: undefined,
        aclTags: [],
      },
      {
        id: '9',
        user: '',
        reusable: false,
        ephemeral: false,
        used: false,
        expirationSeconds: undefined,
        createdSeconds: 1_748_000_000,
        aclTags: ['tag:c'],
      },
    ]),
  });
  assert.deepEqual(lines(keys, data), [
    '# HELP headscale_preauthkey_created_timestamp_seconds Unix time the pre-auth key was created (createdAt).',
    '# TYPE headscale_preauthkey_created_timestamp_seconds gauge',
    'headscale_preauthkey_created_timestamp_seconds{key_id="7"} 1749000000',
    'headscale_preauthkey_created_timestamp_seconds{key_id="9"} 1748000000',
    '# HELP headscale_preauthkey_expires_in_seconds Seconds until the pre-auth key expires, negative once expired.',
    '# TYPE headscale_preauthkey_expires_in_seconds gauge',
    'headscale_preauthkey_expires_in_seconds{key_id="7"} 600',
    'headscale_preauthkey_expires_in_seconds{key_id="8"} -1000',
    '# HELP headscale_preauthkey_expiry_timestamp_seconds Unix time the pre-auth key expires (expiration).',
    '# TYPE headscale_preauthkey_expiry_timestamp_seconds gauge',
    'headscale_preauthkey_expiry_timestamp_seconds{key_id="7"} 1750000600',
    'headscale_preauthkey_expiry_timestamp_seconds{key_id="8"} 1749999000',
    '# HELP headscale_preauthkey_info Headscale pre-auth key, value 1 (user, reusable, ephemeral, used, aclTags as ,tag:a,tag:b,).',
    '# TYPE headscale_preauthkey_info gauge',
    'headscale_preauthkey_info{key_id="7",user="ALICE",reusable="true",ephemeral="false",used="true",acl_tags=",tag:a,tag:b,"} 1',
    'headscale_preauthkey_info{key_id="8",user="BOB",reusable="false",ephemeral="true",used="false",acl_tags=""} 1',
    'headscale_preauthkey_info{key_id="9",user="",reusable="false",ephemeral="false",used="false",acl_tags=",tag:c,"} 1',
    '# HELP headscale_preauthkey_used 1 if the pre-auth key has been used (used).',
    '# TYPE headscale_preauthkey_used gauge',
    'headscale_preauthkey_used{key_id="7"} 1',
    'headscale_preauthkey_used{key_id="8"} 0',
    'headscale_preauthkey_used{key_id="9"} 0',
    '',
  ]);
  assert.deepEqual(keys.collect(withInventory({})), []);
});

test('headscale API keys: prefix, expiry, time left (negative once expired), last seen and creation where given', () => {
  const data = withInventory({
    apikeys: ok([
      {
        id: '1',
        prefix: 'abc',
        expirationSeconds: 1_750_000_300,
        createdSeconds: 1_700_000_000,
        lastSeenSeconds: 1_749_999_999,
      },
      {
        id: '2',
        prefix: 'def',
        expirationSeconds: 1_749_999_700,
        createdSeconds: undefined,
        lastSeenSeconds: undefined,
      },
      {
        id: '3',
        prefix: 'ghi',
        expirationSeconds: undefined,
        createdSeconds: 1_710_000_000,
        lastSeenSeconds: 1_749_000_000,
      },
    ]),
  });
  assert.deepEqual(lines(apiKeysCollector, data), [
    '# HELP headscale_apikey_created_timestamp_seconds Unix time the API key was created (createdAt).',
    '# TYPE headscale_apikey_created_timestamp_seconds gauge',
    'headscale_apikey_created_timestamp_seconds{key_id="1"} 1700000000',
    'headscale_apikey_created_timestamp_seconds{key_id="3"} 1710000000',
    '# HELP headscale_apikey_expires_in_seconds Seconds until the API key expires, negative once expired.',
    '# TYPE headscale_apikey_expires_in_seconds gauge',
    'headscale_apikey_expires_in_seconds{key_id="1"} 300',
    'headscale_apikey_expires_in_seconds{key_id="2"} -300',
    '# HELP headscale_apikey_expiry_timestamp_seconds Unix time the API key expires (expiration).',
    '# TYPE headscale_apikey_expiry_timestamp_seconds gauge',
    'headscale_apikey_expiry_timestamp_seconds{key_id="1"} 1750000300',
    'headscale_apikey_expiry_timestamp_seconds{key_id="2"} 1749999700',
    '# HELP headscale_apikey_info Headscale API key, value 1 (prefix: the public part Headscale shows).',
    '# TYPE headscale_apikey_info gauge',
    'headscale_apikey_info{key_id="1",prefix="abc"} 1',
    'headscale_apikey_info{key_id="2",prefix="def"} 1',
    'headscale_apikey_info{key_id="3",prefix="ghi"} 1',
    '# HELP headscale_apikey_last_seen_timestamp_seconds Unix time the API key was last used (lastSeen).',
    '# TYPE headscale_apikey_last_seen_timestamp_seconds gauge',
    'headscale_apikey_last_seen_timestamp_seconds{key_id="1"} 1749999999',
    'headscale_apikey_last_seen_timestamp_seconds{key_id="3"} 1749000000',
    '',
  ]);
  assert.deepEqual(apiKeysCollector.collect(withInventory({})), []);
});

test('device info: count, info with derived tag labels, user through the user label, every flag, one series per tag', () => {
  const collector = makeDeviceInfoCollector({
    labelsFromTags: [
      { label: 'team', pattern: /^tag:team-(.+)$/ },
      { label: 'env', pattern: /^tag:(?:env-(prod)|stage-(.+))$/ },
    ],
    userLabel: upper,
  });
  const devices = [
    device({
      id: '1',
      name: 'a.ts.net',
      tags: ['tag:x', 'tag:team-ops', 'tag:team-dev', 'tag:stage-blue'],
      online: false,
      os: 'windows',
      clientVersion: '1.80.0',
      authorized: false,
      updateAvailable: true,
      isExternal: true,
      blocksIncomingConnections: true,
      isEphemeral: true,
      multipleConnections: true,
      tailnetLockError: 'bad',
      keyExpiryDisabled: true,
    }),
    device({ id: '2', name: 'b.ts.net', tags: [], user: 'bob@example.com' }),
  ];
  assert.deepEqual(lines(collector, refreshData(devices)), [
    '# HELP tailscale_device_authorized 1 if the device is authorized (authorized).',
    '# TYPE tailscale_device_authorized gauge',
    'tailscale_device_authorized{device_id="1",device_name="a.ts.net"} 0',
    'tailscale_device_authorized{device_id="2",device_name="b.ts.net"} 1',
    '# HELP tailscale_device_blocks_incoming_connections 1 if the device blocks incoming connections, "shields up" (blocksIncomingConnections).',
    '# TYPE tailscale_device_blocks_incoming_connections gauge',
    'tailscale_device_blocks_incoming_connections{device_id="1",device_name="a.ts.net"} 1',
    'tailscale_device_blocks_incoming_connections{device_id="2",device_name="b.ts.net"} 0',
    '# HELP tailscale_device_count Number of devices in the tailnet (API device list).',
    '# TYPE tailscale_device_count untyped',
    'tailscale_device_count 2',
    '# HELP tailscale_device_ephemeral 1 if the device is an ephemeral node (isEphemeral).',
    '# TYPE tailscale_device_ephemeral gauge',
    'tailscale_device_ephemeral{device_id="1",device_name="a.ts.net"} 1',
    'tailscale_device_ephemeral{device_id="2",device_name="b.ts.net"} 0',
    '# HELP tailscale_device_external 1 if the device is shared into the tailnet from another one (isExternal).',
    '# TYPE tailscale_device_external gauge',
    'tailscale_device_external{device_id="1",device_name="a.ts.net"} 1',
    'tailscale_device_external{device_id="2",device_name="b.ts.net"} 0',
    '# HELP tailscale_device_info Device metadata, value 1. online from connectedToControl, os from os, version from clientVersion.',
    '# TYPE tailscale_device_info gauge',
    'tailscale_device_info{device_id="1",device_name="a.ts.net",online="false",os="windows",version="1.80.0",team="ops",env="blue"} 1',
    'tailscale_device_info{device_id="2",device_name="b.ts.net",online="true",os="linux",version="1.80.2-t62b8bf6a0-g3c35ee987",team="",env=""} 1',
    '# HELP tailscale_device_key_expiry_disabled 1 if the node key never expires (keyExpiryDisabled).',
    '# TYPE tailscale_device_key_expiry_disabled gauge',
    'tailscale_device_key_expiry_disabled{device_id="1",device_name="a.ts.net"} 1',
    'tailscale_device_key_expiry_disabled{device_id="2",device_name="b.ts.net"} 0',
    '# HELP tailscale_device_multiple_connections 1 if several live connections share this node key, i.e. copied state (multipleConnections).',
    '# TYPE tailscale_device_multiple_connections gauge',
    'tailscale_device_multiple_connections{device_id="1",device_name="a.ts.net"} 1',
    'tailscale_device_multiple_connections{device_id="2",device_name="b.ts.net"} 0',
    '# HELP tailscale_device_online 1 if the device is connected to the control plane (connectedToControl; when the API omits that field: lastSeen absent or at most 5 minutes old).',
    '# TYPE tailscale_device_online gauge',
    'tailscale_device_online{device_id="1",device_name="a.ts.net"} 0',
    'tailscale_device_online{device_id="2",device_name="b.ts.net"} 1',
    '# HELP tailscale_device_tags Tag of the device (tags), value 1 per tag.',
    '# TYPE tailscale_device_tags gauge',
    'tailscale_device_tags{device_id="1",device_name="a.ts.net",tag="tag:x"} 1',
    'tailscale_device_tags{device_id="1",device_name="a.ts.net",tag="tag:team-ops"} 1',
    'tailscale_device_tags{device_id="1",device_name="a.ts.net",tag="tag:team-dev"} 1',
    'tailscale_device_tags{device_id="1",device_name="a.ts.net",tag="tag:stage-blue"} 1',
    '# HELP tailscale_device_tailnet_lock_error 1 if the device has a Tailnet Lock signature problem (tailnetLockError non-empty).',
    '# TYPE tailscale_device_tailnet_lock_error gauge',
    'tailscale_device_tailnet_lock_error{device_id="1",device_name="a.ts.net"} 1',
    'tailscale_device_tailnet_lock_error{device_id="2",device_name="b.ts.net"} 0',
    '# HELP tailscale_device_update_available 1 if a client update is available (updateAvailable).',
    '# TYPE tailscale_device_update_available gauge',
    'tailscale_device_update_available{device_id="1",device_name="a.ts.net"} 1',
    'tailscale_device_update_available{device_id="2",device_name="b.ts.net"} 0',
    '# HELP tailscale_device_user Login name of the user who registered the device (user), value 1.',
    '# TYPE tailscale_device_user gauge',
    'tailscale_device_user{device_id="1",device_name="a.ts.net",user_email="ALICE@EXAMPLE.COM"} 1',
    'tailscale_device_user{device_id="2",device_name="b.ts.net",user_email="BOB@EXAMPLE.COM"} 1',
    '',
  ]);
  assert.deepEqual(collector.collect(refreshData(undefined)), []);
});
