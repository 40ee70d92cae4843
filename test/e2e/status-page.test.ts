import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTailnet } from '../../src/sim/tailscale/index.js';
import { startExporter, startExporterWith } from '../helpers/exporter.js';

// The status page over HTTP: where it is served, to whom, and what it says about a tailnet with trouble.

const rowsOf = (text: string): Array<[string, string]> =>
  [...text.matchAll(/<tr data-state="([a-z_]+)" data-device-id="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]);

test('/ is the status page (no script allowed by its policy), /status too; the device table holds every device', async (t) => {
  const ex = await startExporter(t, {}, { demo: true });
  const sim = ex.simulator!;
  for (const path of ['/', '/status']) {
    const res = await ex.get(path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const text = await res.text();
    assert.match(text, /id="simulator-banner"/, 'the demo is marked as the simulator');
    assert.equal(rowsOf(text).length, sim.devices.length, path);
    for (const link of ['/metrics', '/health', '/debug', '/sd']) assert.ok(text.includes(`href="${link}"`), link);
    // Filter links point back at the path the page was asked for.
    assert.ok(text.includes(`href="${path}?state=scraped#devices"`), path);
  }
  const scraped = rowsOf(await (await ex.get('/?state=scraped')).text());
  assert.equal(
    scraped.length,
    sim.devices.filter((d) => d.servesMetrics && d.connectedToControl && (d.tags ?? []).includes('tag:exporter'))
      .length,
  );
  assert.ok(scraped.every(([s]) => s === 'scraped'));
  assert.equal((await fetch(`${ex.url}/status`, { method: 'HEAD' })).status, 200);
});

test('DEBUG_ENDPOINT=false: / is only the list of links, /status is gone', async (t) => {
  const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1', DEBUG_ENDPOINT: 'false' });
  const landing = await (await ex.get('/')).text();
  assert.ok(landing.includes('href="/metrics"'));
  assert.ok(!landing.includes('gateway-1'), 'no device on the landing page');
  assert.ok(!landing.includes('/status') && !landing.includes('/debug'));
  assert.equal((await ex.get('/status')).status, 404);
});

test('METRICS_TOKEN: without it / is the list of links and /status answers 401; with it both are the status page', async (t) => {
  const token = 'status-page-token-0123456789';
  const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1', METRICS_TOKEN: token });
  const open = await ex.get('/');
  assert.equal(open.status, 200);
  const landing = await open.text();
  assert.ok(!landing.includes('gateway-1'), 'no device without the token');
  assert.ok(landing.includes('href="/status"'));
  const denied = await ex.get('/status');
  assert.equal(denied.status, 401);
  assert.equal(denied.headers.get('www-authenticate'), 'Bearer realm="tsmetrics"');
  assert.equal((await ex.get('/status', { authorization: 'Bearer wrong-token-of-some-length' })).status, 401);
  for (const path of ['/', '/status']) {
    const page = await (await ex.get(path, { authorization: `Bearer ${token}` })).text();
    assert.ok(page.includes('gateway-1'), path);
    assert.ok(!page.includes(token), 'the token itself is redacted');
  }
});

test('trouble on the page: a failing device first with its reason and hint, a failed device list, a collector refused for a scope', async (t) => {
  const sim = await startTailnet({ scenario: 'demo' });
  t.after(() => sim.close());
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
  const hanging = sim.devices.find((d) => d.servesMetrics && d.connectedToControl)!;
  sim.setDeviceFault(hanging.nodeId, { kind: 'hang' });
  const ex = await startExporterWith(t, {
    OAUTH_CLIENT_ID: sim.clientId,
    OAUTH_CLIENT_SECRET: sim.clientSecret,
    TAILSCALE_API_URL: sim.apiUrl,
    CLIENT_METRICS_PORT: String(sim.clientMetricsPort),
    CLIENT_METRICS_TIMEOUT: '300ms',
  });
  sim.setApiFault({ kind: 'status', status: 500, times: 3 });
  await ex.app.refresher.runOnce();
  const text = await (await ex.get('/')).text();

  const rows = rowsOf(text);
  assert.equal(rows[0]![0], 'failing', 'the failing device comes first');
  const failing = text.slice(
    text.indexOf('<tr data-state="failing"'),
    text.indexOf('</tr>', text.indexOf('<tr data-state="failing"')),
  );
  assert.match(failing, new RegExp(hanging.hostname));
  assert.match(failing, /<strong>timeout<\/strong>: no complete answer within 300 ms/);
  assert.match(failing, /hint: no answer in time: the tailnet policy probably does not allow tcp:5252/);
  assert.match(failing, /failing since \d{4}-/);

  const history = text.slice(
    text.indexOf('id="refresh-table"'),
    text.indexOf('</table>', text.indexOf('id="refresh-table"')),
  );
  assert.equal([...history.matchAll(/<tr[ >]/g)].length - 1, 2, 'two refreshes, header aside');
  assert.match(history, /<span class="bad">failed<\/span>: [^<]*500/, 'the failed device list, with its error');
  assert.match(text, /<dt>API<\/dt><dd><span class="bad">failing<\/span>/);

  const users = /<tr data-collector="users" class="warn">(.*?)<\/tr>/.exec(text)?.[1] ?? '';
  assert.match(users, /<span class="bad">failed<\/span>/);
  assert.match(users, /403/);
  assert.match(users, /<td>users:read<\/td>/);
  assert.match(
    text,
    /<tr data-collector="devices" class="warn">.*?<span class="bad">failed<\/span>.*?500/,
    'the devices collector failed with the device list',
  );
  assert.match(text, /<tr data-collector="keys"><td>keys<\/td><td><span class="ok">success<\/span>/);
});
