import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { inShard } from '../../src/devices/shard.js';
import { fnv1a32 } from '../../src/util/fnv.js';
import { startTailnet, type SimTailnet } from '../../src/sim/tailscale/index.js';
import { startExporterWith } from '../helpers/exporter.js';

const exporterOn = (t: TestContext, sim: SimTailnet, env: Record<string, string> = {}) =>
  startExporterWith(t, {
    TAILSCALE_API_KEY: sim.apiKey,
    TAILSCALE_API_URL: sim.apiUrl,
    CLIENT_METRICS_PORT: String(sim.clientMetricsPort),
    ...env,
  });

const deviceSeries = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => /^tailscaled_/.test(l))
    .map((l) => l.slice(0, l.lastIndexOf(' ')));
const apiSeries = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => /^tailscale_device_/.test(l))
    .map((l) => l.slice(0, l.lastIndexOf(' ')));

test('shard assignment is stable and splits ids across shards', () => {
  assert.equal(fnv1a32('abc'), 440920331);
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++)
    for (let s = 0; s < 3; s++) if (inShard(`id-${i}`, { index: s, count: 3 })) counts[s]!++;
  assert.equal(
    counts.reduce((a, b) => a + b),
    3000,
    'every id in exactly one shard',
  );
  for (const c of counts) assert.ok(c > 800, `uneven split ${counts.join()}`);
});

test('three shards together scrape every device exactly once; API metrics come from shard 0 only', async (t) => {
  const names = Array.from({ length: 24 }, (_, i) => `dev-${i}`);
  const sim = await startTailnet({ scenario: { names } });
  t.after(() => sim.close());
  const single = await exporterOn(t, sim);
  const shards = await Promise.all(
    [0, 1, 2].map((i) => exporterOn(t, sim, { SHARD_COUNT: '3', SHARD_INDEX: String(i) })),
  );
  // Counters grow with time, so compare series identities, not values.
  const whole = deviceSeries(await single.metrics()).sort();
  const texts = await Promise.all(shards.map((s) => s.metrics()));
  const union = texts.flatMap(deviceSeries).sort();
  assert.ok(whole.length > 0);
  assert.deepEqual(union, whole, 'the union of the shards equals the single-process output, with no duplicates');
  assert.ok(
    texts.every((txt) => deviceSeries(txt).length < whole.length),
    'each shard scrapes a share',
  );
  assert.deepEqual(apiSeries(texts[0]!).sort(), apiSeries(await single.metrics()).sort());
  assert.deepEqual(apiSeries(texts[1]!), []);
  assert.deepEqual(apiSeries(texts[2]!), []);
});

test('SHARD_INDEX=auto takes the StatefulSet ordinal; bad shard settings exit 2', () => {
  assert.deepEqual(loadConfig({ TEST_DEVICES: 'a', SHARD_COUNT: '3', HOSTNAME: 'tsmetrics-2' }).shard, {
    index: 2,
    count: 3,
    apiMetrics: 'first',
  });
  assert.throws(
    () => loadConfig({ TEST_DEVICES: 'a', SHARD_COUNT: '3', HOSTNAME: 'box' }),
    /SHARD_INDEX=auto cannot read an ordinal/,
  );
  assert.throws(
    () => loadConfig({ TEST_DEVICES: 'a', SHARD_COUNT: '2', SHARD_INDEX: '2' }),
    /SHARD_INDEX=2 is invalid: expected an index from 0 to 1/,
  );
});

test('/sd lists eligible devices in http_sd format; /probe scrapes one eligible device and nothing else', async (t) => {
  const sim = await startTailnet({ scenario: 'demo' });
  t.after(() => sim.close());
  const ex = await exporterOn(t, sim);
  const groups = (await (await ex.get('/sd')).json()) as Array<{ targets: string[]; labels: Record<string, string> }>;
  assert.ok(groups.length >= 5);
  for (const g of groups) {
    assert.equal(g.targets.length, 1);
    assert.match(g.targets[0]!, new RegExp(`^127\\.0\\.\\d+\\.\\d+:${sim.clientMetricsPort}$`));
    assert.match(g.labels.__meta_tailscale_device_tags!, /,tag:exporter,/);
    assert.ok(
      g.labels.__meta_tailscale_device_id &&
        g.labels.__meta_tailscale_device_name &&
        g.labels.__meta_tailscale_device_os,
    );
  }
  const id = groups[0]!.labels.__meta_tailscale_device_id!;
  // A device is found by the name a person writes, as TARGET_DEVICES finds it: any case, a rooted FQDN.
  const fqdn = groups[0]!.labels.__meta_tailscale_device_name!;
  for (const written of [fqdn, `${fqdn.toUpperCase()}.`, fqdn.split('.')[0]!.toUpperCase()]) {
    const byName = await ex.get(`/probe?target=${encodeURIComponent(written)}`);
    assert.equal(byName.status, 200, written);
    assert.match(await byName.text(), new RegExp(`device_id="${id}"`), written);
  }
  assert.equal(
    (await ex.get(`/probe?target=${encodeURIComponent(`${fqdn.slice(0, 3)}*`)}`)).status,
    404,
    'a probe target is a name, not a glob',
  );
  const probe = await ex.get(`/probe?target=${id}`);
  assert.equal(probe.status, 200);
  const text = await probe.text();
  assert.match(text, /^tsmetrics_probe_success 1$/m);
  assert.match(text, new RegExp(`^tailscaled_inbound_bytes_total\\{device_id="${id}",`, 'm'));
  assert.equal((await ex.get('/probe')).status, 400);
  assert.equal((await ex.get('/probe?target=http://169.254.169.254/')).status, 404, 'not an open proxy');
  const offline = sim.devices.find((d) => !d.connectedToControl)!;
  const denied = await ex.get(`/probe?target=${offline.id}`);
  assert.equal(denied.status, 404);
  assert.match(await denied.text(), /offline|untagged/);
  const failing = groups[1]!.labels.__meta_tailscale_device_id!;
  sim.setDeviceFault(failing, { kind: 'status', status: 500 });
  const failed = await (await ex.get(`/probe?target=${failing}`)).text();
  assert.match(failed, /^tsmetrics_probe_success 0$/m);
  assert.match(failed, /tsmetrics_probe_failure_info\{reason="http_status"\} 1/);
});
