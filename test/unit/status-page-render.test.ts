import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeviceScrapeState } from '../../src/collectors/collector.js';
import type { Device } from '../../src/control/device.js';
import type { ScrapeTarget, Selection, SelectionState } from '../../src/devices/targets.js';
import { RefreshStatus, type CycleRecord } from '../../src/refresh/status.js';
import { DeviceTable } from '../../src/server/device-table.js';
import { renderStatusPage, type StatusPageInfo, type StatusPageRequest } from '../../src/server/status-page.js';
import { device } from '../helpers/devices.js';

// The status page's exact markup, section by section (src/server/status-page.ts): each cell with its class,
// each count, link and empty state.

const NOW = 1_750_000_000_000; // 2025-06-15T15:06:40.000Z

const info: StatusPageInfo = {
  version: '1.2.3',
  mode: 'standalone',
  backend: 'tailscale',
  tailnet: 'example.com',
  scrapeTag: 'tag:exporter',
  requireExporterTag: false,
  config: {},
};

const target = (d: Device): ScrapeTarget => ({
  deviceId: d.id,
  deviceName: d.name,
  address: d.addresses[0] ?? '',
  url: `http://${d.addresses[0] ?? ''}:5252/metrics`,
});
const selection = (d: Device, state: SelectionState): Selection =>
  state === 'eligible' ? { device: d, state, target: target(d) } : { device: d, state };
const scraped = (d: Device, durationSeconds: number, lastSuccessSeconds?: number): DeviceScrapeState => ({
  last: { ok: true, target: target(d), families: [], bytes: 1, durationSeconds, series: 1 },
  families: [],
  lastSuccessSeconds,
});
const failed = (d: Device, reason: string, message: string, status?: number): DeviceScrapeState => ({
  last: {
    ok: false,
    target: target(d),
    reason: reason as 'timeout',
    message,
    durationSeconds: 1.5,
    ...(status === undefined ? {} : { status }),
  },
  families: undefined,
  lastSuccessSeconds: undefined,
});
const cycle = (o: Partial<CycleRecord> = {}): CycleRecord => ({
  startedAt: '2025-06-15T15:59:00.000Z',
  durationSeconds: 0.5,
  scrapeDurationSeconds: 0.25,
  apiOk: true,
  devicesDiscovered: 3,
  devicesEligible: 3,
  devicesScraped: 3,
  scrapeFailures: 0,
  ...o,
});

function render(status: RefreshStatus, o: Partial<StatusPageRequest> = {}, query = ''): string {
  return renderStatusPage({
    info,
    status,
    table: new DeviceTable(),
    health: 'healthy',
    tsnetUp: undefined,
    nowMs: NOW,
    path: '/status',
    params: new URLSearchParams(query),
    links: [],
    ...o,
  });
}

/** The whole `<section id="…">` element. */
function section(text: string, id: string): string {
  const start = text.indexOf(`<section id="${id}">`);
  assert.ok(start >= 0, `section ${id}`);
  return text.slice(start, text.indexOf('</section>', start) + '</section>'.length);
}
/** One element found by a unique start: its whole text up to the end tag. */
function element(text: string, start: string, end: string): string {
  const at = text.indexOf(start);
  assert.ok(at >= 0, start);
  assert.equal(text.indexOf(start, at + 1), -1, `${start} is unique`);
  return text.slice(at, text.indexOf(end, at) + end.length);
}
const dd = (text: string, term: string): string => element(text, `<dt>${term}</dt>`, '</dd>');
const deviceRow = (text: string, id: string): string => element(text, `data-device-id="${id}">`, '</tr>');

/** Three devices: one scraped, one failing, one pending; one refresh recorded; two collectors. */
function busyStatus(): RefreshStatus {
  const status = new RefreshStatus(NOW - 3_723_400);
  const a = device({ id: '1', hostname: 'a', name: 'a.ts.net', addresses: ['100.64.0.1'] });
  const b = device({ id: '2', hostname: 'b', name: 'b.ts.net', addresses: ['100.64.0.2'] });
  const c = device({ id: '3', hostname: 'c', name: 'c.ts.net', addresses: ['100.64.0.3'] });
  status.selections = [b, a, c].map((d) => selection(d, 'eligible'));
  status.scrapes = new Map([
    ['1', scraped(a, 0.0042, (NOW - 10_600) / 1000)],
    ['2', failed(b, 'timeout', 'no answer in 10s')],
  ]);
  status.failingDevices = [
    {
      deviceId: '2',
      deviceName: 'b.ts.net',
      reason: 'timeout',
      message: '',
      hint: '',
      since: '2025-06-15T15:00:00.000Z',
    },
  ];
  status.record(cycle({ devicesScraped: 1, scrapeFailures: 1 }), NOW - 10_600);
  status.lastApiSuccessAtMs = NOW - 70_000;
  status.devicesDiscovered = 3;
  status.devicesScraped = 1;
  status.recordCollectors(
    [
      { collector: 'exporter', ok: true, durationSeconds: 0.005 },
      { collector: 'peers', ok: true, durationSeconds: 0.01 },
      { collector: 'users', ok: false, durationSeconds: 1, error: 'HTTP 403' },
      { collector: 'custom', ok: true, durationSeconds: 0.2 },
    ],
    NOW - 10_600,
  );
  return status;
}

test('head, header and footer: the title, the links to other endpoints, the render time and version; a style sheet', () => {
  const text = render(new RefreshStatus(NOW), {
    links: [
      ['/metrics', 'metrics'],
      ['/health', 'health <json>'],
    ],
  });
  assert.ok(
    text.startsWith(
      '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">\n<title>tsmetrics status</title>\n<link rel="icon" href="data:,">\n<style>\nbody{',
    ),
    text.slice(0, 200),
  );
  assert.match(text, /\n<title>tsmetrics status<\/title>\n/);
  assert.match(text, /\n<body>\n<header><h1>tsmetrics<\/h1>\n/);
  assert.match(
    text,
    /<nav><a href="\/metrics" title="metrics">\/metrics<\/a> <a href="\/health" title="health &lt;json&gt;">\/health<\/a> <\/nav><\/header>/,
  );
  assert.ok(
    text.endsWith(
      '<footer>Rendered 2025-06-15T15:06:40.000Z by tsmetrics 1.2.3. This page has no script and fetches nothing.</footer>\n</body></html>\n',
    ),
  );
  const style = element(text, '<style>', '</style>');
  for (const rule of ['body{font:', 'tr.warn td{', '.ok{', '.bad{', '.muted{', '.hint{', '.state-failing{', '.banner{'])
    assert.ok(style.includes(rule), rule);
  assert.ok(!text.includes('SIMULATOR') && !text.includes('class="simulator"'), 'no simulator marks');
});

test('overview: each figure exactly, with elapsed times in whole seconds', () => {
  const status = busyStatus();
  const text = render(status, { health: 'degraded', tsnetUp: true, info: { ...info, mode: 'tsnet' } });
  assert.equal(
    section(text, 'overview'),
    '<section id="overview"><h2>Exporter</h2>\n<dl>' +
      '<dt>Health</dt><dd><span class="bad">degraded</span></dd>' +
      `<dt>Build</dt><dd>tsmetrics 1.2.3, Node.js ${process.version}</dd>` +
      '<dt>Uptime</dt><dd>1h2m3s (since 2025-06-15T14:04:36.600Z)</dd>' +
      '<dt>Mode</dt><dd>tsnet, own tailscaled <span class="ok">up</span></dd>' +
      '<dt>Backend</dt><dd>tailscale</dd>' +
      '<dt>Tailnet</dt><dd>example.com</dd>' +
      '<dt>Last refresh</dt><dd>10s ago (2025-06-15T15:06:29.400Z)</dd>' +
      '<dt>Last successful device list</dt><dd>1m10s ago (2025-06-15T15:05:30.000Z)</dd>' +
      '<dt>API</dt><dd><span class="ok">up</span></dd>' +
      '<dt>Devices</dt><dd>3 discovered, 3 eligible, 1 scraped in the last refresh</dd>' +
      '</dl></section>',
  );
});

test('overview: healthy, starting and unhealthy; tailscaled down; the simulator; a failing API with or without its error', () => {
  const status = new RefreshStatus(NOW);
  assert.equal(dd(render(status), 'Health'), '<dt>Health</dt><dd><span class="ok">healthy</span></dd>');
  assert.equal(
    dd(render(status, { health: 'starting' }), 'Health'),
    '<dt>Health</dt><dd><span class="muted">starting</span></dd>',
  );
  assert.equal(
    dd(render(status, { health: 'unhealthy' }), 'Health'),
    '<dt>Health</dt><dd><span class="bad">unhealthy</span></dd>',
  );
  assert.equal(dd(render(status), 'Mode'), '<dt>Mode</dt><dd>standalone</dd>');
  assert.equal(
    dd(render(status, { tsnetUp: false, info: { ...info, mode: 'tsnet' } }), 'Mode'),
    '<dt>Mode</dt><dd>tsnet, own tailscaled <span class="bad">down</span></dd>',
  );
  assert.equal(
    dd(render(status, { info: { ...info, mode: 'simulator' } }), 'Mode'),
    '<dt>Mode</dt><dd><strong class="bad">simulator</strong></dd>',
  );
  assert.equal(
    dd(render(status, { info: { ...info, backend: 'headscale', tailnet: 'https://hs.example' } }), 'Headscale'),
    '<dt>Headscale</dt><dd>https://hs.example</dd>',
  );
  // Nothing yet.
  const fresh = render(status);
  assert.equal(dd(fresh, 'Uptime'), '<dt>Uptime</dt><dd>0s (since 2025-06-15T15:06:40.000Z)</dd>');
  assert.equal(dd(fresh, 'Last refresh'), '<dt>Last refresh</dt><dd>none yet</dd>');
  assert.equal(dd(fresh, 'Last successful device list'), '<dt>Last successful device list</dt><dd>none yet</dd>');
  assert.equal(dd(fresh, 'API'), '<dt>API</dt><dd>no refresh yet</dd>');
  assert.equal(
    dd(fresh, 'Devices'),
    '<dt>Devices</dt><dd>0 discovered, 0 eligible, 0 scraped in the last refresh</dd>',
  );
  // A failing device list, then one without an error text; a clock that stepped back says 0s ago.
  status.record(cycle({ apiOk: false, apiError: 'HTTP 503 <busy>' }), NOW + 5000);
  assert.equal(
    dd(render(status), 'API'),
    '<dt>API</dt><dd><span class="bad">failing</span>: HTTP 503 &lt;busy&gt;</dd>',
  );
  assert.equal(dd(render(status), 'Last refresh'), '<dt>Last refresh</dt><dd>0s ago (2025-06-15T15:06:45.000Z)</dd>');
  status.record(cycle({ apiOk: false }), NOW);
  assert.equal(dd(render(status), 'API'), '<dt>API</dt><dd><span class="bad">failing</span>: </dd>');
});

test('the simulator: title, body class, banner and heading say so', () => {
  const text = render(new RefreshStatus(NOW), { info: { ...info, mode: 'simulator' } });
  assert.match(text, /\n<title>\[SIMULATOR\] tsmetrics status<\/title>\n/);
  assert.match(
    text,
    /\n<body class="simulator">\n<p class="banner" id="simulator-banner"><strong>SIMULATOR<\/strong>: this exporter runs on the built-in simulated tailnet \(<code>--demo<\/code> or <code>TEST_DEVICES<\/code>\)\. Nothing on this page is a real device\.<\/p>\n<header><h1>tsmetrics \(simulator\)<\/h1>/,
  );
});

test('empty states: no refresh, no collector, no device, no configuration', () => {
  const text = render(new RefreshStatus(NOW));
  assert.equal(
    section(text, 'refreshes'),
    '<section id="refreshes"><h2>Refresh history</h2><p class="muted">No refresh has finished yet.</p></section>',
  );
  assert.equal(
    section(text, 'collectors'),
    '<section id="collectors"><h2>Collectors</h2><p class="muted">No refresh has finished yet.</p></section>',
  );
  assert.equal(
    element(text, '<nav id="device-filters"', '</nav>'),
    '<nav id="device-filters" aria-label="filter by state"><a href="/status#devices" aria-current="page">all (0)</a> </nav>',
  );
  assert.ok(text.includes('</thead><tbody>\n</tbody></table>\n</section>'), 'no rows, no pager');
  assert.equal(
    section(text, 'config'),
    '<section id="config"><h2>Configuration <span class="muted">(secrets redacted)</span></h2>\n<table id="config-table"><tbody></tbody></table></section>',
  );
});

test('refresh history: newest first, each cell with its class, a failed cycle or failed scrapes marked', () => {
  const status = new RefreshStatus(NOW);
  status.record(cycle({ startedAt: 'T1', durationSeconds: 1, scrapeDurationSeconds: 0.01 }), NOW);
  status.record(cycle({ startedAt: 'T2', scrapeFailures: 2, devicesScraped: 1 }), NOW);
  status.record(cycle({ startedAt: 'T3', apiOk: false, apiError: 'HTTP 500 <x>', durationSeconds: 0.0042 }), NOW);
  status.record(cycle({ startedAt: 'T4', apiOk: false, durationSeconds: 12.345, scrapeDurationSeconds: 0.999 }), NOW);
  const table = element(render(status), '<table id="refresh-table">', '</table>');
  assert.equal(
    table,
    '<table id="refresh-table"><thead><tr><th>started</th><th>duration</th><th>scrape cycle</th><th>device list</th><th>discovered</th><th>eligible</th><th>scraped</th><th>failed</th></tr></thead><tbody>\n' +
      '<tr class="warn"><td>T4</td><td class="num">12.35 s</td><td class="num">999 ms</td><td><span class="bad">failed</span>: </td><td class="num">3</td><td class="num">3</td><td class="num">3</td><td class="num">0</td></tr>\n' +
      '<tr class="warn"><td>T3</td><td class="num">4.20 ms</td><td class="num">250 ms</td><td><span class="bad">failed</span>: HTTP 500 &lt;x&gt;</td><td class="num">3</td><td class="num">3</td><td class="num">3</td><td class="num">0</td></tr>\n' +
      '<tr class="warn"><td>T2</td><td class="num">500 ms</td><td class="num">250 ms</td><td><span class="ok">ok</span></td><td class="num">3</td><td class="num">3</td><td class="num">1</td><td class="num">2</td></tr>\n' +
      '<tr><td>T1</td><td class="num">1.00 s</td><td class="num">10 ms</td><td><span class="ok">ok</span></td><td class="num">3</td><td class="num">3</td><td class="num">3</td><td class="num">0</td></tr>\n' +
      '</tbody></table>',
  );
});

test('refresh chart: one slot per cycle (at least ten), bars scaled to the longest refresh, oldest on the left', () => {
  const status = new RefreshStatus(NOW);
  status.record(cycle({ startedAt: 'T1', durationSeconds: 2, scrapeDurationSeconds: 1 }), NOW);
  status.record(cycle({ startedAt: 'T2', durationSeconds: 4, scrapeDurationSeconds: 0.004, apiOk: false }), NOW);
  const chart = element(render(status), '<figure>', '</figure>');
  assert.equal(
    chart,
    '<figure><svg id="refresh-chart" role="img" aria-label="refresh and scrape-cycle durations of the last 2 refreshes" viewBox="0 0 600 114" width="600" height="114">\n' +
      '<line class="axis" x1="0" y1="100" x2="600" y2="100"/>\n' +
      '<g><title>T1: refresh 2.00 s, scrape cycle 1.00 s</title><rect class="refresh" x="1.0" y="50.0" width="58.0" height="50.0"/><rect class="scrape" x="15.0" y="75.0" width="29.0" height="25.0"/></g>\n' +
      '<g><title>T2: refresh 4.00 s, scrape cycle 4.00 ms, device list failed</title><rect class="refresh failed" x="61.0" y="0.0" width="58.0" height="100.0"/><rect class="scrape" x="75.0" y="99.0" width="29.0" height="1.0"/></g>\n' +
      '<text x="2" y="112">max 4.00 s</text></svg>\n' +
      '<figcaption><span class="key refresh"></span> refresh duration <span class="key scrape"></span> scrape cycle (start to last device answer) <span class="key failed"></span> device list failed; oldest on the left</figcaption></figure>',
  );
  // Twenty cycles: slots of 30 px; all of zero duration: the scale does not divide by zero, bars are 1 px.
  const many = new RefreshStatus(NOW);
  for (let i = 0; i < 20; i++) many.record(cycle({ durationSeconds: 0, scrapeDurationSeconds: 0 }), NOW);
  const rects = [...render(many).matchAll(/<rect class="refresh" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"/g)];
  assert.equal(rects.length, 20);
  assert.deepEqual(rects.at(-1)!.slice(1), ['571.0', '99.0', '28.0']);
  assert.match(render(many), /<text x="2" y="112">max 1\.00 ms<\/text>/);
});

test('collectors: outcome, duration, last error with its time, and what each needs', () => {
  const text = render(busyStatus());
  assert.equal(
    element(text, '<section id="collectors">', '<table'),
    '<section id="collectors"><h2>Collectors</h2>\n<table',
  );
  assert.equal(
    element(text, '<section id="refreshes">', '<figure>'),
    '<section id="refreshes"><h2>Refresh history</h2>\n<figure>',
  );
  const table = element(text, '<table id="collector-table">', '</table>');
  assert.equal(
    table,
    '<table id="collector-table"><thead><tr><th>collector</th><th>last refresh</th><th>duration</th><th>last error</th><th>needs</th></tr></thead><tbody>\n' +
      '<tr data-collector="exporter"><td>exporter</td><td><span class="ok">success</span></td><td class="num">5.00 ms</td><td><span class="muted">none</span></td><td>nothing: the exporter&#39;s own figures</td></tr>\n' +
      '<tr data-collector="peers"><td>peers</td><td><span class="ok">success</span></td><td class="num">10 ms</td><td><span class="muted">none</span></td><td>tsnet mode: the exporter&#39;s own tailscaled</td></tr>\n' +
      '<tr data-collector="users" class="warn"><td>users</td><td><span class="bad">failed</span></td><td class="num">1.00 s</td><td>HTTP 403 <span class="muted">(2025-06-15T15:06:29.400Z)</span></td><td>users:read</td></tr>\n' +
      '<tr data-collector="custom"><td>custom</td><td><span class="ok">success</span></td><td class="num">200 ms</td><td><span class="muted">none</span></td><td></td></tr>\n' +
      '</tbody></table>',
  );
});

test('collectors: a name that is also an Object.prototype member needs nothing listed', () => {
  const status = new RefreshStatus(NOW);
  status.recordCollectors([{ collector: 'constructor', ok: true, durationSeconds: 1 }], NOW);
  assert.equal(
    element(render(status), '<tr data-collector="constructor">', '</tr>'),
    '<tr data-collector="constructor"><td>constructor</td><td><span class="ok">success</span></td><td class="num">1.00 s</td><td><span class="muted">none</span></td><td></td></tr>',
  );
});

test('device rows: every cell; the scrape duration and last success; the error with failing-since and hint', () => {
  const text = render(busyStatus());
  assert.equal(
    deviceRow(text, '1'),
    'data-device-id="1"><td class="name">a.ts.net</td><td><code>1</code></td><td>100.64.0.1</td><td>linux 1.80.2-t62b8bf6a0-g3c35ee987</td><td><span class="state state-scraped">scraped</span></td><td>tagged, online and allowed: its client metrics are scraped</td><td class="num">4.20 ms<br><span class="muted">last success 10s ago</span></td><td></td></tr>',
  );
  assert.equal(
    deviceRow(text, '2'),
    'data-device-id="2"><td class="name">b.ts.net</td><td><code>2</code></td><td>100.64.0.2</td><td>linux 1.80.2-t62b8bf6a0-g3c35ee987</td><td><span class="state state-failing">failing</span></td><td>meant to be scraped, but its last scrape failed</td><td class="num">1.50 s</td><td><strong>timeout</strong>: no answer in 10s<br><span class="muted">failing since 2025-06-15T15:00:00.000Z</span><br><span class="hint">hint: no answer in time: the tailnet policy probably does not allow tcp:5252 from the exporter to this device, or the device is unreachable</span></td></tr>',
  );
  assert.equal(
    deviceRow(text, '3'),
    'data-device-id="3"><td class="name">c.ts.net</td><td><code>3</code></td><td>100.64.0.3</td><td>linux 1.80.2-t62b8bf6a0-g3c35ee987</td><td><span class="state state-pending">pending</span></td><td>selected for scraping, no result yet (newly selected, or COLLECTORS leaves out client_metrics)</td><td class="num"><span class="muted">-</span></td><td></td></tr>',
  );
  assert.deepEqual(
    [...text.matchAll(/<tr data-state="([a-z_]+)" data-device-id="(\d+)">/g)].map((m) => `${m[1]}:${m[2]}`),
    ['failing:2', 'pending:3', 'scraped:1'],
  );
  assert.equal(element(text, '<p id="device-count">', '</p>'), '<p id="device-count">Devices 1-3 of 3.</p>');
  assert.equal(
    element(text, '<section id="devices">', '<nav id="device-filters"'),
    '<section id="devices"><h2>Devices</h2>\n<p>Why each device is or is not scraped: the states of <code>tsmetrics_device_scrape_coverage</code> (and <em>pending</em>: eligible, not scraped yet). Failing devices first.</p>\n<nav id="device-filters"',
  );
  assert.equal(
    element(text, '<table id="device-table">', '</thead>'),
    '<table id="device-table"><thead><tr><th>device</th><th>id</th><th>address</th><th>OS, client</th><th>state</th><th>why</th><th>last scrape</th><th>error</th></tr></thead>',
  );
});

test('device rows: a failure without a hint or a failing-since time; an address-less device; a scrape never successful', () => {
  const status = new RefreshStatus(NOW);
  const d = device({ id: '7', name: 'x', addresses: ['100.64.0.7'] });
  const v6 = device({ id: '8', name: 'y', addresses: ['fd7a:115c:a1e0::8', '100.64.0.8'] });
  const none = device({ id: '9', name: 'z', addresses: [] });
  status.selections = [selection(d, 'eligible'), selection(v6, 'offline'), selection(none, 'address_refused')];
  status.scrapes = new Map([['7', failed(d, 'http_status', 'HTTP 500', 500)]]);
  const text = render(status);
  assert.match(
    deviceRow(text, '7'),
    /<td class="num">1\.50 s<\/td><td><strong>http_status<\/strong>: HTTP 500<\/td><\/tr>$/,
  );
  assert.match(deviceRow(text, '8'), /<td><code>8<\/code><\/td><td>100\.64\.0\.8<\/td>/);
  assert.match(deviceRow(text, '9'), /<td><code>9<\/code><\/td><td><\/td>/);
  assert.match(deviceRow(text, '9'), /<td>its address \(none\) is outside SCRAPE_ALLOWED_CIDRS: never dialled<\/td>/);
});

test('why: the exact reason for each state that is not scraped', () => {
  const status = new RefreshStatus(NOW);
  const states: SelectionState[] = [
    'offline',
    'untagged',
    'excluded',
    'address_refused',
    'other_shard',
    'client_too_old',
  ];
  status.selections = states.map((state, i) =>
    selection(device({ id: String(i), name: state, addresses: ['10.0.0.1'], clientVersion: '1.62.0-x' }), state),
  );
  const why = (text: string, id: number): string =>
    /<td>([^<]*)<\/td><td class="num">/.exec(deviceRow(text, String(id)))![1]!;
  const text = render(status);
  assert.deepEqual(
    states.map((_, i) => why(text, i)),
    [
      'not connected to the control plane: nothing to scrape',
      'not tagged tag:exporter (SCRAPE_TAG), nor named by TARGET_DEVICES',
      'left out by EXCLUDE_DEVICES, TARGET_DEVICES or DEVICE_TAGS',
      'its address 10.0.0.1 is outside SCRAPE_ALLOWED_CIDRS: never dialled',
      'scraped by another replica (SHARD_COUNT, SHARD_INDEX)',
      'Tailscale 1.62.0-x is older than 1.78.0, the first version that serves client metrics',
    ],
  );
  assert.equal(
    why(render(status, { info: { ...info, requireExporterTag: true } }), 1),
    'not tagged tag:exporter (SCRAPE_TAG), which REQUIRE_EXPORTER_TAG requires',
  );
});

test('configuration: strings as they are, other values as JSON, undefined ones left out, all escaped', () => {
  const text = render(new RefreshStatus(NOW), {
    info: { ...info, config: { a: 'x <y>', n: 5, gone: undefined, l: ['p', 'q'], f: false } },
  });
  assert.equal(
    element(text, '<table id="config-table">', '</table>'),
    '<table id="config-table"><tbody><tr><th>a</th><td><code>x &lt;y&gt;</code></td></tr>\n' +
      '<tr><th>n</th><td><code>5</code></td></tr>\n' +
      '<tr><th>l</th><td><code>[&quot;p&quot;,&quot;q&quot;]</code></td></tr>\n' +
      '<tr><th>f</th><td><code>false</code></td></tr>\n' +
      '</tbody></table>',
  );
});

/** 250 devices: 120 offline, 130 scraped, named so that sorting by name is visible. */
function manyStatus(): RefreshStatus {
  const status = new RefreshStatus(NOW);
  const devices = Array.from({ length: 250 }, (_, i) =>
    device({ id: String(1000 + i), name: `n${String(249 - i).padStart(3, '0')}`, addresses: [`100.64.1.${i}`] }),
  );
  status.selections = devices.map((d, i) => selection(d, i % 2 === 0 && i < 240 ? 'offline' : 'eligible'));
  status.scrapes = new Map(devices.filter((_, i) => !(i % 2 === 0 && i < 240)).map((d) => [d.id, scraped(d, 0.1)]));
  return status;
}

test('filters: all and each state present with its count, the current one marked; a selected empty state is kept', () => {
  const status = manyStatus();
  assert.equal(
    element(render(status), '<nav id="device-filters"', '</nav>'),
    '<nav id="device-filters" aria-label="filter by state"><a href="/status#devices" aria-current="page">all (250)</a> <a class="state-offline" href="/status?state=offline#devices">offline (120)</a> <a class="state-scraped" href="/status?state=scraped#devices">scraped (130)</a> </nav>',
  );
  // A search and a page: the filter links keep the search and go back to page 1.
  assert.equal(
    element(render(status, {}, 'state=failing&q=n2&page=2'), '<nav id="device-filters"', '</nav>'),
    '<nav id="device-filters" aria-label="filter by state"><a href="/status?q=n2#devices">all (250)</a> <a class="state-failing" href="/status?state=failing&amp;q=n2#devices" aria-current="page">failing (0)</a> <a class="state-offline" href="/status?state=offline&amp;q=n2#devices">offline (120)</a> <a class="state-scraped" href="/status?state=scraped&amp;q=n2#devices">scraped (130)</a> </nav>',
  );
  assert.equal(
    element(render(status, {}, 'state=offline'), '<form', '</form>'),
    '<form method="get" action="/status"><input type="hidden" name="state" value="offline"><label>name, id or address <input type="search" name="q" value=""></label> <button type="submit">search</button></form>',
  );
});

test('pages: the count line, rows sorted by name within a state, and the pager links on the first, middle and last page', () => {
  const status = manyStatus();
  const first = render(status);
  const ids = (text: string): string[] => [...text.matchAll(/data-device-id="(\d+)"/g)].map((m) => m[1]!);
  assert.equal(element(first, '<p id="device-count">', '</p>'), '<p id="device-count">Devices 1-100 of 250.</p>');
  assert.deepEqual(ids(first).slice(0, 3), ['1238', '1236', '1234'], 'offline first, by name n011, n013, n015');
  assert.equal(
    element(first, '<nav id="device-pages"', '</nav>'),
    '<nav id="device-pages" aria-label="pages">page 1 of 3 <a rel="next" href="/status?page=2#devices">next ›</a> <a rel="last" href="/status?page=3#devices">last »</a></nav>',
  );
  const middle = render(status, {}, 'page=2');
  assert.equal(element(middle, '<p id="device-count">', '</p>'), '<p id="device-count">Devices 101-200 of 250.</p>');
  assert.deepEqual(ids(middle).slice(0, 2), ['1038', '1036'], 'the 101st row and the next');
  assert.equal(
    element(middle, '<nav id="device-pages"', '</nav>'),
    '<nav id="device-pages" aria-label="pages"><a rel="first" href="/status#devices">« first</a> <a rel="prev" href="/status#devices">‹ previous</a> page 2 of 3 <a rel="next" href="/status?page=3#devices">next ›</a> <a rel="last" href="/status?page=3#devices">last »</a></nav>',
  );
  const last = render(status, {}, 'page=3&state=scraped&q=N');
  assert.equal(
    element(last, '<p id="device-count">', '</p>'),
    '<p id="device-count">Devices 101-130 of 130 matching “N”.</p>',
  );
  assert.equal(
    element(last, '<nav id="device-pages"', '</nav>'),
    '<nav id="device-pages" aria-label="pages"><a rel="first" href="/status?state=scraped&amp;q=N#devices">« first</a> <a rel="prev" href="/status?state=scraped&amp;q=N#devices">‹ previous</a> page 2 of 2</nav>',
  );
});

test('no device matches: the count line says so in one sentence, with the search if any, and no pager follows', () => {
  assert.equal(
    element(render(new RefreshStatus(NOW)), '<p id="device-count">', '</p>'),
    '<p id="device-count">No devices.</p>',
  );
  const text = render(manyStatus(), {}, 'q=%3Cnone%3E');
  assert.equal(
    element(text, '<p id="device-count">', '</p>'),
    '<p id="device-count">No devices matching “&lt;none&gt;”.</p>',
  );
  assert.ok(!text.includes('device-pages'));
});
