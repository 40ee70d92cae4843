import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHelp, escapeLabelValue, formatValue } from '../../src/exposition/escape.js';
import { counter, gauge, type MetricFamily } from '../../src/exposition/family.js';
import { render } from '../../src/exposition/render.js';

test('label values escape backslash, quote and newline; HELP escapes backslash and newline', () => {
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  assert.equal(escapeLabelValue('plain'), 'plain');
  assert.equal(escapeHelp('a "b" \\ c\nd'), 'a "b" \\\\ c\\nd');
});

test('values in Prometheus float syntax', () => {
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
  assert.equal(formatValue(1.5e-7), '1.5e-7');
  assert.equal(formatValue(42), '42');
});

test('a hostile device name cannot inject a series', () => {
  const evil = 'a"b\\c\nfake_metric{x="1"} 1\n';
  const { text } = render([gauge('tailscale_device_online', 'h', [[{ device_id: '1', device_name: evil }, 1]])]);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 3, text);
  assert.equal(
    lines[2],
    'tailscale_device_online{device_id="1",device_name="a\\"b\\\\c\\nfake_metric{x=\\"1\\"} 1\\n"} 1',
  );
  assert.ok(!/^fake_metric/m.test(text));
});

test('one HELP/TYPE per family, families sorted and contiguous, duplicates dropped', () => {
  const fams: MetricFamily[] = [
    gauge('b_metric', 'b', [[{ x: '1' }, 1]]),
    counter('a_total', 'first help wins', [[{ d: '1' }, 5]]),
    gauge('b_metric', 'b again', [
      [{ x: '2' }, 2],
      [{ x: '1' }, 9],
    ]),
    counter('a_total', 'second', [[{ d: '2' }, 6]]),
  ];
  const { text, stats } = render(fams);
  assert.equal(
    text,
    '# HELP a_total first help wins\n# TYPE a_total counter\na_total{d="1"} 5\na_total{d="2"} 6\n' +
      '# HELP b_metric b\n# TYPE b_metric gauge\nb_metric{x="1"} 1\nb_metric{x="2"} 2\n',
  );
  assert.equal(stats.duplicates, 1);
  assert.equal(stats.series, 4);
});

test('a TYPE conflict keeps the first family and counts the conflict', () => {
  const { text, stats } = render([counter('x_total', 'c', [[{}, 1]]), gauge('x_total', 'g', [[{}, 2]])]);
  assert.match(text, /# TYPE x_total counter\nx_total 1\n$/);
  assert.equal(stats.typeConflicts, 1);
});

test('invalid metric and label names are dropped and counted, not written', () => {
  const { text, stats } = render([
    gauge('9bad', 'h', [[{}, 1]]),
    gauge('ok_metric', 'h', [
      [{ 'bad-label': 'v' }, 1],
      [{ __reserved: 'v' }, 1],
      [{ good: 'v' }, 1],
    ]),
  ]);
  assert.equal(text, '# HELP ok_metric h\n# TYPE ok_metric gauge\nok_metric{good="v"} 1\n');
  assert.equal(stats.invalid, 3);
});

test('histograms keep their _bucket/_sum/_count samples; foreign sample names are dropped', () => {
  const { text } = render([
    {
      name: 'h_seconds',
      type: 'histogram',
      help: 'h',
      samples: [
        { name: 'h_seconds_bucket', labels: { le: '1' }, value: 1 },
        { name: 'h_seconds_bucket', labels: { le: '+Inf' }, value: 2 },
        { name: 'h_seconds_sum', labels: {}, value: 1.5 },
        { name: 'h_seconds_count', labels: {}, value: 2 },
        { name: 'other', labels: {}, value: 2 },
      ],
    },
  ]);
  assert.equal(text.split('\n').filter((l) => l.startsWith('h_seconds')).length, 4);
  assert.ok(!text.includes('other'));
});

test('empty families are not written', () => {
  assert.equal(render([gauge('nothing', 'h', [])]).text, '');
});

test('a series is written once, also across families (histogram _count vs a family named so)', () => {
  const { text, stats } = render([
    {
      name: 'h',
      type: 'histogram',
      help: 'h',
      samples: [
        { name: 'h_bucket', labels: { le: '+Inf' }, value: 1 },
        { name: 'h_count', labels: {}, value: 1 },
        { name: 'h_sum', labels: {}, value: 1 },
      ],
    },
    gauge('h_count', 'clash', [[{}, 5]]),
    gauge('x', 'x', [
      [{ a: '1', b: '2' }, 1],
      [{ a: '1', b: '2' }, 2],
    ]),
  ]);
  assert.equal(text.match(/^h_count /gm)?.length, 1, text);
  assert.equal(text.match(/^x\{/gm)?.length, 1, text);
  assert.equal(stats.duplicates, 2);
});

test('negative zero keeps its sign', () => {
  assert.equal(formatValue(-0), '-0');
});

test('writing a batch in turns (writeAsync) gives the same result as render', async () => {
  const { ByteSink, ExpositionWriter } = await import('../../src/exposition/render.js');
  const { Slicer } = await import('../../src/slicer.js');
  const fams = [
    gauge(
      'g',
      'h',
      Array.from({ length: 5000 }, (_, i) => [{ i: String(i % 4000) }, i] as const),
    ),
  ];
  const a = render(fams);
  const sink = new ByteSink();
  const writer = new ExpositionWriter(sink);
  await writer.writeAsync(fams, new Slicer(0));
  assert.equal(sink.finish().toString('utf8'), a.text);
  assert.deepEqual(writer.stats, a.stats);
  assert.equal(a.stats.duplicates, 1000);
});
