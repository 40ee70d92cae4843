// Parser for the metrics devices serve (`tailscaled` client metrics): Prometheus text exposition format
// 0.0.4, and OpenMetrics 1.0 text, which is normalized to the 0.0.4 data model so that
// exposition/render.ts can write it out again.
//
// The input is untrusted: every device on the tailnet can put any bytes into it. So the parser
//  - never throws: any input returns a ParseResult (an unexpected exception becomes a 'parse' error);
//  - is a hand-written character scanner, no regular expressions: no catastrophic backtracking, and every
//    index search is amortized O(input) (see nextQuote/nextBackslash);
//  - bounds the work and memory one device can cause: maxLineLength, maxSeries, and at most
//    maxSeries + 1024 families (families declared by HELP/TYPE lines without samples cost memory too);
//  - rejects rather than guesses: one malformed line fails the whole payload with a 1-based line number
//    and a short message in which device-supplied text is quoted and truncated.
//
// It follows prometheus/common expfmt text_parse.go (the parser Prometheus' own tools use) where the
// format leaves room, with these deliberate differences:
//  - stricter: a family's samples must be contiguous; duplicate series (same name and label set, label
//    order irrelevant) are rejected; all label names starting with `__` are reserved; `# TYPE x` without
//    a type is an error; the name must be followed by a blank or `{` (Go reads `x+1` as "x 1"); only
//    unquoted (legacy) metric and label names are accepted, because render.ts writes nothing else;
//    a histogram `_bucket` needs a float `le` label, a summary quantile sample a float `quantile` label
//    (as in Go, histogram bucket counts and `_count` must not be negative);
//  - more lenient: a missing final newline, CRLF line endings (any run of CRs before LF) and blanks after
//    the value or timestamp are tolerated;
//  - OpenMetrics is parsed with the same scanner: its float timestamps and exemplars are accepted, but its
//    exact-whitespace and metadata-order rules are not enforced.
// Escapes are exactly Go's: label values know `\\`, `\"` and `\n`; HELP text knows `\\` and `\n` (and
// `\"`, which Go and OpenMetrics accept there); any other backslash sequence is an error. Leading blanks
// of HELP text are skipped, trailing ones kept (as in Go).

import type { Labels, MetricFamily, MetricType, Sample } from '../exposition/family.js';

export interface ParseOptions {
  /**
   * Most sample lines accepted; one more fails the payload with reason 'too_many_series' (as does a
   * payload naming more than maxSeries + 1024 families). Default 10000.
   */
  maxSeries?: number;
  /** Longest line accepted, in UTF-16 code units, excluding the line feed. Default 64 KiB. */
  maxLineLength?: number;
}

type ParseFormat = 'text-0.0.4' | 'openmetrics';

export type ParseResult =
  { ok: true; families: MetricFamily[]; format: ParseFormat } | { ok: false; error: ParseError };

interface ParseError {
  reason: 'parse' | 'too_many_series';
  /** 1-based line of the offending input (0 if the input was not a string). */
  line: number;
  message: string;
}

const DEFAULT_MAX_SERIES = 10_000;
const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;
/** Families that never receive a sample still cost memory; allow this many beyond maxSeries. */
const SPARE_FAMILIES = 1024;

/**
 * Parses one device's exposition text. The format is detected: OpenMetrics if the text ends with `# EOF`
 * or uses an OpenMetrics-only construct (`# UNIT`, types info/stateset/gaugehistogram/unknown, exemplars,
 * a `# EOF` line); otherwise text format 0.0.4.
 *
 * Families come out in the order they first appear, each with its samples in input order. Sample
 * timestamps are validated and then dropped: the exporter re-exposes device samples as of its own scrape
 * (render.ts has no timestamp field), so a device with a skewed or hostile clock cannot place samples in
 * the past or the future.
 *
 * OpenMetrics is mapped onto the 0.0.4 model: counter `x` with `x_total` samples becomes counter family
 * `x_total`; `_created` samples are dropped; info `x` becomes gauge `x_info`; stateset becomes gauge;
 * unknown becomes untyped; gaugehistogram families are dropped (0.0.4 has no such type, and presenting
 * `_gcount`/`_gsum` as a histogram would claim counter semantics they do not have); exemplars are
 * validated and stripped; `# UNIT` is ignored; a missing `# EOF` is tolerated; anything after it is not.
 * A counter written 0.0.4-style after an OpenMetrics TYPE line (samples named like the family) is kept as
 * it is. Text format's `gauge_histogram` (an expfmt spelling) is dropped like gaugehistogram.
 */
export function parseExposition(text: string, options?: ParseOptions): ParseResult {
  if (typeof text !== 'string') {
    return { ok: false, error: { reason: 'parse', line: 0, message: 'input is not a string' } };
  }
  const maxSeries = limitOption(options?.maxSeries, DEFAULT_MAX_SERIES);
  const maxLineLength = limitOption(options?.maxLineLength, DEFAULT_MAX_LINE_LENGTH);
  const first = run(text, endsWithEofMarker(text), maxSeries, maxLineLength);
  // A text-format pass restarts at most once, when it meets the first OpenMetrics-only construct.
  return first === RESTART_AS_OPENMETRICS ? (run(text, true, maxSeries, maxLineLength) as ParseResult) : first;
}

function limitOption(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && value >= 0 ? Math.floor(value) : fallback;
}

/** Thrown (and caught in run) to fail the parse; not an Error, so no stack trace is captured. */
class ParseFailure {
  constructor(
    readonly reason: ParseError['reason'],
    readonly line: number,
    readonly message: string,
  ) {}
}

/** Thrown by a text-format pass that meets OpenMetrics syntax. */
const RESTART_AS_OPENMETRICS: unique symbol = Symbol('restart as OpenMetrics');

function run(
  text: string,
  openMetrics: boolean,
  maxSeries: number,
  maxLineLength: number,
): ParseResult | typeof RESTART_AS_OPENMETRICS {
  const parser = new Parser(text, openMetrics, maxSeries, maxLineLength);
  try {
    const families = parser.parse();
    return { ok: true, families, format: openMetrics ? 'openmetrics' : 'text-0.0.4' };
  } catch (e) {
    if (e === RESTART_AS_OPENMETRICS) return RESTART_AS_OPENMETRICS;
    if (e instanceof ParseFailure) {
      return { ok: false, error: { reason: e.reason, line: e.line, message: e.message } };
    }
    // Not reachable by design; kept so that no input can make the scraper throw.
    return {
      ok: false,
      error: { reason: 'parse', line: parser.line, message: `internal parser error: ${describe(e)}` },
    };
  }
}

function describe(e: unknown): string {
  try {
    return e instanceof Error ? e.message : String(e);
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------------
// Character classes

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const EQUALS = 61;
const BACKSLASH = 92;
const UNDERSCORE = 95;
const LOWER_N = 110;
const LOWER_E = 101;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

const LABEL_START = 1; // [a-zA-Z_]
const LABEL_CONT = 2; // [a-zA-Z0-9_]
const METRIC_START = 4; // [a-zA-Z_:]
const METRIC_CONT = 8; // [a-zA-Z0-9_:]
const CHAR_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === UNDERSCORE;
  const digit = c >= ZERO && c <= NINE;
  const colon = c === 58;
  CHAR_CLASS[c] =
    (letter ? LABEL_START | METRIC_START : 0) |
    (letter || digit ? LABEL_CONT | METRIC_CONT : 0) |
    (colon ? METRIC_START | METRIC_CONT : 0);
}

const isBlank = (c: number): boolean => c === SPACE || c === TAB;
const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;

function skipBlanks(text: string, p: number, end: number): number {
  while (p < end) {
    const c = text.charCodeAt(p);
    if (c !== SPACE && c !== TAB) break;
    p++;
  }
  return p;
}

function skipNonBlanks(text: string, p: number, end: number): number {
  while (p < end) {
    const c = text.charCodeAt(p);
    if (c === SPACE || c === TAB) break;
    p++;
  }
  return p;
}

/** End of the metric name starting at p (p < end), or p itself if no name starts there. */
function scanMetricName(text: string, p: number, end: number): number {
  let c = text.charCodeAt(p);
  if (c >= 128 || (CHAR_CLASS[c]! & METRIC_START) === 0) return p;
  p++;
  while (p < end && (c = text.charCodeAt(p)) < 128 && (CHAR_CLASS[c]! & METRIC_CONT) !== 0) p++;
  return p;
}

/** Quotes device-supplied text for an error message: truncated and JSON-escaped, so it is safe to log. */
function q(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);
}

// ---------------------------------------------------------------------------------------------------
// Numbers

/**
 * A sample value as Go's strconv.ParseFloat accepts it, minus hex, underscores and out-of-range literals
 * (what expfmt rejects too): decimal floats with optional sign and exponent, and case-insensitive
 * `NaN`, `[+-]Inf`, `[+-]Infinity`. Undefined if invalid.
 */
export function parseNumber(text: string, start: number, end: number): number | undefined {
  const v = parseDecimal(text, start, end);
  if (v !== undefined) return v;
  const len = end - start;
  if (len < 3 || len > 9) return undefined;
  switch (text.slice(start, end).toLowerCase()) {
    case 'nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
    default:
      return undefined;
  }
}

/** `[+-]? (d+ (. d*)? | . d+) ([eE] [+-]? d+)?` as a finite number, else undefined. */
function parseDecimal(text: string, start: number, end: number): number | undefined {
  let p = start;
  let negative = false;
  if (p < end) {
    const c = text.charCodeAt(p);
    if (c === PLUS || c === MINUS) {
      negative = c === MINUS;
      p++;
    }
  }
  const intStart = p;
  let int = 0;
  for (let c: number; p < end && isDigit((c = text.charCodeAt(p))); p++) int = int * 10 + (c - ZERO);
  let digits = p - intStart;
  // Fast path for the common integer counter: up to 15 digits are exact in a double.
  if (p === end && digits > 0 && digits <= 15) return negative ? -int : int;
  if (p < end && text.charCodeAt(p) === DOT) {
    p++;
    const fracStart = p;
    while (p < end && isDigit(text.charCodeAt(p))) p++;
    digits += p - fracStart;
  }
  if (digits === 0) return undefined;
  if (p < end && (text.charCodeAt(p) | 0x20) === LOWER_E) {
    p++;
    if (p < end) {
      const c = text.charCodeAt(p);
      if (c === PLUS || c === MINUS) p++;
    }
    const expStart = p;
    while (p < end && isDigit(text.charCodeAt(p))) p++;
    if (p === expStart) return undefined;
  }
  if (p !== end) return undefined;
  // The grammar above is a subset of what Number() accepts, with the same (IEEE, round-to-nearest) result.
  const v = Number(text.slice(start, end));
  // Overflow: Go's ParseFloat reports ErrRange rather than returning ±Inf for a finite literal.
  return v === Infinity || v === -Infinity ? undefined : v;
}

/** Text format 0.0.4 timestamp: an int64 of milliseconds, optionally signed. */
function isTextTimestamp(text: string, start: number, end: number): boolean {
  let p = start;
  const sign = text.charCodeAt(p);
  if (sign === PLUS || sign === MINUS) p++;
  const digitsStart = p;
  while (p < end && isDigit(text.charCodeAt(p))) p++;
  if (p !== end || p === digitsStart) return false;
  let first = digitsStart;
  while (first < end - 1 && text.charCodeAt(first) === ZERO) first++;
  const len = end - first;
  if (len !== 19) return len < 19;
  // Same-length digit strings compare numerically.
  return text.slice(first, end) <= (sign === MINUS ? '9223372036854775808' : '9223372036854775807');
}

/** OpenMetrics timestamp: seconds as a finite decimal number. */
const isOpenMetricsTimestamp = (text: string, start: number, end: number): boolean =>
  parseDecimal(text, start, end) !== undefined;

// ---------------------------------------------------------------------------------------------------
// Families

/** Metric types as written in TYPE lines; the OpenMetrics-only ones exist only while parsing. */
type Kind = MetricType | 'info' | 'stateset' | 'gaugehistogram' | 'unknown';

const TYPES: ReadonlyMap<string, { kind: Kind; openMetricsOnly: boolean }> = new Map([
  ['counter', { kind: 'counter', openMetricsOnly: false }],
  ['gauge', { kind: 'gauge', openMetricsOnly: false }],
  ['histogram', { kind: 'histogram', openMetricsOnly: false }],
  ['summary', { kind: 'summary', openMetricsOnly: false }],
  ['untyped', { kind: 'untyped', openMetricsOnly: false }],
  // expfmt's spelling of a gauge histogram in the text format.
  ['gauge_histogram', { kind: 'gaugehistogram', openMetricsOnly: false }],
  ['gaugehistogram', { kind: 'gaugehistogram', openMetricsOnly: true }],
  ['info', { kind: 'info', openMetricsOnly: true }],
  ['stateset', { kind: 'stateset', openMetricsOnly: true }],
  ['unknown', { kind: 'unknown', openMetricsOnly: true }],
]);

/** Sample-name suffixes each kind of family owns. Text format 0.0.4 (the same table as render.ts). */
const TEXT_SUFFIXES: Readonly<Record<Kind, readonly string[]>> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
  gaugehistogram: ['_bucket', '_sum', '_count'],
  info: [],
  stateset: [],
  unknown: [],
};

/**
 * OpenMetrics 1.0. Counters also accept the bare family name, which 0.0.4-minded producers write after an
 * OpenMetrics TYPE line; one family may not mix both spellings.
 */
const OPENMETRICS_SUFFIXES: Readonly<Record<Kind, readonly string[]>> = {
  counter: ['_total', '_created', ''],
  gauge: [''],
  untyped: [''],
  unknown: [''],
  stateset: [''],
  info: ['_info'],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  summary: ['', '_sum', '_count', '_created'],
  gaugehistogram: ['_bucket', '_gsum', '_gcount', '_sum', '_count'],
};

/** Every suffix above; no entry is a suffix of another one, so at most one matches a name. */
const KNOWN_SUFFIXES = ['_bucket', '_count', '_sum', '_total', '_created', '_info', '_gsum', '_gcount'] as const;

interface FamilyState {
  readonly name: string;
  /** Line on which the family first appeared. */
  readonly line: number;
  kind: Kind;
  /** Sample-name suffixes the family owns, for its kind and the input format. */
  owns: readonly string[];
  /** owns includes '' (samples named exactly like the family). */
  ownsBare: boolean;
  help: string;
  hasHelp: boolean;
  hasType: boolean;
  /** A sample line (kept or dropped) resolved to this family. */
  seen: boolean;
  /** Counters: the suffix ('' or '_total') of its samples, fixed by the first one. */
  counterSuffix: string | undefined;
  readonly samples: Sample[];
}

function newFamily(name: string, line: number, owns: readonly string[]): FamilyState {
  return {
    name,
    line,
    kind: 'untyped',
    owns,
    ownsBare: true,
    help: '',
    hasHelp: false,
    hasType: false,
    seen: false,
    counterSuffix: undefined,
    samples: [],
  };
}

function endsWithEofMarker(text: string): boolean {
  let end = text.length;
  while (end > 0) {
    const c = text.charCodeAt(end - 1);
    if (c !== LF && c !== CR && c !== SPACE && c !== TAB) break;
    end--;
  }
  return end >= 5 && text.startsWith('# EOF', end - 5) && (end === 5 || text.charCodeAt(end - 6) === LF);
}

// ---------------------------------------------------------------------------------------------------
// The parser. One instance per pass; not reentrant.

class Parser {
  /** Current 1-based line. */
  line = 0;

  private readonly suffixes: Readonly<Record<Kind, readonly string[]>>;
  private readonly maxFamilies: number;
  private series = 0;
  private eofSeen = false;
  private current: FamilyState | undefined;
  private readonly byName = new Map<string, FamilyState>();
  private readonly order: FamilyState[] = [];
  private readonly seriesKeys = new Set<string>();
  /** Suffix of the sample last resolved by resolveFamily. */
  private suffix = '';
  /** Position after the last quoted string read by readQuoted. */
  private pos = 0;
  // Cached results of indexOf: the first '"' / '\' at or after the last position asked for (text.length if
  // none). Positions asked for only grow, so each character is searched at most once per pass, even on a
  // hostile line with thousands of labels.
  private quoteAt = -1;
  private backslashAt = -1;
  // Scratch space for the labels of the sample being parsed.
  private readonly labelNames: string[] = [];
  private readonly labelValues: string[] = [];
  /** Where each label value is written (between its quotes, still escaped). */
  private readonly rawValueStart: number[] = [];
  private readonly rawValueEnd: number[] = [];
  private labelCount = 0;
  /** The label set was written in canonical form: no blanks, names ascending, no trailing comma, not `{}`. */
  private labelsCanonical = false;

  constructor(
    private readonly text: string,
    private readonly openMetrics: boolean,
    private readonly maxSeries: number,
    private readonly maxLineLength: number,
  ) {
    this.suffixes = openMetrics ? OPENMETRICS_SUFFIXES : TEXT_SUFFIXES;
    this.maxFamilies = maxSeries + SPARE_FAMILIES;
  }

  parse(): MetricFamily[] {
    const text = this.text;
    const len = text.length;
    let start = 0;
    while (start < len) {
      const nl = text.indexOf('\n', start);
      const lineEnd = nl === -1 ? len : nl;
      this.line++;
      if (lineEnd - start > this.maxLineLength) this.fail(`line longer than ${this.maxLineLength} characters`);
      let end = lineEnd;
      while (end > start && text.charCodeAt(end - 1) === CR) end--;
      this.parseLine(start, end);
      start = lineEnd + 1;
    }
    return this.finish();
  }

  private fail(message: string): never {
    throw new ParseFailure('parse', this.line, message);
  }

  private parseLine(start: number, end: number): void {
    const p = skipBlanks(this.text, start, end);
    if (p === end) return;
    if (this.eofSeen) this.fail('content after "# EOF"');
    if (this.text.charCodeAt(p) === HASH) this.parseComment(p + 1, end);
    else this.parseSample(p, end);
  }

  // ----- comments, HELP, TYPE, UNIT, EOF

  private parseComment(p: number, end: number): void {
    const text = this.text;
    p = skipBlanks(text, p, end);
    const kwStart = p;
    p = skipNonBlanks(text, p, end);
    const kwLen = p - kwStart;
    if (kwLen === 3 && text.startsWith('EOF', kwStart)) {
      if (skipBlanks(text, p, end) === end) this.onEof();
      return;
    }
    if (kwLen !== 4) return;
    const keyword = text.slice(kwStart, p);
    if (keyword !== 'HELP' && keyword !== 'TYPE' && keyword !== 'UNIT') return; // an ordinary comment
    p = skipBlanks(text, p, end);
    if (p === end) return; // "# HELP" and nothing else: a comment, as in expfmt
    const nameStart = p;
    p = scanMetricName(text, p, end);
    if (p === nameStart || (p < end && !isBlank(text.charCodeAt(p)))) {
      this.fail(`invalid metric name in ${keyword} line`);
    }
    const name = text.slice(nameStart, p);
    p = skipBlanks(text, p, end);
    if (keyword === 'HELP') this.onHelp(name, p, end);
    else if (keyword === 'TYPE') this.onType(name, p, end);
    else if (!this.openMetrics) throw RESTART_AS_OPENMETRICS; // UNIT; ignored in OpenMetrics
  }

  private onEof(): void {
    if (!this.openMetrics) throw RESTART_AS_OPENMETRICS;
    this.eofSeen = true;
  }

  private onHelp(name: string, p: number, end: number): void {
    const fam = this.family(name);
    if (fam.hasHelp) this.fail(`second HELP line for ${q(name)}`);
    if (fam.seen && fam !== this.current) this.fail(`HELP line for ${q(name)} after its samples`);
    fam.help = this.readHelp(p, end);
    fam.hasHelp = true;
    this.current = fam;
  }

  private onType(name: string, p: number, end: number): void {
    const text = this.text;
    const typeStart = p;
    p = skipNonBlanks(text, p, end);
    if (p === typeStart) this.fail(`missing type in TYPE line for ${q(name)}`);
    const typeText = text.slice(typeStart, p);
    if (skipBlanks(text, p, end) !== end) this.fail(`unexpected text after the type of ${q(name)}`);
    const type = typeText.length <= 16 ? TYPES.get(typeText.toLowerCase()) : undefined;
    if (type === undefined) this.fail(`unknown metric type ${q(typeText)}`);
    if (type.openMetricsOnly && !this.openMetrics) throw RESTART_AS_OPENMETRICS;
    const fam = this.family(name);
    if (fam.hasType) this.fail(`second TYPE line for ${q(name)}`);
    if (fam.seen) this.fail(`TYPE line for ${q(name)} after its samples`);
    fam.kind = type.kind;
    fam.owns = this.suffixes[type.kind];
    fam.ownsBare = fam.owns.includes('');
    fam.hasType = true;
    this.current = fam;
  }

  /** HELP text from p to end: `\\`, `\n` and `\"` are unescaped, any other escape is an error. */
  private readHelp(p: number, end: number): string {
    const text = this.text;
    let b = this.nextBackslash(p);
    if (b >= end) return text.slice(p, end);
    let out = '';
    while (b < end) {
      if (b + 1 >= end) this.fail('HELP text ends with a backslash');
      const e = text.charCodeAt(b + 1);
      let unescaped: string;
      if (e === BACKSLASH) unescaped = '\\';
      else if (e === LOWER_N) unescaped = '\n';
      else if (e === QUOTE) unescaped = '"';
      else this.fail(`invalid escape sequence ${q(`\\${text[b + 1]}`)} in HELP text`);
      out += text.slice(p, b) + unescaped;
      p = b + 2;
      b = this.nextBackslash(p);
    }
    return out + text.slice(p, end);
  }

  private family(name: string): FamilyState {
    let fam = this.byName.get(name);
    if (fam === undefined) {
      if (this.order.length >= this.maxFamilies) {
        throw new ParseFailure('too_many_series', this.line, `more than ${this.maxFamilies} metric families`);
      }
      fam = newFamily(name, this.line, this.suffixes.untyped);
      this.byName.set(name, fam);
      this.order.push(fam);
    }
    return fam;
  }

  // ----- samples

  private parseSample(start: number, end: number): void {
    if (++this.series > this.maxSeries) {
      throw new ParseFailure('too_many_series', this.line, `more than ${this.maxSeries} samples`);
    }
    const text = this.text;
    const nameEnd = scanMetricName(text, start, end);
    if (nameEnd === start) {
      this.fail(text.charCodeAt(start) === OPEN_BRACE ? 'missing metric name' : 'invalid metric name');
    }
    let p = nameEnd;
    let c = p < end ? text.charCodeAt(p) : -1;
    if (c === SPACE || c === TAB) {
      p = skipBlanks(text, p, end);
      c = p < end ? text.charCodeAt(p) : -1;
    } else if (c !== OPEN_BRACE) {
      this.fail(c === -1 ? 'missing value' : 'invalid metric name');
    }
    this.labelCount = 0;
    let labelsEnd = nameEnd;
    let canonical = true;
    if (c === OPEN_BRACE) {
      canonical = p === nameEnd;
      labelsEnd = this.parseLabels(p + 1, end, true);
      canonical &&= this.labelsCanonical;
      p = skipBlanks(text, labelsEnd, end);
    }
    if (p === end) this.fail('missing value');

    const valueStart = p;
    p = skipNonBlanks(text, p, end);
    const value = parseNumber(text, valueStart, p);
    if (value === undefined) this.fail(`invalid value ${q(text.slice(valueStart, p))}`);
    p = skipBlanks(text, p, end);
    if (p < end && text.charCodeAt(p) !== HASH) {
      // The timestamp is validated, then dropped (see parseExposition).
      const tsStart = p;
      p = skipNonBlanks(text, p, end);
      const valid = this.openMetrics ? isOpenMetricsTimestamp(text, tsStart, p) : isTextTimestamp(text, tsStart, p);
      if (!valid) this.fail(`invalid timestamp ${q(text.slice(tsStart, p))}`);
      p = skipBlanks(text, p, end);
    }
    if (p < end) {
      if (text.charCodeAt(p) !== HASH) this.fail('unexpected text after the timestamp');
      if (!this.openMetrics) throw RESTART_AS_OPENMETRICS;
      this.skipExemplar(p + 1, end);
    }

    // Reuse the family's own string for the common case of a sample named like its family.
    const cur = this.current;
    const name =
      cur !== undefined && cur.name.length === nameEnd - start && text.startsWith(cur.name, start)
        ? cur.name
        : text.slice(start, nameEnd);
    const n = this.labelCount;
    const labels: Record<string, string> = {};
    for (let i = 0; i < n; i++) labels[this.labelNames[i]!] = this.labelValues[i]!;

    const fam = this.resolveFamily(name);
    const suffix = this.suffix;
    fam.seen = true;
    this.checkSample(fam, suffix, labels, value);
    // A canonically written sample is its own series key, without building a string.
    const key = n === 0 ? name : canonical ? text.slice(start, labelsEnd) : this.canonicalKey(name, n);
    if (this.seriesKeys.has(key)) this.fail(`duplicate series for ${q(name)}`);
    this.seriesKeys.add(key);
    // OpenMetrics creation timestamps have no counterpart in 0.0.4.
    if (suffix === '_created' && this.openMetrics) return;
    fam.samples.push({ name, labels, value });
  }

  /**
   * Label set from p (just after `{`) through `}`; returns the position after `}`. With store, the labels
   * go to the scratch arrays, checked for duplicates; without (exemplars), they are only validated.
   */
  private parseLabels(p: number, end: number, store: boolean): number {
    const text = this.text;
    const names = this.labelNames;
    const values = this.labelValues;
    let n = 0;
    let seen: Set<string> | undefined;
    let canonical = true;
    let q0 = p;
    for (;;) {
      p = skipBlanks(text, p, end);
      if (p !== q0) canonical = false;
      if (p >= end) this.fail('unterminated label set');
      let c = text.charCodeAt(p);
      if (c === CLOSE_BRACE) {
        canonical = false; // `{}`, or a trailing comma
        break;
      }
      const nameStart = p;
      if (c >= 128 || (CHAR_CLASS[c]! & LABEL_START) === 0) this.fail('invalid label name');
      p++;
      while (p < end && (c = text.charCodeAt(p)) < 128 && (CHAR_CLASS[c]! & LABEL_CONT) !== 0) p++;
      const nameEnd = p;
      const name = text.slice(nameStart, nameEnd);
      if (
        nameEnd - nameStart >= 2 &&
        text.charCodeAt(nameStart) === UNDERSCORE &&
        text.charCodeAt(nameStart + 1) === UNDERSCORE
      ) {
        this.fail(`reserved label name ${q(name)}`);
      }
      p = skipBlanks(text, p, end);
      if (p >= end || text.charCodeAt(p) !== EQUALS) this.fail(`expected "=" after label name ${q(name)}`);
      q0 = p + 1;
      p = skipBlanks(text, q0, end);
      if (p >= end || text.charCodeAt(p) !== QUOTE) this.fail(`expected a quoted value for label ${q(name)}`);
      if (p !== q0 || q0 !== nameEnd + 1) canonical = false; // blanks around "="
      const value = this.readQuoted(p + 1, end);
      if (store) {
        this.rawValueStart[n] = p + 1;
        this.rawValueEnd[n] = this.pos - 1;
        if (n > 0 && names[n - 1]! >= name) canonical = false;
        if (n < 16) {
          for (let i = 0; i < n; i++) if (names[i] === name) this.fail(`duplicate label name ${q(name)}`);
        } else {
          // Many labels (hostile input): a set keeps the check linear.
          seen ??= new Set(names.slice(0, n));
          if (seen.has(name)) this.fail(`duplicate label name ${q(name)}`);
          seen.add(name);
        }
        names[n] = name;
        values[n] = value;
        n++;
      }
      q0 = this.pos;
      p = skipBlanks(text, q0, end);
      if (p !== q0) canonical = false;
      if (p >= end) this.fail('unterminated label set');
      c = text.charCodeAt(p);
      if (c === CLOSE_BRACE) break;
      if (c !== COMMA) this.fail(`expected "," or "}" after the value of label ${q(name)}`);
      q0 = ++p;
    }
    if (store) {
      this.labelCount = n;
      this.labelsCanonical = canonical;
    }
    return p + 1;
  }

  /** Quoted label value from p (just after the opening quote); leaves the position after the closing quote in pos. */
  private readQuoted(p: number, end: number): string {
    const text = this.text;
    let quote = this.nextQuote(p);
    let backslash = this.nextBackslash(p);
    if (backslash > quote) {
      if (quote >= end) this.fail('unterminated label value');
      this.pos = quote + 1;
      return text.slice(p, quote);
    }
    let out = '';
    for (;;) {
      if (backslash < quote && backslash < end) {
        if (backslash + 1 >= end) this.fail('unterminated label value');
        const e = text.charCodeAt(backslash + 1);
        let unescaped: string;
        if (e === BACKSLASH) unescaped = '\\';
        else if (e === QUOTE) unescaped = '"';
        else if (e === LOWER_N) unescaped = '\n';
        else this.fail(`invalid escape sequence ${q(`\\${text[backslash + 1]}`)} in label value`);
        out += text.slice(p, backslash) + unescaped;
        p = backslash + 2;
        backslash = this.nextBackslash(p);
        if (quote < p) quote = this.nextQuote(p);
      } else {
        if (quote >= end) this.fail('unterminated label value');
        this.pos = quote + 1;
        return out + text.slice(p, quote);
      }
    }
  }

  private nextQuote(p: number): number {
    if (this.quoteAt < p) {
      const i = this.text.indexOf('"', p);
      this.quoteAt = i === -1 ? this.text.length : i;
    }
    return this.quoteAt;
  }

  private nextBackslash(p: number): number {
    if (this.backslashAt < p) {
      const i = this.text.indexOf('\\', p);
      this.backslashAt = i === -1 ? this.text.length : i;
    }
    return this.backslashAt;
  }

  /** OpenMetrics exemplar after `#`: `{labels} value [timestamp]`, validated and discarded. */
  private skipExemplar(p: number, end: number): void {
    const text = this.text;
    p = skipBlanks(text, p, end);
    if (p >= end || text.charCodeAt(p) !== OPEN_BRACE) this.fail('invalid exemplar: expected "{"');
    p = skipBlanks(text, this.parseLabels(p + 1, end, false), end);
    const valueStart = p;
    p = skipNonBlanks(text, p, end);
    if (parseNumber(text, valueStart, p) === undefined)
      this.fail(`invalid exemplar value ${q(text.slice(valueStart, p))}`);
    p = skipBlanks(text, p, end);
    if (p === end) return;
    const tsStart = p;
    p = skipNonBlanks(text, p, end);
    if (!isOpenMetricsTimestamp(text, tsStart, p)) this.fail(`invalid exemplar timestamp ${q(text.slice(tsStart, p))}`);
    if (skipBlanks(text, p, end) !== end) this.fail('unexpected text after the exemplar');
  }

  /**
   * The family a sample belongs to, in this order: the current family if the name is one of its sample
   * names (`x_count` after `# TYPE x histogram`); the family of exactly that name; the family whose name
   * plus a suffix it owns gives the sample name; else a new untyped family. Sets this.suffix.
   */
  private resolveFamily(name: string): FamilyState {
    const cur = this.current;
    if (cur !== undefined) {
      if (name === cur.name) {
        if (cur.ownsBare) {
          this.suffix = '';
          return cur;
        }
      } else if (name.startsWith(cur.name)) {
        const suffix = name.slice(cur.name.length);
        if (cur.owns.includes(suffix)) {
          this.suffix = suffix;
          return cur;
        }
      }
    }
    this.suffix = '';
    const exact = this.byName.get(name);
    if (exact !== undefined) {
      if (!exact.ownsBare) this.fail(`sample ${q(name)} does not fit ${exact.kind} family ${q(name)}`);
      return this.enter(exact);
    }
    for (const suffix of KNOWN_SUFFIXES) {
      if (name.length > suffix.length && name.endsWith(suffix)) {
        const base = this.byName.get(name.slice(0, name.length - suffix.length));
        if (base !== undefined && base.owns.includes(suffix)) {
          this.suffix = suffix;
          return this.enter(base);
        }
        break;
      }
    }
    return this.enter(this.family(name));
  }

  /**
   * Identity of the sample just parsed: the text a canonical writer would produce for its name and labels,
   * `name{a="v",b="w"}` with names ascending and values as written (escaping is canonical: `"`, `\` and
   * LF can only be written as `\"`, `\\` and `\n`, and nothing else may be escaped).
   */
  private canonicalKey(name: string, n: number): string {
    const text = this.text;
    const names = this.labelNames;
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (names[a]! < names[b]! ? -1 : 1));
    const parts: string[] = [];
    for (const i of order) parts.push(`${names[i]!}="${text.slice(this.rawValueStart[i], this.rawValueEnd[i])}"`);
    return `${name}{${parts.join(',')}}`;
  }

  /** Makes fam (not the current family) current; its samples must not have been interrupted. */
  private enter(fam: FamilyState): FamilyState {
    if (fam.seen) this.fail(`samples of ${q(fam.name)} are not contiguous (family started on line ${fam.line})`);
    this.current = fam;
    return fam;
  }

  private checkSample(fam: FamilyState, suffix: string, labels: Labels, value: number): void {
    switch (fam.kind) {
      case 'histogram':
      case 'gaugehistogram':
        if (suffix === '_bucket') {
          const le = labels['le'];
          if (le === undefined) this.fail(`bucket of histogram ${q(fam.name)} without "le" label`);
          if (parseNumber(le, 0, le.length) === undefined) this.fail(`invalid "le" label value ${q(le)}`);
          if (value < 0 && fam.kind === 'histogram') this.fail(`negative bucket count in histogram ${q(fam.name)}`);
        } else if (suffix === '_count' && value < 0 && fam.kind === 'histogram') {
          this.fail(`negative count in histogram ${q(fam.name)}`);
        }
        break;
      case 'summary':
        if (suffix === '') {
          const quantile = labels['quantile'];
          if (quantile === undefined) this.fail(`sample of summary ${q(fam.name)} without "quantile" label`);
          if (parseNumber(quantile, 0, quantile.length) === undefined)
            this.fail(`invalid "quantile" label value ${q(quantile)}`);
        }
        break;
      case 'counter':
        if (suffix !== '_created') {
          if (fam.counterSuffix === undefined) fam.counterSuffix = suffix;
          else if (fam.counterSuffix !== suffix)
            this.fail(`counter ${q(fam.name)} mixes samples with and without "_total"`);
        }
        break;
      default:
        break;
    }
  }

  // ----- result

  private finish(): MetricFamily[] {
    const out: MetricFamily[] = [];
    const outNames = new Map<string, FamilyState>();
    for (const fam of this.order) {
      if (fam.samples.length === 0 || fam.kind === 'gaugehistogram') continue;
      let name = fam.name;
      let type: MetricType;
      switch (fam.kind) {
        case 'counter':
          type = 'counter';
          name += fam.counterSuffix ?? '';
          break;
        case 'info':
          type = 'gauge';
          name += '_info';
          break;
        case 'stateset':
          type = 'gauge';
          break;
        case 'unknown':
          type = 'untyped';
          break;
        default:
          type = fam.kind;
      }
      // Names are unique per input, but OpenMetrics renames (x -> x_total, x -> x_info) can clash, and
      // render.ts would then merge two families into one.
      const clash = outNames.get(name);
      if (clash !== undefined) {
        this.line = fam.line;
        this.fail(`families ${q(clash.name)} and ${q(fam.name)} both become ${q(name)}`);
      }
      outNames.set(name, fam);
      out.push({ name, help: fam.help, type, samples: fam.samples });
    }
    return out;
  }
}
