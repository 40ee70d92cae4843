import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { startDemo } from '../../src/demo.js';
import { CloseStack } from '../../src/util/close-stack.js';
import { memoryLogger } from '../helpers/log.js';

// Simulator mode lives in demo.ts: it starts the simulator and hands the app ordinary endpoints and credentials;
// its close sits under the app's stages on the one stack.

/** One JSON log line has this message and these fields. */
function assertLogged(lines: readonly string[], msg: string, fields: Record<string, unknown>): void {
  const said = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const found = said.some((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v));
  assert.ok(found, `no line "${msg}" with ${JSON.stringify(fields)} in:\n${lines.join('\n')}`);
}

/** Answers at all? A closed simulator refuses the connection. */
const reachable = (url: string): Promise<boolean> =>
  fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
    () => true,
    () => false,
  );

test('without simulator mode the config passes through untouched and nothing is started', async () => {
  const { log } = memoryLogger();
  const closes = new CloseStack(log);
  const config = loadConfig({ TAILSCALE_API_KEY: 'tskey-api-x' });
  const demo = await startDemo(config, log, closes);
  assert.equal(demo.config, config);
  assert.equal(demo.tailnet, undefined);
  assert.equal(demo.headscale, undefined);
});

test('TEST_DEVICES: the app gets the simulated API, its credentials and loopback devices; stop closes the simulator last', async (t) => {
  const { log, lines } = memoryLogger();
  const closes = new CloseStack(log);
  t.after(() => closes.close());
  const config = loadConfig({ TEST_DEVICES: 'gateway-1,gateway-2', SCRAPE_INTERVAL: '1h' });
  const demo = await startDemo(config, log, closes);
  const sim = demo.tailnet!;
  assert.deepEqual(
    sim.devices.map((d) => d.name.split('.')[0]),
    ['gateway-1', 'gateway-2'],
  );
  // The operator is told where the simulator runs and how big it is.
  assertLogged(lines, 'running on the built-in simulated tailnet', { api_url: sim.apiUrl, devices: 2 });
  assert.equal(demo.config.apiUrl, sim.apiUrl);
  assert.equal(demo.config.tailnet, sim.tailnet);
  assert.deepEqual(demo.config.auth, { kind: 'oauth', clientId: sim.clientId, clientSecret: sim.clientSecret });
  assert.deepEqual(demo.config.scrapeAllowedCidrs, ['127.0.0.0/8']);
  assert.equal(demo.config.clientMetrics.port, sim.clientMetricsPort);
  // What loadConfig returned is not changed: --check-config shows the configuration as given.
  assert.equal(config.auth, undefined);
  assert.equal(config.apiUrl, 'https://api.tailscale.com');

  const app = await startApp({ ...demo.config, port: 0 }, log, 'test', { closes });
  await app.refresher.runOnce();
  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  assert.match(metrics, /^tailscale_device_count 2$/m, 'the app reads the simulated tailnet');
  assert.ok(await reachable(sim.apiUrl));
  await app.stop();
  assert.equal(await reachable(sim.apiUrl), false, 'the simulator is closed with the app');
  assert.equal(await reachable(app.url), false);
  assert.deepEqual(
    lines.filter((l) => l.includes('close failed')),
    [],
  );
});

test('BACKEND=headscale in simulator mode: the app gets the simulated Headscale URL and key', async (t) => {
  const { log, lines } = memoryLogger();
  const closes = new CloseStack(log);
  t.after(() => closes.close());
  const demo = await startDemo(loadConfig({ BACKEND: 'headscale' }, { demo: true }), log, closes);
  const hs = demo.headscale!;
  assert.equal(demo.tailnet, undefined);
  assertLogged(lines, 'running on the built-in simulated Headscale', { headscale_url: hs.url, nodes: hs.nodes.length });
  assert.deepEqual(demo.config.headscale, { url: hs.url, apiKey: hs.apiKey, ca: undefined });
  assert.deepEqual(demo.config.scrapeAllowedCidrs, ['127.0.0.0/8']);
  assert.equal(demo.config.clientMetrics.port, hs.clientMetricsPort);
  await closes.close();
  assert.equal(await reachable(hs.url), false);
});

test('a start that fails (port in use) closes what was started, the simulator included', async (t) => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.after(() => busy.close());
  const port = (busy.address() as { port: number }).port;
  const { log } = memoryLogger();
  const closes = new CloseStack(log);
  t.after(() => closes.close());
  const config = loadConfig({ TEST_DEVICES: 'gateway-1', SCRAPE_INTERVAL: '1h', PORT: String(port) });
  const demo = await startDemo(config, log, closes);
  await assert.rejects(startApp(demo.config, log, 'test', { closes }), { code: 'EADDRINUSE' });
  assert.equal(await reachable(demo.tailnet!.apiUrl), false);
});
