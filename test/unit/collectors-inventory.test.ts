import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from '../../src/collectors/backends.js';
import type { CollectorOf, RefreshData } from '../../src/collectors/collector.js';
import { coverageCollector } from '../../src/collectors/coverage.js';
import { dnsCollector } from '../../src/collectors/dns.js';
import { makeExpectedCollector } from '../../src/collectors/expected.js';
import { CollectorResults } from '../../src/collectors/index.js';
import { keysCollector } from '../../src/collectors/keys.js';
import { logstreamCollector } from '../../src/collectors/logstream.js';
import { policyCollector } from '../../src/collectors/policy.js';
import { serviceHostsCollector } from '../../src/collectors/service-hosts.js';
import { servicesCollector } from '../../src/collectors/services.js';
import { settingsCollector } from '../../src/collectors/settings.js';
import { makeUsersCollector } from '../../src/collectors/users.js';
import { BACKEND_NAMES, backendCollectors } from '../../src/config/backends.js';
import { parseExpectedDevices } from '../../src/config/expected-devices.js';
import { loadConfig } from '../../src/config/load.js';
import { EMPTY_INVENTORY, type InventoryData, type ResourceState } from '../../src/control/inventory.js';
import type { Selection } from '../../src/devices/targets.js';
import { render } from '../../src/exposition/render.js';
import { OAUTH } from '../helpers/config.js';
import { device } from '../helpers/devices.js';
import { refreshData } from '../helpers/refresh-data.js';

// The inventory collectors (and the device-list ones beside them: expected devices, scrape coverage) as
// /metrics shows them: every family's HELP and TYPE, its series, and no series where the API gave no value.

const NOW = 1_750_000_000;

/** One resource fetched: its data, as the inventory holds it after a successful fetch. */
const fetched = <T>(data: T, extra: Partial<ResourceState<T>> = {}): ResourceState<T> => ({
  data,
  ok: true,
  durationSeconds: 0.25,
  ...extra,
});

const withInventory = (inventory: Partial<InventoryData>): RefreshData =>
  refreshData([], { nowSeconds: NOW, inventory: { ...EMPTY_INVENTORY, ...inventory } });

/** The exposition text of what the collector gives, one line per element. */
const lines = (c: Pick<CollectorOf<RefreshData>, 'collect'>, data: RefreshData): string[] =>
  render(c.collect(data))
    .text.split('\n')
    .filter((l) => l !== '');

test('keys: creation and expiry times where the API gave them, time left only for keys not revoked', () => {
  const data = withInventory({
    keys: fetched([
      {
        id: 'k1',
        keyType: 'auth',
        description: 'ci',
        userId: 'u1',
        createdSeconds: 1_700_000_000,
        expiresSeconds: NOW + 600,
        revoked: false,
        invalid: false,
      },
      {
        id: 'k2',
        keyType: 'client',
        description: '',
        userId: '',
        createdSeconds: undefined,
        expiresSeconds: undefined,
        revoked: false,
        invalid: false,
      },
      {
        id: 'k3',
        keyType: 'api',
        description: 'old',
        userId: 'u2',
        createdSeconds: 1_690_000_000,
        expiresSeconds: NOW - 100,
        revoked: true,
        invalid: true,
      },
    ]),
  });
  assert.deepEqual(lines(keysCollector, data), [
    '# HELP tailscale_key_created_timestamp_seconds Unix time the key was created (created).',
    '# TYPE tailscale_key_created_timestamp_seconds gauge',
    'tailscale_key_created_timestamp_seconds{key_id="k1",key_type="auth"} 1700000000',
    'tailscale_key_created_timestamp_seconds{key_id="k3",key_type="api"} 1690000000',
    '# HELP tailscale_key_expires_in_seconds Seconds until the key expires, negative once expired; absent for keys that never expire or are revoked.',
    '# TYPE tailscale_key_expires_in_seconds gauge',
    'tailscale_key_expires_in_seconds{key_id="k1",key_type="auth"} 600',
    '# HELP tailscale_key_expiry_timestamp_seconds Unix time the key expires (expires); absent for keys that never expire.',
    '# TYPE tailscale_key_expiry_timestamp_seconds gauge',
    'tailscale_key_expiry_timestamp_seconds{key_id="k1",key_type="auth"} 1750000600',
    'tailscale_key_expiry_timestamp_seconds{key_id="k3",key_type="api"} 1749999900',
    '# HELP tailscale_key_info Key of the tailnet, value 1; key_type is auth, api, client (OAuth client) or federated.',
    '# TYPE tailscale_key_info gauge',
    'tailscale_key_info{key_id="k1",key_type="auth",description="ci",user_id="u1"} 1',
    'tailscale_key_info{key_id="k2",key_type="client",description="",user_id=""} 1',
    'tailscale_key_info{key_id="k3",key_type="api",description="old",user_id="u2"} 1',
    '# HELP tailscale_key_invalid 1 if the key can no longer be used: revoked or expired (invalid).',
    '# TYPE tailscale_key_invalid gauge',
    'tailscale_key_invalid{key_id="k1",key_type="auth"} 0',
    'tailscale_key_invalid{key_id="k2",key_type="client"} 0',
    'tailscale_key_invalid{key_id="k3",key_type="api"} 1',
    '# HELP tailscale_key_revoked 1 if the key was revoked (revoked).',
    '# TYPE tailscale_key_revoked gauge',
    'tailscale_key_revoked{key_id="k1",key_type="auth"} 0',
    'tailscale_key_revoked{key_id="k2",key_type="client"} 0',
    'tailscale_key_revoked{key_id="k3",key_type="api"} 1',
  ]);
});

test('users: last seen, creation, connection and device count only where the API gave them', () => {
  const data = withInventory({
    users: fetched([
      {
        id: 'u1',
        loginName: 'alice@example.com',
        displayName: 'Alice',
        role: 'admin',
        status: 'active',
        type: 'member',
        createdSeconds: 1_700_000_000,
        lastSeenSeconds: 1_749_999_000,
        currentlyConnected: true,
        deviceCount: 3,
      },
      {
        id: 'u2',
        loginName: 'bob@other.com',
        displayName: '',
        role: 'member',
        status: 'idle',
        type: 'shared',
        createdSeconds: undefined,
        lastSeenSeconds: undefined,
        currentlyConnected: undefined,
        deviceCount: undefined,
      },
    ]),
  });
  assert.deepEqual(
    lines(
      makeUsersCollector((u) => u),
      data,
    ),
    [
      '# HELP tailscale_user_created_timestamp_seconds Unix time the user joined the tailnet (created).',
      '# TYPE tailscale_user_created_timestamp_seconds gauge',
      'tailscale_user_created_timestamp_seconds{user_id="u1",login_name="alice@example.com"} 1700000000',
      '# HELP tailscale_user_currently_connected 1 if the user has a device connected now (currentlyConnected).',
      '# TYPE tailscale_user_currently_connected gauge',
      'tailscale_user_currently_connected{user_id="u1",login_name="alice@example.com"} 1',
      '# HELP tailscale_user_devices Number of devices of the user (deviceCount).',
      '# TYPE tailscale_user_devices gauge',
      'tailscale_user_devices{user_id="u1",login_name="alice@example.com"} 3',
      '# HELP tailscale_user_info User of the tailnet, value 1: role, status (active, idle, suspended, needs-approval, over-billing-limit) and type (member, shared).',
      '# TYPE tailscale_user_info gauge',
      'tailscale_user_info{user_id="u1",login_name="alice@example.com",display_name="Alice",role="admin",status="active",type="member"} 1',
      'tailscale_user_info{user_id="u2",login_name="bob@other.com",display_name="",role="member",status="idle",type="shared"} 1',
      '# HELP tailscale_user_last_seen_timestamp_seconds Unix time the user was last seen (lastSeen).',
      '# TYPE tailscale_user_last_seen_timestamp_seconds gauge',
      'tailscale_user_last_seen_timestamp_seconds{user_id="u1",login_name="alice@example.com"} 1749999000',
    ],
  );
  // A user not connected now has a 0, not an absent series.
  const offline = withInventory({
    users: fetched([{ ...data.inventory.users.data![0]!, currentlyConnected: false }]),
  });
  assert.ok(
    lines(
      makeUsersCollector((u) => u),
      offline,
    ).includes('tailscale_user_currently_connected{user_id="u1",login_name="alice@example.com"} 0'),
  );
});

test('settings: booleans by snake-case name, the key lifetime in seconds and the external-tailnet role', () => {
  const data = withInventory({
    settings: fetched({
      booleans: { devicesApprovalOn: true, usersApprovalOn: false, regionalRoutingOn: null, httpsEnabled: true },
      devicesKeyDurationDays: 180,
      usersRoleAllowedToJoinExternalTailnets: 'admin',
    }),
  });
  assert.deepEqual(lines(settingsCollector, data), [
    '# HELP tailscale_tailnet_device_key_duration_seconds Lifetime of device keys in seconds (devicesKeyDurationDays × 86400).',
    '# TYPE tailscale_tailnet_device_key_duration_seconds gauge',
    'tailscale_tailnet_device_key_duration_seconds 15552000',
    '# HELP tailscale_tailnet_setting_enabled 1 if the tailnet setting is on (devicesApprovalOn, usersApprovalOn, ...); absent when the API reports null.',
    '# TYPE tailscale_tailnet_setting_enabled gauge',
    'tailscale_tailnet_setting_enabled{setting="devices_approval"} 1',
    'tailscale_tailnet_setting_enabled{setting="users_approval"} 0',
    'tailscale_tailnet_setting_enabled{setting="https_enabled"} 1',
    '# HELP tailscale_tailnet_settings_info Enumerated tailnet settings, value 1 (usersRoleAllowedToJoinExternalTailnets).',
    '# TYPE tailscale_tailnet_settings_info gauge',
    'tailscale_tailnet_settings_info{users_role_allowed_to_join_external_tailnets="admin"} 1',
  ]);
});

test('settings the API did not give (no key lifetime, no external-tailnet role) are absent', () => {
  const data = withInventory({
    settings: fetched({
      booleans: { devicesApprovalOn: false },
      devicesKeyDurationDays: undefined,
      usersRoleAllowedToJoinExternalTailnets: undefined,
    }),
  });
  assert.deepEqual(
    lines(settingsCollector, data).filter((l) => !l.startsWith('#')),
    ['tailscale_tailnet_setting_enabled{setting="devices_approval"} 0'],
  );
});

test('dns: MagicDNS, nameservers, search paths and split-DNS domains; no MagicDNS series when unknown', () => {
  const dns = {
    magicDns: true,
    nameservers: ['1.1.1.1', '8.8.8.8'],
    searchPaths: ['corp.example'],
    splitDns: { 'corp.example': ['10.0.0.53', '10.0.1.53'], 'lab.example': [] },
  };
  assert.deepEqual(lines(dnsCollector, withInventory({ dns: fetched(dns) })), [
    '# HELP tailscale_dns_magic_dns 1 if MagicDNS is on (preferences.magicDNS).',
    '# TYPE tailscale_dns_magic_dns gauge',
    'tailscale_dns_magic_dns 1',
    '# HELP tailscale_dns_nameserver_info Global nameserver of the tailnet (nameservers), value 1.',
    '# TYPE tailscale_dns_nameserver_info gauge',
    'tailscale_dns_nameserver_info{nameserver="1.1.1.1"} 1',
    'tailscale_dns_nameserver_info{nameserver="8.8.8.8"} 1',
    '# HELP tailscale_dns_search_path_info DNS search path of the tailnet (searchpaths), value 1.',
    '# TYPE tailscale_dns_search_path_info gauge',
    'tailscale_dns_search_path_info{search_path="corp.example"} 1',
    '# HELP tailscale_dns_split_dns_nameservers Number of nameservers of a split-DNS domain (split-dns).',
    '# TYPE tailscale_dns_split_dns_nameservers gauge',
    'tailscale_dns_split_dns_nameservers{domain="corp.example"} 2',
    'tailscale_dns_split_dns_nameservers{domain="lab.example"} 0',
  ]);
  const unknown = lines(dnsCollector, withInventory({ dns: fetched({ ...dns, magicDns: undefined }) }));
  assert.ok(!unknown.some((l) => l.includes('tailscale_dns_magic_dns')), unknown.join('\n'));
  const off = lines(dnsCollector, withInventory({ dns: fetched({ ...dns, magicDns: false }) }));
  assert.ok(off.includes('tailscale_dns_magic_dns 0'), off.join('\n'));
});

test('policy: its hash, the size of each part, and when tsmetrics saw it change (absent before)', () => {
  const policy = {
    hash: '0123456789abcdef',
    counts: { acls: 2, grants: 1, groups: 3, tag_owners: 1, tests: 0, ssh: 1, postures: 0, auto_approvers: 0 },
  };
  assert.deepEqual(lines(policyCollector, withInventory({ policy: fetched(policy, { changedAtSeconds: NOW - 60 }) })), [
    '# HELP tailscale_policy_entries Entries in each part of the policy file (part: acls, grants, groups, tag_owners, tests, ssh, postures, auto_approvers).',
    '# TYPE tailscale_policy_entries gauge',
    'tailscale_policy_entries{part="acls"} 2',
    'tailscale_policy_entries{part="grants"} 1',
    'tailscale_policy_entries{part="groups"} 3',
    'tailscale_policy_entries{part="tag_owners"} 1',
    'tailscale_policy_entries{part="tests"} 0',
    'tailscale_policy_entries{part="ssh"} 1',
    'tailscale_policy_entries{part="postures"} 0',
    'tailscale_policy_entries{part="auto_approvers"} 0',
    '# HELP tailscale_policy_info Policy file, value 1; sha256 is the first 16 hex digits of the hash of its canonical JSON.',
    '# TYPE tailscale_policy_info gauge',
    'tailscale_policy_info{sha256="0123456789abcdef"} 1',
    '# HELP tailscale_policy_last_change_timestamp_seconds Unix time tsmetrics last saw the policy change (its first fetch counts as a change).',
    '# TYPE tailscale_policy_last_change_timestamp_seconds gauge',
    'tailscale_policy_last_change_timestamp_seconds 1749999940',
  ]);
  const unseen = policyCollector.collect(withInventory({ policy: fetched(policy) }));
  assert.deepEqual(unseen.find((f) => f.name === 'tailscale_policy_last_change_timestamp_seconds')?.samples, []);
});

test('services: tags as ,tag:a,tag:b, (empty without tags), one series per address and port', () => {
  const data = withInventory({
    services: fetched([
      {
        name: 'svc:web',
        comment: 'front',
        addrs: ['100.100.1.1', 'fd7a:115c:a1e0::1'],
        ports: ['tcp:443'],
        tags: ['tag:web', 'tag:prod'],
      },
      { name: 'svc:db', comment: '', addrs: [], ports: ['tcp:5432', 'tcp:5433'], tags: [] },
    ]),
  });
  assert.deepEqual(lines(servicesCollector, data), [
    '# HELP tailscale_service_address_info Address of a Tailscale Service (addrs), value 1.',
    '# TYPE tailscale_service_address_info gauge',
    'tailscale_service_address_info{service="svc:web",address="100.100.1.1"} 1',
    'tailscale_service_address_info{service="svc:web",address="fd7a:115c:a1e0::1"} 1',
    '# HELP tailscale_service_info Tailscale Service, value 1 (name, comment, tags as ,tag:a,tag:b,).',
    '# TYPE tailscale_service_info gauge',
    'tailscale_service_info{service="svc:web",comment="front",tags=",tag:web,tag:prod,"} 1',
    'tailscale_service_info{service="svc:db",comment="",tags=""} 1',
    '# HELP tailscale_service_port_info Port of a Tailscale Service (ports, e.g. tcp:443), value 1.',
    '# TYPE tailscale_service_port_info gauge',
    'tailscale_service_port_info{service="svc:web",port="tcp:443"} 1',
    'tailscale_service_port_info{service="svc:db",port="tcp:5432"} 1',
    'tailscale_service_port_info{service="svc:db",port="tcp:5433"} 1',
  ]);
});

test('service hosts: counted by approval and readiness; only approved hosts that are ready can serve', () => {
  const host = (nodeId: string, approvalLevel: string, configured: string) => ({ nodeId, approvalLevel, configured });
  const data = withInventory({
    serviceHosts: fetched({
      available: true,
      services: [
        {
          service: 'svc:web',
          hosts: [
            host('n1', 'approved:auto', 'ready'),
            host('n2', 'approved:manual', 'ready'),
            host('n3', 'approved:manual', 'pending'),
            host('n4', 'not-approved', 'ready'),
            host('n5', 'approved:auto', 'ready'),
          ],
        },
        { service: 'svc:db', hosts: [host('n6', 'approved:auto', 'pending')] },
      ],
    }),
  });
  assert.deepEqual(lines(serviceHostsCollector, data), [
    '# HELP tailscale_service_approved_ready_hosts Devices that can serve the Tailscale Service: approved (auto or manual) and configured "ready"; 0 means nobody can reach it.',
    '# TYPE tailscale_service_approved_ready_hosts gauge',
    'tailscale_service_approved_ready_hosts{service="svc:web"} 3',
    'tailscale_service_approved_ready_hosts{service="svc:db"} 0',
    '# HELP tailscale_service_hosts Devices hosting the Tailscale Service, by approvalLevel (not-approved, approved:auto, approved:manual) and configured (ready, ...).',
    '# TYPE tailscale_service_hosts gauge',
    'tailscale_service_hosts{service="svc:web",approval_level="approved:auto",configured="ready"} 2',
    'tailscale_service_hosts{service="svc:web",approval_level="approved:manual",configured="ready"} 1',
    'tailscale_service_hosts{service="svc:web",approval_level="approved:manual",configured="pending"} 1',
    'tailscale_service_hosts{service="svc:web",approval_level="not-approved",configured="ready"} 1',
    'tailscale_service_hosts{service="svc:db",approval_level="approved:auto",configured="pending"} 1',
  ]);
});

test('log streaming: the counters and error state of each stream with a status; a 404 log type only says so', () => {
  const data = withInventory({
    logstream: fetched([
      {
        logType: 'configuration',
        available: true,
        entriesSent: 120,
        bytesSent: 4096,
        totalRequests: 12,
        failedRequests: 2,
        spoofedEntries: 0,
        lastActivitySeconds: NOW - 30,
        erroring: true,
        lastErrorSeconds: NOW - 300,
        errorDigest: 'abc',
      },
      {
        logType: 'network',
        available: false,
        entriesSent: undefined,
        bytesSent: undefined,
        totalRequests: undefined,
        failedRequests: undefined,
        spoofedEntries: undefined,
        lastActivitySeconds: undefined,
        erroring: false,
        lastErrorSeconds: undefined,
        errorDigest: '',
      },
    ]),
  });
  assert.deepEqual(lines(logstreamCollector, data), [
    '# HELP tailscale_logstream_bytes_sent_total Bytes streamed to the endpoint (numBytesSent).',
    '# TYPE tailscale_logstream_bytes_sent_total counter',
    'tailscale_logstream_bytes_sent_total{log_type="configuration"} 4096',
    '# HELP tailscale_logstream_entries_sent_total Log entries streamed to the endpoint (numEntriesSent).',
    '# TYPE tailscale_logstream_entries_sent_total counter',
    'tailscale_logstream_entries_sent_total{log_type="configuration"} 120',
    '# HELP tailscale_logstream_error 1 if the API reports an error for the stream (lastError non-empty; the text is not exported).',
    '# TYPE tailscale_logstream_error gauge',
    'tailscale_logstream_error{log_type="configuration"} 1',
    '# HELP tailscale_logstream_failed_requests_total Requests to the streaming endpoint that failed (numFailedRequests).',
    '# TYPE tailscale_logstream_failed_requests_total counter',
    'tailscale_logstream_failed_requests_total{log_type="configuration"} 2',
    '# HELP tailscale_logstream_last_activity_timestamp_seconds Unix time of the most recent publishing activity (lastActivity).',
    '# TYPE tailscale_logstream_last_activity_timestamp_seconds gauge',
    'tailscale_logstream_last_activity_timestamp_seconds{log_type="configuration"} 1749999970',
    '# HELP tailscale_logstream_last_error_timestamp_seconds Unix time tsmetrics last saw a new error: numFailedRequests rose or lastError changed (the API gives no time); absent until one is seen.',
    '# TYPE tailscale_logstream_last_error_timestamp_seconds gauge',
    'tailscale_logstream_last_error_timestamp_seconds{log_type="configuration"} 1749999700',
    '# HELP tailscale_logstream_requests_total Requests made to the streaming endpoint (numTotalRequests).',
    '# TYPE tailscale_logstream_requests_total counter',
    'tailscale_logstream_requests_total{log_type="configuration"} 12',
    '# HELP tailscale_logstream_spoofed_entries_total Entries that failed validation: no matching flow log from the other side (numSpoofedEntries).',
    '# TYPE tailscale_logstream_spoofed_entries_total counter',
    'tailscale_logstream_spoofed_entries_total{log_type="configuration"} 0',
    '# HELP tailscale_logstream_status_available 1 if the API reported a log streaming status for the log type; 0 when it answered 404 (streaming not configured for it, or the OAuth client lacks log_streaming:read).',
    '# TYPE tailscale_logstream_status_available gauge',
    'tailscale_logstream_status_available{log_type="configuration"} 1',
    'tailscale_logstream_status_available{log_type="network"} 0',
  ]);
});

test('expected devices: HELP and TYPE of each family; unexpected devices only in strict mode; nothing before the device list', () => {
  const text = `
selectors:
  - name: gateways
    match: { name: "gateway-*" }
    min: 2
`;
  const lenient = parseExpectedDevices(text);
  const devices = [
    device({ id: '1', name: 'gateway-1.t.ts.net', hostname: 'gateway-1' }),
    device({ id: '2', name: 'stray.t.ts.net', hostname: 'stray' }),
  ];
  assert.deepEqual(
    lines(
      makeExpectedCollector(() => lenient),
      refreshData(devices),
    ),
    [
      '# HELP tsmetrics_expected_devices Minimum number of devices the selector of EXPECTED_DEVICES_FILE wants.',
      '# TYPE tsmetrics_expected_devices gauge',
      'tsmetrics_expected_devices{selector="gateways",severity="warning"} 2',
      '# HELP tsmetrics_expected_devices_present Online devices matching the selector.',
      '# TYPE tsmetrics_expected_devices_present gauge',
      'tsmetrics_expected_devices_present{selector="gateways",severity="warning"} 1',
    ],
  );
  const strict = parseExpectedDevices(`strict: true\n${text}`);
  assert.deepEqual(
    lines(
      makeExpectedCollector(() => strict),
      refreshData(devices),
    ).filter((l) => l.includes('unexpected')),
    [
      '# HELP tailscale_device_unexpected 1 if the device matches no selector of EXPECTED_DEVICES_FILE (strict mode).',
      '# TYPE tailscale_device_unexpected gauge',
      'tailscale_device_unexpected{device_id="2",device_name="stray.t.ts.net"} 1',
    ],
  );
  // Before the first device list there is nothing to count: no families, not zeros.
  assert.deepEqual(makeExpectedCollector(() => strict).collect(refreshData(undefined)), []);
  assert.deepEqual(makeExpectedCollector(() => undefined).collect(refreshData(devices)), []);
});

test('scrape coverage: a device whose address was refused is meant to be scraped; no ratio when no device is', () => {
  const target = (id: string) => ({ deviceId: id, deviceName: `${id}.t.ts.net`, address: '100.64.0.1', url: 'u' });
  const scraped = {
    last: { ok: true as const, target: target('ok'), families: [], bytes: 1, durationSeconds: 0, series: 0 },
    families: [],
    lastSuccessSeconds: 1,
  };
  const selections: Selection[] = [
    { device: device({ id: 'ok', name: 'ok.t.ts.net' }), state: 'eligible', target: target('ok') },
    { device: device({ id: 'refused', name: 'refused.t.ts.net' }), state: 'address_refused' },
    { device: device({ id: 'shard', name: 'shard.t.ts.net' }), state: 'other_shard' },
  ];
  const data = refreshData([], { selections, scrapes: new Map([['ok', scraped]]) });
  assert.deepEqual(lines(coverageCollector, data), [
    '# HELP tsmetrics_device_scrape_coverage Why the device client metrics are or are not scraped (state), value 1.',
    '# TYPE tsmetrics_device_scrape_coverage gauge',
    'tsmetrics_device_scrape_coverage{device_id="ok",device_name="ok.t.ts.net",state="scraped"} 1',
    'tsmetrics_device_scrape_coverage{device_id="refused",device_name="refused.t.ts.net",state="address_refused"} 1',
    'tsmetrics_device_scrape_coverage{device_id="shard",device_name="shard.t.ts.net",state="other_shard"} 1',
    '# HELP tsmetrics_scrape_coverage_ratio Share of the devices meant to be scraped (tagged or targeted and online) whose scrape succeeded.',
    '# TYPE tsmetrics_scrape_coverage_ratio gauge',
    'tsmetrics_scrape_coverage_ratio 0.5',
  ]);
  const none: Selection[] = [
    { device: device({ id: 'off', name: 'off.t.ts.net' }), state: 'offline' },
    { device: device({ id: 'tagless', name: 'tagless.t.ts.net' }), state: 'untagged' },
  ];
  const f = coverageCollector.collect(refreshData([], { selections: none }));
  assert.deepEqual(f.find((x) => x.name === 'tsmetrics_scrape_coverage_ratio')?.samples, []);
});

test('each inventory collector is unsuccessful exactly when its own resource could not be fetched', () => {
  // The Tailscale inventory collectors, each with the resource it renders.
  const resourceOf: Readonly<Record<string, keyof InventoryData>> = {
    users: 'users',
    keys: 'keys',
    settings: 'settings',
    dns: 'dns',
    services: 'services',
    policy: 'policy',
    logstream: 'logstream',
    posture_integrations: 'postureIntegrations',
    service_hosts: 'serviceHosts',
    webhooks: 'webhooks',
  };
  const collectors = BACKENDS.tailscale.collectors((u) => u).inventory;
  assert.deepEqual(
    collectors.map((c) => c.name),
    Object.keys(resourceOf),
  );
  for (const failing of collectors) {
    const key = resourceOf[failing.name]!;
    const inventory = {
      ...EMPTY_INVENTORY,
      [key]: { data: undefined, ok: false, durationSeconds: 1, error: 'HTTP 403' },
    };
    const results = new CollectorResults();
    for (const c of collectors) results.run(c, refreshData([], { inventory }), () => {});
    assert.deepEqual(
      results.outcomes().map(({ collector, ok, error }) => ({ collector, ok, error })),
      collectors.map((c) =>
        c === failing
          ? { collector: c.name, ok: false, error: 'HTTP 403' }
          : { collector: c.name, ok: true, error: undefined },
      ),
      failing.name,
    );
  }
});

test("each backend's own collectors are ones its table lets COLLECTORS turn on", () => {
  for (const name of BACKEND_NAMES) {
    const own = BACKENDS[name].collectors((u) => u);
    const allowed = backendCollectors(name);
    for (const c of [...own.devices, ...own.inventory])
      assert.ok(allowed.includes(c.name as never), `${name}: ${c.name}`);
  }
});

test('the status page shows the tailnet, or the Headscale URL without its password (nothing when simulated)', () => {
  assert.equal(BACKENDS.tailscale.shown(loadConfig({ ...OAUTH, TAILNET_NAME: 'example.com' })), 'example.com');
  const headscale = loadConfig({
    BACKEND: 'headscale',
    HEADSCALE_URL: 'https://ops:hunter2@hs.example.com',
    HEADSCALE_API_KEY: 'hskey-api-abc',
  });
  assert.equal(BACKENDS.headscale.shown(headscale), 'https://ops:<redacted>@hs.example.com');
  assert.equal(BACKENDS.headscale.shown(loadConfig({ BACKEND: 'headscale', TEST_DEVICES: 'a' })), '');
});
