import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeviceScraper } from '../../src/devices/scraper.js';
import { deviceServer } from '../helpers/device-server.js';

// The same body means two things: in text format the counter owns only its own name (so the `_total`
// sample is an untyped family of its own), in OpenMetrics `_total` is the counter's sample. The scraper
// passes the device's Content-Type to the parser, which picks the format by it.
const BODY = '# TYPE tailscaled_drops counter\ntailscaled_drops_total 7\n';

test('the device Content-Type chooses the format: OpenMetrics is read as such, text as text', async (t) => {
  const base = await deviceServer(t, (req, res) => {
    const type = req.url === '/om' ? 'application/openmetrics-text; version=1.0.0; charset=utf-8' : 'text/plain';
    res.writeHead(200, { 'content-type': type }).end(BODY);
  });
  const scraper = new DeviceScraper({ concurrency: 2, timeoutMs: 5000, maxBytes: 1e6, maxSeries: 1000 });
  t.after(() => scraper.close());
  const target = (path: string) => ({
    deviceId: 'id1',
    deviceName: 'dev1',
    address: '127.0.0.1',
    url: `${base}${path}`,
  });

  const om = await scraper.scrape(target('/om'));
  assert.ok(om.ok, JSON.stringify(om));
  assert.deepEqual(
    om.families.map((f) => [f.name, f.type]),
    [['tailscaled_drops_total', 'counter']],
  );
  const text = await scraper.scrape(target('/text'));
  assert.ok(text.ok, JSON.stringify(text));
  assert.deepEqual(
    text.families.map((f) => [f.name, f.type]),
    [['tailscaled_drops_total', 'untyped']],
  );
});
