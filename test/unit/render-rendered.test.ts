import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gauge, type MetricFamily, type RenderedSeries } from '../../src/exposition/family.js';
import { render, renderSeries } from '../../src/exposition/render.js';
import { nameSeed } from '../../src/exposition/series-set.js';
import { collidingValues, slotZeroLabels } from '../helpers/hash-search.js';

// Families whose series arrive already rendered (a device's client metrics, kept as text between cycles).
// Only renderSeries makes such text; the writer checks it against the family's other series all the same.

const series = (name: string, rows: ReadonlyArray<readonly [Record<string, string>, number]>): RenderedSeries =>
  renderSeries(gauge(name, 'device help', rows), undefined, new Map()).rendered;

const renderedPart = (name: string, rendered: RenderedSeries): MetricFamily => ({
  name,
  help: 'device help',
  type: 'gauge',
  samples: [],
  rendered,
});

/** The lines of a RenderedSeries, as the writer puts them out (without HELP/TYPE). */
const linesOf = (name: string, rendered: RenderedSeries): string =>
  render([renderedPart(name, rendered)])
    .text.split('\n')
    .filter((l) => !l.startsWith('# '))
    .join('\n');

test('a Sample part and two rendered parts share one HELP/TYPE block, lines in order', () => {
  const dev1 = series('tailscaled_x', [
    [{ device_id: '1' }, 10],
    [{ device_id: '1', k: 'a' }, 11],
  ]);
  const dev2 = series('tailscaled_x', [[{ device_id: '2' }, 20]]);
  const { text, stats } = render([
    gauge('tailscaled_x', 'first help', [[{ device_id: '0' }, 1]]),
    renderedPart('tailscaled_x', dev1),
    renderedPart('tailscaled_x', dev2),
  ]);
  assert.equal(
    text,
    '# HELP tailscaled_x first help\n# TYPE tailscaled_x gauge\n' +
      'tailscaled_x{device_id="0"} 1\n' +
      'tailscaled_x{device_id="1"} 10\ntailscaled_x{device_id="1",k="a"} 11\n' +
      'tailscaled_x{device_id="2"} 20\n',
  );
  assert.equal(stats.series, 4);
  assert.equal(stats.invalid, 0);
  assert.equal(stats.duplicates, 0);
});

test('rendered parts alone: HELP/TYPE from the first part, series counted from the parts', () => {
  const { text, stats } = render([
    renderedPart('tailscaled_y', series('tailscaled_y', [[{ device_id: '1' }, 1]])),
    renderedPart(
      'tailscaled_y',
      series('tailscaled_y', [
        [{ device_id: '2' }, 2],
        [{ device_id: '2', q: '1' }, 3],
      ]),
    ),
  ]);
  assert.equal(text.split('\n').filter((l) => l.startsWith('# HELP ')).length, 1);
  assert.equal(text.split('\n').filter((l) => l.startsWith('# TYPE ')).length, 1);
  assert.ok(
    text.startsWith('# HELP tailscaled_y device help\n# TYPE tailscaled_y gauge\ntailscaled_y{device_id="1"} 1\n'),
  );
  assert.equal(stats.series, 3);
});

test('a rendered part with no series writes nothing, not even HELP/TYPE', () => {
  const { text, stats } = render([renderedPart('tailscaled_empty', series('tailscaled_empty', []))]);
  assert.equal(text, '');
  assert.equal(stats.series, 0);
  // ... and does not open the block for a later empty Sample part either.
  const both = render([
    renderedPart('tailscaled_empty', series('tailscaled_empty', [])),
    gauge('tailscaled_empty', 'h', []),
  ]);
  assert.equal(both.text, '');
  // A non-empty rendered part after an empty one still writes HELP/TYPE once.
  const later = render([
    renderedPart('tailscaled_e', series('tailscaled_e', [])),
    renderedPart('tailscaled_e', series('tailscaled_e', [[{}, 1]])),
  ]);
  assert.equal(later.text, '# HELP tailscaled_e device help\n# TYPE tailscaled_e gauge\ntailscaled_e 1\n');
});

test('renderSeries renders the lines without HELP/TYPE and counts invalid and repeated samples', () => {
  const fam = gauge('tailscaled_z', 'help', [
    [{ device_id: '1' }, 1],
    [{ 'bad-label': 'v' }, 2],
    [{ device_id: '2', name: 'a"b' }, 3],
    [{ __reserved: 'x' }, 4],
    [{}, NaN],
    [{ device_id: '1' }, 5],
  ]);
  const r = renderSeries(fam, undefined, new Map());
  assert.equal(r.invalid, 2);
  assert.equal(r.duplicates, 1);
  assert.equal(r.rendered.series, 3);
  const lines = 'tailscaled_z{device_id="1"} 1\ntailscaled_z{device_id="2",name="a\\"b"} 3\ntailscaled_z NaN\n';
  assert.equal(linesOf('tailscaled_z', r.rendered), lines);
  // Rendered through the writer, the same lines appear under one HELP/TYPE.
  const { text } = render([{ ...fam, samples: [], rendered: r.rendered }]);
  assert.equal(text, `# HELP tailscaled_z help\n# TYPE tailscaled_z gauge\n${lines}`);
});

test("renderSeries puts the first labels before each sample's own, and rejects a sample repeating one", () => {
  const fam = gauge('tailscaled_w', 'help', [
    [{}, 1],
    [{ path: 'derp' }, 2],
    [{ device_id: 'other' }, 3],
  ]);
  const r = renderSeries(fam, { device_id: 'd"1', device_name: 'n' }, new Map());
  assert.equal(r.invalid, 1);
  assert.equal(
    linesOf('tailscaled_w', r.rendered),
    'tailscaled_w{device_id="d\\"1",device_name="n"} 1\ntailscaled_w{device_id="d\\"1",device_name="n",path="derp"} 2\n',
  );
});

test('renderSeries of a family with an invalid name counts every sample as invalid', () => {
  const r = renderSeries(
    gauge('9bad', 'h', [
      [{}, 1],
      [{ a: 'b' }, 2],
    ]),
    undefined,
    new Map(),
  );
  assert.equal(r.rendered.series, 0);
  assert.equal(r.invalid, 2);
});

test('the same series from two devices, or from a collector and a device, is written once and counted', () => {
  // With the old trust flag (pre-rendered parts taken as distinct) both lines were written.
  const a = series('tailscaled_d', [[{ device_id: '1' }, 1]]);
  const b = series('tailscaled_d', [
    [{ device_id: '1' }, 2],
    [{ device_id: '2' }, 3],
  ]);
  const { text, stats } = render([
    renderedPart('tailscaled_d', a),
    renderedPart('tailscaled_d', b),
    gauge('tailscaled_d', 'h', [[{ device_id: '2' }, 4]]),
  ]);
  assert.equal(
    text,
    '# HELP tailscaled_d device help\n# TYPE tailscaled_d gauge\n' +
      'tailscaled_d{device_id="1"} 1\ntailscaled_d{device_id="2"} 3\n',
  );
  assert.equal(stats.duplicates, 2);
  assert.equal(stats.series, 2);
  assert.equal(stats.firstDrop, 'duplicate series in tailscaled_d');
});

test("a collector's series with a device's id and name first repeats a device text's line with the same labels", () => {
  // The writer takes a device's two labels' text and hash from its per-device memo; the device text's lines are
  // hashed from their text: the two hashes must agree for the repeat to be found.
  const device = renderSeries(
    gauge('tailscaled_f', 'device help', [
      [{ feature: 'x' }, 1],
      [{ feature: 'y' }, 2],
    ]),
    Object.freeze({ device_id: 'd1', device_name: 'n"1' }),
    new Map(),
  ).rendered;
  const { text, stats } = render([
    renderedPart('tailscaled_f', device),
    gauge('tailscaled_f', 'h', [
      [{ device_id: 'd1', device_name: 'n"1', feature: 'x' }, 3],
      [{ device_id: 'd1', device_name: 'n"1', feature: 'z' }, 4],
    ]),
  ]);
  assert.equal(
    text,
    '# HELP tailscaled_f device help\n# TYPE tailscaled_f gauge\n' +
      'tailscaled_f{device_id="d1",device_name="n\\"1",feature="x"} 1\n' +
      'tailscaled_f{device_id="d1",device_name="n\\"1",feature="y"} 2\n' +
      'tailscaled_f{device_id="d1",device_name="n\\"1",feature="z"} 4\n',
  );
  assert.equal(stats.duplicates, 1);
});

test('text not made by renderSeries, or made for another family, is never written', () => {
  const forged = { series: 1, text: 'injected 1\n' } as RenderedSeries;
  const other = series('tailscaled_other', [[{}, 1]]);
  const { text, stats } = render([renderedPart('tailscaled_f', forged), renderedPart('tailscaled_f', other)]);
  assert.equal(text, '');
  assert.equal(stats.invalid, 2);
  // A histogram's series text handed in under a gauge of the same name is refused too.
  const hist = renderSeries(
    {
      name: 'tailscaled_h',
      help: 'h',
      type: 'histogram',
      samples: [{ name: 'tailscaled_h_count', labels: {}, value: 1 }],
    },
    undefined,
    new Map(),
  ).rendered;
  assert.equal(render([renderedPart('tailscaled_h', hist)]).text, '');
});

// Device texts rendered with the device's labels first (as exposition/device-text.ts does) are admitted whole
// while their prefixes tell them apart; every way that proof breaks falls back to the line-by-line check.

const deviceText = (
  name: string,
  first: Record<string, string>,
  rows: ReadonlyArray<readonly [Record<string, string>, number]>,
  type: MetricFamily['type'] = 'gauge',
): MetricFamily => ({
  name,
  help: 'device help',
  type,
  samples: [],
  rendered: renderSeries(
    { name, help: 'device help', type, samples: rows.map(([labels, value]) => ({ name, labels, value })) },
    first,
    new Map(),
  ).rendered,
});

const bodyLines = (text: string): string[] => text.split('\n').filter((l) => l !== '' && !l.startsWith('# '));

test('device texts with distinct prefixes are all written, in order', () => {
  const { text, stats } = render([
    deviceText('tailscaled_p', { device_id: '1' }, [
      [{}, 1],
      [{ k: 'a' }, 2],
    ]),
    deviceText('tailscaled_p', { device_id: '2' }, [[{ k: 'a' }, 3]]),
  ]);
  assert.deepEqual(bodyLines(text), [
    'tailscaled_p{device_id="1"} 1',
    'tailscaled_p{device_id="1",k="a"} 2',
    'tailscaled_p{device_id="2",k="a"} 3',
  ]);
  assert.equal(stats.series, 3);
  assert.equal(stats.duplicates, 0);
});

test('a device text whose prefix repeats an earlier one is checked line by line against every earlier line', () => {
  const { text, stats } = render([
    deviceText('tailscaled_r', { device_id: '1' }, [
      [{}, 1],
      [{ k: 'a' }, 2],
    ]),
    deviceText('tailscaled_r', { device_id: '2' }, [[{}, 3]]),
    deviceText('tailscaled_r', { device_id: '1' }, [
      [{ k: 'a' }, 5],
      [{ k: 'b' }, 6],
    ]),
    // After the fallback, a later device with a new prefix is still checked against the lines above.
    deviceText('tailscaled_r', { device_id: '2' }, [[{}, 7]]),
  ]);
  assert.deepEqual(bodyLines(text), [
    'tailscaled_r{device_id="1"} 1',
    'tailscaled_r{device_id="1",k="a"} 2',
    'tailscaled_r{device_id="2"} 3',
    'tailscaled_r{device_id="1",k="b"} 6',
  ]);
  assert.equal(stats.duplicates, 2);
  assert.equal(stats.series, 4);
});

test('device texts whose prefixes have other label names are not trusted to differ', () => {
  // {device_id} + own {device_name} and {device_id, device_name} + no own labels give the same series.
  const { text, stats } = render([
    deviceText('tailscaled_n', { device_id: '1' }, [[{ device_name: 'n' }, 1]]),
    deviceText('tailscaled_n', { device_id: '1', device_name: 'n' }, [[{}, 2]]),
  ]);
  assert.deepEqual(bodyLines(text), ['tailscaled_n{device_id="1",device_name="n"} 1']);
  assert.equal(stats.duplicates, 1);
});

test('a device text in a family that also has samples is checked against them line by line', () => {
  const { text, stats } = render([
    deviceText('tailscaled_m', { device_id: '1' }, [[{}, 1]]),
    gauge('tailscaled_m', 'h', [
      [{ device_id: '1' }, 2],
      [{ device_id: '3' }, 4],
    ]),
  ]);
  assert.deepEqual(bodyLines(text), ['tailscaled_m{device_id="1"} 1', 'tailscaled_m{device_id="3"} 4']);
  assert.equal(stats.duplicates, 1);
});

test("a device's histogram text and a family named like one of its suffixes do not repeat a series", () => {
  const histogram: MetricFamily = {
    name: 'tailscaled_h',
    help: 'h',
    type: 'histogram',
    samples: [],
    rendered: renderSeries(
      {
        name: 'tailscaled_h',
        help: 'h',
        type: 'histogram',
        samples: [
          { name: 'tailscaled_h_bucket', labels: { le: '+Inf' }, value: 2 },
          { name: 'tailscaled_h_count', labels: {}, value: 2 },
        ],
      },
      { device_id: '1' },
      new Map(),
    ).rendered,
  };
  const { text, stats } = render([
    histogram,
    deviceText('tailscaled_h_count', { device_id: '1' }, [[{}, 9]]),
    deviceText('tailscaled_h_count', { device_id: '2' }, [[{}, 8]]),
  ]);
  assert.deepEqual(bodyLines(text), [
    'tailscaled_h_bucket{device_id="1",le="+Inf"} 2',
    'tailscaled_h_count{device_id="1"} 2',
    'tailscaled_h_count{device_id="2"} 8',
  ]);
  assert.equal(stats.duplicates, 1);
});

test('line by line, the lines of a text before its first repeated line are kept', () => {
  const { text, stats } = render([
    deviceText('tailscaled_k', { device_id: '1' }, [[{ k: 'a' }, 1]]),
    deviceText('tailscaled_k', { device_id: '1' }, [
      [{ k: 'b' }, 2],
      [{ k: 'a' }, 3],
      [{ k: 'c' }, 4],
    ]),
  ]);
  assert.deepEqual(bodyLines(text), [
    'tailscaled_k{device_id="1",k="a"} 1',
    'tailscaled_k{device_id="1",k="b"} 2',
    'tailscaled_k{device_id="1",k="c"} 4',
  ]);
  assert.equal(stats.duplicates, 1);
});

test('line by line, lines without labels are told apart from lines with them', () => {
  // Texts without a device prefix all share the empty one, so the second is checked line by line, and so
  // are the lines of the first: a line without labels followed by one with labels, and the reverse.
  const { text, stats } = render([
    renderedPart(
      'tailscaled_l',
      series('tailscaled_l', [
        [{}, 1],
        [{ k: 'a' }, 2],
      ]),
    ),
    renderedPart(
      'tailscaled_l',
      series('tailscaled_l', [
        [{ k: 'b' }, 3],
        [{}, 4],
        [{ k: 'a' }, 5],
      ]),
    ),
    // A line without labels last in its text (no brace after it) is still read as one.
    renderedPart(
      'tailscaled_l',
      series('tailscaled_l', [
        [{ k: 'c' }, 6],
        [{}, 7],
      ]),
    ),
    // And a sample without labels is the same series as such a line.
    gauge('tailscaled_l', 'device help', [[{}, 8]]),
  ]);
  assert.deepEqual(bodyLines(text), [
    'tailscaled_l 1',
    'tailscaled_l{k="a"} 2',
    'tailscaled_l{k="b"} 3',
    'tailscaled_l{k="c"} 6',
  ]);
  assert.equal(stats.duplicates, 4);
  assert.equal(stats.series, 4);
});

test('renderSeries with device labels whose name is invalid renders nothing and counts every sample', () => {
  const r = renderSeries(
    gauge('tailscaled_i', 'h', [
      [{}, 1],
      [{ k: 'a' }, 2],
    ]),
    { 'device-id': '1' },
    new Map(),
  );
  assert.equal(r.rendered.series, 0);
  assert.equal(r.invalid, 2);
  assert.equal(linesOf('tailscaled_i', r.rendered), '');
});

test('renderSeries without device labels renders each sample with its own labels only', () => {
  const r = renderSeries(
    gauge('tailscaled_o', 'h', [
      [{ device_id: 'x' }, 1],
      [{}, 2],
    ]),
    undefined,
    new Map(),
  );
  assert.equal(r.invalid, 0);
  assert.equal(linesOf('tailscaled_o', r.rendered), 'tailscaled_o{device_id="x"} 1\ntailscaled_o 2\n');
});

test('renderSeries finds a repeat in the first slot of its table, and keeps two series whose hashes meet', () => {
  const name = 'tailscaled_slot';
  const zero = slotZeroLabels((h) => (h ^ nameSeed(name)) & 0x3fffffff);
  const atZero = renderSeries(
    gauge(name, 'h', [
      [zero, 1],
      [zero, 2],
    ]),
    { device_id: '1' },
    new Map(),
  );
  assert.equal(atZero.duplicates, 1);
  assert.equal(atZero.rendered.series, 1);

  const [a, b] = collidingValues();
  const met = renderSeries(
    gauge(name, 'h', [
      [{ v: a }, 1],
      [{ v: b }, 2],
      [{ v: b }, 3],
      [{ v: a }, 4],
    ]),
    { device_id: '1' },
    new Map(),
  );
  assert.equal(met.duplicates, 2);
  assert.equal(linesOf(name, met.rendered), `${name}{device_id="1",v="${a}"} 1\n${name}{device_id="1",v="${b}"} 2\n`);
});

test('label sets that can change are rendered anew each time; frozen ones are rendered once', () => {
  const device: Record<string, string> = { device_id: '1' };
  const fam = gauge('tailscaled_m', 'h', [[{}, 1]]);
  assert.equal(
    linesOf('tailscaled_m', renderSeries(fam, device, new Map()).rendered),
    'tailscaled_m{device_id="1"} 1\n',
  );
  device.device_id = '2';
  assert.equal(
    linesOf('tailscaled_m', renderSeries(fam, device, new Map()).rendered),
    'tailscaled_m{device_id="2"} 1\n',
  );

  const labels: Record<string, string> = { a: '1' };
  assert.ok(render([gauge('g', 'h', [[labels, 1]])]).text.includes('g{a="1"} 1'));
  labels.a = '2';
  assert.ok(render([gauge('g', 'h', [[labels, 1]])]).text.includes('g{a="2"} 1'));

  // A frozen invalid set is remembered as invalid, every time it is met.
  const bad = Object.freeze({ 'bad-name': 'x' });
  for (let i = 0; i < 2; i++) {
    const { text, stats } = render([
      gauge('g', 'h', [
        [bad, 1],
        [bad, 2],
      ]),
    ]);
    assert.equal(stats.invalid, 2);
    assert.equal(text, '');
  }
});

test('a SeriesText cannot be made outside renderSeries, even through its constructor', () => {
  const made = renderSeries(gauge('tailscaled_c', 'h', [[{}, 1]]), undefined, new Map()).rendered;
  const Ctor = (made as object).constructor as new (...args: unknown[]) => unknown;
  assert.throws(() => new Ctor(Symbol('SeriesText'), 'tailscaled_c', 'gauge', 'tailscaled_c 2\n', 1), {
    name: 'TypeError',
    message: 'SeriesText is made by renderSeries only',
  });
});
