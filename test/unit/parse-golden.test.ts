// Golden files for src/devices/parse.ts: test/fixtures/client-metrics/<case>.prom is a device payload,
// <case>.json the whole expected ParseResult. Sample values that JSON cannot hold are written as the
// strings "NaN", "+Inf" and "-Inf".
//
// After an intended change of behaviour, rewrite the .json files and review the diff:
//   npm run build && UPDATE_GOLDEN=1 node --test dist/test/unit/parse-golden.test.js

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseExposition, type ParseResult } from '../../src/devices/parse/index.js';
import { render } from '../../src/exposition/render.js';

const here = fileURLToPath(new URL('.', import.meta.url));
// Compiled to dist/test/unit/ (three levels below the project root), or run from test/unit/ directly.
const root = here.includes(`${sep}dist${sep}`) ? resolve(here, '../../..') : resolve(here, '../..');
const fixtures = join(root, 'test', 'fixtures', 'client-metrics');

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

const cases = readdirSync(fixtures)
  .filter((f) => f.endsWith('.prom'))
  .map((f) => f.slice(0, -'.prom'.length))
  .sort();

describe('parseExposition: golden files', () => {
  it('has the fixtures the suite relies on', () => {
    for (const name of ['tailscaled', 'openmetrics', 'hostile-labels', 'bad-escape'])
      assert.ok(cases.includes(name), name);
  });

  for (const name of cases) {
    it(`${name}.prom`, () => {
      const input = readFileSync(join(fixtures, `${name}.prom`), 'utf8');
      const actual = parseExposition(input);
      const jsonPath = join(fixtures, `${name}.json`);
      if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(jsonPath, toJson(actual));
      assert.deepStrictEqual(actual, fromJson(readFileSync(jsonPath, 'utf8')));

      if (actual.ok) {
        // What the exporter does next: render, which must neither drop nor merge anything, and whose
        // output must parse back to the same families.
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
