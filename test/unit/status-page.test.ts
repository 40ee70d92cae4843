import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeviceScrapeState } from '../../src/collectors/collector.js';
import { coverageCollector } from '../../src/collectors/coverage.js';
import { makeSelector, type ScrapeTarget } from '../../src/devices/targets.js';
import { RefreshStatus } from '../../src/refresh/status.js';
import { DeviceTable, PAGE_SIZE, parseDeviceQuery } from '../../src/server/device-table.js';
import { escapeHtml, html, Html } from '../../src/server/html.js';
import { renderStatusPage, type StatusPageInfo } from '../../src/server/status-page.js';
import type { Device } from '../../src/control/device.js';
import { device } from '../helpers/devices.js';
import { refreshData } from '../helpers/refresh-data.js';

const HOSTILE = '<img src=x onerror=alert(1)>';
const QUOTES = `say "hi" & 'bye'\nsecond line`;

const select = makeSelector({
  scrapeTag: 'tag:exporter',
  requireExporterTag: false,
  targetDevices: [],
  excludeDevices: ['excluded-*'],
  deviceTags: [],
  allowedCidrs: ['100.64.0.0/10'],
  port: 5252,
});

const info: StatusPageInfo = {
  version: '1.2.3',
  mode: 'standalone',
  backend: 'tailscale',
  tailnet: 'example.com',
  scrapeTag: 'tag:exporter',
  requireExporterTag: false,
  config: { tailnet: 'example.com', client_secret: '<redacted>' },
};

function ok(t: ScrapeTarget): DeviceScrapeState {
  return {
    last: { ok: true, target: t, families: [], bytes: 10, durationSeconds: 0.012, series: 3 },
    families: [],
    lastSuccessSeconds: 1_750_000_000,
  };
}
function failed(t: ScrapeTarget, message: string): DeviceScrapeState {
  return {
    last: { ok: false, target: t, reason: 'timeout', message, durationSeconds: 10 },
    families: undefined,
    lastSuccessSeconds: undefined,
  };
}

/** A status as the refresher leaves it: selections, scrapes of the eligible ones, the failing list. */
function statusOf(devices: Device[], failingNames: ReadonlySet<string> = new Set()): RefreshStatus {
  const status = new RefreshStatus(1_750_000_000_000 - 3_600_000);
  status.selections = select(devices);
  const scrapes = new Map<string, DeviceScrapeState>();
  for (const s of status.selections) {
    if (s.target === undefined) continue;
    scrapes.set(
      s.device.id,
      failingNames.has(s.device.hostname) ? failed(s.target, `no answer: ${HOSTILE}`) : ok(s.target),
    );
  }
  status.scrapes = scrapes;
  status.failingDevices = [...scrapes.values()]
    .filter((x) => !x.last.ok)
    .map((x) => ({
      deviceId: x.last.target.deviceId,
      deviceName: x.last.target.deviceName,
      reason: 'timeout',
      message: '',
      hint: '',
      since: '2025-06-15T15:00:00.000Z',
    }));
  return status;
}

function page(status: RefreshStatus, query = '', table = new DeviceTable(), pageInfo: StatusPageInfo = info): string {
  return renderStatusPage({
    info: pageInfo,
    status,
    table,
    health: 'healthy',
    tsnetUp: undefined,
    nowMs: 1_750_000_000_000,
    path: '/',
    params: new URLSearchParams(query),
    links: [['/metrics', 'metrics']],
  });
}

/** The device rows of a rendered page: [state, device id] in order. */
const rows = (text: string): Array<[string, string]> =>
  [...text.matchAll(/<tr data-state="([a-z_]+)" data-device-id="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]);

/** Every tag name the page opens: an escaping failure shows up as a tag that is not ours. */
const tags = (text: string): Set<string> =>
  new Set([...text.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => m[1]!.toLowerCase()));
const OUR_TAGS = new Set([
  'html',
  'head',
  'meta',
  'title',
  'link',
  'style',
  'body',
  'p',
  'strong',
  'code',
  'header',
  'h1',
  'h2',
  'nav',
  'a',
  'section',
  'dl',
  'dt',
  'dd',
  'span',
  'figure',
  'svg',
  'line',
  'g',
  'rect',
  'text',
  'figcaption',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'em',
  'form',
  'input',
  'label',
  'button',
  'br',
  'footer',
]);

test('html escapes every interpolated value, keeps nested markup, and cannot be forged', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
  );
  const cell = html`<td title="${QUOTES}">${HOSTILE}</td>`;
  assert.equal(
    cell.toString(),
    '<td title="say &quot;hi&quot; &amp; &#39;bye&#39;\nsecond line">&lt;img src=x onerror=alert(1)&gt;</td>',
  );
  // Nested markup is not escaped twice; arrays, undefined and false render element by element or as nothing.
  assert.equal(
    html`<tr>${[cell, html`<td>${1}</td>`]}${undefined}${false}${null}</tr>`.toString(),
    `<tr>${cell.toString()}<td>1</td></tr>`,
  );
  // An object that merely looks like markup is text.
  assert.equal(html`${{ toString: () => '<b>' }}`.toString(), '&lt;b&gt;');
  assert.throws(() => new Html('<script>', Symbol('html')), /html template only/);
});

test('hostile device names, errors, API and collector messages and query parameters render as text', () => {
  const status = statusOf(
    [
      device({ id: '1', hostname: 'hostile', name: HOSTILE, addresses: ['100.64.0.1'] }),
      device({ id: '2', hostname: 'quotes', name: QUOTES, addresses: ['100.64.0.2'] }),
      device({
        id: `3"><script>alert(1)</script>`,
        hostname: 'idattack',
        name: 'x',
        addresses: ['100.64.0.3'],
        clientVersion: `</td><script>alert(2)</script>`,
        os: HOSTILE,
      }),
    ],
    new Set(['hostile']),
  );
  status.record(
    {
      startedAt: `<b>${HOSTILE}</b>`,
      durationSeconds: 1,
      scrapeDurationSeconds: 0.5,
      apiOk: false,
      apiError: `HTTP 500: ${HOSTILE}`,
      devicesDiscovered: 3,
      devicesEligible: 3,
      devicesScraped: 2,
      scrapeFailures: 1,
    },
    1_750_000_000_000,
  );
  status.recordCollectors(
    [{ collector: 'users', ok: false, durationSeconds: 0.1, error: `403 ${HOSTILE}` }],
    1_750_000_000_000,
  );
  const hostileInfo = {
    ...info,
    tailnet: HOSTILE,
    version: `"><script>alert(3)</script>`,
    config: { [HOSTILE]: HOSTILE, list: [QUOTES] },
  };
  for (const text of [
    page(status, '', new DeviceTable(), hostileInfo),
    page(
      status,
      `q=${encodeURIComponent(`"><script>alert(4)</script>`)}&state=${encodeURIComponent(HOSTILE)}`,
      new DeviceTable(),
      hostileInfo,
    ),
  ]) {
    assert.deepEqual(
      [...tags(text)].filter((t) => !OUR_TAGS.has(t)),
      [],
      "no tag but the page's own",
    );
    assert.ok(!/\son[a-z]+=/i.test(text.replaceAll('onerror=alert(1)', '')), 'no event handler attribute');
    assert.ok(!text.includes('<script'), 'no script element');
  }
  const text = page(status, '', new DeviceTable(), hostileInfo);
  assert.ok(text.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the name is shown, as text');
  assert.ok(
    text.includes('say &quot;hi&quot; &amp; &#39;bye&#39;\nsecond line'),
    'quotes and the newline are kept as text',
  );
  assert.ok(text.includes('no answer: &lt;img src=x onerror=alert(1)&gt;'), 'the scrape error is shown, as text');
  assert.ok(text.includes('HTTP 500: &lt;img'), 'the API error is shown, as text');
  assert.ok(text.includes('403 &lt;img'), 'the collector error is shown, as text');
  assert.ok(
    text.includes('data-device-id="3&quot;&gt;&lt;script&gt;'),
    'an attribute value cannot be closed by the data',
  );
});

test('devices: failing first, every state with its reason, the same states as tsmetrics_device_scrape_coverage', () => {
  const devices = [
    device({ id: '10', hostname: 'a-scraped', name: 'a-scraped.ts.net', addresses: ['100.64.0.10'] }),
    device({ id: '11', hostname: 'z-failing', name: 'z-failing.ts.net', addresses: ['100.64.0.11'] }),
    device({ id: '12', hostname: 'untagged', name: 'untagged.ts.net', tags: [], addresses: ['100.64.0.12'] }),
    device({ id: '13', hostname: 'excluded-1', name: 'excluded-1.ts.net', addresses: ['100.64.0.13'] }),
    device({ id: '14', hostname: 'offline', name: 'offline.ts.net', online: false, addresses: ['100.64.0.14'] }),
    device({ id: '15', hostname: 'old', name: 'old.ts.net', clientVersion: '1.62.0', addresses: ['100.64.0.15'] }),
    device({ id: '16', hostname: 'outside', name: 'outside.ts.net', addresses: ['10.1.2.3'] }),
    device({ id: '17', hostname: 'new', name: 'new.ts.net', addresses: ['100.64.0.17'] }),
  ];
  const status = statusOf(devices, new Set(['z-failing']));
  const scrapes = new Map(status.scrapes);
  scrapes.delete('17'); // selected this cycle, not scraped yet
  status.scrapes = scrapes;
  const text = page(status);
  const shown = rows(text);
  assert.deepEqual(
    shown.map(([s]) => s),
    ['failing', 'pending', 'address_refused', 'client_too_old', 'offline', 'scraped', 'untagged', 'excluded'],
  );
  assert.match(text, /its address 10\.1\.2\.3 is outside SCRAPE_ALLOWED_CIDRS/);
  assert.match(text, /Tailscale 1\.62\.0 is older than 1\.78\.0/);
  assert.match(text, /not tagged tag:exporter \(SCRAPE_TAG\), nor named by TARGET_DEVICES/);
  assert.match(
    page(status, '', new DeviceTable(), { ...info, requireExporterTag: true }),
    /not tagged tag:exporter \(SCRAPE_TAG\), which REQUIRE_EXPORTER_TAG requires/,
  );
  assert.match(text, /<strong>timeout<\/strong>: no answer/);
  assert.match(text, /hint: no answer in time: the tailnet policy probably does not allow tcp:5252/);
  assert.match(text, /failing since 2025-06-15T15:00:00.000Z/);
  // The coverage collector on the same data: the same state per device (it counts `pending` as failing).
  const coverage = coverageCollector.collect(
    refreshData(devices, { selections: status.selections, scrapes: status.scrapes }),
  )[0]!;
  const covered = new Map(coverage.samples.map((s) => [s.labels.device_id!, s.labels.state!]));
  for (const [state, id] of shown) assert.equal(state === 'pending' ? 'failing' : state, covered.get(id), id);
});

test('filter by state, search and pages of 100 out of 10,000 devices; the sorted rows are built once per cycle', () => {
  const devices = Array.from({ length: 10_000 }, (_, i) =>
    device({
      id: String(100_000 + i),
      hostname: `host-${i}`,
      name: `host-${String(i).padStart(5, '0')}.ts.net`,
      addresses: [`100.64.${i >> 8}.${i & 255}`],
      tags: i % 4 === 0 ? ['tag:exporter'] : [],
    }),
  );
  const status = statusOf(devices, new Set(['host-40', 'host-4000']));
  const table = new DeviceTable();
  const first = page(status, '', table);
  assert.equal(rows(first).length, PAGE_SIZE);
  assert.deepEqual(rows(first).slice(0, 2), [
    ['failing', '100040'],
    ['failing', '104000'],
  ]);
  assert.match(first, /Devices 1-100 of 10000\./);
  assert.match(first, /href="\/\?state=failing#devices">failing \(2\)</);
  assert.match(first, /href="\/\?state=scraped#devices">scraped \(2498\)</);
  assert.match(first, /href="\/\?state=untagged#devices">untagged \(7500\)</);
  assert.match(first, /<a rel="next" href="\/\?page=2#devices">/);

  const failing = page(status, 'state=failing', table);
  assert.deepEqual(
    rows(failing).map(([s]) => s),
    ['failing', 'failing'],
  );
  assert.ok(!failing.includes('rel="next"'), 'one page only');

  const scrapedLast = page(status, 'state=scraped&page=25', table);
  assert.equal(rows(scrapedLast).length, 98);
  assert.match(scrapedLast, /Devices 2401-2498 of 2498\./);
  assert.match(scrapedLast, /<a rel="prev" href="\/\?state=scraped&amp;page=24#devices">/);
  assert.ok(rows(scrapedLast).every(([s]) => s === 'scraped'));
  assert.equal(
    rows(page(status, 'state=scraped&page=999', table)).length,
    98,
    'a page past the end shows the last one',
  );

  const search = page(status, 'q=HOST-00999.TS', table);
  assert.deepEqual(rows(search), [['untagged', '100999']]);
  assert.match(search, /value="HOST-00999.TS"/);

  // Same cycle: the same index. A new cycle (new scrapes map): rebuilt.
  status.scrapes = new Map([...status.scrapes].map(([id, s]) => [id, id === '100040' ? ok(s.last.target) : s]));
  assert.equal(rows(page(status, 'state=failing', table)).length, 1);
});

test('query parsing: unknown states and bad pages fall back to the defaults', () => {
  assert.deepEqual(parseDeviceQuery(new URLSearchParams('state=bogus&page=-3')), { state: 'all', q: '', page: 1 });
  assert.deepEqual(parseDeviceQuery(new URLSearchParams('state=offline&page=7&q=%20ab%20')), {
    state: 'offline',
    q: 'ab',
    page: 7,
  });
  assert.equal(parseDeviceQuery(new URLSearchParams(`q=${'x'.repeat(500)}`)).q.length, 200);
});

test('the simulator is marked unmistakably; history, chart and collectors are shown', () => {
  const status = statusOf([device({ addresses: ['100.64.0.1'] })]);
  status.record(
    {
      startedAt: '2025-06-15T15:59:00.000Z',
      durationSeconds: 2,
      scrapeDurationSeconds: 1.5,
      apiOk: true,
      devicesDiscovered: 1,
      devicesEligible: 1,
      devicesScraped: 1,
      scrapeFailures: 0,
    },
    1_749_999_990_000,
  );
  status.record(
    {
      startedAt: '2025-06-15T15:59:30.000Z',
      durationSeconds: 4,
      scrapeDurationSeconds: 1,
      apiOk: false,
      apiError: 'HTTP 503',
      devicesDiscovered: 1,
      devicesEligible: 1,
      devicesScraped: 1,
      scrapeFailures: 0,
    },
    1_750_000_000_000,
  );
  status.recordCollectors(
    [
      { collector: 'users', ok: false, durationSeconds: 0.1, error: 'HTTP 403: missing scope' },
      { collector: 'devices', ok: true, durationSeconds: 0.2 },
    ],
    1_749_999_990_000,
  );
  // Recovered since: still shows its last error.
  status.recordCollectors(
    [
      { collector: 'users', ok: true, durationSeconds: 0.1 },
      { collector: 'devices', ok: true, durationSeconds: 0.2 },
    ],
    1_750_000_000_000,
  );
  const sim = page(status, '', new DeviceTable(), { ...info, mode: 'simulator' });
  assert.match(sim, /<title>\[SIMULATOR\] tsmetrics status<\/title>/);
  assert.match(sim, /id="simulator-banner"><strong>SIMULATOR<\/strong>/);
  assert.ok(!page(status).includes('SIMULATOR'));
  assert.match(
    sim,
    /<tr data-collector="users"><td>users<\/td><td><span class="ok">success<\/span><\/td><td class="num">100 ms<\/td><td>HTTP 403: missing scope <span class="muted">\(2025-06-15T15:06:30.000Z\)<\/span><\/td><td>users:read<\/td><\/tr>/,
  );
  assert.match(sim, /<td><span class="bad">failed<\/span>: HTTP 503<\/td>/);
  // Two cycles, two bars each; the failed device list is drawn apart; the taller refresh sets the scale.
  assert.equal([...sim.matchAll(/<rect class="refresh[^"]*"/g)].length, 2);
  assert.match(sim, /<rect class="refresh failed" x="[\d.]+" y="0\.0" width="[\d.]+" height="100\.0"\/>/);
  assert.match(sim, /<rect class="refresh" x="[\d.]+" y="50\.0" width="[\d.]+" height="50\.0"\/>/);
  assert.match(sim, /<title>2025-06-15T15:59:00.000Z: refresh 2\.00 s, scrape cycle 1\.50 s<\/title>/);
});

test('the device table keeps neither a replaced selection nor replaced scrape results alive', async () => {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const table = new DeviceTable();
  const status = statusOf(
    Array.from({ length: 50 }, (_, i) => device({ id: String(i), name: `d${i}`, addresses: [`100.64.0.${i + 1}`] })),
  );
  page(status, '', table);
  const oldSelections = new WeakRef(status.selections);
  const oldScrapes = new WeakRef(status.scrapes);
  // The refresher publishes a new cycle: new selection, new scrape results. No page request follows.
  status.selections = select([device({ id: 'x', addresses: ['100.64.1.1'] })]);
  status.scrapes = new Map();
  status.failingDevices = [];
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  assert.equal(oldSelections.deref(), undefined, 'the previous selection (the previous device list) was released');
  assert.equal(oldScrapes.deref(), undefined, 'the previous scrape results (device families) were released');
  assert.deepEqual(rows(page(status, '', table)), [['pending', 'x']]);
});
