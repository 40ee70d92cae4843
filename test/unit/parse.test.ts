// Edge cases of src/devices/parse/: the exposition format spec, scenarios modelled on
// prometheus/common expfmt text_parse_test.go (own cases, not copies), and the stricter rules of this
// exporter. Each rejection is checked with its line number.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseExposition, parseNumber, type ParseOptions, type ParseResult } from '../../src/devices/parse/index.js';
import type { Labels, MetricFamily, MetricType, Sample } from '../../src/exposition/family.js';
import { render } from '../../src/exposition/render.js';

// ----- helpers

const s = (name: string, labels: Labels, value: number): Sample => ({ name, labels, value });

const fam = (name: string, type: MetricType, help: string, samples: Sample[]): MetricFamily => ({
  name,
  type,
  help,
  samples,
});

/** A family whose samples all carry its name. */
const simple = (name: string, type: MetricType, help: string, ...series: [Labels, number][]): MetricFamily =>
  fam(
    name,
    type,
    help,
    series.map(([labels, value]) => s(name, labels, value)),
  );

function parseOk(text: string, options?: ParseOptions): Extract<ParseResult, { ok: true }> {
  const r = parseExposition(text, options);
  if (!r.ok) assert.fail(`expected success, got line ${r.error.line}: ${r.error.message}`);
  return r;
}

const lines = (...l: string[]): string => `${l.join('\n')}\n`;

// ----- accepted input

interface OkCase {
  readonly name: string;
  readonly in: string;
  readonly out: MetricFamily[];
  readonly format?: 'text-0.0.4' | 'openmetrics';
}

const accepted: OkCase[] = [
  { name: 'empty input', in: '', out: [] },
  { name: 'only empty lines, blanks and comments', in: '\n\n  \n\t\n# a comment\n#\n  # indented comment\n', out: [] },
  { name: 'minimal untyped sample', in: 'x 1\n', out: [simple('x', 'untyped', '', [{}, 1])] },
  {
    name: 'several untyped families, timestamps dropped, HELP for a family without samples dropped',
    in: lines(
      '',
      'minimal_metric 1.234',
      'another_metric -3e3 103948',
      '# Even that:',
      'no_labels{} 3',
      '# HELP line for non-existing metric is dropped.',
    ),
    out: [
      simple('minimal_metric', 'untyped', '', [{}, 1.234]),
      simple('another_metric', 'untyped', '', [{}, -3000]),
      simple('no_labels', 'untyped', '', [{}, 3]),
    ],
  },
  {
    name: 'label value escapes \\\\ \\" \\n and special characters',
    in: lines(String.raw`x{a="q\"uote",b="back\\slash",c="new\nline",d="} , = # { ' é 😀",e=""} 1`),
    out: [
      simple('x', 'untyped', '', [{ a: 'q"uote', b: 'back\\slash', c: 'new\nline', d: "} , = # { ' é 😀", e: '' }, 1]),
    ],
  },
  {
    name: 'escaped backslash before a quote and at the end of a value',
    in: lines(String.raw`x{a="\\",b="\\\"",c="x\\\\"} 1`),
    out: [simple('x', 'untyped', '', [{ a: '\\', b: '\\"', c: 'x\\\\' }, 1])],
  },
  {
    name: 'HELP escapes, raw quotes, leading blanks skipped, trailing blanks kept',
    in: lines(String.raw`# HELP x   two-line\n doc  str\\ing "quoted" \"esc\"  `, 'x 1'),
    out: [simple('x', 'untyped', 'two-line\n doc  str\\ing "quoted" "esc"  ', [{}, 1])],
  },
  {
    name: 'TYPE before HELP (tailscaled order) and HELP before TYPE',
    in: lines('# TYPE a gauge', '# HELP a A.', 'a 1', '# HELP b B.', '# TYPE b counter', 'b 2'),
    out: [simple('a', 'gauge', 'A.', [{}, 1]), simple('b', 'counter', 'B.', [{}, 2])],
  },
  {
    name: 'empty HELP text',
    in: lines('# HELP x ', '# TYPE x gauge', 'x 1'),
    out: [simple('x', 'gauge', '', [{}, 1])],
  },
  {
    name: 'special values and float syntax',
    in: lines(
      'v{i="1"} NaN',
      'v{i="2"} nan',
      'v{i="3"} +Inf',
      'v{i="4"} Inf',
      'v{i="5"} -Inf',
      'v{i="6"} inf',
      'v{i="7"} +Infinity',
      'v{i="8"} -infinity',
      'v{i="9"} 1e3',
      'v{i="10"} 1E-3',
      'v{i="11"} -.5',
      'v{i="12"} +5.',
      'v{i="13"} 08',
      'v{i="14"} 1.7560473e+06',
      'v{i="15"} 3.14e+42',
      'v{i="16"} -0',
      'v{i="17"} 5e-324',
      'v{i="18"} 1.7976931348623157e308',
      'v{i="19"} 0.1e-400',
    ),
    out: [
      simple(
        'v',
        'untyped',
        '',
        [{ i: '1' }, NaN],
        [{ i: '2' }, NaN],
        [{ i: '3' }, Infinity],
        [{ i: '4' }, Infinity],
        [{ i: '5' }, -Infinity],
        [{ i: '6' }, Infinity],
        [{ i: '7' }, Infinity],
        [{ i: '8' }, -Infinity],
        [{ i: '9' }, 1000],
        [{ i: '10' }, 0.001],
        [{ i: '11' }, -0.5],
        [{ i: '12' }, 5],
        [{ i: '13' }, 8],
        [{ i: '14' }, 1756047.3],
        [{ i: '15' }, 3.14e42],
        [{ i: '16' }, -0],
        [{ i: '17' }, 5e-324],
        [{ i: '18' }, 1.7976931348623157e308],
        [{ i: '19' }, 0],
      ),
    ],
  },
  {
    name: 'timestamps (int64 milliseconds, signed) are accepted and dropped',
    in: lines(
      't{i="1"} 1 1712345678901',
      't{i="2"} 2 -2',
      't{i="3"} 3 +15',
      't{i="4"} 4 9223372036854775807',
      't{i="5"} 5 -9223372036854775808',
      't{i="6"} 6 0009223372036854775807',
    ),
    out: [
      simple(
        't',
        'untyped',
        '',
        [{ i: '1' }, 1],
        [{ i: '2' }, 2],
        [{ i: '3' }, 3],
        [{ i: '4' }, 4],
        [{ i: '5' }, 5],
        [{ i: '6' }, 6],
      ),
    ],
  },
  {
    name: 'whitespace: indentation, tabs, blanks inside braces, none between } and value, trailing blanks',
    in: lines(
      '  # TYPE   name2\tgauge',
      '\tname2{labelname="val2"\t,basename   =   "basevalue2"\t\t} +Inf 54321',
      'name2 { labelname = "val1" , }-Inf  ',
      'name2{a="b"}\t7\t1\t',
    ),
    out: [
      simple(
        'name2',
        'gauge',
        '',
        [{ labelname: 'val2', basename: 'basevalue2' }, Infinity],
        [{ labelname: 'val1' }, -Infinity],
        [{ a: 'b' }, 7],
      ),
    ],
  },
  {
    name: 'trailing comma and empty label sets',
    in: lines('x{a="1",} 1', 'x{} 2', 'y{ } 3'),
    out: [simple('x', 'untyped', '', [{ a: '1' }, 1], [{}, 2]), simple('y', 'untyped', '', [{}, 3])],
  },
  {
    name: 'CRLF line endings, runs of CR, no final newline',
    in: '# HELP x Help.\r\n# TYPE x gauge\r\nx{a="1"} 1\r\r\nx{a="2"} 2',
    out: [simple('x', 'gauge', 'Help.', [{ a: '1' }, 1], [{ a: '2' }, 2])],
  },
  {
    name: 'label order as written; label names le and quantile are ordinary outside histograms/summaries',
    in: lines('x{z="1",a="2",le="x",quantile="y"} 1'),
    out: [simple('x', 'untyped', '', [{ z: '1', a: '2', le: 'x', quantile: 'y' }, 1])],
  },
  {
    name: 'colons, underscores and digits in names',
    in: lines('job:request_rate:5m{_a1="x"} 1', '_ 2', '::_9 3'),
    out: [
      simple('job:request_rate:5m', 'untyped', '', [{ _a1: 'x' }, 1]),
      simple('_', 'untyped', '', [{}, 2]),
      simple('::_9', 'untyped', '', [{}, 3]),
    ],
  },
  {
    name: 'histogram kept intact in input order',
    in: lines(
      '# HELP request_duration_seconds The response latency.',
      '# TYPE request_duration_seconds histogram',
      'request_duration_seconds_bucket{method="get",le="0.1"} 123',
      'request_duration_seconds_bucket{method="get",le="+Inf"} 2693',
      'request_duration_seconds_sum{method="get"} 1.7560473e+06',
      'request_duration_seconds_count{method="get"} 2693',
      'request_duration_seconds_bucket{method="post",le="1e-1"} 0',
      'request_duration_seconds_bucket{method="post",le="Inf"} NaN',
      'request_duration_seconds_count{method="post"} 0',
    ),
    out: [
      fam('request_duration_seconds', 'histogram', 'The response latency.', [
        s('request_duration_seconds_bucket', { method: 'get', le: '0.1' }, 123),
        s('request_duration_seconds_bucket', { method: 'get', le: '+Inf' }, 2693),
        s('request_duration_seconds_sum', { method: 'get' }, 1756047.3),
        s('request_duration_seconds_count', { method: 'get' }, 2693),
        s('request_duration_seconds_bucket', { method: 'post', le: '1e-1' }, 0),
        s('request_duration_seconds_bucket', { method: 'post', le: 'Inf' }, NaN),
        s('request_duration_seconds_count', { method: 'post' }, 0),
      ]),
    ],
  },
  {
    name: 'summary kept intact, then a sample of another name starts an untyped family',
    in: lines(
      '# TYPE rpc summary',
      'rpc{n="a",quantile="0.5"} 110',
      'rpc{n="a",quantile="0.9"} 140 1',
      'rpc_sum{n="a"} 4711',
      'rpc_count{n="a"} 42',
      '  rpc{n="b",quantile="-12.34",} NaN',
      'rpc_count{n="b"} 5',
      'fake_sum{n="a"} 2001',
    ),
    out: [
      fam('rpc', 'summary', '', [
        s('rpc', { n: 'a', quantile: '0.5' }, 110),
        s('rpc', { n: 'a', quantile: '0.9' }, 140),
        s('rpc_sum', { n: 'a' }, 4711),
        s('rpc_count', { n: 'a' }, 42),
        s('rpc', { n: 'b', quantile: '-12.34' }, NaN),
        s('rpc_count', { n: 'b' }, 5),
      ]),
      simple('fake_sum', 'untyped', '', [{ n: 'a' }, 2001]),
    ],
  },
  {
    name: 'a TYPE line for x_count after histogram x starts a family of its own',
    in: lines('# TYPE h histogram', 'h_bucket{le="+Inf"} 1', 'h_count 1', '# TYPE h_count gauge', 'h_count{a="b"} 7'),
    out: [
      fam('h', 'histogram', '', [s('h_bucket', { le: '+Inf' }, 1), s('h_count', {}, 1)]),
      simple('h_count', 'gauge', '', [{ a: 'b' }, 7]),
    ],
  },
  {
    name: 'x_sum before TYPE x histogram is an untyped family of its own',
    in: lines('h_sum 1', '# TYPE h histogram', 'h_bucket{le="+Inf"} 1'),
    out: [simple('h_sum', 'untyped', '', [{}, 1]), fam('h', 'histogram', '', [s('h_bucket', { le: '+Inf' }, 1)])],
  },
  {
    name: 'text format: counter x does not own x_total (that is OpenMetrics); x_total is untyped',
    in: lines('# TYPE x counter', 'x_total 1'),
    out: [simple('x_total', 'untyped', '', [{}, 1])],
  },
  {
    name: 'HELP without TYPE gives an untyped family with help; TYPE is case-insensitive',
    in: lines('# HELP u Some help.', 'u 1', '# TYPE g GAUGE', 'g 2'),
    out: [simple('u', 'untyped', 'Some help.', [{}, 1]), simple('g', 'gauge', '', [{}, 2])],
  },
  {
    name: 'comment forms that are not HELP/TYPE: "#HELP" is HELP (as in expfmt), "# HELP" alone is a comment',
    in: lines('#HELP x compact', '# HELP', '# HELP   ', '# TYPEx y', '# help x lower-case is a comment', 'x 1'),
    out: [simple('x', 'untyped', 'compact', [{}, 1])],
  },
  {
    name: 'families declared without samples are dropped (tailscaled writes those)',
    in: lines('# TYPE a counter', '# HELP a A.', '# TYPE b gauge', 'b 1', '# TYPE c counter'),
    out: [simple('b', 'gauge', '', [{}, 1])],
  },
  {
    name: 'metadata of two families before their samples',
    in: lines('# TYPE a gauge', '# TYPE b gauge', 'a 1', 'b 2'),
    out: [simple('a', 'gauge', '', [{}, 1]), simple('b', 'gauge', '', [{}, 2])],
  },
  {
    name: 'the same labels under different sample names are different series',
    in: lines(
      '# TYPE h histogram',
      'h_bucket{a="1",le="1"} 0',
      'h_sum{a="1"} 0',
      'h_count{a="1"} 0',
      'h_sum_x{a="1"} 0',
    ),
    out: [
      fam('h', 'histogram', '', [
        s('h_bucket', { a: '1', le: '1' }, 0),
        s('h_sum', { a: '1' }, 0),
        s('h_count', { a: '1' }, 0),
      ]),
      simple('h_sum_x', 'untyped', '', [{ a: '1' }, 0]),
    ],
  },
  {
    name: 'expfmt gauge_histogram spelling is accepted and the family dropped',
    in: lines('# TYPE q gauge_histogram', 'q_bucket{le="+Inf"} 1', 'q_sum 1', 'q_count 1', 'z 1'),
    out: [simple('z', 'untyped', '', [{}, 1])],
  },
  {
    name: 'escaped and raw look-alikes are different series',
    in: lines(
      String.raw`x{a="\n"} 1`,
      String.raw`x{a="\\n"} 2`,
      String.raw`x{ a="\\n" , b="" } 3`,
      String.raw`x{b="",a="\n"} 4`,
    ),
    out: [
      simple(
        'x',
        'untyped',
        '',
        [{ a: '\n' }, 1],
        [{ a: '\\n' }, 2],
        [{ a: '\\n', b: '' }, 3],
        [{ b: '', a: '\n' }, 4],
      ),
    ],
  },
  {
    name: 'a U+FFFD replacement character (from invalid UTF-8) is an ordinary character',
    in: lines('x{a="\uFFFD\uFFFD"} 1'),
    out: [simple('x', 'untyped', '', [{ a: '\uFFFD\uFFFD' }, 1])],
  },
];

describe('parseExposition: accepted input', () => {
  for (const c of accepted) {
    it(c.name, () => {
      const r = parseOk(c.in);
      assert.equal(r.format, c.format ?? 'text-0.0.4');
      assert.deepStrictEqual(r.families, c.out);
    });
  }
});

// ----- rejected input

interface ErrCase {
  readonly name: string;
  readonly in: string;
  readonly line: number;
  readonly message: RegExp;
  readonly options?: ParseOptions;
  readonly reason?: 'parse' | 'too_many_series';
}

const rejected: ErrCase[] = [
  // names
  { name: 'metric name starting with a digit', in: lines('ok 1', '1x 1'), line: 2, message: /invalid metric name/ },
  { name: 'dash in a metric name', in: 'x-y 1\n', line: 1, message: /invalid metric name/ },
  { name: 'non-ASCII metric name', in: 'é 1\n', line: 1, message: /invalid metric name/ },
  { name: 'name glued to the value', in: 'x+1\n', line: 1, message: /invalid metric name/ },
  { name: 'label set without metric name', in: '{a="b"} 1\n', line: 1, message: /missing metric name/ },
  { name: 'quoted (UTF-8) metric name', in: '{"my.metric"} 1\n', line: 1, message: /missing metric name/ },
  { name: 'label name starting with a digit', in: 'x{1a="b"} 1\n', line: 1, message: /invalid label name/ },
  { name: 'dash in a label name', in: 'x{a-b="c"} 1\n', line: 1, message: /expected "=" after label name "a"/ },
  { name: 'quoted label name', in: 'x{"a.b"="c"} 1\n', line: 1, message: /invalid label name/ },
  { name: 'lone comma in a label set', in: 'x{,} 1\n', line: 1, message: /invalid label name/ },
  { name: 'double comma', in: 'x{a="1",,b="2"} 1\n', line: 1, message: /invalid label name/ },
  { name: 'reserved label __name__', in: 'x{__name__="y"} 1\n', line: 1, message: /reserved label name "__name__"/ },
  {
    name: 'reserved label prefix __',
    in: lines('x 1', 'y{a="1",__meta="2"} 1'),
    line: 2,
    message: /reserved label name "__meta"/,
  },
  { name: 'duplicate label name', in: 'x{a="1",a="2"} 1\n', line: 1, message: /duplicate label name "a"/ },
  {
    name: 'invalid metric name in TYPE',
    in: lines('', '# TYPE met-ric gauge'),
    line: 2,
    message: /invalid metric name in TYPE line/,
  },
  { name: 'invalid metric name in HELP', in: '# HELP 0x help\n', line: 1, message: /invalid metric name in HELP line/ },
  // label syntax
  { name: 'missing =', in: 'x{a} 1\n', line: 1, message: /expected "=" after label name "a"/ },
  { name: 'unquoted label value', in: 'x{a=b} 1\n', line: 1, message: /expected a quoted value for label "a"/ },
  { name: 'single-quoted label value', in: "x{a='b'} 1\n", line: 1, message: /expected a quoted value/ },
  {
    name: 'garbage after a label value',
    in: 'x{a="b"+} 1\n',
    line: 1,
    message: /expected "," or "}" after the value of label "a"/,
  },
  { name: 'missing comma between labels', in: 'x{a="b" c="d"} 1\n', line: 1, message: /expected "," or "}"/ },
  { name: 'unterminated label value', in: lines('x 1', 'y{a="b} 1'), line: 2, message: /unterminated label value/ },
  {
    name: 'label value running into the next line',
    in: lines('y{a="new', 'line"} 1'),
    line: 1,
    message: /unterminated label value/,
  },
  { name: 'unterminated label set', in: 'x{a="b" 1\n', line: 1, message: /expected "," or "}"/ },
  { name: 'label set cut at the end of the line', in: 'x{a="b",\n', line: 1, message: /unterminated label set/ },
  {
    name: 'escaped quote is not a terminator',
    in: String.raw`x{a="b\"} 1` + '\n',
    line: 1,
    message: /unterminated label value/,
  },
  // escapes
  {
    name: 'escape \\t in a label value',
    in: String.raw`x{a="\t"} 1` + '\n',
    line: 1,
    message: /invalid escape sequence "\\\\t" in label value/,
  },
  {
    name: 'escape \\u in a label value',
    in: String.raw`x{a="\u0041"} 1` + '\n',
    line: 1,
    message: /invalid escape sequence/,
  },
  {
    name: 'Windows path with single backslashes',
    in: String.raw`x{p="C:\Users"} 1` + '\n',
    line: 1,
    message: /invalid escape sequence "\\\\U"/,
  },
  {
    name: 'backslash at the end of a line inside a label value',
    in: 'x{a="b\\\n',
    line: 1,
    message: /unterminated label value/,
  },
  {
    name: 'escape \\t in HELP',
    in: String.raw`# HELP x a\tb` + '\n',
    line: 1,
    message: /invalid escape sequence "\\\\t" in HELP text/,
  },
  {
    name: 'HELP ending in a backslash',
    in: lines('# HELP x ends\\', 'x 1'),
    line: 1,
    message: /HELP text ends with a backslash/,
  },
  // values and timestamps
  { name: 'word as value', in: 'x{a="b"} blubb\n', line: 1, message: /invalid value "blubb"/ },
  { name: 'hex value', in: 'x 0x10\n', line: 1, message: /invalid value "0x10"/ },
  { name: 'hex float value', in: 'x 0x1p-3\n', line: 1, message: /invalid value/ },
  { name: 'binary and octal prefixes', in: lines('x 0b1'), line: 1, message: /invalid value/ },
  { name: 'octal prefix', in: lines('x 0o1'), line: 1, message: /invalid value/ },
  { name: 'underscore in a number', in: 'x 1_000\n', line: 1, message: /invalid value "1_000"/ },
  { name: 'incomplete exponent', in: 'x 1e\n', line: 1, message: /invalid value "1e"/ },
  { name: 'lone dot', in: 'x .\n', line: 1, message: /invalid value/ },
  { name: 'lone sign', in: 'x +\n', line: 1, message: /invalid value/ },
  { name: 'two dots', in: 'x 1.2.3\n', line: 1, message: /invalid value/ },
  { name: 'signed NaN', in: 'x +NaN\n', line: 1, message: /invalid value "\+NaN"/ },
  { name: 'Inf with garbage', in: 'x Infx\n', line: 1, message: /invalid value/ },
  { name: 'quoted value', in: 'x "1"\n', line: 1, message: /invalid value/ },
  { name: 'value out of float64 range', in: 'x 1e400\n', line: 1, message: /invalid value "1e400"/ },
  { name: 'missing value', in: lines('x 1', 'y'), line: 2, message: /missing value/ },
  { name: 'missing value after labels', in: 'x{a="b"}\n', line: 1, message: /missing value/ },
  { name: 'missing value after blanks', in: 'x   \n', line: 1, message: /missing value/ },
  { name: 'float timestamp in text format', in: 'x{a="b"} 3.14 2.72\n', line: 1, message: /invalid timestamp "2.72"/ },
  { name: 'timestamp beyond int64', in: 'x 1 9223372036854775808\n', line: 1, message: /invalid timestamp/ },
  { name: 'negative timestamp beyond int64', in: 'x 1 -9223372036854775809\n', line: 1, message: /invalid timestamp/ },
  { name: 'a sign alone as timestamp', in: 'x 1 -\n', line: 1, message: /invalid timestamp "-"/ },
  { name: 'a timestamp ending in a letter', in: 'x 1 12a\n', line: 1, message: /invalid timestamp "12a"/ },
  { name: '20 digits of timestamp', in: 'x 1 10000000000000000000\n', line: 1, message: /invalid timestamp/ },
  {
    name: 'spurious text after the timestamp',
    in: 'x{a="b"} 3.14 2 3\n',
    line: 1,
    message: /unexpected text after the timestamp/,
  },
  // metadata
  {
    name: 'second HELP',
    in: lines('', '# HELP metric one', '# HELP metric two'),
    line: 3,
    message: /second HELP line for "metric"/,
  },
  {
    name: 'second TYPE',
    in: lines('', '# TYPE metric counter', '# TYPE metric untyped'),
    line: 3,
    message: /second TYPE line for "metric"/,
  },
  {
    name: 'TYPE after samples',
    in: lines('', 'metric 4.12', '# TYPE metric counter'),
    line: 3,
    message: /TYPE line for "metric" after its samples/,
  },
  {
    name: 'TYPE after samples of a histogram suffix',
    in: lines('# TYPE h histogram', 'h_count 1', '# TYPE h summary'),
    line: 3,
    message: /second TYPE line/,
  },
  {
    name: 'HELP after the family was left',
    in: lines('a 1', 'b 1', '# HELP a late'),
    line: 3,
    message: /HELP line for "a" after its samples/,
  },
  { name: 'unknown type', in: lines('', '# TYPE metric bla'), line: 2, message: /unknown metric type "bla"/ },
  { name: 'missing type', in: '# TYPE metric\n', line: 1, message: /missing type in TYPE line for "metric"/ },
  {
    name: 'text after the type',
    in: '# TYPE metric gauge extra\n',
    line: 1,
    message: /unexpected text after the type/,
  },
  // families and series
  {
    name: 'non-contiguous family',
    in: lines('x 1', 'y 1', 'x 2'),
    line: 3,
    message: /samples of "x" are not contiguous \(family started on line 1\)/,
  },
  {
    name: 'non-contiguous histogram',
    in: lines('# TYPE h histogram', 'h_bucket{le="+Inf"} 1', 'other 1', 'h_sum 1'),
    line: 4,
    message: /samples of "h" are not contiguous/,
  },
  {
    name: 'duplicate series',
    in: lines('x{a="1"} 1', 'x{a="2"} 1', 'x{a="1"} 2'),
    line: 3,
    message: /duplicate series for "x"/,
  },
  {
    name: 'duplicate series with labels in another order',
    in: lines('x{a="1",b="2"} 1', 'x{b="2",a="1"} 2'),
    line: 2,
    message: /duplicate series/,
  },
  {
    name: 'duplicate series: empty braces equal no labels',
    in: lines('x 1', 'x{} 2'),
    line: 2,
    message: /duplicate series/,
  },
  {
    name: 'duplicate series: same escaped values, labels reordered',
    in: lines(String.raw`x{a="\"",b="\\"} 1`, String.raw`x{b="\\",a="\""} 2`),
    line: 2,
    message: /duplicate series/,
  },
  {
    name: 'duplicate series: differing only in whitespace',
    in: lines('x{a="1"} 1', 'x{ a = "1" , } 2'),
    line: 2,
    message: /duplicate series/,
  },
  {
    name: 'duplicate series across families (histogram x_count and family x_count)',
    in: lines('# TYPE h histogram', 'h_count 1', '# TYPE h_count gauge', 'h_count 2'),
    line: 4,
    message: /duplicate series for "h_count"/,
  },
  {
    name: 'histogram sample without suffix',
    in: lines('# TYPE h histogram', 'h 1'),
    line: 2,
    message: /sample "h" does not fit histogram family "h"/,
  },
  {
    name: 'bucket without le',
    in: lines('# TYPE h histogram', 'h_bucket{a="b"} 1'),
    line: 2,
    message: /bucket of histogram "h" without "le" label/,
  },
  {
    name: 'le that is not a float',
    in: lines('', '# TYPE h histogram', 'h_bucket{le="bla"} 3.14'),
    line: 3,
    message: /invalid "le" label value "bla"/,
  },
  {
    name: 'le in hex',
    in: lines('# TYPE h histogram', 'h_bucket{le="0x1p-3"} 3.14'),
    line: 2,
    message: /invalid "le" label value/,
  },
  {
    name: 'negative bucket count',
    in: lines('# TYPE h histogram', 'h_bucket{le="1"} -412'),
    line: 2,
    message: /negative bucket count/,
  },
  {
    name: 'negative histogram count',
    in: lines('# TYPE h histogram', 'h_bucket{le="+Inf"} 1', 'h_count -2693.5'),
    line: 3,
    message: /negative count in histogram "h"/,
  },
  {
    name: 'quantile that is not a float',
    in: lines('', '# TYPE s summary', 's{quantile="bla"} 3.14'),
    line: 3,
    message: /invalid "quantile" label value "bla"/,
  },
  {
    name: 'summary sample without quantile',
    in: lines('# TYPE s summary', 's{a="b"} 1'),
    line: 2,
    message: /without "quantile" label/,
  },
  // limits
  {
    name: 'more samples than maxSeries',
    in: lines('# TYPE x gauge', 'x{a="1"} 1', 'x{a="2"} 1', 'x{a="3"} 1'),
    options: { maxSeries: 2 },
    line: 4,
    message: /more than 2 samples/,
    reason: 'too_many_series',
  },
  {
    name: 'maxSeries 0',
    in: lines('# just a comment', 'x 1'),
    options: { maxSeries: 0 },
    line: 2,
    message: /more than 0 samples/,
    reason: 'too_many_series',
  },
  {
    name: 'line longer than maxLineLength',
    in: lines('x 1', `y{a="${'a'.repeat(100)}"} 1`),
    options: { maxLineLength: 64 },
    line: 2,
    message: /line longer than 64 characters/,
  },
  {
    name: 'a negative maxSeries is no limit of its own: the default 10,000 holds',
    in: Array.from({ length: 10_001 }, (_, i) => `x{i="${i}"} 1\n`).join(''),
    options: { maxSeries: -1 },
    line: 10_001,
    message: /more than 10000 samples/,
    reason: 'too_many_series',
  },
  {
    name: 'a fractional maxSeries is rounded down',
    in: lines('x{a="1"} 1', 'x{a="2"} 1', 'x{a="3"} 1'),
    options: { maxSeries: 2.9 },
    line: 3,
    message: /more than 2 samples/,
    reason: 'too_many_series',
  },
  {
    name: 'too many metadata-only families',
    in: Array.from({ length: 1030 }, (_, i) => `# TYPE f${i} gauge\n`).join(''),
    options: { maxSeries: 5 },
    line: 1030,
    message: /more than 1029 metric families/,
    reason: 'too_many_series',
  },
];

describe('parseExposition: rejected input', () => {
  for (const c of rejected) {
    it(`${c.name} (line ${c.line})`, () => {
      const r = parseExposition(c.in, c.options);
      if (r.ok) assert.fail(`expected an error, got ${JSON.stringify(r.families)}`);
      assert.equal(r.error.reason, c.reason ?? 'parse');
      assert.equal(r.error.line, c.line, r.error.message);
      assert.match(r.error.message, c.message);
    });
  }

  it('accepts exactly maxSeries samples and lines of exactly maxLineLength', () => {
    const text = lines('x{a="1"} 1', 'x{a="2"} 1');
    assert.equal(parseOk(text, { maxSeries: 2 }).families[0]!.samples.length, 2);
    assert.ok(parseOk(text, { maxLineLength: 'x{a="1"} 1'.length }));
    assert.equal(parseExposition(text, { maxLineLength: 'x{a="1"} 1'.length - 1 }).ok, false);
  });

  it('counts CR of a CRLF ending towards the line length, not the LF', () => {
    assert.ok(parseOk('x 1\r\n', { maxLineLength: 4 }));
    assert.equal(parseExposition('x 1\r\n', { maxLineLength: 3 }).ok, false);
  });

  it('uses the defaults for invalid options', () => {
    assert.ok(parseOk('x 1\n', { maxSeries: Number.NaN, maxLineLength: -1 }));
  });

  it('returns an error for a non-string input instead of throwing', () => {
    const r = parseExposition(undefined as unknown as string);
    assert.deepStrictEqual(r, { ok: false, error: { reason: 'parse', line: 0, message: 'input is not a string' } });
  });

  it('quotes and truncates device text in messages', () => {
    const r = parseExposition(`x ${'9'.repeat(50)}z\u2028"\n`);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.ok(r.error.message.length < 80, r.error.message);
      assert.match(r.error.message, /^invalid value "9{40}\.\.\."$/);
    }
  });
});

// ----- OpenMetrics

describe('parseExposition: OpenMetrics', () => {
  it('is detected by a final # EOF (trailing blank lines allowed) and normalized', () => {
    const r = parseOk(
      lines(
        '# TYPE c counter',
        '# UNIT c bytes',
        '# HELP c Bytes.',
        'c_total{p="a"} 1 1520879607.789',
        'c_created{p="a"} 1520430000.123',
        'c_total{p="b"} 2',
        '# TYPE i info',
        'i_info{version="1.2"} 1',
        '# TYPE st stateset',
        'st{st="a"} 1',
        'st{st="b"} 0',
        '# TYPE u unknown',
        'u 3',
        '# TYPE gh gaugehistogram',
        'gh_bucket{le="+Inf"} 1',
        'gh_gcount 1',
        'gh_gsum 1',
        '# TYPE h histogram',
        'h_bucket{le="+Inf"} 1',
        'h_count 1',
        'h_sum 1',
        'h_created 1520430000',
        '# TYPE s summary',
        's{quantile="0.5"} 1',
        's_created 1520430000',
        '# TYPE g gauge',
        'g 1',
        '# EOF',
        '',
        '',
      ),
    );
    assert.equal(r.format, 'openmetrics');
    assert.deepStrictEqual(r.families, [
      simple('c_total', 'counter', 'Bytes.', [{ p: 'a' }, 1], [{ p: 'b' }, 2]),
      simple('i_info', 'gauge', '', [{ version: '1.2' }, 1]),
      simple('st', 'gauge', '', [{ st: 'a' }, 1], [{ st: 'b' }, 0]),
      simple('u', 'untyped', '', [{}, 3]),
      fam('h', 'histogram', '', [s('h_bucket', { le: '+Inf' }, 1), s('h_count', {}, 1), s('h_sum', {}, 1)]),
      simple('s', 'summary', '', [{ quantile: '0.5' }, 1]),
      simple('g', 'gauge', '', [{}, 1]),
    ]);
  });

  it('strips exemplars, with and without timestamp', () => {
    const r = parseOk(
      lines(
        '# TYPE h histogram',
        'h_bucket{le="0.1"} 8 # {trace_id="KOO5S4vxi0o"} 0.054',
        'h_bucket{le="+Inf"} 9 # {trace_id="x",span_id="y"} 0.67 1520879607.789',
        'h_count 9 1520879607 # {} 1',
        '# EOF',
      ),
    );
    assert.deepStrictEqual(r.families, [
      fam('h', 'histogram', '', [
        s('h_bucket', { le: '0.1' }, 8),
        s('h_bucket', { le: '+Inf' }, 9),
        s('h_count', {}, 9),
      ]),
    ]);
  });

  const detected: [string, string][] = [
    ['# UNIT line', lines('# TYPE x_seconds gauge', '# UNIT x_seconds seconds', 'x_seconds 1')],
    ['info type', lines('# TYPE x info', 'x_info 1')],
    ['stateset type', lines('# TYPE x stateset', 'x{x="a"} 1')],
    ['unknown type', lines('# TYPE x unknown', 'x 1')],
    ['gaugehistogram type', lines('# TYPE y gauge', 'y 1', '# TYPE x gaugehistogram', 'x_gcount 1')],
    ['exemplar', lines('x_total 1 # {a="b"} 1')],
    ['an indented # EOF', lines('x 1', '  # EOF  ')],
  ];
  for (const [what, text] of detected) {
    it(`is detected without a final # EOF by: ${what}`, () => {
      assert.equal(parseOk(text).format, 'openmetrics');
    });
  }

  it('restarts from the top when OpenMetrics is detected late (counters written before the signal)', () => {
    const r = parseOk(lines('# TYPE c counter', 'c_total 5', 'c_created 1', '# TYPE i info', 'i_info{a="b"} 1'));
    assert.equal(r.format, 'openmetrics');
    assert.deepStrictEqual(r.families, [
      simple('c_total', 'counter', '', [{}, 5]),
      simple('i_info', 'gauge', '', [{ a: 'b' }, 1]),
    ]);
  });

  it('accepts 0.0.4-style counters (bare family name) in OpenMetrics', () => {
    const r = parseOk(lines('# TYPE a_total counter', 'a_total 1', '# TYPE b counter', 'b 2', '# EOF'));
    assert.deepStrictEqual(r.families, [
      simple('a_total', 'counter', '', [{}, 1]),
      simple('b', 'counter', '', [{}, 2]),
    ]);
  });

  it('is chosen by an OpenMetrics Content-Type, whatever the text looks like', () => {
    // Text format: the counter owns only `c`, so `c_total` is a family of its own and the float timestamp
    // is invalid. OpenMetrics: `c_total` is the counter's sample.
    const text = lines('# TYPE c counter', 'c_total 1 1520879607.789');
    for (const contentType of [
      'application/openmetrics-text',
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
      ' Application/OpenMetrics-Text ;version=1.0.0',
    ]) {
      const r = parseOk(text, { contentType });
      assert.equal(r.format, 'openmetrics', contentType);
      assert.deepStrictEqual(r.families, [simple('c_total', 'counter', '', [{}, 1])]);
    }
    for (const contentType of ['text/plain; version=0.0.4', 'application/openmetrics-textual', '', undefined]) {
      const r = parseExposition(text, { contentType });
      assert.ok(!r.ok, String(contentType));
      assert.match(r.error.message, /invalid timestamp "1520879607.789"/);
    }
    // A text Content-Type does not stop the detection by content.
    assert.equal(parseOk(lines('x 1', '# EOF'), { contentType: 'text/plain; version=0.0.4' }).format, 'openmetrics');
  });

  it('keeps text format 0.0.4 when nothing OpenMetrics-only appears', () => {
    assert.equal(parseOk(lines('# TYPE x counter', 'x 1')).format, 'text-0.0.4');
  });

  const omRejected: [string, string, number, RegExp][] = [
    ['content after # EOF', lines('x 1', '# EOF', 'y 1'), 3, /content after "# EOF"/],
    ['a comment after # EOF', lines('x 1', '# EOF', '# comment'), 3, /content after "# EOF"/],
    [
      'a counter mixing x and x_total',
      lines('# TYPE c counter', 'c_total{a="1"} 1', 'c{a="2"} 1', '# EOF'),
      3,
      /counter "c" mixes samples/,
    ],
    [
      'a counter renamed onto an existing family',
      lines('# TYPE c counter', 'c_total 1', '# TYPE c_total gauge', 'c_total{a="b"} 1', '# EOF'),
      3,
      /families "c" and "c_total" both become "c_total"/,
    ],
    [
      'an info renamed onto an existing family',
      lines('# TYPE v_info gauge', 'v_info{a="1"} 1', '# TYPE v info', 'v_info{a="2"} 1', '# EOF'),
      3,
      /both become "v_info"/,
    ],
    ['an exemplar without braces', lines('x 1 # trace 1', '# EOF'), 1, /invalid exemplar: expected "\{"/],
    ['an exemplar without value', lines('x 1 # {a="b"}', '# EOF'), 1, /invalid exemplar value ""/],
    ['an exemplar with a bad label', lines('x 1 # {a=b} 1', '# EOF'), 1, /expected a quoted value for label "a"/],
    ['text after an exemplar', lines('x 1 # {a="b"} 1 2 3', '# EOF'), 1, /unexpected text after the exemplar/],
    ['a comment after a value in text format', lines('x 1 # just a note'), 1, /invalid exemplar/],
    ['an OpenMetrics timestamp that is not a number', lines('x 1 now', '# EOF'), 1, /invalid timestamp "now"/],
    ['a NaN timestamp', lines('x 1 NaN', '# EOF'), 1, /invalid timestamp "NaN"/],
    [
      'non-contiguous OpenMetrics counter',
      lines('# TYPE c counter', 'c_total 1', 'd 1', 'c_created 1', '# EOF'),
      4,
      /not contiguous/,
    ],
  ];
  for (const [what, text, line, message] of omRejected) {
    it(`rejects ${what} (line ${line})`, () => {
      const r = parseExposition(text);
      if (r.ok) assert.fail(`expected an error, got ${JSON.stringify(r.families)}`);
      assert.equal(r.error.line, line, r.error.message);
      assert.match(r.error.message, message);
    });
  }
});

// ----- output contract

describe('parseExposition: output contract', () => {
  it('produces plain label objects in written order and full sample names', () => {
    const r = parseOk(lines('# TYPE h histogram', 'h_bucket{z="1",le="+Inf"} 1'));
    const sample = r.families[0]!.samples[0]!;
    assert.equal(Object.getPrototypeOf(sample.labels), Object.prototype);
    assert.deepStrictEqual(Object.keys(sample.labels), ['z', 'le']);
    assert.equal(sample.name, 'h_bucket');
  });

  it('label names that are Object.prototype members are ordinary own properties', () => {
    const r = parseOk(lines('x{constructor="a",toString="b",hasOwnProperty="c",valueOf="d"} 1'));
    assert.deepStrictEqual(r.families[0]!.samples[0]!.labels, {
      constructor: 'a',
      toString: 'b',
      hasOwnProperty: 'c',
      valueOf: 'd',
    });
  });

  it('type names that are Object.prototype members are unknown types', () => {
    for (const t of ['constructor', 'toString', '__proto__']) {
      const r = parseExposition(`# TYPE x ${t}\n`);
      assert.equal(r.ok, false, t);
    }
  });

  it('output renders with render.ts without drops and parses back to the same families', () => {
    const text = lines(
      '# HELP a Help with \\\\ and \\n.',
      '# TYPE a counter',
      'a{path="derp",q="\\"x\\""} 10 1712345678901',
      'a{path="direct_ipv4"} +Inf',
      '# TYPE h histogram',
      'h_bucket{le="1"} 1',
      'h_bucket{le="+Inf"} 2',
      'h_sum NaN',
      'h_count 2',
      'u 1',
    );
    const r = parseOk(text);
    const rendered = render(r.families);
    assert.deepStrictEqual(rendered.stats, { series: 7, invalid: 0, duplicates: 0, typeConflicts: 0 });
    const again = parseOk(rendered.text);
    assert.deepStrictEqual(
      again.families,
      [...r.families].sort((x, y) => (x.name < y.name ? -1 : 1)),
    );
  });
});

// ----- hostile input shapes (completion only: timing belongs in bench/)

describe('parseExposition: hostile input shapes', () => {
  const hostile: [string, () => string][] = [
    ['many labels on one line', () => `x{${Array.from({ length: 6000 }, (_, i) => `l${i}="v"`).join(',')}} 1\n`],
    [
      'many duplicate-looking labels with a late duplicate',
      () => `x{${Array.from({ length: 3000 }, (_, i) => `l${i}=""`).join(',')},l7=""} 1\n`,
    ],
    ['a label value full of escapes', () => `x{a="${'\\\\\\"\\n'.repeat(10000)}"} 1\n`],
    [
      'many lines each with one backslash far ahead',
      () => `${Array.from({ length: 5000 }, (_, i) => `m${i}{a="v"} 1\n`).join('')}z{a="\\\\"} 1\n`,
    ],
    ['only quotes', () => '"'.repeat(200000)],
    ['only backslashes', () => '\\'.repeat(200000)],
    ['only carriage returns', () => '\r'.repeat(200000)],
    ['only hashes', () => '#'.repeat(200000)],
    ['a huge number', () => `x ${'9'.repeat(60000)}\n`],
    ['a huge type token', () => `# TYPE x ${'g'.repeat(60000)}\n`],
    ['lone surrogates', () => 'x{a="\uD800\uDFFF\uDC00"} 1\n\uD800 1\n'],
    ['NUL bytes', () => 'x{a="\0"} 1\n\0\n'],
  ];
  for (const [what, make] of hostile) {
    it(what, () => {
      const r = parseExposition(make());
      assert.equal(typeof r.ok, 'boolean');
    });
  }

  it('a value full of escapes decodes correctly', () => {
    const r = parseOk(`x{a="${'\\\\\\"\\n'.repeat(1000)}"} 1\n`);
    assert.equal(r.families[0]!.samples[0]!.labels['a'], '\\"\n'.repeat(1000));
  });
});

// ----- number syntax (exported helper)

describe('parseNumber', () => {
  const good: [string, number][] = [
    ['0', 0],
    ['-0', -0],
    ['+1', 1],
    ['1.', 1],
    ['.5', 0.5],
    ['-.5e-3', -0.0005],
    ['1E+2', 100],
    ['007', 7],
    ['NaN', NaN],
    ['NAN', NaN],
    ['inf', Infinity],
    ['-Inf', -Infinity],
    ['+INFINITY', Infinity],
    ['1.7976931348623157e308', Number.MAX_VALUE],
    ['1e-400', 0],
  ];
  for (const [text, value] of good) {
    it(`accepts ${JSON.stringify(text)}`, () => assert.ok(Object.is(parseNumber(text, 0, text.length), value)));
  }
  const bad = [
    '',
    ' 1',
    '1 ',
    '+',
    '-',
    '.',
    'e5',
    '1e',
    '1e+',
    '0x10',
    '0X1P3',
    '1_0',
    '1,5',
    '--1',
    '+-1',
    'NaNa',
    '-NaN',
    'infinit',
    '1e309',
    '-1e309',
    'Infinity1',
    '١',
  ];
  for (const text of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseNumber(text, 0, text.length), undefined));
  }
});
