import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gauge, type MetricFamily } from '../../src/exposition/family.js';
import { render, renderSeries } from '../../src/exposition/render.js';

// Families whose series arrive already rendered (a device's client metrics, kept as text between cycles).

const renderedPart = (name: string, text: string, series: number): MetricFamily => ({
  name,
  help: 'device help',
  type: 'gauge',
  samples: [],
  unique: true,
  rendered: { text, series },
});

test('a Sample part and two rendered parts share one HELP/TYPE block, lines in order', () => {
  const dev1 = 'tailscaled_x{device_id="1"} 10\ntailscaled_x{device_id="1",k="a"} 11\n';
  const dev2 = 'tailscaled_x{device_id="2"} 20\n';
  const { text, stats } = render([
    gauge('tailscaled_x', 'first help', [[{ device_id: '0' }, 1]]),
    renderedPart('tailscaled_x', dev1, 2),
    renderedPart('tailscaled_x', dev2, 1),
  ]);
  assert.equal(
    text,
    '# HELP tailscaled_x first help\n# TYPE tailscaled_x gauge\n' + 'tailscaled_x{device_id="0"} 1\n' + dev1 + dev2,
  );
  assert.equal(stats.series, 4);
  assert.equal(stats.invalid, 0);
  assert.equal(stats.duplicates, 0);
});

test('rendered parts alone: HELP/TYPE from the first part, series counted from the parts', () => {
  const { text, stats } = render([
    renderedPart('tailscaled_y', 'tailscaled_y{device_id="1"} 1\n', 1),
    renderedPart('tailscaled_y', 'tailscaled_y{device_id="2"} 2\ntailscaled_y{device_id="2",q="1"} 3\n', 2),
  ]);
  assert.equal(text.split('\n').filter((l) => l.startsWith('# HELP ')).length, 1);
  assert.equal(text.split('\n').filter((l) => l.startsWith('# TYPE ')).length, 1);
  assert.ok(
    text.startsWith('# HELP tailscaled_y device help\n# TYPE tailscaled_y gauge\ntailscaled_y{device_id="1"} 1\n'),
  );
  assert.equal(stats.series, 3);
});

test('a rendered part with no series writes nothing, not even HELP/TYPE', () => {
  const { text, stats } = render([renderedPart('tailscaled_empty', '', 0)]);
  assert.equal(text, '');
  assert.equal(stats.series, 0);
  // ... and does not open the block for a later empty Sample part either.
  const both = render([renderedPart('tailscaled_empty', '', 0), gauge('tailscaled_empty', 'h', [])]);
  assert.equal(both.text, '');
  // A non-empty rendered part after an empty one still writes HELP/TYPE once.
  const later = render([renderedPart('tailscaled_e', '', 0), renderedPart('tailscaled_e', 'tailscaled_e 1\n', 1)]);
  assert.equal(later.text, '# HELP tailscaled_e device help\n# TYPE tailscaled_e gauge\ntailscaled_e 1\n');
});

test('renderSeries returns the lines without HELP/TYPE and counts invalid samples', () => {
  const fam = gauge('tailscaled_z', 'help', [
    [{ device_id: '1' }, 1],
    [{ 'bad-label': 'v' }, 2],
    [{ device_id: '2', name: 'a"b' }, 3],
    [{ __reserved: 'x' }, 4],
    [{}, NaN],
  ]);
  const r = renderSeries(fam);
  assert.equal(r.text, 'tailscaled_z{device_id="1"} 1\ntailscaled_z{device_id="2",name="a\\"b"} 3\ntailscaled_z NaN\n');
  assert.equal(r.invalid, 2);
  assert.equal(r.series, 3);
  assert.equal(r.series, r.text.split('\n').filter((l) => l !== '').length);
  assert.ok(!r.text.includes('# '));
  // Rendered through the writer, the same lines appear under one HELP/TYPE.
  const { text } = render([{ ...fam, samples: [], rendered: { text: r.text, series: r.series } }]);
  assert.equal(text, `# HELP tailscaled_z help\n# TYPE tailscaled_z gauge\n${r.text}`);
});

test('renderSeries of a family with an invalid name counts every sample as invalid', () => {
  const r = renderSeries(
    gauge('9bad', 'h', [
      [{}, 1],
      [{ a: 'b' }, 2],
    ]),
  );
  assert.equal(r.text, '');
  assert.equal(r.series, 0);
  assert.equal(r.invalid, 2);
});
