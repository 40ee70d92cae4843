// Prometheus text exposition format 0.0.4: the shared line grammar (lines.ts) with integer millisecond
// timestamps and the four types' suffixes. Text format has no `# UNIT` or `# EOF` lines, no
// OpenMetrics-only types and no exemplars: meeting one, the pass stops and reports the payload as
// OpenMetrics (a producer that left out its final `# EOF`), which index.ts then parses as such.

import type { SuffixTable, TypeInfo } from './families.js';
import { isDigit, MINUS, PLUS, ZERO } from './lexer.js';
import { LineParser } from './lines.js';

/** Sample-name suffixes each kind of family owns in text format 0.0.4 (the same table as render.ts). */
const TEXT_SUFFIXES: SuffixTable = {
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

export class TextParser extends LineParser {
  constructor(text: string, maxSeries: number, maxLineLength: number) {
    super(text, maxSeries, maxLineLength, TEXT_SUFFIXES);
  }

  protected override onEof(): boolean {
    return false;
  }

  protected override onUnit(): boolean {
    return false;
  }

  protected override knowsType(type: TypeInfo): boolean {
    return !type.openMetricsOnly;
  }

  protected override isTimestamp(start: number, end: number): boolean {
    return isTextTimestamp(this.text, start, end);
  }

  protected override onExemplar(): boolean {
    return false;
  }
}
