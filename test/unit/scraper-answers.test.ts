import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Agent } from 'undici';
import { DeviceScraper, type ScrapeResult } from '../../src/devices/scraper.js';
import type { ScrapeTarget } from '../../src/devices/targets.js';
import { deviceServer } from '../helpers/device-server.js';

// What the scraper asks a device for and what it makes of each answer, against a plain HTTP server on
// loopback: the request headers, the wording of every failure, the figures of a success, and the targets an
// aborted cycle never reached.

type Handler = (res: ServerResponse, headers: IncomingHttpHeaders) => void;

async function device(t: TestContext, handler: Handler): Promise<ScrapeTarget> {
  const base = await deviceServer(t, (req, res) => handler(res, req.headers));
  return { deviceId: 'd1', deviceName: 'gw.tail.ts.net', address: '127.0.0.1', url: `${base}/metrics` };
}

function scraper(t: TestContext, options: Partial<ConstructorParameters<typeof DeviceScraper>[0]> = {}): DeviceScraper {
  const s = new DeviceScraper({ timeoutMs: 5000, maxBytes: 1 << 20, maxSeries: 1000, concurrency: 4, ...options });
  t.after(() => s.close());
  return s;
}

const failure = (r: ScrapeResult): Extract<ScrapeResult, { ok: false }> => {
  assert.equal(r.ok, false, JSON.stringify(r));
  return r;
};

test('the request asks for text format first, OpenMetrics second, and names the exporter', async (t) => {
  let seen: IncomingHttpHeaders = {};
  const target = await device(t, (res, headers) => {
    seen = headers;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('tailscaled_x 1\n');
  });
  assert.ok((await scraper(t).scrape(target)).ok);
  assert.equal(seen.accept, 'text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1');
  assert.equal(seen['user-agent'], 'tsmetrics');
});

test('a status other than 200 is http_status with the code; a 3xx says where it pointed, cut at 100 characters', async (t) => {
  const cases: Array<[status: number, location: string | undefined, message: string]> = [
    [301, 'http://100.64.0.1:5252/metrics', 'HTTP 301 (redirect to http://100.64.0.1:5252/metrics)'],
    [300, undefined, 'HTTP 300 (redirect to ?)'],
    [399, '/x', 'HTTP 399 (redirect to /x)'],
    [302, `/${'a'.repeat(200)}`, `HTTP 302 (redirect to /${'a'.repeat(99)})`],
    [400, '/ignored', 'HTTP 400'],
    [500, undefined, 'HTTP 500'],
    [204, undefined, 'HTTP 204'],
    [299, '/ignored', 'HTTP 299'],
  ];
  const s = scraper(t);
  for (const [status, location, message] of cases) {
    const target = await device(t, (res) =>
      res.writeHead(status, location === undefined ? {} : { location }).end(status === 204 ? undefined : 'x'),
    );
    const r = failure(await s.scrape(target));
    assert.deepEqual([r.reason, r.status, r.message], ['http_status', status, message], `status ${status}`);
    assert.equal(r.target, target);
    assert.ok(r.durationSeconds >= 0 && r.durationSeconds < 5);
  }
});

test('a refused connection is connect, with the error code first', async (t) => {
  const target = await device(t, () => {});
  // A port nobody listens on: the server above is closed at once.
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const r = failure(await scraper(t).scrape({ ...target, url: `http://127.0.0.1:${port}/metrics` }));
  assert.equal(r.reason, 'connect');
  assert.match(r.message, /^ECONNREFUSED: /);
  assert.equal('status' in r, false, 'no status without an answer');
});

test('a cycle aborted while a device is answering ends that scrape as a timeout; a malformed answer is parse, by line', async (t) => {
  const hung = await device(t, () => {});
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('shutting down')), 50);
  const r = failure(await scraper(t).scrape(hung, controller.signal));
  assert.deepEqual([r.reason, r.message], ['timeout', 'no complete answer within 5000 ms']);
  const malformed = await device(t, (res) => res.writeHead(200).end('tailscaled_x 1\ntailscaled_y{ 2\n'));
  const bad = failure(await scraper(t).scrape(malformed));
  assert.equal(bad.reason, 'parse');
  assert.match(bad.message, /^line 2: /);
});

test('a body over CLIENT_METRICS_MAX_BYTES is too_large, whether it says its length or not', async (t) => {
  const big = 'tailscaled_x 1\n'.repeat(1000);
  const declared = await device(t, (res) => res.writeHead(200, { 'content-length': big.length }).end(big));
  const chunked = await device(t, (res) => {
    res.writeHead(200);
    res.write(big);
    res.end();
  });
  const s = scraper(t, { maxBytes: 1000 });
  for (const target of [declared, chunked]) {
    const r = failure(await s.scrape(target));
    assert.equal(r.reason, 'too_large');
    assert.match(r.message, /1000 bytes/);
  }
});

test('a success counts the body in bytes (UTF-8) and its series, and times the fetch and the parse', async (t) => {
  const body = '# HELP tailscaled_x Grüße.\n# TYPE tailscaled_x counter\ntailscaled_x{path="é"} 3\ntailscaled_y 1\n';
  const target = await device(t, (res) => {
    // The answer takes 60 ms: the duration includes it.
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(body), 60);
  });
  const started = performance.now();
  const r = await scraper(t).scrape(target);
  const wallSeconds = (performance.now() - started) / 1000;
  assert.ok(r.ok);
  assert.ok(r.durationSeconds <= wallSeconds, `${r.durationSeconds} s within the call's ${wallSeconds} s`);
  assert.equal(r.bytes, Buffer.byteLength(body));
  assert.notEqual(r.bytes, body.length, 'the body has characters of more than one byte');
  assert.equal(r.series, 2);
  assert.deepEqual(
    r.families.map((f) => f.name),
    ['tailscaled_x', 'tailscaled_y'],
  );
  assert.ok(r.durationSeconds >= 0.055 && r.durationSeconds < 5, String(r.durationSeconds));
});

test('what the caller keeps of the families is what the result holds; the series count is of what was parsed', async (t) => {
  const target = await device(t, (res) => res.writeHead(200).end('tailscaled_a 1\ntailscaled_b 2\n'));
  const kept: string[] = [];
  const r = await scraper(t).scrape(target, undefined, (families, to) => {
    kept.push(to.deviceId);
    return families.filter((f) => f.name === 'tailscaled_b');
  });
  assert.ok(r.ok);
  assert.deepEqual(kept, ['d1']);
  assert.deepEqual(
    r.families.map((f) => f.name),
    ['tailscaled_b'],
  );
  assert.equal(r.series, 2);
});

test('targets a cycle aborted before they started get a timeout result of their own, none is dialled', async (t) => {
  let requests = 0;
  const target = await device(t, (res) => {
    requests++;
    res.writeHead(200).end('tailscaled_x 1\n');
  });
  const controller = new AbortController();
  controller.abort(new Error('shutting down'));
  const targets = [target, { ...target, deviceId: 'd2' }, { ...target, deviceId: 'd3' }];
  const results = await scraper(t, { concurrency: 1 }).scrapeAll(targets, controller.signal);
  assert.equal(results.length, 3);
  // By index, not forEach: a slot left empty must fail here, not be skipped.
  for (let i = 0; i < targets.length; i++) {
    const f = failure(results[i]!);
    assert.equal(f.target, targets[i]);
    assert.deepEqual([f.reason, f.message, f.durationSeconds], ['timeout', 'aborted before the scrape started', 0]);
  }
  assert.equal(requests, 0);
});

test("a dispatcher handed in (tsnet mode) is the caller's: close() leaves it working", async (t) => {
  const target = await device(t, (res) => res.writeHead(200).end('tailscaled_x 1\n'));
  const agent = new Agent();
  t.after(() => agent.close());
  const s = new DeviceScraper({
    timeoutMs: 5000,
    maxBytes: 1 << 20,
    maxSeries: 1000,
    concurrency: 1,
    dispatcher: agent,
  });
  assert.ok((await s.scrape(target)).ok);
  await s.close();
  assert.equal(agent.destroyed, false);
  assert.ok((await s.scrape(target)).ok, "still scrapes through the caller's dispatcher");
  // Its own dispatcher, though, is closed with it.
  const own = new DeviceScraper({ timeoutMs: 5000, maxBytes: 1 << 20, maxSeries: 1000, concurrency: 1 });
  assert.ok((await own.scrape(target)).ok);
  await own.close();
  assert.equal(failure(await own.scrape(target)).reason, 'connect');
});
