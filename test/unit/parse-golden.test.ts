// Golden files for src/devices/parse/, node_exporter style: test/fixtures/parse/<case>.prom is a device
// payload, <case>.out what the exporter makes of it over the whole device path — parse, keep the
// tailscaled_* families with the device's labels added (exposition/device-text.ts), render — or the error
// the scrape fails with. The first line of a .out names the format the payload was read as. Options a case
// needs (limits, the response's Content-Type) are in OPTIONS below. A few cases also have <case>.json, the
// whole expected ParseResult (sample values JSON cannot hold are written as the strings "NaN", "+Inf" and
// "-Inf").
//
// After an intended change of behaviour, rewrite the .out and .json files and review the diff:
//   npm run build && UPDATE_GOLDEN=1 node --test dist/test/unit/parse-golden.test.js

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseExposition, type ParseOptions, type ParseResult } from '../../src/devices/parse/index.js';
import { render } from '../../src/exposition/render.js';
import { DeviceTextRenderer } from '../../src/exposition/device-text.js';

const here = fileURLToPath(new URL('.', import.meta.url));
// Compiled to dist/test/unit/ (three levels below the project root), or run from test/unit/ directly.
const root = here.includes(`${sep}dist${sep}`) ? resolve(here, '../../..') : resolve(here, '../..');
const fixtures = join(root, 'test', 'fixtures', 'parse');
const update = process.env['UPDATE_GOLDEN'] === '1';

const OPTIONS: Readonly<Record<string, ParseOptions>> = {
  'limit-series': { maxSeries: 5 },
  'limit-line-length': { maxLineLength: 100 },
  'openmetrics-content-type': { contentType: 'application/openmetrics-text; version=1.0.0; charset=utf-8' },
};

const DEVICE_ID = 'nGolden1CNTRL';
const DEVICE_NAME = 'golden-device.tail1234.ts.net';

function toJson(result: ParseResult): string {
  const special = (v: number): string => (Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf');
  return `${JSON.stringify(result, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? special(v) : v), 2)}\n`;
}

function fromJson(text: string): ParseResult {
  const special: Record<string, number> = { NaN: Number.NaN, '+Inf': Infinity, '-Inf': -Infinity };
  // Only the value of a sample (an object that also has labels) is decoded; label values stay strings.
  return JSON.parse(text, function (this: Record<string, unknown>, key, v: unknown) {
    return key === 'value' && typeof v === 'string' && typeof this['labels'] === 'object' && v in special
      ? special[v]
      : v;
  }) as ParseResult;
}

/** What the exporter serves for this device's payload, or the scrape error it reports (scraper.ts). */
function exported(result: ParseResult): string {
  if (!result.ok) return `# error ${result.error.reason}: line ${result.error.line}: ${result.error.message}\n`;
  const kept = new DeviceTextRenderer().render(result.families, DEVICE_ID, DEVICE_NAME);
  assert.equal(kept.dropped, 0, 'the renderer dropped a series the parser accepted');
  return `# parsed as ${result.format}\n${render(kept.families).text}`;
}

const cases = readdirSync(fixtures)
  .filter((f) => f.endsWith('.prom'))
  .map((f) => f.slice(0, -'.prom'.length))
  .sort();

function golden(path: string, actual: string): string {
  if (update) writeFileSync(path, actual);
  return readFileSync(path, 'utf8');
}

describe('parseExposition: golden files', () => {
  it('has the fixtures the suite relies on', () => {
    for (const name of ['tailscaled', 'openmetrics', 'hostile-labels', 'bad-escape', 'text-escapes', 'limit-series'])
      assert.ok(cases.includes(name), name);
    for (const name of Object.keys(OPTIONS)) assert.ok(cases.includes(name), `OPTIONS names a missing case: ${name}`);
  });

  for (const name of cases) {
    it(`${name}.prom`, () => {
      const input = readFileSync(join(fixtures, `${name}.prom`), 'utf8');
      const actual = parseExposition(input, OPTIONS[name]);
      assert.equal(exported(actual), golden(join(fixtures, `${name}.out`), exported(actual)));

      const jsonPath = join(fixtures, `${name}.json`);
      if (existsSync(jsonPath)) assert.deepStrictEqual(actual, fromJson(golden(jsonPath, toJson(actual))));

      if (actual.ok) {
        // The parser's own output, unlabelled, must render without dropping or merging anything, and parse
        // back to the same families.
        const rendered = render(actual.families);
        const series = actual.families.reduce((n, f) => n + f.samples.length, 0);
        assert.deepStrictEqual(rendered.stats, { series, invalid: 0, duplicates: 0, typeConflicts: 0 });
        const again = parseExposition(rendered.text);
        assert.ok(again.ok);
        assert.deepStrictEqual(
          again.families,
          [...actual.families].sort((a, b) => (a.name < b.name ? -1 : 1)),
        );
      }
    });
  }

  it('every .out and .json file has its .prom', () => {
    const orphans = readdirSync(fixtures).filter(
      (f) => (f.endsWith('.out') || f.endsWith('.json')) && !cases.includes(f.replace(/\.(out|json)$/, '')),
    );
    assert.deepStrictEqual(orphans, []);
  });

  it('hostile label values do not inject series', () => {
    const r = parseExposition(readFileSync(join(fixtures, 'hostile-labels.prom'), 'utf8'));
    assert.ok(r.ok);
    assert.deepStrictEqual(
      r.families.map((f) => f.name),
      ['tailscaled_health_messages', 'tailscaled_inbound_packets_total'],
    );
    const rendered = render(r.families).text;
    assert.ok(!/^injected_metric/m.test(rendered));
    assert.equal(rendered.split('\n').filter((l) => l.startsWith('# TYPE ')).length, 2);
  });
});
