// OpenMetrics 1.0 text, parsed with the grammar text format shares (lines.ts) plus what OpenMetrics adds: float
// timestamps, exemplars, `# UNIT`, `# EOF`, the types info/stateset/gaugehistogram/unknown and their
// sample-name suffixes. Its exact-whitespace and metadata-order rules are not enforced.
//
// Families are mapped onto the 0.0.4 model (families.ts finish); `_created` samples are dropped; exemplars
// are validated and stripped; `# UNIT` is ignored; a missing `# EOF` is tolerated; anything after it is not.
// A counter written 0.0.4-style after an OpenMetrics TYPE line (samples named like the family) is kept as it is.

import type { SuffixTable } from './families.js';
import { type Lexer, OPEN_BRACE, parseDecimal, parseNumber, q, skipBlanks, skipNonBlanks } from './lexer.js';
import { LineParser } from './lines.js';

/**
 * Counters also accept the bare family name, which 0.0.4-minded producers write after an OpenMetrics TYPE
 * line; one family may not mix both spellings.
 */
const OPENMETRICS_SUFFIXES: SuffixTable = {
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

/** OpenMetrics timestamp: seconds as a finite decimal number. */
const isOpenMetricsTimestamp = (text: string, start: number, end: number): boolean =>
  parseDecimal(text, start, end) !== undefined;

export class OpenMetricsParser extends LineParser {
  constructor(text: string, maxSeries: number, maxLineLength: number) {
    super(text, maxSeries, maxLineLength, OPENMETRICS_SUFFIXES);
  }

  protected override onEof(): boolean {
    this.ended = true;
    return true;
  }

  protected override onUnit(): boolean {
    return true; // units are not part of the 0.0.4 model
  }

  protected override knowsType(): boolean {
    return true;
  }

  protected override isTimestamp(start: number, end: number): boolean {
    return isOpenMetricsTimestamp(this.text, start, end);
  }

  /** Exemplar after `#`: `{labels} value [timestamp]`, validated and discarded. */
  protected override onExemplar(p: number, end: number): boolean {
    const text = this.text;
    const lex: Lexer = this.lex;
    p = skipBlanks(text, p, end);
    if (p >= end || text.charCodeAt(p) !== OPEN_BRACE) lex.fail('invalid exemplar: expected "{"');
    p = skipBlanks(text, lex.labels(p + 1, end, false), end);
    const valueStart = p;
    p = skipNonBlanks(text, p, end);
    if (parseNumber(text, valueStart, p) === undefined)
      lex.fail(`invalid exemplar value ${q(text.slice(valueStart, p))}`);
    p = skipBlanks(text, p, end);
    if (p === end) return true;
    const tsStart = p;
    p = skipNonBlanks(text, p, end);
    if (!isOpenMetricsTimestamp(text, tsStart, p)) lex.fail(`invalid exemplar timestamp ${q(text.slice(tsStart, p))}`);
    if (skipBlanks(text, p, end) !== end) lex.fail('unexpected text after the exemplar');
    return true;
  }
}
