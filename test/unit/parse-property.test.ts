// Property tests for src/devices/parse/ with fast-check, against the writer it feeds
// (src/exposition/render.ts):
//  1. render -> parse is the identity on valid families (any unicode in label values and HELP text,
//     any float incl. NaN and ±Inf, counters/gauges/untyped, well-formed histograms and summaries);
//  2. on arbitrary and on mutated input the parser never throws, and whatever it accepts renders without
//     drops and parses back to the same families.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseExposition, type ParseResult } from '../../src/devices/parse/index.js';
import type { Labels, MetricFamily, Sample } from '../../src/exposition/family.js';
import { render } from '../../src/exposition/render.js';

// ----- helpers

const byName = (families: readonly MetricFamily[]): MetricFamily[] =>
  [...families].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/**
 * render.ts writes -0 as "0" (formatValue uses String(), Go writes "-0"), so a parsed -0 comes back as 0.
 * Comparisons map -0 to 0 until that is fixed; NaN compares equal to NaN under deepStrictEqual already.
 */
const zeroSign = (families: readonly MetricFamily[]): MetricFamily[] =>
  families.map((f) => ({ ...f, samples: f.samples.map((s) => (Object.is(s.value, -0) ? { ...s, value: 0 } : s)) }));

const sampleCount = (families: readonly MetricFamily[]): number => families.reduce((n, f) => n + f.samples.length, 0);

/** Property 2's check: any accepted result survives render and a second parse unchanged. */
function assertRoundTrip(result: ParseResult, input: string): void {
  if (!result.ok) {
    assert.ok(result.error.reason === 'parse' || result.error.reason === 'too_many_series');
    assert.ok(Number.isInteger(result.error.line) && result.error.line >= 1, `line ${result.error.line}`);
    assert.ok(result.error.line <= input.split('\n').length, `line ${result.error.line} beyond the input`);
    assert.equal(typeof result.error.message, 'string');
    return;
  }
  const rendered = render(result.families);
  assert.deepStrictEqual(rendered.stats, {
    series: sampleCount(result.families),
    invalid: 0,
    duplicates: 0,
    typeConflicts: 0,
  });
  const again = parseExposition(rendered.text);
  if (!again.ok)
    assert.fail(`rendered output rejected on line ${again.error.line}: ${again.error.message}\n${rendered.text}`);
  assert.equal(again.format, 'text-0.0.4');
  assert.deepStrictEqual(zeroSign(again.families), zeroSign(byName(result.families)));
}

// ----- arbitraries for valid families

const SAMPLE_SUFFIXES = ['_bucket', '_sum', '_count'];

/**
 * Metric names. Names ending in a histogram/summary suffix are left out so that no family's own name is
 * another family's sample name (render.ts does not deduplicate series across families).
 */
const metricName = fc
  .stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,14}$/)
  .filter((n) => !SAMPLE_SUFFIXES.some((s) => n.endsWith(s)));

const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,9}$/).filter((n) => !n.startsWith('__'));

/** Any unicode, plus strings dense in the characters the format escapes or uses as delimiters. */
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({
    unit: fc.constantFrom(
      '"',
      '\\',
      '\n',
      '\r',
      '\t',
      ' ',
      '{',
      '}',
      ',',
      '=',
      '#',
      'n',
      'a',
      'é',
      '\u2028',
      '\0',
      '😀',
    ),
    maxLength: 16,
  }),
);

/** The parser skips blanks before HELP text and strips CRs before a line feed: render cannot carry those. */
const helpText = text.filter((h) => !/^[ \t]/.test(h) && !h.endsWith('\r'));

/** Any double, including NaN and ±Inf; -0 becomes 0 (see zeroSign). */
const value = fc
  .oneof(fc.double(), fc.constantFrom(Number.NaN, Infinity, -Infinity, 0, 1, 1e21, 5e-324))
  .map((v) => (Object.is(v, -0) ? 0 : v));
const count = fc
  .oneof(fc.nat(), fc.double({ min: 0, noNaN: true }), fc.constant(Number.NaN))
  .map((v) => (Object.is(v, -0) ? 0 : v));

const canonical = (labels: Labels): string =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));

/** Distinct label sets (as sets: two orders of the same pairs are the same series). */
const labelSets = (exclude: string[], minLength: number, maxLength: number) =>
  fc.uniqueArray(
    fc
      .uniqueArray(
        fc.tuple(
          labelName.filter((n) => !exclude.includes(n)),
          text,
        ),
        { selector: ([n]) => n, maxLength: 4 },
      )
      .map((pairs): Labels => Object.fromEntries(pairs)),
    { selector: canonical, minLength, maxLength },
  );

const plainFamily = fc
  .record({
    name: metricName,
    type: fc.constantFrom('counter' as const, 'gauge' as const, 'untyped' as const),
    help: helpText,
    series: labelSets([], 1, 5),
  })
  .chain(({ name, type, help, series }) =>
    fc.array(value, { minLength: series.length, maxLength: series.length }).map((values): MetricFamily => ({
      name,
      type,
      help,
      samples: series.map((labels, i) => ({ name, labels, value: values[i]! })),
    })),
  );

const histogramSeries = (name: string, base: Labels) =>
  fc
    .tuple(
      fc.uniqueArray(
        fc.double({ noNaN: true, noDefaultInfinity: true }).map((b) => (Object.is(b, -0) ? 0 : b)),
        { maxLength: 4 },
      ),
      fc.array(count, { minLength: 5, maxLength: 5 }),
      value,
      count,
    )
    .map(([bounds, counts, sum, total]): Sample[] => [
      ...[...bounds.sort((a, b) => a - b).map(String), '+Inf'].map((le, i) => ({
        name: `${name}_bucket`,
        labels: { ...base, le },
        value: counts[i]!,
      })),
      { name: `${name}_sum`, labels: base, value: sum },
      { name: `${name}_count`, labels: base, value: total },
    ]);

const histogramFamily = fc
  .record({ name: metricName, help: helpText, series: labelSets(['le'], 1, 3) })
  .chain(({ name, help, series }) =>
    fc
      .tuple(...series.map((base) => histogramSeries(name, base)))
      .map((parts): MetricFamily => ({ name, type: 'histogram', help, samples: parts.flat() })),
  );

const summarySeries = (name: string, base: Labels) =>
  fc
    .tuple(
      fc.uniqueArray(fc.double({ min: 0, max: 1, noNaN: true }).map(String), { maxLength: 3 }),
      fc.array(value, { minLength: 3, maxLength: 3 }),
      value,
      count,
    )
    .map(([quantiles, values, sum, total]): Sample[] => [
      ...quantiles.map((quantile, i) => ({ name, labels: { ...base, quantile }, value: values[i]! })),
      { name: `${name}_sum`, labels: base, value: sum },
      { name: `${name}_count`, labels: base, value: total },
    ]);

const summaryFamily = fc
  .record({ name: metricName, help: helpText, series: labelSets(['quantile'], 1, 3) })
  .chain(({ name, help, series }) =>
    fc
      .tuple(...series.map((base) => summarySeries(name, base)))
      .map((parts): MetricFamily => ({ name, type: 'summary', help, samples: parts.flat() })),
  );

const families = fc.uniqueArray(fc.oneof({ weight: 3, arbitrary: plainFamily }, histogramFamily, summaryFamily), {
  selector: (f) => f.name,
  maxLength: 6,
});

// ----- property 1

describe('parse(render(families)) === families', () => {
  it('holds for arbitrary valid families', () => {
    fc.assert(
      fc.property(families, (input) => {
        const rendered = render(input);
        assert.deepStrictEqual(rendered.stats, {
          series: sampleCount(input),
          invalid: 0,
          duplicates: 0,
          typeConflicts: 0,
        });
        const result = parseExposition(rendered.text);
        if (!result.ok) assert.fail(`line ${result.error.line}: ${result.error.message}\n${rendered.text}`);
        assert.equal(result.format, 'text-0.0.4');
        assert.deepStrictEqual(result.families, byName(input));
      }),
      { numRuns: 500 },
    );
  });

  it('holds for one gauge with an arbitrary label value and HELP text (dense run)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), helpText, value, (labelValue, help, v) => {
        const input: MetricFamily[] = [
          { name: 'g', type: 'gauge', help, samples: [{ name: 'g', labels: { l: labelValue }, value: v }] },
        ];
        const result = parseExposition(render(input).text);
        assert.ok(result.ok);
        assert.deepStrictEqual(result.families, input);
      }),
      { numRuns: 1000 },
    );
  });
});

// ----- property 2

/** Valid payloads to mutate: hand-written ones covering every construct, plus rendered random families. */
const SEEDS = [
  [
    '# TYPE tailscaled_inbound_bytes_total counter',
    '# HELP tailscaled_inbound_bytes_total Counts the number of bytes received from other peers',
    'tailscaled_inbound_bytes_total{path="derp"} 13972',
    'tailscaled_inbound_bytes_total{path="direct_ipv4"} 1.3997076e+07 1712345678901',
    '# TYPE tailscaled_health_messages gauge',
    'tailscaled_health_messages{type="warning",x="q\\"\\\\\\n"} NaN',
    '',
  ].join('\n'),
  [
    '# HELP h Latency \\\\ "quoted" \\n second line',
    '# TYPE h histogram',
    'h_bucket{a="1",le="0.5"} 1',
    'h_bucket{a="1",le="+Inf"} 2',
    'h_sum{a="1"} -Inf',
    'h_count{a="1"} 2',
    '# TYPE s summary',
    's{quantile="0.99",} 3',
    's_sum 4',
    's_count 5',
    'u { b = "2" , a="1" } +Inf',
    '',
  ].join('\r\n'),
  [
    '# TYPE c counter',
    '# UNIT c bytes',
    'c_total{p="a"} 1 1520879607.789 # {trace_id="x"} 1 2',
    'c_created{p="a"} 1520430000',
    '# TYPE i info',
    'i_info{v="1"} 1',
    '# TYPE st stateset',
    'st{st="a"} 1',
    '# TYPE gh gaugehistogram',
    'gh_bucket{le="+Inf"} 1',
    'gh_gcount 1',
    '# EOF',
    '',
  ].join('\n'),
];

const ALPHABET = [
  '"',
  '\\',
  '\n',
  '\r',
  '\r\n',
  '{',
  '}',
  ',',
  '=',
  ' ',
  '\t',
  '#',
  'e',
  'E',
  '+',
  '-',
  '.',
  '_',
  '0',
  '9',
  'a',
  'x',
  'é',
  '😀',
  '\uD800',
  'NaN',
  'Inf',
  '# EOF\n',
  '# TYPE ',
  '# HELP ',
  '# UNIT x s\n',
  ' # {a="b"} 1',
  '_total',
  '_bucket',
  '_sum',
  '_count',
  '_created',
  '_info',
  'le="',
  'quantile="0.5"',
  ' histogram',
  ' summary',
  ' counter',
  ' info',
  '\\n',
  '\\"',
  '\\\\',
];

type Mutation = { kind: 'insert' | 'delete' | 'replace' | 'duplicate-line' | 'swap-lines'; at: number; text: string };

const mutation = fc.record({
  kind: fc.constantFrom(
    'insert' as const,
    'delete' as const,
    'replace' as const,
    'duplicate-line' as const,
    'swap-lines' as const,
  ),
  at: fc.nat(),
  text: fc.oneof(fc.constantFrom(...ALPHABET), fc.string({ unit: 'binary', maxLength: 3 })),
});

function mutate(input: string, mutations: readonly Mutation[]): string {
  let s = input;
  for (const m of mutations) {
    const at = m.at % (s.length + 1);
    switch (m.kind) {
      case 'insert':
        s = s.slice(0, at) + m.text + s.slice(at);
        break;
      case 'delete':
        s = s.slice(0, at) + s.slice(at + 1 + (m.text.length % 4));
        break;
      case 'replace':
        s = s.slice(0, at) + m.text + s.slice(at + m.text.length);
        break;
      case 'duplicate-line':
      case 'swap-lines': {
        const lines = s.split('\n');
        const i = at % lines.length;
        const j = (i + 1 + (m.text.length % 3)) % lines.length;
        if (m.kind === 'duplicate-line') lines.splice(j, 0, lines[i]!);
        else [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        s = lines.join('\n');
        break;
      }
    }
  }
  return s;
}

/** What the scraper hands the parser: text decoded from bytes, so never a lone surrogate. */
const decoded = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

const seed = fc.oneof(
  fc.constantFrom(...SEEDS),
  families.map((f) => render(f).text),
);

describe('parser robustness', () => {
  it('never throws on arbitrary strings, and what it accepts round-trips through render', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 60 }),
        ),
        (raw) => {
          const input = decoded(raw);
          assertRoundTrip(parseExposition(input), input);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never throws on mutated valid payloads, and what it accepts round-trips through render', () => {
    let accepted = 0;
    fc.assert(
      fc.property(seed, fc.array(mutation, { minLength: 1, maxLength: 4 }), (base, mutations) => {
        const input = decoded(mutate(base, mutations));
        const result = parseExposition(input);
        if (result.ok) accepted++;
        assertRoundTrip(result, input);
      }),
      { numRuns: 3000 },
    );
    // The mutations must leave a fair share of inputs valid, or the round-trip half tests nothing.
    assert.ok(accepted > 300, `only ${accepted} mutated payloads were accepted`);
  });

  it('small limits fail cleanly with too_many_series or a line-length error', () => {
    fc.assert(
      fc.property(seed, fc.nat({ max: 8 }), fc.integer({ min: 8, max: 80 }), (input, maxSeries, maxLineLength) => {
        const result = parseExposition(input, { maxSeries, maxLineLength });
        if (result.ok) {
          assert.ok(sampleCount(result.families) <= maxSeries);
          assert.ok(input.split('\n').every((l) => l.length <= maxLineLength));
        } else {
          assert.ok(result.error.line >= 1);
        }
      }),
      { numRuns: 300 },
    );
  });
});
