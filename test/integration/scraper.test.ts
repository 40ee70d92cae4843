import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { DeviceScraper, type ScrapeResult } from '../../src/devices/scraper.js';
import { render } from '../../src/exposition/render.js';
import { relabelFamilies } from '../../src/collectors/client-metrics.js';
import { startTailnet } from '../../src/sim/tailscale/index.js';
import { promtoolCheck } from '../helpers/promtool.js';
import { selectSimDevices } from '../helpers/sim-selection.js';

// Generous enough that a loaded CI machine never times out a healthy device.
const TIMEOUT_MS = 1500;

async function fleet(
  t: TestContext,
  names: string[],
  opts: { maxBytes?: number; maxSeries?: number; concurrency?: number; timeoutMs?: number } = {},
) {
  const sim = await startTailnet({ scenario: { names } });
  const { selections } = await selectSimDevices(sim);
  const targets = selections.flatMap((s) => (s.target ? [s.target] : []));
  const scraper = new DeviceScraper({
    timeoutMs: opts.timeoutMs ?? TIMEOUT_MS,
    maxBytes: opts.maxBytes ?? 1024 * 1024,
    maxSeries: opts.maxSeries ?? 10_000,
    concurrency: opts.concurrency ?? 10,
  });
  t.after(async () => {
    await scraper.close();
    await sim.close();
  });
  return { sim, targets, scraper };
}

const failed = (r: ScrapeResult) => {
  assert.equal(r.ok, false, `expected a failure for ${r.target.deviceName}`);
  return r;
};

test('a healthy device: families parsed, counters kept, one request per device', async (t) => {
  const { sim, targets, scraper } = await fleet(t, ['gw-a', 'gw-b']);
  const results = await scraper.scrapeAll(targets);
  assert.equal(results.length, 2);
  for (const r of results) {
    assert.ok(r.ok, JSON.stringify(r));
    const bytes = r.families.find((f) => f.name === 'tailscaled_inbound_bytes_total');
    assert.equal(bytes?.type, 'counter');
    assert.ok(bytes.samples.some((s) => s.labels.path === 'derp'));
  }
  assert.equal(
    [...sim.stats.scrapes.values()].reduce((a, b) => a + b, 0),
    2,
  );
});

test('every failure mode gets its bounded reason', async (t) => {
  const { sim, targets, scraper } = await fleet(t, ['hang', 'reset', 'e500', 'huge', 'bad', 'many', 'slow', 'fine'], {
    maxBytes: 1024 * 1024,
    maxSeries: 500,
  });
  sim.setDeviceFault('hang', { kind: 'hang' });
  sim.setDeviceFault('reset', { kind: 'reset' });
  sim.setDeviceFault('e500', { kind: 'status', status: 500 });
  sim.setDeviceFault('huge', { kind: 'huge', bytes: 5 * 1024 * 1024 });
  sim.setDeviceFault('bad', { kind: 'malformed' });
  sim.setDeviceFault('many', { kind: 'many-series', series: 5000 });
  sim.setDeviceFault('slow', { kind: 'slow', delayMs: TIMEOUT_MS * 3 });
  // Only hang and slow are meant to time out: the others get a deadline no loaded machine reaches (5,000
  // series and a 5 MB body from the in-process simulator once took more than 1.5 s).
  const patient = new DeviceScraper({ timeoutMs: 30_000, maxBytes: 1024 * 1024, maxSeries: 500, concurrency: 10 });
  t.after(() => patient.close());
  const slowOnes = (r: { deviceName: string }) => /^(hang|slow)\./.test(r.deviceName);
  const all = await Promise.all([
    scraper.scrapeAll(targets.filter(slowOnes)),
    patient.scrapeAll(targets.filter((x) => !slowOnes(x))),
  ]);
  const results = new Map(all.flat().map((r) => [r.target.deviceName.split('.')[0], r]));
  assert.equal(failed(results.get('hang')!).reason, 'timeout');
  assert.equal(failed(results.get('slow')!).reason, 'timeout');
  assert.equal(failed(results.get('reset')!).reason, 'connect');
  const e500 = failed(results.get('e500')!);
  assert.equal(e500.reason, 'http_status');
  assert.equal(e500.status, 500);
  assert.equal(failed(results.get('huge')!).reason, 'too_large');
  assert.equal(failed(results.get('bad')!).reason, 'parse');
  assert.equal(failed(results.get('many')!).reason, 'too_many_series');
  assert.ok(results.get('fine')!.ok, 'a healthy device beside them is unaffected');
});

test('a device that trickles its body one line every 400 ms is cut off at the 1 s deadline, not when it ends 8 s later', async (t) => {
  // Each gap (400 ms) is shorter than the body timeout, which measures idle time: only a deadline over
  // the whole request and body ends this scrape.
  const { sim, targets, scraper } = await fleet(t, ['drip'], { timeoutMs: 1000 });
  sim.setDeviceFault('drip', { kind: 'trickle', lines: 20, intervalMs: 400 });
  const started = performance.now();
  const r = failed(await scraper.scrape(targets[0]!));
  const seconds = (performance.now() - started) / 1000;
  assert.equal(r.reason, 'timeout');
  assert.equal(r.message, 'no complete answer within 1000 ms');
  assert.ok(seconds < 3, `cut off after ${seconds.toFixed(1)} s, long before the trickle's 8 s`);
  assert.equal(sim.stats.faultsInjected.get('device:trickle'), 1, 'the device did answer, and trickled');
});

test('a redirect (the web client answers 301 to anything but its IP) is a reported failure, not followed', async (t) => {
  const { sim, targets, scraper } = await fleet(t, ['gw']);
  sim.setDeviceFault('gw', { kind: 'status', status: 301 });
  const r = failed(await scraper.scrape(targets[0]!));
  assert.equal(r.reason, 'http_status');
  assert.equal(r.status, 301);
});

test('one hung device among 50 costs one timeout, not the cycle', async (t) => {
  const names = Array.from({ length: 50 }, (_, i) => `node-${i}`);
  const { sim, targets, scraper } = await fleet(t, names, { concurrency: 10 });
  sim.setDeviceFault('node-7', { kind: 'hang' });
  const started = performance.now();
  const results = await scraper.scrapeAll(targets);
  const elapsed = performance.now() - started;
  assert.equal(results.filter((r) => r.ok).length, 49);
  assert.equal(failed(results.find((r) => r.target.deviceName.startsWith('node-7.'))!).reason, 'timeout');
  // A structural bound, not a benchmark: the hung device holds one worker for one timeout; a cycle that
  // waited for it serially per batch would take several timeouts.
  assert.ok(elapsed < 2 * TIMEOUT_MS + 1000, `cycle took ${Math.round(elapsed)} ms`);
});

test('concurrency is bounded by MAX_CONCURRENT_SCRAPES', async (t) => {
  const names = Array.from({ length: 12 }, (_, i) => `c-${i}`);
  const { sim, targets, scraper } = await fleet(t, names, { concurrency: 3 });
  for (const n of names) sim.setDeviceFault(n, { kind: 'slow', delayMs: 100 });
  let inflight = 0;
  let peak = 0;
  await Promise.all(
    [0].map(async () => {
      const original = scraper.scrape.bind(scraper);
      scraper.scrape = async (target, signal) => {
        inflight++;
        peak = Math.max(peak, inflight);
        try {
          return await original(target, signal);
        } finally {
          inflight--;
        }
      };
      await scraper.scrapeAll(targets);
    }),
  );
  assert.equal(peak, 3);
});

test('hostile label values and colliding labels re-export safely; the merged output passes promtool', async (t) => {
  const { sim, targets, scraper } = await fleet(t, ['evil', 'good', 'om']);
  sim.setDeviceFault('evil', { kind: 'label-injection' });
  sim.setDeviceFault('om', { kind: 'openmetrics' });
  const results = await scraper.scrapeAll(targets);
  const families = results.flatMap((r) =>
    r.ok ? relabelFamilies(r.families, r.target.deviceId, r.target.deviceName) : [],
  );
  assert.ok(
    results.every((r) => r.ok),
    JSON.stringify(results.filter((r) => !r.ok)),
  );
  const { text } = render(families);
  for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
    assert.match(
      line,
      /^tailscaled_[a-z_]+\{device_id="[^"]*",device_name="[^"]*"/,
      `every series carries our labels first: ${line}`,
    );
  }
  assert.match(text, /exported_device_id=/, 'a device-sent device_id is renamed, not trusted');
  assert.equal(text.match(/^# TYPE tailscaled_inbound_bytes_total /gm)?.length, 1, 'one TYPE per merged family');
  assert.deepEqual(promtoolCheck(text), []);
});

test('a flipping device alternates success and parse failure', async (t) => {
  const { sim, targets, scraper } = await fleet(t, ['flip']);
  sim.setDeviceFault('flip', { kind: 'flip' });
  const outcomes: boolean[] = [];
  for (let i = 0; i < 4; i++) outcomes.push((await scraper.scrape(targets[0]!)).ok);
  assert.ok(outcomes.includes(true) && outcomes.includes(false), String(outcomes));
});
