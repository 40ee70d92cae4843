import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { DeviceScraper } from '../../src/devices/scraper.js';
import type { ScrapeTarget } from '../../src/devices/targets.js';
import type { MetricFamily } from '../../src/exposition/family.js';
import { deviceServer } from '../helpers/device-server.js';

/** A device answering /metrics after 30 ms (404 elsewhere), counting the requests it gets. */
async function startDeviceServer(t: TestContext): Promise<{ base: string; requests: () => number }> {
  let requests = 0;
  const base = await deviceServer(t, (req, res) => {
    requests++;
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found');
      return;
    }
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('tailscaled_x 1\n'), 30);
  });
  return { base, requests: () => requests };
}

const targets = (base: string, n: number, path = '/metrics'): ScrapeTarget[] =>
  Array.from({ length: n }, (_, i) => ({
    deviceId: `id${i}`,
    deviceName: `dev${i}`,
    address: '127.0.0.1',
    url: `${base}${path}`,
  }));

const options = { concurrency: 25, timeoutMs: 5000, maxBytes: 1e6, maxSeries: 1000 };

test('40 scrapes with 25 in flight on one signal: no MaxListenersExceededWarning, all ok', async (t) => {
  const server = await startDeviceServer(t);
  const scraper = new DeviceScraper(options);
  t.after(async () => {
    await scraper.close();
  });
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));

  const controller = new AbortController();
  const list = targets(server.base, 40);
  const results = await scraper.scrapeAll(list, controller.signal);
  await new Promise<void>((resolve) => setImmediate(resolve));

  assert.deepEqual(
    warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
    [],
  );
  assert.equal(results.length, 40);
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    assert.ok(r.ok, r.ok ? '' : `${r.reason}: ${r.message}`);
    assert.equal(r.target, list[i]);
    assert.equal(r.series, 1);
    assert.deepEqual(
      r.families.map((f) => f.name),
      ['tailscaled_x'],
    );
  }
  assert.equal(server.requests(), 40);
});

test('keep decides what a result holds, called once per successful target', async (t) => {
  const server = await startDeviceServer(t);
  const scraper = new DeviceScraper(options);
  t.after(async () => {
    await scraper.close();
  });
  const good = targets(server.base, 5);
  const bad = targets(server.base, 2, '/missing').map((x, i) => ({ ...x, deviceId: `bad${i}` }));
  const list = [good[0]!, bad[0]!, ...good.slice(1), bad[1]!];
  const calls: Array<{ families: readonly MetricFamily[]; target: ScrapeTarget }> = [];
  const kept = new Map<ScrapeTarget, MetricFamily[]>();
  const keep = (families: readonly MetricFamily[], target: ScrapeTarget): MetricFamily[] => {
    calls.push({ families, target });
    const out: MetricFamily[] = [{ name: `kept_${target.deviceId}`, help: 'k', type: 'gauge', samples: [] }];
    kept.set(target, out);
    return out;
  };
  const results = await scraper.scrapeAll(list, new AbortController().signal, keep);

  assert.equal(results.length, list.length);
  assert.equal(calls.length, good.length, 'keep is called for successful scrapes only');
  assert.deepEqual(new Set(calls.map((c) => c.target)), new Set(good));
  for (const c of calls)
    assert.deepEqual(
      c.families.map((f) => f.name),
      ['tailscaled_x'],
      'keep sees the parsed families',
    );
  for (const r of results) {
    if (good.includes(r.target)) {
      assert.ok(r.ok, r.ok ? '' : `${r.reason}: ${r.message}`);
      assert.equal(r.families, kept.get(r.target), 'the result holds exactly what keep returned');
      assert.equal(r.series, 1, 'series counts the parsed samples, not what keep returned');
    } else {
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.reason === 'http_status' && r.status === 404);
    }
  }
});
