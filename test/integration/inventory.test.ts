import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { BACKEND_INFO, type BackendInfo } from '../../src/config/backends.js';
import { loadConfig } from '../../src/config/load.js';
import { ApiError } from '../../src/errors.js';
import { Inventory } from '../../src/refresh/inventory.js';
import { startTailnet, type SimTailnet } from '../../src/sim/tailscale/index.js';
import { memoryLogger } from '../helpers/log.js';
import { seriesValues, startExporterWith } from '../helpers/exporter.js';
import { promtoolCheck } from '../helpers/promtool.js';

// Every inventory family against the simulator's data, through the real exporter over loopback.

const exporterOn = (t: TestContext, sim: SimTailnet, env: Record<string, string> = {}) =>
  startExporterWith(t, {
    OAUTH_CLIENT_ID: sim.clientId,
    OAUTH_CLIENT_SECRET: sim.clientSecret,
    TAILSCALE_API_URL: sim.apiUrl,
    CLIENT_METRICS_PORT: String(sim.clientMetricsPort),
    ...env,
  });

async function demo(t: TestContext) {
  const sim = await startTailnet({ scenario: 'demo' });
  t.after(() => sim.close());
  return sim;
}

const get = (v: Map<string, number>, prefix: string, ...parts: string[]): Array<[string, number]> =>
  [...v.entries()].filter(([k]) => k.startsWith(`${prefix}{`) && parts.every((p) => k.includes(p)));

test('users: info with each field in its own label, timestamps, connection and device count', async (t) => {
  const sim = await demo(t);
  const ex = await exporterOn(t, sim);
  const text = await ex.metrics();
  const v = seriesValues(text);
  const alice = sim.users.find((u) => u.role === 'owner') ?? sim.users[0]!;
  const info = get(v, 'tailscale_user_info', `user_id="${alice.id}"`);
  assert.equal(info.length, 1);
  const key = info[0]![0];
  assert.match(key, new RegExp(`login_name="${alice.loginName}"`));
  assert.match(key, new RegExp(`role="${alice.role}"`));
  assert.match(key, new RegExp(`status="${alice.status}"`));
  assert.match(key, new RegExp(`type="${alice.type}"`));
  for (const status of ['needs-approval', 'suspended', 'idle']) {
    if (sim.users.some((u) => u.status === status))
      assert.ok(get(v, 'tailscale_user_info', `status="${status}"`).length > 0, status);
  }
  const created = get(v, 'tailscale_user_created_timestamp_seconds', `user_id="${alice.id}"`)[0]![1];
  assert.equal(created, Math.floor(Date.parse(alice.created) / 1000));
  assert.ok(get(v, 'tailscale_user_devices').length > 0);
  assert.ok(get(v, 'tailscale_user_currently_connected').length > 0);
  assert.deepEqual(promtoolCheck(text), []);
});

test('keys: expiry only where a key expires, never 0 or negative timestamps; revoked and invalid flags', async (t) => {
  const sim = await demo(t);
  const ex = await exporterOn(t, sim);
  const v = seriesValues(await ex.metrics());
  for (const k of sim.keys) {
    assert.equal(get(v, 'tailscale_key_info', `key_id="${k.id}"`).length, 1, k.id);
    const expiry = get(v, 'tailscale_key_expiry_timestamp_seconds', `key_id="${k.id}"`);
    const neverExpires = k.expires === undefined || k.expires.startsWith('0001-');
    if (neverExpires) {
      assert.equal(expiry.length, 0, `${k.id} never expires: no series`);
      assert.equal(get(v, 'tailscale_key_expires_in_seconds', `key_id="${k.id}"`).length, 0);
    } else {
      assert.equal(expiry[0]![1], Math.floor(Date.parse(k.expires!) / 1000));
    }
    assert.equal(get(v, 'tailscale_key_revoked', `key_id="${k.id}"`)[0]![1], k.revoked === undefined ? 0 : 1);
  }
  const soon = sim.keys.find(
    (k) =>
      k.keyType === 'api' &&
      k.expires !== undefined &&
      Date.parse(k.expires) - Date.now() < 6 * 86400_000 &&
      k.revoked === undefined,
  )!;
  const left = get(v, 'tailscale_key_expires_in_seconds', `key_id="${soon.id}"`)[0]![1];
  assert.ok(left > 0 && left < 6 * 86400, String(left));
  assert.ok(
    get(v, 'tailscale_key_invalid').some(([, n]) => n === 1),
    'expired or revoked keys are invalid',
  );
});

test('keys: a list of bare ids is completed from the detail endpoint', async (t) => {
  const sim = await demo(t);
  sim.setKeyListIdsOnly(true);
  const ex = await exporterOn(t, sim);
  const v = seriesValues(await ex.metrics());
  assert.equal(get(v, 'tailscale_key_info').length, sim.keys.length);
  assert.ok(get(v, 'tailscale_key_info', 'key_type="client"').length >= 1);
  assert.equal(sim.stats.requests.get('key'), sim.keys.length);
});

test('settings: a gauge per boolean, null settings absent, key duration, enumerations as info', async (t) => {
  const sim = await demo(t);
  sim.settings.regionalRoutingOn = null;
  sim.settings.devicesApprovalOn = true;
  const ex = await exporterOn(t, sim);
  const v = seriesValues(await ex.metrics());
  assert.equal(v.get('tailscale_tailnet_setting_enabled{setting="devices_approval"}'), 1);
  assert.equal(
    get(v, 'tailscale_tailnet_setting_enabled', 'setting="regional_routing"').length,
    0,
    'null is absent, not 0',
  );
  assert.equal(v.get('tailscale_tailnet_device_key_duration_seconds'), sim.settings.devicesKeyDurationDays * 86400);
  assert.equal(
    get(
      v,
      'tailscale_tailnet_settings_info',
      `users_role_allowed_to_join_external_tailnets="${sim.settings.usersRoleAllowedToJoinExternalTailnets}"`,
    ).length,
    1,
  );
});

test('DNS, services and policy', async (t) => {
  const sim = await demo(t);
  const ex = await exporterOn(t, sim);
  const v = seriesValues(await ex.metrics());
  assert.equal(v.get('tailscale_dns_magic_dns'), sim.dns.magicDNS ? 1 : 0);
  for (const ns of sim.dns.nameservers) assert.equal(v.get(`tailscale_dns_nameserver_info{nameserver="${ns}"}`), 1);
  for (const p of sim.dns.searchPaths) assert.equal(v.get(`tailscale_dns_search_path_info{search_path="${p}"}`), 1);
  for (const [domain, servers] of Object.entries(sim.dns.splitDns))
    assert.equal(v.get(`tailscale_dns_split_dns_nameservers{domain="${domain}"}`), servers?.length ?? 0);
  for (const s of sim.services) {
    assert.equal(get(v, 'tailscale_service_info', `service="${s.name}"`).length, 1);
    for (const a of s.addrs)
      assert.equal(v.get(`tailscale_service_address_info{service="${s.name}",address="${a}"}`), 1);
    for (const p of s.ports) assert.equal(v.get(`tailscale_service_port_info{service="${s.name}",port="${p}"}`), 1);
  }
  const policy = sim.policy.json as Record<string, unknown>;
  const count = (k: string) =>
    Array.isArray(policy[k]) ? (policy[k] as unknown[]).length : policy[k] ? Object.keys(policy[k]).length : 0;
  assert.equal(v.get('tailscale_policy_entries{part="grants"}'), count('grants'));
  assert.equal(v.get('tailscale_policy_entries{part="groups"}'), count('groups'));
  assert.equal(v.get('tailscale_policy_entries{part="tag_owners"}'), count('tagOwners'));
  assert.equal(get(v, 'tailscale_policy_info').length, 1);
  const text = await ex.metrics();
  assert.ok(!text.includes(JSON.stringify(policy).slice(0, 40)), 'never the policy text');
});

test('a policy change is observed on the next inventory fetch', async (t) => {
  const sim = await demo(t);
  const ex = await exporterOn(t, sim, { INVENTORY_INTERVAL: '1m' });
  const before = get(seriesValues(await ex.metrics()), 'tailscale_policy_info')[0]![0];
  sim.setPolicy({ ...(sim.policy.json as object), groups: { 'group:new': ['x@example.com'] } });
  await ex.app.refresher.runOnce();
  assert.equal(
    get(seriesValues(await ex.metrics()), 'tailscale_policy_info')[0]![0],
    before,
    'not refetched inside INVENTORY_INTERVAL',
  );
});

test('inventory is fetched once per INVENTORY_INTERVAL, devices on every cycle', async (t) => {
  const sim = await demo(t);
  const ex = await exporterOn(t, sim);
  await ex.app.refresher.runOnce();
  await ex.app.refresher.runOnce();
  assert.equal(sim.stats.requests.get('users'), 1);
  assert.equal(sim.stats.requests.get('acl'), 1);
  assert.equal(sim.stats.deviceListRequests, 3);
});

test('a missing scope (403) fails only that collector, says which scope to grant, once', async (t) => {
  const sim = await demo(t);
  sim.setGrantedScopes([
    'devices:core:read',
    'devices:routes:read',
    'devices:posture_attributes:read',
    'dns:read',
    'feature_settings:read',
    'services:read',
    'policy_file:read',
    'auth_keys:read',
  ]);
  const ex = await exporterOn(t, sim, { INVENTORY_INTERVAL: '1m' });
  const v = seriesValues(await ex.metrics());
  assert.equal(v.get('tsmetrics_collector_success{collector="users"}'), 0);
  for (const c of ['devices', 'keys', 'settings', 'dns', 'services', 'policy'])
    assert.equal(v.get(`tsmetrics_collector_success{collector="${c}"}`), 1, c);
  assert.equal(get(v, 'tailscale_user_info').length, 0);
  assert.ok(get(v, 'tailscale_device_info').length > 0);
  const scopeLines = ex.lines.filter((l) => l.includes('users:read') && l.includes('403'));
  assert.equal(scopeLines.length, 1, 'logged once');
});

test('COLLECTORS turns collectors off; client_metrics off means no device is dialled', async (t) => {
  const sim = await demo(t);
  const ex = await exporterOn(t, sim, { COLLECTORS: 'devices' });
  const v = seriesValues(await ex.metrics());
  assert.equal(sim.stats.requests.get('users') ?? 0, 0);
  assert.equal(
    [...sim.stats.scrapes.values()].reduce((a, b) => a + b, 0),
    0,
  );
  assert.equal(get(v, 'tailscaled_inbound_bytes_total').length, 0);
  assert.ok(get(v, 'tailscale_device_info').length > 0);
  assert.deepEqual([...v.keys()].filter((k) => k.startsWith('tsmetrics_collector_success')).sort(), [
    'tsmetrics_collector_success{collector="devices"}',
    'tsmetrics_collector_success{collector="exporter"}',
  ]);
  assert.throws(
    () => loadConfig({ TEST_DEVICES: 'a', COLLECTORS: 'devices,bogus' }),
    /COLLECTORS="devices,bogus" is invalid/,
  );
});

test('an inventory API failure keeps the last good data and marks only that resource failed', async (t) => {
  const sim = await demo(t);
  const { HttpTailscaleApi } = await import('../../src/control/api.js');
  const { StaticToken } = await import('../../src/control/auth.js');
  const { RequestStats } = await import('../../src/control/request-stats.js');
  const { log, lines } = memoryLogger();
  const api = new HttpTailscaleApi({
    baseUrl: sim.apiUrl,
    tailnet: '-',
    timeoutMs: 2000,
    tokens: new StaticToken(sim.apiKey),
    stats: new RequestStats(),
    log,
    sleep: async () => {},
  });
  t.after(() => api.close());
  let now = 0;
  const inv = new Inventory({
    resources: api.resources,
    enabled: ['users', 'policy'],
    intervalMs: 60_000,
    log,
    now: () => now,
  });
  await inv.refreshIfDue();
  const first = inv.current();
  assert.equal(first.users.ok, true);
  assert.ok((first.users.data?.length ?? 0) > 0);
  const changedAt = first.policy.changedAtSeconds;
  now = 30_000;
  await inv.refreshIfDue();
  assert.equal(sim.stats.requests.get('users'), 1, 'not due yet');
  now = 61_000;
  sim.setApiFault({ kind: 'status', status: 500 });
  await inv.refreshIfDue();
  const failed = inv.current();
  assert.equal(failed.users.ok, false);
  assert.deepEqual(failed.users.data, first.users.data, 'last good data kept');
  assert.match(failed.users.error ?? '', /HTTP 500/);
  assert.ok(lines.some((l) => l.includes('keeping its last good data')));
  sim.setApiFault(null);
  sim.setPolicy({ ...(sim.policy.json as object), groups: { 'group:new': ['x@example.com'] } });
  now = 200_000;
  await inv.refreshIfDue();
  const after = inv.current();
  assert.equal(after.users.ok, true);
  assert.notEqual(after.policy.data?.hash, first.policy.data?.hash);
  assert.equal(after.policy.changedAtSeconds, 200, 'the change is stamped when observed');
  assert.notEqual(after.policy.changedAtSeconds, changedAt);
});

test('refusals are explained in the backend’s own terms: OAuth scopes for Tailscale, the API key for Headscale', async () => {
  const forbidden = (): Promise<never> => Promise.reject(new ApiError('users', 'http_status', 'HTTP 403', 403));
  const absent = (): Promise<never> => Promise.resolve([{ available: false }] as never);
  const messages = async (backend: BackendInfo | undefined): Promise<string[]> => {
    const { log, lines } = memoryLogger();
    const inv = new Inventory({
      resources: { users: forbidden, apikeys: absent },
      enabled: ['users', 'apikeys'],
      intervalMs: 60_000,
      log,
      ...(backend === undefined ? {} : { backend }),
    });
    await inv.refreshIfDue();
    return lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  };
  const headscale = await messages(BACKEND_INFO.headscale);
  assert.ok(
    headscale.includes(
      'the Headscale API refused the users collector (403): check that HEADSCALE_API_KEY is a valid, unexpired API key, or turn the collector off with COLLECTORS',
    ),
    headscale.join('\n'),
  );
  assert.ok(
    headscale.includes(
      'the Headscale API answered 404 for the apikeys collector: this Headscale version does not serve it; it exports nothing until that changes',
    ),
    headscale.join('\n'),
  );
  assert.ok(!headscale.some((m) => m.includes('OAuth')));
  const tailscale = await messages(undefined);
  assert.ok(
    tailscale.includes(
      'the Tailscale API refused the users collector (403): grant the OAuth client users:read or all:read, or turn the collector off with COLLECTORS',
    ),
    tailscale.join('\n'),
  );
});
