import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COLLECTORS } from '../../src/collectors/index.js';
import type { Collector } from '../../src/collectors/collector.js';
import { parseExposition } from '../../src/devices/parse/index.js';
import type { DeviceScraper, KeepFamilies, ScrapeResult } from '../../src/devices/scraper.js';
import type { ScrapeTarget, Selection } from '../../src/devices/targets.js';
import { SnapshotStore } from '../../src/exposition/snapshot.js';
import { Refresher } from '../../src/refresh/refresher.js';
import { RefreshStatus } from '../../src/refresh/status.js';
import type { DeviceSource } from '../../src/control/control.js';
import { RequestStats } from '../../src/control/request-stats.js';
import { device } from '../helpers/devices.js';
import { memoryLogger } from '../helpers/log.js';

// A cycle renders the API families while the devices are still being scraped, and the snapshot it
// publishes holds both stages: API families, relabelled client metrics and self-metrics, each once.

const DEVICES = [device({ id: '1', name: 'a.ts.net' }), device({ id: '2', name: 'b.ts.net' })];
const BODY =
  '# HELP tailscaled_inbound_bytes_total In.\n# TYPE tailscaled_inbound_bytes_total counter\ntailscaled_inbound_bytes_total{path="derp"} 42\n';

test('API families are rendered before the scrapes end; the snapshot has both stages', async () => {
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const events: string[] = [];
  const api: DeviceSource = {
    listDevices: () => Promise.resolve({ devices: DEVICES, invalidDevices: 0 }),
  };
  const scraper = {
    async scrapeAll(
      targets: readonly ScrapeTarget[],
      _signal?: AbortSignal,
      keep?: KeepFamilies,
    ): Promise<ScrapeResult[]> {
      if (targets.length === 0) return [];
      events.push('scrapes started');
      await gate;
      events.push('scrapes done');
      return targets.map((target) => {
        const parsed = parseExposition(BODY);
        assert.ok(parsed.ok);
        const families = keep === undefined ? parsed.families : keep(parsed.families, target);
        return { ok: true as const, target, families, bytes: BODY.length, durationSeconds: 0.02, series: 1 };
      });
    },
  } as unknown as DeviceScraper;
  const select = (devices: readonly (typeof DEVICES)[number][]): Selection[] =>
    devices.map((d) => ({
      device: d,
      state: 'eligible' as const,
      target: { deviceId: d.id, deviceName: d.name, address: '127.0.0.1', url: `http://127.0.0.1:1/${d.id}` },
    }));
  const spy: Collector = {
    name: 'devices',
    stage: 'list',
    collect: () => {
      events.push('list stage collected');
      return [];
    },
  };
  const store = new SnapshotStore();
  const refresher = new Refresher({
    api,
    apiStats: new RequestStats(),
    select,
    scraper,
    store,
    status: new RefreshStatus(Date.now()),
    log: memoryLogger().log,
    intervalMs: 60_000,
    version: 't',
    collectors: [...COLLECTORS, spy],
  });
  const cycle = refresher.runOnce();
  // Bounded wait for the list stage to run while the scrapes are held.
  for (let i = 0; i < 200 && !events.includes('list stage collected'); i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(
    events,
    ['scrapes started', 'list stage collected'],
    'the API families were collected while the devices had not answered',
  );
  openGate();
  await cycle;
  assert.deepEqual(events.slice(2), ['scrapes done']);

  const snapshot = store.current();
  assert.ok(snapshot !== undefined);
  const text = (await snapshot.plain()).toString('utf8');
  const parsed = parseExposition(text);
  assert.ok(parsed.ok, 'the two stages together are one valid exposition');
  const types = text
    .split('\n')
    .filter((l) => l.startsWith('# TYPE '))
    .map((l) => l.split(' ')[2]);
  assert.equal(new Set(types).size, types.length, 'no family written twice');
  assert.match(text, /^tailscale_device_online\{device_id="1",device_name="a\.ts\.net"\} 1$/m);
  assert.match(text, /^tailscaled_inbound_bytes_total\{device_id="2",device_name="b\.ts\.net",path="derp"\} 42$/m);
  assert.match(text, /^tsmetrics_collector_success\{collector="devices"\} 1$/m);
  assert.ok(
    text.indexOf('tailscale_device_online') < text.indexOf('tailscaled_inbound_bytes_total'),
    'API families first, then client metrics',
  );
});
