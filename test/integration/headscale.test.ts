import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { startHeadscale } from '../../src/sim/headscale/index.js';
import { nodeTags, nodeToDevice } from '../../src/control/headscale.js';
import { seriesValues, startExporterWith } from '../helpers/exporter.js';
import { promtoolCheck } from '../helpers/promtool.js';

// BACKEND=headscale against the simulated Headscale, in both tag models.

async function run(t: TestContext, tagModel: 'legacy' | 'v028', env: Record<string, string> = {}) {
  const hs = await startHeadscale({ tagModel });
  t.after(() => hs.close());
  const { app, lines, metrics } = await startExporterWith(t, {
    BACKEND: 'headscale',
    HEADSCALE_URL: hs.url,
    HEADSCALE_API_KEY: hs.apiKey,
    CLIENT_METRICS_PORT: String(hs.clientMetricsPort),
    ...env,
  });
  const text = await metrics();
  return { hs, app, lines, text, v: seriesValues(text) };
}

const with_ = (v: Map<string, number>, prefix: string, ...parts: string[]) =>
  [...v.entries()].filter(([k]) => k.startsWith(`${prefix}{`) && parts.every((p) => k.includes(p)));
const isoSeconds = (ms: number): number => Math.floor(ms / 1000);

for (const tagModel of ['legacy', 'v028'] as const) {
  test(`${tagModel}: nodes map field by field onto the tailscale_device_* families`, async (t) => {
    const { hs, v, text } = await run(t, tagModel);
    assert.equal(v.get('tailscale_device_count'), hs.nodes.length);
    assert.equal(v.get('headscale_up'), 1);
    for (const n of hs.nodes) {
      const id = `device_id="${n.id}"`;
      assert.equal(with_(v, 'tailscale_device_online', id)[0]?.[1], n.online ? 1 : 0, `online ${n.givenName}`);
      assert.match(with_(v, 'tailscale_device_info', id)[0]![0], new RegExp(`device_name="${n.givenName}"`));
      assert.equal(with_(v, 'tailscale_device_created_timestamp', id)[0]?.[1], isoSeconds(n.createdAt));
      const expiry = with_(v, 'tailscale_device_machine_key_expiry', id);
      if (typeof n.expiry === 'number') assert.equal(expiry[0]?.[1], isoSeconds(n.expiry), `expiry ${n.givenName}`);
      else {
        assert.equal(expiry.length, 0, `${n.givenName} never expires: no expiry series`);
        assert.equal(with_(v, 'tailscale_device_key_expiry_disabled', id)[0]?.[1], 1);
      }
      if (!n.online && n.lastSeen !== null)
        assert.equal(with_(v, 'tailscale_device_last_seen_timestamp', id)[0]?.[1], isoSeconds(n.lastSeen));
      for (const r of n.availableRoutes)
        assert.equal(
          v.get(`tailscale_device_routes_advertised{device_id="${n.id}",device_name="${n.givenName}",route="${r}"}`),
          1,
        );
      for (const r of n.approvedRoutes)
        assert.equal(
          v.get(`tailscale_device_routes_enabled{device_id="${n.id}",device_name="${n.givenName}",route="${r}"}`),
          1,
        );
    }
    // Tags: both models end up as the same tag set.
    const tagged = hs.nodes.filter((n) => n.servesMetrics);
    for (const n of tagged)
      assert.equal(
        with_(v, 'tailscale_device_tags', `device_id="${n.id}"`, 'tag="tag:exporter"').length,
        1,
        `tags ${n.givenName}`,
      );
    // Families Headscale cannot fill are absent, never 0.
    for (const f of [
      'tailscale_device_authorized',
      'tailscale_device_update_available',
      'tailscale_device_latency_ms',
      'tailscale_device_external',
    ])
      assert.ok(!text.includes(`# TYPE ${f} `), f);
    // Client metrics are scraped from the nodes exactly as from Tailscale devices.
    assert.equal(with_(v, 'tsmetrics_device_scrape_up').filter(([, n]) => n === 1).length, tagged.length);
    assert.ok(with_(v, 'tailscaled_inbound_bytes_total', 'path="derp"').length >= tagged.length);
    // Headscale-only families.
    assert.equal(with_(v, 'headscale_user_info').length, hs.users.length);
    assert.ok(with_(v, 'headscale_preauthkey_info').length >= hs.preAuthKeys.length, 'legacy lists keys user by user');
    assert.ok(with_(v, 'headscale_apikey_info').length >= 1);
    assert.ok(with_(v, 'headscale_node_route', 'state="serving"').length > 0);
    for (const c of ['devices', 'users', 'preauthkeys', 'apikeys'])
      assert.equal(v.get(`tsmetrics_collector_success{collector="${c}"}`), 1, c);
    assert.deepEqual(promtoolCheck(text), []);
  });
}

test('tag models: forced and valid tags count before 0.28, invalid ones do not; one tags list after', () => {
  const legacy = nodeTags({ id: '1', forcedTags: ['tag:a'], validTags: ['tag:b', 'tag:a'], invalidTags: ['tag:c'] });
  assert.deepEqual(legacy.sort(), ['tag:a', 'tag:b']);
  assert.deepEqual(nodeTags({ id: '1', tags: ['tag:x'], forcedTags: ['tag:ignored'] }), ['tag:x']);
  const d = nodeToDevice({
    id: '7',
    name: 'host',
    givenName: 'given',
    expiry: '0001-01-01T00:00:00Z',
    online: false,
    user: { email: '', name: 'bob' },
  });
  assert.equal(d.id, '7');
  assert.equal(d.name, 'given');
  assert.equal(d.hostname, 'host');
  assert.equal(d.user, 'bob');
  assert.equal(d.keyExpiryDisabled, true);
  assert.equal(d.expiresSeconds, undefined);
});

test('a bad API key: headscale_up 0, a clear error, no fake data', async (t) => {
  const { v, lines } = await run(t, 'v028', { HEADSCALE_API_KEY: 'not-a-valid-key' });
  assert.equal(v.get('headscale_up'), 0);
  assert.equal(v.get('tsmetrics_api_up'), 0);
  assert.equal(v.get('tsmetrics_collector_success{collector="devices"}'), 0);
  assert.equal(v.get('tailscale_device_count'), undefined, 'no device list yet: no devices, not zero devices');
  assert.ok(
    lines.some((l) => l.includes('HTTP 401')),
    'the 401 is logged',
  );
});

test('configuration: BACKEND=headscale needs the URL and key; a bad CA file is exit-2 material', () => {
  assert.throws(() => loadConfig({ BACKEND: 'headscale' }), /HEADSCALE_URL is not set/);
  assert.throws(
    () => loadConfig({ BACKEND: 'headscale', HEADSCALE_URL: 'https://hs.example.com' }),
    /HEADSCALE_API_KEY is not set/,
  );
  assert.throws(
    () =>
      loadConfig(
        { BACKEND: 'headscale', HEADSCALE_URL: 'https://hs', HEADSCALE_API_KEY: 'k', HEADSCALE_CA_FILE: '/nope' },
        {
          readFile: () => {
            throw Object.assign(new Error(), { code: 'ENOENT' });
          },
        },
      ),
    /HEADSCALE_CA_FILE="\/nope": cannot read the file \(ENOENT\)/,
  );
  assert.throws(
    () =>
      loadConfig(
        { BACKEND: 'headscale', HEADSCALE_URL: 'https://hs', HEADSCALE_API_KEY: 'k', HEADSCALE_CA_FILE: '/x' },
        { readFile: () => 'not pem' },
      ),
    /expected a PEM file/,
  );
  assert.throws(
    () => loadConfig({ BACKEND: 'zerotier' }),
    /BACKEND="zerotier" is invalid: expected tailscale or headscale/,
  );
  const c = loadConfig({ BACKEND: 'headscale', HEADSCALE_URL: 'https://hs.example.com/', HEADSCALE_API_KEY: 'k' });
  assert.deepEqual(c.headscale, { url: 'https://hs.example.com', apiKey: 'k', ca: undefined });
});

// ---- Headscale 0.27-0.30: health, problem+json errors, null times, tagged nodes without a user, masked keys

async function runHs(t: TestContext, options: Parameters<typeof startHeadscale>[0], env: Record<string, string> = {}) {
  const hs = await startHeadscale(options);
  t.after(() => hs.close());
  const ex = await startExporterWith(t, {
    BACKEND: 'headscale',
    HEADSCALE_URL: hs.url,
    HEADSCALE_API_KEY: hs.apiKey,
    CLIENT_METRICS_PORT: String(hs.clientMetricsPort),
    ...env,
  });
  return { hs, ...ex, values: async () => seriesValues(await ex.metrics()) };
}

test('0.27+: GET /api/v1/health is a database-connectivity gauge, refreshed every cycle, absent on older servers', async (t) => {
  const { hs, app, values } = await runHs(t, { tagModel: 'v028' });
  assert.equal((await values()).get('headscale_database_connectivity'), 1);
  const before = hs.stats.requests.get('health');
  hs.setDatabaseHealthy(false);
  await app.refresher.runOnce();
  let v = await values();
  assert.equal(v.get('headscale_database_connectivity'), 0, 'the 500 of a failed database ping means no connectivity');
  assert.ok(hs.stats.requests.get('health')! > before!, 'fetched again although INVENTORY_INTERVAL has not passed');
  assert.equal(v.get('tsmetrics_collector_success{collector="devices"}'), 1);
  hs.setDatabaseHealthy(true);
  await app.refresher.runOnce();
  assert.equal((await values()).get('headscale_database_connectivity'), 1);

  const old = await runHs(t, { tagModel: 'legacy', healthEndpoint: false });
  v = await old.values();
  assert.equal(v.get('headscale_database_connectivity'), undefined, 'no endpoint (before 0.27): absent, not 0');
  assert.equal(v.get('tsmetrics_collector_success{collector="devices"}'), 1, 'a missing endpoint is no failure');
  assert.equal(v.get('headscale_up'), 1);
});

test('0.30: problem+json errors reach the log; null lastSeen and expiry; tagged nodes without a user', async (t) => {
  const { hs, app, lines, values } = await runHs(t, { tagModel: 'v028', flavor: 'v030' });
  const raw = await fetch(`${hs.url}/api/v1/node`, { headers: { authorization: `Bearer ${hs.apiKey}` } });
  const nodes = ((await raw.json()) as { nodes: Array<Record<string, unknown>> }).nodes;
  assert.ok(
    nodes.some((n) => n['expiry'] === null) && nodes.some((n) => n['lastSeen'] === null),
    'the answer really has null times',
  );
  assert.ok(
    nodes.some((n) => n['user'] === null && (n['tags'] as string[]).length > 0),
    'and tagged nodes without a user',
  );
  let v = await values();
  assert.equal(v.get('tailscale_device_count'), hs.nodes.length);
  assert.equal(v.get('tsmetrics_collector_success{collector="devices"}'), 1);
  for (const n of hs.nodes) {
    const expiry = with_(v, 'tailscale_device_machine_key_expiry', `device_id="${n.id}"`);
    assert.equal(
      expiry.length,
      typeof n.expiry === 'number' ? 1 : 0,
      `${n.givenName}: null expiry is "never", no series`,
    );
    if (n.expiry !== null && typeof n.expiry !== 'number')
      assert.equal(with_(v, 'tailscale_device_key_expiry_disabled', `device_id="${n.id}"`)[0]?.[1], 1);
  }
  const tagged = hs.nodes.filter((n) => n.forcedTags.length + n.requestedTags.length > 0);
  for (const n of tagged)
    assert.equal(
      with_(v, 'tailscale_device_user', `device_id="${n.id}"`, 'user_email=""').length,
      1,
      `${n.givenName}: empty user`,
    );

  const problem = await fetch(`${hs.url}/api/v1/node/999`, { headers: { authorization: `Bearer ${hs.apiKey}` } });
  assert.equal(problem.headers.get('content-type'), 'application/problem+json');
  assert.deepEqual(await problem.json(), {
    type: 'about:blank',
    title: 'Not Found',
    status: 404,
    detail: 'node not found',
  });
  hs.setFault({ kind: 'status', status: 400, endpoint: 'node', times: 1 });
  await app.refresher.runOnce();
  v = await values();
  assert.equal(v.get('headscale_up'), 0);
  assert.ok(
    lines.some((l) => l.includes('HTTP 400: simulated HTTP 400')),
    'the problem detail is in the log',
  );
});

for (const tagModel of ['legacy', 'v028'] as const) {
  test(`${tagModel}: tagged nodes of 0.28+ have an empty user label; pre-auth key text is never exported`, async (t) => {
    const { hs, metrics, lines } = await runHs(t, { tagModel });
    const text = await metrics();
    const v = seriesValues(text);
    for (const n of hs.nodes) {
      const tagged = n.forcedTags.length + n.requestedTags.length > 0;
      const owner = hs.users.find((u) => u.id === n.userId);
      const expected = tagModel === 'v028' && tagged ? '' : owner?.email || owner?.name || '';
      assert.equal(
        with_(v, 'tailscale_device_user', `device_id="${n.id}"`, `user_email="${expected}"`).length,
        1,
        `${n.givenName} (${tagModel})`,
      );
    }
    assert.equal(v.get('tsmetrics_collector_success{collector="preauthkeys"}'), 1);
    for (const k of hs.preAuthKeys) {
      assert.equal(with_(v, 'headscale_preauthkey_info', `key_id="${k.id}"`).length, 1);
      if (k.userId === null)
        assert.equal(
          with_(v, 'headscale_preauthkey_info', `key_id="${k.id}"`, 'user=""').length,
          1,
          'a tags-only key has no user',
        );
      // Neither the key, nor its masked listing, nor its secret half appears anywhere.
      for (const fragment of [
        k.key,
        k.key.slice(-24),
        ...(k.key.startsWith('hskey-auth-') ? [`${k.key.slice(0, 'hskey-auth-'.length + 12)}-***`] : []),
      ]) {
        assert.ok(!text.includes(fragment), `pre-auth key ${k.id} text in /metrics`);
        assert.ok(!lines.some((l) => l.includes(fragment)), `pre-auth key ${k.id} text in the log`);
      }
    }
    assert.ok(!text.includes('hskey-auth-'), 'no masked key either');
  });
}

test('health answers: 404 absent, 500 no connectivity, a missing field false (protojson), malformed or refused throws', async () => {
  const { fetchHeadscaleHealth } = await import('../../src/control/headscale.js');
  const { ApiError } = await import('../../src/errors.js');
  const api = (answer: unknown) => ({
    tailnet: '-',
    listDevices: () => Promise.reject(new Error('not used')),
    close: async () => {},
    getJson: () => (answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer)),
  });
  assert.deepEqual(await fetchHeadscaleHealth(api({ databaseConnectivity: true })), { databaseConnectivity: true });
  assert.deepEqual(await fetchHeadscaleHealth(api({})), { databaseConnectivity: false });
  assert.deepEqual(await fetchHeadscaleHealth(api(new ApiError('health', 'http_status', 'HTTP 404: Not Found', 404))), {
    databaseConnectivity: undefined,
  });
  assert.deepEqual(
    await fetchHeadscaleHealth(api(new ApiError('health', 'http_status', 'HTTP 500: pinging database', 500))),
    { databaseConnectivity: false },
  );
  await assert.rejects(fetchHeadscaleHealth(api({ databaseConnectivity: 'yes' })), /invalid|databaseConnectivity/);
  await assert.rejects(fetchHeadscaleHealth(api('ok')), /databaseConnectivity/);
  await assert.rejects(fetchHeadscaleHealth(api(new ApiError('health', 'auth', 'HTTP 401', 401))), /HTTP 401/);
});

test('a password in HEADSCALE_URL reaches neither the status page nor /debug nor the log', async (t) => {
  const hs = await startHeadscale({});
  t.after(() => hs.close());
  const password = 'proxy-PASSWORD-4567';
  const url = hs.url.replace('://', `://ops:${password}@`);
  const ex = await startExporterWith(t, {
    BACKEND: 'headscale',
    HEADSCALE_URL: url,
    HEADSCALE_API_KEY: hs.apiKey,
    CLIENT_METRICS_PORT: String(hs.clientMetricsPort),
  });
  const page = await (await ex.get('/')).text();
  assert.match(page, /ops:&lt;redacted&gt;@127\.0\.0\.1/, 'the page names the server, password redacted');
  const debug = await (await ex.get('/debug')).text();
  assert.ok(![page, debug, ...ex.lines].join('\n').includes(password), 'the password leaked');
});
