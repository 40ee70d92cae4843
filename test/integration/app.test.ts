import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { startDemo } from '../../src/demo.js';
import { startTailnet, type SimTailnet } from '../../src/sim/tailscale/index.js';
import { LocalApiClient } from '../../src/tsnet/localapi.js';
import { CloseStack } from '../../src/util/close-stack.js';
import { seriesValues, startExporter, startExporterWith } from '../helpers/exporter.js';
import { memoryLogger } from '../helpers/log.js';

// The composition root and simulator mode as a user starts them (TEST_DEVICES, --demo, USE_TSNET, shards):
// what the started exporter serves, and that stopping it, or a start that fails, leaves nothing running.

/** Answers at all? A closed server refuses the connection. */
const reachable = (url: string): Promise<boolean> =>
  fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
    () => true,
    () => false,
  );

const scrapeUp = (v: Map<string, number>): number[] =>
  [...v].filter(([k]) => k.startsWith('tsmetrics_device_scrape_up{')).map(([, n]) => n);

test('TEST_DEVICES: the simulated devices are listed and scraped, the status page says simulator, stop closes the simulator', async (t) => {
  const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1,gateway-2' });
  const v = seriesValues(await (await ex.get('/metrics')).text());
  assert.equal(v.get('tailscale_device_count'), 2);
  assert.deepEqual(scrapeUp(v), [1, 1]);
  assert.match(await (await ex.get('/')).text(), /id="simulator-banner"/);
  const sim = ex.simulator!;
  // Closed here too should the stop under test leave it open: the test ends either way.
  t.after(() => sim.close());
  assert.ok(await reachable(sim.apiUrl));
  await ex.app.stop();
  assert.equal(await reachable(ex.url), false);
  assert.equal(await reachable(sim.apiUrl), false, 'the simulator closes with the app');
});

test('BACKEND=headscale --demo: the simulated Headscale nodes are listed and scraped; stop closes it', async (t) => {
  const { log } = memoryLogger();
  const closes = new CloseStack(log);
  t.after(() => closes.close());
  const config = loadConfig({ BACKEND: 'headscale', SCRAPE_INTERVAL: '1h' }, { demo: true });
  const demo = await startDemo(config, log, closes);
  const hs = demo.headscale!;
  t.after(() => hs.close());
  assert.equal(demo.tailnet, undefined);
  const app = await startApp({ ...demo.config, port: 0, listenHost: '127.0.0.1' }, log, 'test', { closes });
  await app.refresher.runOnce();
  const v = seriesValues(await (await fetch(`${app.url}/metrics`)).text());
  assert.equal(v.get('tailscale_device_count'), hs.nodes.length);
  assert.ok(scrapeUp(v).includes(1), 'nodes are scraped on the simulated client-metrics port');
  await app.stop();
  assert.equal(await reachable(hs.url), false);
});

test('DEBUG_ENDPOINT=false: no /debug, and / is only the list of links', async (t) => {
  const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1', DEBUG_ENDPOINT: 'false' });
  assert.equal((await ex.get('/debug')).status, 404);
  assert.doesNotMatch(await (await ex.get('/')).text(), /simulator-banner/);
  const on = await startExporter(t, { TEST_DEVICES: 'gateway-1' });
  assert.equal((await on.get('/debug')).status, 200);
});

test('/sd lists the devices the exporter scrapes, and /probe scrapes one of them', async (t) => {
  const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1,gateway-2' });
  const groups = (await (await ex.get('/sd')).json()) as Array<{ targets: string[]; labels: Record<string, string> }>;
  const port = ex.simulator!.clientMetricsPort;
  assert.equal(groups.length, 2);
  for (const g of groups) assert.match(g.targets[0]!, new RegExp(`^127\\.0\\.\\d+\\.\\d+:${port}$`));
  const id = groups[0]!.labels.__meta_tailscale_device_id!;
  const probe = await ex.get(`/probe?target=${id}`);
  assert.equal(probe.status, 200);
  const text = await probe.text();
  assert.match(text, /^tsmetrics_probe_success 1$/m);
  assert.match(text, new RegExp(`^tailscaled_inbound_bytes_total\\{device_id="${id}",`, 'm'));
});

test('SIGHUP re-reads EXPECTED_DEVICES_FILE; a bad file keeps the last good one; without a file nothing happens', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsm-app-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'expected.yaml');
  const expectMin = (min: number): void =>
    writeFileSync(file, `selectors:\n  - name: gateways\n    match: { name: "gateway-*" }\n    min: ${min}\n`);
  expectMin(2);
  const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1,gateway-2', EXPECTED_DEVICES_FILE: file });
  const expected = async (): Promise<number | undefined> => {
    await ex.nextCycle();
    const v = seriesValues(await (await ex.get('/metrics')).text());
    return v.get('tsmetrics_expected_devices{selector="gateways",severity="warning"}');
  };
  assert.equal(await expected(), 2);
  expectMin(3);
  ex.app.reloadExpectedDevices();
  assert.equal(await expected(), 3);
  assert.ok(ex.lines.some((l) => l.includes('expected devices reloaded')));
  writeFileSync(file, 'selectors: [ {');
  ex.app.reloadExpectedDevices();
  assert.equal(await expected(), 3, 'the last good file stays');
  assert.equal(ex.lines.filter((l) => l.includes('expected devices file is invalid')).length, 1);

  const without = await startExporter(t, { TEST_DEVICES: 'gateway-1' });
  without.app.reloadExpectedDevices();
  assert.deepEqual(
    without.lines.filter((l) => l.includes('expected devices')),
    [],
  );
});

/** An exporter on `sim` as a separate replica would run it (the API credentials of a real deployment). */
const replica = (t: TestContext, sim: SimTailnet, env: Record<string, string>) =>
  startExporterWith(t, {
    TAILSCALE_API_KEY: sim.apiKey,
    TAILSCALE_API_URL: sim.apiUrl,
    CLIENT_METRICS_PORT: String(sim.clientMetricsPort),
    COLLECTORS: 'devices,client_metrics,settings',
    ...env,
  });

test('shards: API device metrics and the inventory come from shard 0 only, unless SHARD_API_METRICS=all', async (t) => {
  const sim = await startTailnet({ scenario: { names: ['gw-1', 'gw-2', 'gw-3', 'gw-4'] } });
  t.after(() => sim.close());
  const families = async (env: Record<string, string>): Promise<string[]> => {
    const text = await (await replica(t, sim, env)).metrics();
    return ['tailscale_device_count', 'tailscale_device_info{', 'tailscale_tailnet_setting_enabled{'].filter((f) =>
      text.split('\n').some((l) => l.startsWith(f)),
    );
  };
  const all = ['tailscale_device_count', 'tailscale_device_info{', 'tailscale_tailnet_setting_enabled{'];
  assert.deepEqual(await families({ SHARD_COUNT: '2', SHARD_INDEX: '0' }), all);
  assert.deepEqual(await families({ SHARD_COUNT: '2', SHARD_INDEX: '1' }), []);
  assert.deepEqual(await families({ SHARD_COUNT: '2', SHARD_INDEX: '1', SHARD_API_METRICS: 'all' }), all);
});

const FAKE_DIR = fileURLToPath(new URL('../../../test/fixtures/fake-tailscaled/', import.meta.url));

test('USE_TSNET=true: its own tailscaled logs in as configured, devices are scraped through it, stop ends it', async (t) => {
  const sim = await startTailnet({ scenario: { names: ['gw-1', 'gw-2'] } });
  t.after(() => sim.close());
  const stateDir = mkdtempSync(join(tmpdir(), 'tsm-app-tsnet-'));
  t.after(() => rmSync(stateDir, { recursive: true, force: true }));
  const ex = await startExporterWith(t, {
    TAILSCALE_API_KEY: sim.apiKey,
    TAILSCALE_API_URL: sim.apiUrl,
    CLIENT_METRICS_PORT: String(sim.clientMetricsPort),
    USE_TSNET: 'true',
    TSNET_STATE_DIR: stateDir,
    TSNET_HOSTNAME: 'tsm-it',
    TSNET_TAGS: 'exporter',
    REQUIRE_EXPORTER_TAG: 'true',
    TS_AUTHKEY: 'tskey-auth-fake-x',
    TAILSCALED_PATH: join(FAKE_DIR, 'tailscaled'),
    TAILSCALE_PATH: join(FAKE_DIR, 'tailscale'),
  });
  const v = seriesValues(await ex.metrics());
  assert.equal(v.get('tsmetrics_tsnet_up'), 1);
  assert.deepEqual(scrapeUp(v), [1, 1]);
  const health = (await (await ex.get('/health')).json()) as { tsnet_up: boolean };
  assert.equal(health.tsnet_up, true);
  assert.match(await (await ex.get('/')).text(), /tsnet, own tailscaled <span class="ok">up<\/span>/);
  const localApi = new LocalApiClient({ socketPath: join(stateDir, 'tailscaled.sock') });
  const info = JSON.parse((await localApi.get('/localapi/v0/fake-info')).toString('utf8')) as {
    pid: number;
    lastUp: { hostname: string; tags: string[] };
  };
  // Should stop() leave it running, it must not outlive the test.
  t.after(() => {
    try {
      process.kill(-info.pid, 'SIGKILL');
    } catch {
      // gone, as expected
    }
  });
  assert.equal(info.lastUp.hostname, 'tsm-it');
  assert.deepEqual(info.lastUp.tags, ['tag:exporter']);
  // SIGHUP in tsnet mode: the node is told and keeps running.
  ex.app.reloadExpectedDevices();
  assert.ok(ex.lines.some((l) => l.includes('SIGHUP: the tsnet node keeps running')));
  await ex.app.stop();
  assert.throws(() => process.kill(info.pid, 0), { code: 'ESRCH' }, 'tailscaled is gone');
});
