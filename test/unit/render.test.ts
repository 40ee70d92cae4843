import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHelp, escapeLabelValue, formatValue } from '../../src/exposition/escape.js';
import { counter, gauge, type MetricFamily } from '../../src/exposition/family.js';
import { ByteSink, ExpositionWriter, render } from '../../src/exposition/render.js';
import { Slicer } from '../../src/slicer.js';
import { slotZeroLabels } from '../helpers/hash-search.js';

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

test('a histogram sample must carry a suffix; a summary quantile carries the family name; no foreign prefix', () => {
  const { text, stats } = render([
    {
      name: 'h',
      help: 'x',
      type: 'histogram',
      samples: [
        { name: 'h', labels: {}, value: 1 },
        { name: 'h_count', labels: {}, value: 2 },
      ],
    },
    {
      name: 'q',
      help: 'x',
      type: 'summary',
      samples: [
        { name: 'q', labels: { quantile: '0.5' }, value: 3 },
        // As long as `q` plus a summary suffix, but another family's name.
        { name: 'x_sum', labels: {}, value: 4 },
        { name: 'q_sum', labels: {}, value: 5 },
      ],
    },
  ]);
  assert.deepEqual(
    text.split('\n').filter((l) => l !== '' && !l.startsWith('#')),
    ['h_count 2', 'q{quantile="0.5"} 3', 'q_sum 5'],
  );
  assert.equal(stats.invalid, 2);
  assert.equal(stats.firstDrop, 'invalid name or label in h');
});

test('a metric name with a character outside [a-zA-Z0-9_:] after a valid start is invalid', () => {
  const { text, stats } = render([gauge('ok_name-not', 'h', [[{}, 1]]), gauge('ok:name_2', 'h', [[{}, 2]])]);
  assert.ok(!text.includes('ok_name'), text);
  assert.ok(text.includes('ok:name_2 2\n'), text);
  assert.equal(stats.invalid, 1);
});

test('the first drop is named by its kind; a family dropped with no series counts nothing', () => {
  assert.equal(render([gauge('bad-name', 'h', [])]).stats.firstDrop, undefined);
  assert.equal(render([gauge('bad-name', 'h', [])]).stats.invalid, 0);
  const dup = render([
    gauge('g', 'h', [
      [{ a: '1' }, 1],
      [{ a: '1' }, 2],
    ]),
    gauge('bad-name', 'h', [[{}, 1]]),
  ]).stats;
  assert.equal(dup.firstDrop, 'invalid name or label in bad-name', 'families are written in name order');
  const onlyDup = render([
    gauge('g', 'h', [
      [{ a: '1' }, 1],
      [{ a: '1' }, 2],
    ]),
  ]).stats;
  assert.equal(onlyDup.firstDrop, 'duplicate series in g');
  assert.equal(onlyDup.duplicates, 1);
  assert.equal(onlyDup.invalid, 0);
});

test("a later batch's family of a name already written is counted as duplicates when its type agrees", () => {
  const sink = new ByteSink();
  const writer = new ExpositionWriter(sink);
  writer.write([gauge('g', 'h', [[{ a: '1' }, 1]])]);
  writer.write([
    gauge('g', 'h', [
      [{ a: '2' }, 2],
      [{ a: '3' }, 3],
    ]),
  ]);
  assert.deepEqual(writer.stats, {
    series: 1,
    invalid: 0,
    duplicates: 2,
    typeConflicts: 0,
    firstDrop: 'duplicate series in g',
  });
  writer.write([counter('g', 'h', [[{ a: '4' }, 4]])]);
  assert.equal(writer.stats.invalid, 1);
  assert.equal(writer.stats.typeConflicts, 1);
  assert.equal(sink.finish().toString(), '# HELP g h\n# TYPE g gauge\ng{a="1"} 1\n');
});

test("a histogram's suffixed series repeated within the family is written once", () => {
  const { text, stats } = render([
    {
      name: 'h',
      help: 'x',
      type: 'histogram',
      samples: [
        { name: 'h_count', labels: { a: '1' }, value: 1 },
        { name: 'h_count', labels: { a: '1' }, value: 2 },
        { name: 'h_count', labels: { a: '2' }, value: 3 },
      ],
    },
  ]);
  assert.equal(text.split('\n').filter((l) => l.startsWith('h_count')).length, 2, text);
  assert.equal(stats.duplicates, 1);
});

test('a series that lands in the first slot of the check table is still found again', () => {
  const labels = slotZeroLabels();
  const { stats } = render([
    gauge('z', 'h', [
      [labels, 1],
      [labels, 2],
    ]),
  ]);
  assert.equal(stats.duplicates, 1);
  assert.equal(stats.series, 1);
});

test('writeAsync pauses while `wait` hands it a promise, and goes on when it settles', async () => {
  const sink = new ByteSink();
  const writer = new ExpositionWriter(sink);
  const rows = Array.from({ length: 1000 }, (_, i) => [{ i: String(i) }, i] as const);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let waits = 0;
  const done = writer.writeAsync([gauge('paced', 'h', rows)], new Slicer(0), () => (++waits === 1 ? gate : undefined));
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(waits, 1, 'no step ran while the promise was pending');
  release();
  await done;
  assert.ok(waits > 5, `${waits} steps`);
  assert.equal(sink.finish().toString(), render([gauge('paced', 'h', rows)]).text);
});

test('ByteSink grows for writes larger than its buffer, however large, and keeps every byte', () => {
  const sink = new ByteSink(0);
  sink.write('a'.repeat(100_000));
  sink.write('é'.repeat(150_000));
  sink.writeBytes(Buffer.alloc(1_000_000, 0x62));
  sink.write('z');
  const out = sink.finish();
  assert.equal(out.length, 100_000 + 300_000 + 1_000_000 + 1);
  const text = out.toString('utf8');
  assert.ok(text.startsWith('a'.repeat(100_000) + 'é'.repeat(150_000) + 'b'), 'order kept');
  assert.ok(text.endsWith('b'.repeat(1_000_000) + 'z'));
});

test('thousands of short series and families come out whole, each line once, across the chunks of the writer', () => {
  // Short lines fill the writer's fixed array of pieces long before its character threshold: every chunk
  // boundary (a sample's four pieces, a family's HELP/TYPE text) must hand over exactly what was written since the last.
  const rows = Array.from({ length: 3000 }, (_, i): readonly [{ i: string }, number] => [{ i: String(i) }, i]);
  const one = render([gauge('a', 'h', rows)]).text;
  assert.equal(one, `# HELP a h\n# TYPE a gauge\n${rows.map(([l, v]) => `a{i="${l.i}"} ${v}\n`).join('')}`);

  const names = Array.from({ length: 1500 }, (_, i) => `f${String(i).padStart(4, '0')}`);
  const many = render(names.map((n) => gauge(n, 'h', [[{}, 1]]))).text;
  assert.equal(many, names.map((n) => `# HELP ${n} h\n# TYPE ${n} gauge\n${n} 1\n`).join(''));
});

test('label sets that start with a device id and name render, hash and repeat like any other set, in their own key order', () => {
  const frozen = Object.freeze({ device_id: 'd1', device_name: 'a"b', feature: 'x' });
  const rows: Array<readonly [Record<string, string>, number]> = [
    [{ device_id: 'd1', device_name: 'a"b', feature: 'x' }, 1],
    [{ device_id: 'd1', device_name: 'a"b', feature: 'y' }, 2],
    // The same id under another name (a rename within one refresh): its own text, not the first name's.
    [{ device_id: 'd1', device_name: 'renamed', feature: 'x' }, 3],
    [{ device_name: 'n2', device_id: 'd2', feature: 'x' }, 4],
    [{ device_id: 'd3', feature: 'x', device_name: 'n3' }, 5],
    [{ device_id: 'd4', feature: 'x' }, 6],
    [{ device_id: 'd1', device_name: 'a"b' }, 7],
    // Repeats of the first series, as a new object and as a frozen (cached) one: both dropped.
    [{ device_id: 'd1', device_name: 'a"b', feature: 'x' }, 8],
    [frozen, 9],
  ];
  const { text, stats } = render([gauge('f', 'h', rows)]);
  assert.equal(
    text,
    [
      '# HELP f h',
      '# TYPE f gauge',
      'f{device_id="d1",device_name="a\\"b",feature="x"} 1',
      'f{device_id="d1",device_name="a\\"b",feature="y"} 2',
      'f{device_id="d1",device_name="renamed",feature="x"} 3',
      'f{device_name="n2",device_id="d2",feature="x"} 4',
      'f{device_id="d3",feature="x",device_name="n3"} 5',
      'f{device_id="d4",feature="x"} 6',
      'f{device_id="d1",device_name="a\\"b"} 7',
      '',
    ].join('\n'),
  );
  assert.equal(stats.duplicates, 2);
  // The frozen set rendered first, alone, makes the same line: the shortcut changes no text or hash.
  const alone = render([gauge('f', 'h', [[frozen, 9], rows[0]!])]);
  assert.equal(alone.text, '# HELP f h\n# TYPE f gauge\nf{device_id="d1",device_name="a\\"b",feature="x"} 9\n');
  assert.equal(alone.stats.duplicates, 1);
});
