import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEVICES_PER_STEP, type Collector, type CollectorOf, type ListData } from '../../src/collectors/collector.js';
import { buildCollectors, CollectorResults } from '../../src/collectors/index.js';
import { Slicer } from '../../src/slicer.js';
import { HEADSCALE_UNSUPPORTED_FAMILIES } from '../../src/control/headscale.js';
import { device } from '../helpers/devices.js';
import { refreshData } from '../helpers/refresh-data.js';

// Collectors over the device list run in pieces of DEVICES_PER_STEP devices: 10,000 devices never hold the
// event loop for the tens of milliseconds one collector takes, and the pieces give what collect() gives.

const COUNT = DEVICES_PER_STEP * 2 + 7;
const DEVICES = Array.from({ length: COUNT }, (_, i) =>
  device({
    id: String(i),
    name: `d${i}.tail.ts.net`,
    online: i % 3 !== 0,
    tags: i % 2 === 0 ? ['tag:a'] : [],
    advertisedRoutes: ['10.0.0.0/24', '0.0.0.0/0'],
    enabledRoutes: i % 5 === 0 ? ['10.0.0.0/24'] : [],
    clientConnectivity: {
      endpoints: ['192.0.2.1:41641'],
      latency: [{ region: 'fra', preferred: true, latencyMs: 12 }],
      clientSupports: { udp: true },
      mappingVariesByDestIP: false,
    },
  }),
);
const DATA = { ...refreshData(DEVICES), selections: DEVICES.map((d) => ({ device: d, state: 'untagged' as const })) };
const options = {
  labelsFromTags: [],
  userLabel: (u: string) => u,
  minClientVersion: '1.60.0',
  expectedDevices: () => undefined,
  apiDeviceMetrics: true,
  enabled: new Set(['devices', 'client_metrics']),
};
const stepwiseCollectors = (backend: 'tailscale' | 'headscale' = 'tailscale'): Collector[] =>
  buildCollectors({ ...options, backend }).filter((c) => c.steps !== undefined);

function drive(c: CollectorOf<ListData>): { pieces: number; families: ReturnType<Collector['collect']> } {
  const steps = c.steps!(DATA);
  for (let pieces = 1; ; pieces++) {
    const r = steps.next();
    if (r.done === true) return { pieces, families: r.value };
  }
}

test('the device collectors run in one piece per DEVICES_PER_STEP devices, and the pieces give what collect() gives', () => {
  const collectors = stepwiseCollectors();
  // Device info, times, routes, connectivity, versions (list stage) and coverage (after the scrapes).
  assert.equal(collectors.length, 6);
  for (const c of collectors) {
    const { pieces, families } = drive(c);
    assert.equal(pieces, Math.ceil(COUNT / DEVICES_PER_STEP), c.collect.toString().slice(0, 40));
    assert.deepEqual(families, c.collect(DATA as never));
    assert.ok(
      families.some((f) => f.samples.length >= COUNT),
      'a family with a series per device',
    );
  }
});

test('a refresh runs the pieces as turns of the event loop: other work goes on between them', async () => {
  // A zero budget: every piece waits for its own turn, as when device answers keep arriving.
  const slicer = new Slicer(0);
  const results = new CollectorResults();
  const info = stepwiseCollectors()[0]!;
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const families = await results.runInSteps(info, DATA, () => assert.fail('no error expected'), slicer);
  ticking = false;
  assert.ok(turns >= Math.ceil(COUNT / DEVICES_PER_STEP), `${turns} turns of other work while the collector ran`);
  assert.deepEqual(
    families.map((f) => f.name).sort(),
    info
      .collect(DATA)
      .map((f) => f.name)
      .sort(),
  );
  const [success] = results.families();
  assert.deepEqual(
    success!.samples.map((s) => [s.labels, s.value]),
    [[{ collector: 'devices' }, 1]],
  );
});

test('a collector that throws in a later piece loses its own families only, and is reported', async () => {
  const results = new CollectorResults();
  const failed: string[] = [];
  const broken: CollectorOf<ListData> = {
    name: 'devices',
    collect: () => assert.fail('collect is not used when there are steps'),
    *steps() {
      yield;
      throw new Error('boom');
    },
  };
  assert.deepEqual(await results.runInSteps(broken, DATA, (name) => failed.push(name), new Slicer(0)), []);
  assert.deepEqual(failed, ['devices']);
  assert.equal(results.families()[0]!.samples[0]!.value, 0);
});

test('Headscale: the pieces leave out the device families Headscale cannot fill, as collect() does', () => {
  const collectors = stepwiseCollectors('headscale');
  assert.ok(collectors.length >= 5);
  for (const c of collectors) {
    const { families } = drive(c);
    for (const f of families)
      assert.ok(!HEADSCALE_UNSUPPORTED_FAMILIES.has(f.name), `${f.name} is not filled by Headscale`);
    assert.deepEqual(families, c.collect(DATA as never));
  }
  // The filter had something to remove: the Tailscale pieces do carry some of those families.
  const tailscale = stepwiseCollectors().flatMap((c) => drive(c as CollectorOf<ListData>).families.map((f) => f.name));
  assert.ok(tailscale.some((n) => HEADSCALE_UNSUPPORTED_FAMILIES.has(n)));
});
