import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { seriesValues, startExporter, startExporterWith } from '../helpers/exporter.js';
import { promtoolCheck } from '../helpers/promtool.js';

test('demo tailnet end to end: /metrics has API and device families, and promtool accepts it', async (t) => {
  const ex = await startExporter(t, {}, { demo: true });
  const res = await ex.get('/metrics');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const text = await res.text();
  const v = seriesValues(text);
  const sim = ex.simulator!;
  assert.equal(v.get('tailscale_device_count'), sim.devices.length);
  for (const family of [
    'tailscale_device_info',
    'tailscale_device_online',
    'tailscale_device_authorized',
    'tailscale_device_last_seen_timestamp',
    'tailscale_device_user',
    'tailscale_device_machine_key_expiry',
    'tailscale_device_update_available',
    'tailscale_device_created_timestamp',
    'tailscale_device_external',
    'tailscale_device_blocks_incoming_connections',
    'tailscale_device_ephemeral',
    'tailscale_device_multiple_connections',
    'tailscale_device_tailnet_lock_error',
    'tailscale_device_routes_advertised',
    'tailscale_device_routes_enabled',
    'tailscale_device_exit_node',
    'tailscale_device_subnet_router',
    'tailscale_device_latency_ms',
    'tailscale_device_endpoints_total',
    'tailscale_device_client_supports',
    'tailscale_device_posture_serial_numbers_total',
    'tailscaled_inbound_bytes_total',
    'tailscaled_outbound_bytes_total',
    'tailscaled_inbound_packets_total',
    'tailscaled_outbound_packets_total',
    'tailscaled_health_messages',
    'tailscaled_advertised_routes',
    'tailscaled_approved_routes',
    'tsmetrics_build_info',
    'tsmetrics_api_up',
    'tsmetrics_last_successful_refresh_timestamp_seconds',
    'tsmetrics_device_scrape_up',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${family} `, 'm'), family);
  }
  assert.match(text, /^# TYPE tailscaled_inbound_bytes_total counter$/m, 're-exported counters stay counters');
  assert.match(text, /^tailscaled_inbound_bytes_total\{device_id="[^"]+",device_name="[^"]+",path="derp"\} \d+$/m);
  assert.equal(v.get('tsmetrics_api_up'), 1);
  assert.equal(v.get('tsmetrics_simulated'), 1, 'simulated data is marked');
  const scraped = [...v.entries()].filter(([k, val]) => k.startsWith('tsmetrics_device_scrape_up{') && val === 1);
  assert.ok(scraped.length >= 5, `expected the demo's tagged devices to be scraped, got ${scraped.length}`);
  assert.deepEqual(promtoolCheck(text), []);
});

test('gzip for clients that ask for it; HEAD; 404 and 405', async (t) => {
  const ex = await startExporter(t);
  const plain = await (await ex.get('/metrics')).text();
  const res = await fetch(`${ex.url}/metrics`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  // fetch decodes gzip transparently; the bytes must be the same document.
  assert.equal(await res.text(), plain);
  const raw = await import('node:http').then(
    (http) =>
      new Promise<Buffer>((resolve, reject) => {
        http.get(`${ex.url}/metrics`, { headers: { 'accept-encoding': 'gzip' } }, (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c))
            .on('end', () => resolve(Buffer.concat(chunks)))
            .on('error', reject);
        });
      }),
  );
  assert.equal(gunzipSync(raw).toString('utf8'), plain);
  assert.equal((await fetch(`${ex.url}/metrics`, { method: 'HEAD' })).status, 200);
  assert.equal((await ex.get('/nope')).status, 404);
  const post = await fetch(`${ex.url}/metrics`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
});

test('/health, /livez, /readyz, /debug and the landing page', async (t) => {
  const ex = await startExporter(t);
  const health = await ex.get('/health');
  assert.equal(health.status, 200);
  const h = (await health.json()) as Record<string, unknown>;
  assert.equal(h.status, 'healthy');
  assert.equal(h.version, '0.0.0-test');
  assert.equal(h.devices_discovered, 2);
  assert.equal(h.devices_scraped, 2);
  assert.equal(typeof h.uptime, 'string');
  assert.ok(!Number.isNaN(Date.parse(String(h.last_scrape))));
  assert.equal((await ex.get('/livez')).status, 200);
  assert.equal((await ex.get('/readyz')).status, 200);
  const debug = (await (await ex.get('/debug')).json()) as {
    config: Record<string, unknown>;
    runtime: { node_version: string };
    refresh: { history: unknown[] };
  };
  assert.equal(debug.runtime.node_version, process.version);
  assert.equal(debug.refresh.history.length, 1);
  const sim = ex.simulator!;
  const debugText = JSON.stringify(debug);
  assert.ok(!debugText.includes(sim.clientSecret), 'no OAuth secret in /debug');
  const landing = await (await ex.get('/')).text();
  // Every endpoint the README lists is linked.
  for (const link of [
    '/metrics',
    '/health',
    '/healthz',
    '/livez',
    '/readyz',
    '/startupz',
    '/sd',
    '/probe?target=',
    '/debug',
  ])
    assert.ok(landing.includes(`href="${link}"`), link);
});

test('DEBUG_ENDPOINT=false removes /debug', async (t) => {
  const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1', DEBUG_ENDPOINT: 'false' });
  assert.equal((await ex.get('/debug')).status, 404);
});

test('while the API fails, /metrics keeps the last good data and says the API is down', async (t) => {
  const ex = await startExporter(t);
  const sim = ex.simulator!;
  const before = seriesValues(await (await ex.get('/metrics')).text());
  sim.setApiFault({ kind: 'status', status: 503 });
  await ex.nextCycle();
  const after = seriesValues(await (await ex.get('/metrics')).text());
  assert.equal(after.get('tsmetrics_api_up'), 0);
  assert.equal(after.get('tailscale_device_count'), 2, 'an API failure is never an empty tailnet');
  assert.equal(
    after.get('tsmetrics_last_successful_refresh_timestamp_seconds'),
    before.get('tsmetrics_last_successful_refresh_timestamp_seconds'),
  );
  assert.ok(
    [...after.keys()].some((k) => k.startsWith('tailscaled_inbound_bytes_total{')),
    'devices are still scraped from the last good list',
  );
  assert.ok(ex.lines.some((l) => l.includes('device list refresh failed')));
  sim.setApiFault(null);
  await ex.nextCycle();
  assert.equal(seriesValues(await (await ex.get('/metrics')).text()).get('tsmetrics_api_up'), 1);
});

test('devices that vanish lose their series on the next cycle', async (t) => {
  const ex = await startExporter(t);
  const sim = ex.simulator!;
  assert.match(await (await ex.get('/metrics')).text(), /device_name="gateway-2/);
  await sim.removeDevice('gateway-2');
  await ex.nextCycle();
  const text = await (await ex.get('/metrics')).text();
  assert.ok(!text.includes('gateway-2'), 'no stale series');
  assert.equal(seriesValues(text).get('tailscale_device_count'), 1);
});

test('secrets never reach logs, /debug, /health or /metrics', async (t) => {
  const metricsToken = 'metrics-token-SECRET-0123456789';
  const redactKey = 'redact-key-SECRET-0123456789';
  const ex = await startExporter(t, {
    TEST_DEVICES: 'gateway-1',
    METRICS_TOKEN: metricsToken,
    REDACT_USER_EMAILS: 'true',
    REDACT_KEY: redactKey,
  });
  const sim = ex.simulator!;
  sim.setApiFault({ kind: 'expire-tokens', times: 1 });
  await ex.nextCycle();
  sim.setApiFault({ kind: 'status', status: 500 });
  await ex.nextCycle();
  sim.setApiFault({ kind: 'token-endpoint-down', times: 2 });
  await ex.nextCycle();
  sim.setApiFault(null);
  const auth = { authorization: `Bearer ${metricsToken}` };
  const bodies = await Promise.all(
    ['/metrics', '/debug', '/health', '/', '/sd'].map(async (p) => (await ex.get(p, auth)).text()),
  );
  const haystack = [...ex.lines, ...bodies].join('\n');
  assert.ok(ex.lines.length > 0);
  for (const secret of [sim.clientSecret, sim.apiKey, metricsToken, redactKey])
    assert.ok(!haystack.includes(secret), 'a secret leaked');
  assert.ok(!/tskey-api-[A-Za-z0-9]/.test(haystack), 'an access token leaked');
});

test('a failing device keeps its last good series, flagged by scrape_up 0 and an error counter', async (t) => {
  const ex = await startExporter(t);
  const sim = ex.simulator!;
  sim.setDeviceFault('gateway-1', { kind: 'malformed' });
  await ex.nextCycle();
  const text = await (await ex.get('/metrics')).text();
  const v = seriesValues(text);
  const g1 = [...v.keys()].find((k) => k.startsWith('tsmetrics_device_scrape_up{') && k.includes('gateway-1'))!;
  assert.equal(v.get(g1), 0);
  assert.ok(
    [...v.keys()].some((k) => k.startsWith('tailscaled_inbound_bytes_total{') && k.includes('gateway-1')),
    'last good data is still served',
  );
  assert.ok(
    [...v.entries()].some(
      ([k, n]) =>
        k.startsWith('tsmetrics_device_scrape_errors_total{') &&
        k.includes('gateway-1') &&
        k.includes('reason="parse"') &&
        n === 1,
    ),
  );
  assert.ok(
    [...v.entries()].some(
      ([k, n]) => k.startsWith('tsmetrics_device_scrape_up{') && k.includes('gateway-2') && n === 1,
    ),
    'the other device is unaffected',
  );
  const debug = (await (await ex.get('/debug')).json()) as { refresh: { failing_devices: Array<{ reason: string }> } };
  assert.deepEqual(
    debug.refresh.failing_devices.map((d) => d.reason),
    ['parse'],
  );
});

test('edge cases: hostile names and out-of-range addresses are handled, the output still passes promtool', async (t) => {
  const { startTailnet } = await import('../../src/sim/tailscale/index.js');
  const sim = await startTailnet({ scenario: 'edge-cases' });
  t.after(() => sim.close());
  const { startApp } = await import('../../src/app.js');
  const { loadConfig } = await import('../../src/config/load.js');
  const { memoryLogger } = await import('../helpers/log.js');
  const base = loadConfig({
    TAILSCALE_API_KEY: sim.apiKey,
    TAILSCALE_API_URL: sim.apiUrl,
    SCRAPE_INTERVAL: '1h',
    CLIENT_METRICS_PORT: String(sim.clientMetricsPort),
    SCRAPE_ALLOWED_CIDRS: '127.0.0.0/8',
  });
  const { log, lines } = memoryLogger();
  const app = await startApp({ ...base, port: 0, listenHost: '127.0.0.1' }, log, 'test');
  t.after(() => app.stop());
  await app.refresher.runOnce();
  const text = await (await fetch(`${app.url}/metrics`)).text();
  assert.deepEqual(promtoolCheck(text), []);
  const v = seriesValues(text);
  assert.ok(
    (v.get('tsmetrics_scrape_address_refused_total') ?? 0) >= 1,
    'the device outside the allowed ranges was refused',
  );
  assert.ok(lines.some((l) => l.includes('outside SCRAPE_ALLOWED_CIDRS')));
  assert.equal(v.get('tailscale_device_count'), sim.devices.length);
  // No series the exporter did not intend: every family is documented or a re-exported tailscaled_* one.
  const readme = (await import('node:fs')).readFileSync('README.md', 'utf8');
  const documented = new Set([...readme.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]!));
  const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  for (const f of families) assert.ok(documented.has(f) || f.startsWith('tailscaled_'), `unexpected family ${f}`);
  const sampleNames = new Set(
    text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.split(/[{ ]/)[0]!),
  );
  for (const n of sampleNames)
    assert.ok(
      families.has(n) || families.has(n.replace(/_(bucket|sum|count)$/, '')),
      `a sample line outside its family: ${n}`,
    );
});

test('METRICS_TOKEN protects data endpoints; probes stay open', async (t) => {
  const token = 'a-very-long-metrics-token-123';
  const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1', METRICS_TOKEN: token });
  for (const path of ['/metrics', '/debug']) {
    const denied = await ex.get(path);
    assert.equal(denied.status, 401, path);
    assert.equal(denied.headers.get('www-authenticate'), 'Bearer realm="tsmetrics"');
    assert.equal((await ex.get(path, { authorization: 'Bearer wrong-token-of-some-length' })).status, 401);
    assert.equal((await ex.get(path, { authorization: `Bearer ${token}` })).status, 200, path);
  }
  for (const path of ['/health', '/healthz', '/livez', '/readyz', '/startupz', '/'])
    assert.equal((await ex.get(path)).status, 200, path);
  const debug = await (await ex.get('/debug', { authorization: `Bearer ${token}` })).text();
  assert.ok(!debug.includes(token), 'the token itself is redacted in /debug');
});

test('a METRICS_TOKEN shorter than 16 characters is refused at start', async () => {
  const { loadConfig } = await import('../../src/config/load.js');
  assert.throws(
    () => loadConfig({ TEST_DEVICES: 'a', METRICS_TOKEN: 'short' }),
    /METRICS_TOKEN=<redacted> is invalid: expected a token of at least 16 characters/,
  );
});

test('per-client rate limit answers 429 with Retry-After beyond the burst; 0 turns it off', async (t) => {
  const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1', RATE_LIMIT_RPS: '1', RATE_LIMIT_BURST: '3' });
  const codes: number[] = [];
  for (let i = 0; i < 5; i++) codes.push((await ex.get('/metrics')).status);
  assert.deepEqual(codes, [200, 200, 200, 429, 429]);
  const limited = await ex.get('/metrics');
  assert.equal(limited.headers.get('retry-after'), '1');
  const open = await startExporter(t, { TEST_DEVICES: 'gateway-1', RATE_LIMIT_RPS: '0' });
  for (let i = 0; i < 30; i++) assert.equal((await open.get('/metrics')).status, 200);
});

test('/startupz and /readyz follow the first refresh and data freshness', async (t) => {
  const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1' });
  assert.equal((await ex.get('/startupz')).status, 200);
  assert.equal((await ex.get('/readyz')).status, 200);
  assert.equal((await ex.get('/healthz')).status, 200);
});

test('/debug explains failing devices with a hint; coverage says why each device is or is not scraped', async (t) => {
  const slow = await startExporter(t, { CLIENT_METRICS_TIMEOUT: '300ms' }, { demo: true });
  const sim2 = slow.simulator!;
  const v2 = sim2.devices.find((d) => d.servesMetrics && d.connectedToControl)!;
  sim2.setDeviceFault(v2.nodeId, { kind: 'hang' });
  await slow.nextCycle();
  const debug = (await (await slow.get('/debug')).json()) as {
    refresh: { failing_devices: Array<{ reason: string; hint: string }> };
  };
  assert.equal(debug.refresh.failing_devices[0]?.reason, 'timeout');
  assert.match(debug.refresh.failing_devices[0].hint, /tcp:5252/);
  const text = await (await slow.get('/metrics')).text();
  const states = new Set(
    [...text.matchAll(/^tsmetrics_device_scrape_coverage\{[^}]*state="([a-z_]+)"\} 1$/gm)].map((m) => m[1]),
  );
  for (const s of ['scraped', 'failing', 'untagged']) assert.ok(states.has(s), `state ${s} in ${[...states].join()}`);
  assert.match(text, /^tsmetrics_scrape_coverage_ratio 0\.\d+$/m);
});

test('EXPECTED_DEVICES_FILE: inventory gauges; a bad file on reload keeps the last good one', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'tsm-exp-')), 'expected.yaml');
  writeFileSync(file, 'selectors:\n  - name: gateways\n    match: { name: "gateway-*" }\n    min: 2\n');
  const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1,gateway-2,db-1', EXPECTED_DEVICES_FILE: file });
  let v = seriesValues(await (await ex.get('/metrics')).text());
  assert.equal(v.get('tsmetrics_expected_devices{selector="gateways",severity="warning"}'), 2);
  assert.equal(v.get('tsmetrics_expected_devices_present{selector="gateways",severity="warning"}'), 2);
  writeFileSync(file, 'strict: true\nselectors:\n  - name: gateways\n    match: { name: "gateway-*" }\n    min: 3\n');
  ex.app.reloadExpectedDevices();
  await ex.nextCycle();
  v = seriesValues(await (await ex.get('/metrics')).text());
  assert.equal(v.get('tsmetrics_expected_devices{selector="gateways",severity="warning"}'), 3);
  assert.ok([...v.keys()].some((k) => k.startsWith('tailscale_device_unexpected{') && k.includes('db-1')));
  writeFileSync(file, 'selectors: [ {');
  ex.app.reloadExpectedDevices();
  await ex.nextCycle();
  v = seriesValues(await (await ex.get('/metrics')).text());
  assert.equal(
    v.get('tsmetrics_expected_devices{selector="gateways",severity="warning"}'),
    3,
    'the last good file stays',
  );
  assert.ok(ex.lines.some((l) => l.includes('expected devices file is invalid; keeping the previous one')));
});

test('REDACT_USER_EMAILS keeps e-mail addresses out of /metrics and /sd', async (t) => {
  const ex = await startExporter(
    t,
    { REDACT_USER_EMAILS: 'true', REDACT_KEY: 'a-redaction-key-0123456789' },
    { demo: true },
  );
  const sim = ex.simulator!;
  const bodies = (await Promise.all(['/metrics', '/sd'].map(async (p) => (await ex.get(p)).text()))).join('\n');
  for (const d of sim.devices) if (d.user.includes('@')) assert.ok(!bodies.includes(d.user), `${d.user} leaked`);
  assert.match(bodies, /user_email="user-[0-9a-f]{16}"/);
});

test('a device that joins is scraped in the cycle that first lists it; every device is scraped once per cycle', async (t) => {
  const ex = await startExporter(t);
  const sim = ex.simulator!;
  await sim.addDevice({ hostname: 'gateway-3', tags: ['tag:exporter'], servesMetrics: true });
  const before = new Map(sim.stats.scrapes);
  await ex.nextCycle();
  const v = seriesValues(await (await ex.get('/metrics')).text());
  assert.ok(
    [...v.entries()].some(
      ([k, n]) => k.startsWith('tsmetrics_device_scrape_up{') && k.includes('gateway-3') && n === 1,
    ),
  );
  for (const [id, n] of sim.stats.scrapes) assert.equal(n - (before.get(id) ?? 0), 1, `device ${id} scraped once`);
});

test('the HTTP server bounds header size and answers oversized requests with 431', async (t) => {
  const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1' });
  const { request } = await import('node:http');
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${ex.url}/metrics`, { headers: { 'x-padding': 'a'.repeat(32 * 1024) } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 431);
  assert.equal((await ex.get('/metrics')).status, 200, 'the server keeps serving');
});

test('a password in TAILSCALE_API_URL never reaches the start-up log, /debug or an API error', async (t) => {
  const { startTailnet } = await import('../../src/sim/tailscale/index.js');
  const sim = await startTailnet({ scenario: { names: ['gw-1'] } });
  t.after(() => sim.close());
  const password = 'proxy-PASSWORD-0123';
  const url = sim.apiUrl.replace('http://', `http://ops:${password}@`);
  const ex = await startExporterWith(t, {
    TAILSCALE_API_KEY: sim.apiKey,
    TAILSCALE_API_URL: url,
    CLIENT_METRICS_PORT: String(sim.clientMetricsPort),
    LOG_LEVEL: 'debug',
  });
  sim.setApiFault({ kind: 'status', status: 500 });
  await ex.app.refresher.runOnce();
  const debug = await (await ex.get('/debug')).text();
  assert.match(debug, /ops:<redacted>@127\.0\.0\.1/);
  assert.ok(
    ex.lines.some((l) => l.includes('tsmetrics listening') && l.includes('ops:<redacted>@')),
    'the start-up log shows the URL redacted',
  );
  assert.ok(![...ex.lines, debug].join('\n').includes(password), 'the password leaked');
  // Real credentials against a (simulated) API: not the built-in simulator.
  assert.equal(seriesValues(await ex.metrics()).get('tsmetrics_simulated'), 0);
});

test("LOG_LEVEL=debug explains every cycle: API calls with durations, each device's selection and scrape outcome", async (t) => {
  const ex = await startExporter(t, {}, { demo: true });
  const sim = ex.simulator!;
  const scraped = sim.devices.find((d) => (d.tags ?? []).includes('tag:exporter') && d.connectedToControl)!;
  sim.setDeviceFault(scraped.id, { kind: 'status', status: 500 });
  const before = ex.lines.length;
  await ex.nextCycle();
  const lines = ex.lines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
  const debug = (msg: string): Array<Record<string, unknown>> =>
    lines.filter((l) => l['level'] === 20 && l['msg'] === msg);

  const api = debug('api request').find((l) => l['endpoint'] === 'devices');
  assert.ok(api, 'the device list call is logged');
  assert.equal(api['outcome'], 'ok');
  assert.equal(typeof api['duration_ms'], 'number');

  const selections = debug('device selection');
  assert.equal(selections.length, sim.devices.length, 'one selection line per device');
  const states = new Set(selections.map((l) => l['state']));
  assert.ok(states.has('eligible') && states.has('untagged'), [...states].join());

  const failed = debug('device scrape').find((l) => l['device_id'] === scraped.id);
  assert.equal(failed?.['outcome'], 'http_status');
  assert.equal(failed?.['status'], 500);
  assert.ok(debug('device scrape').some((l) => l['outcome'] === 'ok' && typeof l['series'] === 'number'));
  const cycle = debug('refresh cycle finished');
  assert.equal(cycle.length, 1);
  assert.equal(cycle[0]!['failed'], 1);
  assert.equal(cycle[0]!['devices'], sim.devices.length);
});

test('an API that fails before any list succeeded does not claim to serve last good data', async (t) => {
  const { startTailnet } = await import('../../src/sim/tailscale/index.js');
  const sim = await startTailnet({ scenario: { names: ['gw-1'] } });
  t.after(() => sim.close());
  sim.setApiFault({ kind: 'status', status: 500 });
  const ex = await startExporterWith(t, {
    TAILSCALE_API_KEY: sim.apiKey,
    TAILSCALE_API_URL: sim.apiUrl,
    CLIENT_METRICS_PORT: String(sim.clientMetricsPort),
  });
  assert.ok(
    ex.lines.some((l) => l.includes('no device list yet')),
    ex.lines.join('\n'),
  );
  assert.ok(!ex.lines.some((l) => l.includes('serving the last good data')));
  sim.setApiFault(null);
  await ex.app.refresher.runOnce();
  sim.setApiFault({ kind: 'status', status: 500 });
  await ex.app.refresher.runOnce();
  assert.ok(
    ex.lines.some((l) => l.includes('serving the last good data')),
    'once a list succeeded, it is served',
  );
});

test('retention: a failing device keeps its last good series for 3 intervals, and loses them after', async (t) => {
  const clock = { ms: Date.parse('2026-12-01T00:00:00Z') };
  const HOUR = 3_600_000; // SCRAPE_INTERVAL of the test exporter: retention is 3 h
  const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1,gateway-2' }, { now: () => clock.ms });
  const sim = ex.simulator!;
  const failing = sim.devices.find((d) => d.name.startsWith('gateway-1'))!;
  const series = async (): Promise<string[]> =>
    [...seriesValues(await (await ex.get('/metrics')).text()).keys()].filter(
      (k) => k.startsWith('tailscaled_inbound_bytes_total{') && k.includes(`device_id="${failing.id}"`),
    );
  assert.ok((await series()).length > 0, 'scraped while healthy');
  sim.setDeviceFault(failing.id, { kind: 'status', status: 500 });
  for (const at of [1, 2, 3]) {
    clock.ms += HOUR;
    await ex.nextCycle();
    assert.ok((await series()).length > 0, `still served ${at} interval(s) after the last success`);
  }
  clock.ms += 1000;
  await ex.nextCycle();
  assert.deepEqual(await series(), [], 'gone once the last success is older than 3 intervals');
  const up = seriesValues(await (await ex.get('/metrics')).text());
  assert.equal(
    [...up.entries()].find(([k]) => k.startsWith('tsmetrics_device_scrape_up{') && k.includes(failing.id))?.[1],
    0,
    'still reported as failing',
  );
  // The other device is untouched throughout.
  const other = sim.devices.find((d) => d.name.startsWith('gateway-2'))!;
  assert.ok(
    [...up.keys()].some(
      (k) => k.startsWith('tailscaled_inbound_bytes_total{') && k.includes(`device_id="${other.id}"`),
    ),
  );
});
