import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientMetricsCollector } from '../../src/collectors/client-metrics.js';
import type { DeviceScrapeState } from '../../src/collectors/collector.js';
import type { MetricFamily } from '../../src/exposition/family.js';
import { render } from '../../src/exposition/render.js';
import { buildSnapshot } from '../../src/exposition/snapshot.js';
import { parseExposition } from '../../src/devices/parse/index.js';
import { DeviceTextRenderer } from '../../src/exposition/device-text.js';
import { promtoolCheck } from '../helpers/promtool.js';
import { refreshData } from '../helpers/refresh-data.js';

const DEVICE_TEXT = `# HELP tailscaled_inbound_bytes_total Bytes received
# TYPE tailscaled_inbound_bytes_total counter
tailscaled_inbound_bytes_total{path="derp"} 100
tailscaled_inbound_bytes_total{path="direct_ipv4"} 200
# HELP tailscaled_health_messages Health messages
# TYPE tailscaled_health_messages gauge
tailscaled_health_messages{device_id="abc",type="warning"} 3
# HELP go_goroutines Goroutines
# TYPE go_goroutines gauge
go_goroutines 12
`;

function parsed(text = DEVICE_TEXT): MetricFamily[] {
  const r = parseExposition(text);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.families;
}

/** The lines a family's pre-rendered series put out (without HELP/TYPE). */
const linesOf = (f: MetricFamily): string =>
  render([f])
    .text.split('\n')
    .filter((l) => !l.startsWith('# '))
    .join('\n');

test('DeviceTextRenderer keeps tailscaled_* families, adds device labels and renders them once', () => {
  const { families, dropped } = new DeviceTextRenderer().render(parsed(), 'id1', 'dev1.ts.net');
  assert.equal(dropped, 0);
  assert.deepEqual(
    families.map((f) => f.name),
    ['tailscaled_inbound_bytes_total', 'tailscaled_health_messages'],
    'go_goroutines is not re-exported',
  );
  const [bytes, health] = families as [MetricFamily, MetricFamily];
  assert.equal(bytes.type, 'counter');
  assert.equal(bytes.help, 'Bytes received');
  assert.equal(health.type, 'gauge');
  assert.equal(health.help, 'Health messages');
  for (const f of families) assert.deepEqual(f.samples, []);
  assert.equal(bytes.rendered?.series, 2);
  assert.equal(
    linesOf(bytes),
    'tailscaled_inbound_bytes_total{device_id="id1",device_name="dev1.ts.net",path="derp"} 100\n' +
      'tailscaled_inbound_bytes_total{device_id="id1",device_name="dev1.ts.net",path="direct_ipv4"} 200\n',
  );
  assert.equal(health.rendered?.series, 1);
  assert.equal(
    linesOf(health),
    'tailscaled_health_messages{device_id="id1",device_name="dev1.ts.net",exported_device_id="abc",type="warning"} 3\n',
  );
});

test('names and help texts go through the interner; two devices share them', () => {
  const seen: string[] = [];
  class SpyRenderer extends DeviceTextRenderer {
    override intern(s: string): string {
      seen.push(s);
      return super.intern(s);
    }
  }
  const interner = new SpyRenderer();
  const a = interner.render(parsed(), 'id1', 'dev1.ts.net').families;
  const b = interner.render(parsed(), 'id2', 'dev2.ts.net').families;
  assert.deepEqual(
    new Set(seen),
    new Set(['tailscaled_inbound_bytes_total', 'Bytes received', 'tailscaled_health_messages', 'Health messages']),
  );
  assert.equal(seen.length, 8, 'name and help of two families on two devices');
  assert.equal(a.length, 2);
  assert.equal(b.length, 2);
  for (let i = 0; i < a.length; i++) {
    assert.ok(a[i]!.name === b[i]!.name);
    assert.ok(a[i]!.help === b[i]!.help);
  }
  // The interner hands back the copy it stored first for an equal string.
  assert.equal(interner.intern('Bytes received'), 'Bytes received');
});

test("two devices rendered together: one HELP/TYPE per family with both devices' lines", () => {
  const renderer = new DeviceTextRenderer();
  const a = renderer.render(parsed(), 'id1', 'dev1.ts.net').families;
  const b = renderer.render(parsed(), 'id2', 'dev2.ts.net').families;
  const { text, stats } = render([...a, ...b]);
  assert.equal(
    text,
    '# HELP tailscaled_health_messages Health messages\n# TYPE tailscaled_health_messages gauge\n' +
      'tailscaled_health_messages{device_id="id1",device_name="dev1.ts.net",exported_device_id="abc",type="warning"} 3\n' +
      'tailscaled_health_messages{device_id="id2",device_name="dev2.ts.net",exported_device_id="abc",type="warning"} 3\n' +
      '# HELP tailscaled_inbound_bytes_total Bytes received\n# TYPE tailscaled_inbound_bytes_total counter\n' +
      'tailscaled_inbound_bytes_total{device_id="id1",device_name="dev1.ts.net",path="derp"} 100\n' +
      'tailscaled_inbound_bytes_total{device_id="id1",device_name="dev1.ts.net",path="direct_ipv4"} 200\n' +
      'tailscaled_inbound_bytes_total{device_id="id2",device_name="dev2.ts.net",path="derp"} 100\n' +
      'tailscaled_inbound_bytes_total{device_id="id2",device_name="dev2.ts.net",path="direct_ipv4"} 200\n',
  );
  assert.equal(stats.series, 6);
  assert.equal(stats.duplicates, 0);
  assert.equal(stats.invalid, 0);
});

test('a device label value that would break the line is escaped in the pre-rendered text', () => {
  const { families } = new DeviceTextRenderer().render(parsed('tailscaled_up 1\n'), 'id"1', 'a\nb');
  assert.equal(linesOf(families[0]!), 'tailscaled_up{device_id="id\\"1",device_name="a\\nb"} 1\n');
  assert.equal(families[0]!.type, 'untyped');
});

test('a device HELP text with \\\\ and \\n escapes keeps /metrics parseable and round-trips on the pre-rendered path', async () => {
  // Unescaped on the way out, this HELP would end its line and start a second TYPE line of the family.
  const helpLine = String.raw`# HELP tailscaled_inbound_bytes_total Bytes from C:\\temp\\ by path\n# TYPE tailscaled_inbound_bytes_total gauge\nsee "docs"`;
  const help = 'Bytes from C:\\temp\\ by path\n# TYPE tailscaled_inbound_bytes_total gauge\nsee "docs"';
  const hostileText = `${helpLine}\n# TYPE tailscaled_inbound_bytes_total counter\ntailscaled_inbound_bytes_total{path="derp"} 100\n`;
  // What the refresher does with each scrape (DeviceTextRenderer in its keep callback), then the collector
  // and the snapshot /metrics serves. The hostile device sorts first, so its HELP is the family's.
  const renderer = new DeviceTextRenderer();
  const state = (id: string, name: string, text: string): [string, DeviceScrapeState] => {
    const target = { deviceId: id, deviceName: name, address: '100.64.0.1', url: 'http://100.64.0.1:5252/metrics' };
    const { families } = renderer.render(parsed(text), id, name);
    return [
      id,
      {
        last: { ok: true, target, families, bytes: text.length, durationSeconds: 0.01, series: 1 },
        families,
        lastSuccessSeconds: 1,
      },
    ];
  };
  const scrapes = new Map([state('id2', 'good.ts.net', DEVICE_TEXT), state('id1', 'evil.ts.net', hostileText)]);
  const snapshot = await buildSnapshot(clientMetricsCollector.collect(refreshData([], { scrapes })), 0);
  const text = (await snapshot.plain()).toString('utf8');
  assert.deepEqual(promtoolCheck(text), []);
  assert.ok(text.split('\n').includes(helpLine), `the HELP line is written as the device sent it:\n${text}`);
  const reparsed = parseExposition(text);
  assert.ok(reparsed.ok, reparsed.ok ? '' : reparsed.error.message);
  const fam = reparsed.families.find((f) => f.name === 'tailscaled_inbound_bytes_total');
  assert.equal(fam?.help, help);
  assert.equal(fam?.type, 'counter');
  assert.equal(fam?.samples.length, 3, "both devices' series, under one HELP/TYPE");
});

test('a series two devices both send under the same device id is written once and counted', () => {
  const renderer = new DeviceTextRenderer();
  const a = renderer.render(parsed('tailscaled_up 1\n'), 'same', 'a.ts.net').families;
  const b = renderer.render(parsed('tailscaled_up 2\n'), 'same', 'a.ts.net').families;
  const { text, stats } = render([...a, ...b]);
  assert.equal(text.split('\n').filter((l) => l.startsWith('tailscaled_up{')).length, 1);
  assert.equal(stats.duplicates, 1);
});

test("a device's own device_id or device_name label is renamed on every sample that has one, not only when all do", () => {
  const text = [
    '# TYPE tailscaled_a gauge',
    'tailscaled_a{device_id="own"} 1',
    'tailscaled_a{k="y"} 2',
    '# TYPE tailscaled_b gauge',
    'tailscaled_b{device_name="own-name"} 3',
    '',
  ].join('\n');
  const { families, dropped } = new DeviceTextRenderer().render(parsed(text), 'id1', 'dev1');
  assert.equal(dropped, 0);
  assert.equal(
    families.map(linesOf).join(''),
    'tailscaled_a{device_id="id1",device_name="dev1",exported_device_id="own"} 1\n' +
      'tailscaled_a{device_id="id1",device_name="dev1",k="y"} 2\n' +
      'tailscaled_b{device_id="id1",device_name="dev1",exported_device_name="own-name"} 3\n',
  );
});

test('dropped counts both the invalid and the repeated samples of a device', () => {
  const fam: MetricFamily = {
    name: 'tailscaled_d',
    help: 'h',
    type: 'gauge',
    samples: [
      { name: 'tailscaled_d', labels: {}, value: 1 },
      { name: 'tailscaled_d', labels: {}, value: 2 },
      { name: 'tailscaled_d', labels: { 'bad-name': 'x' }, value: 3 },
      { name: 'tailscaled_d', labels: { __reserved: 'x' }, value: 4 },
    ],
  };
  const { families, dropped } = new DeviceTextRenderer().render([fam], 'id1', 'dev1');
  assert.equal(dropped, 3);
  assert.equal(linesOf(families[0]!), 'tailscaled_d{device_id="id1",device_name="dev1"} 1\n');
});
