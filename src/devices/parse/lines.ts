// The line grammar both formats share: the line loop and its limits, comments with HELP/TYPE/UNIT/EOF, and
// sample lines with duplicate-series detection. text.ts and openmetrics.ts fill in where the formats differ.
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
//    the value or timestamp are tolerated.
// Escapes are exactly Go's: label values know `\\`, `\"` and `\n`; HELP text knows `\\` and `\n` (and
// `\"`, which Go and OpenMetrics accept there); any other backslash sequence is an error. Leading blanks
// of HELP text are skipped, trailing ones kept (as in Go).

import type { MetricFamily } from '../../exposition/family.js';
import { Families, type SuffixTable, type TypeInfo, TYPES } from './families.js';
import {
  CR,
  HASH,
  isBlank,
  Lexer,
  OPEN_BRACE,
  ParseFailure,
  parseNumber,
  q,
  scanMetricName,
  skipBlanks,
  skipNonBlanks,
  SPACE,
  TAB,
} from './lexer.js';

/** Returned by a text-format pass that met syntax only OpenMetrics has. */
export const OPENMETRICS_SYNTAX = 'openmetrics-syntax';

/** One pass over one payload; not reentrant. */
export abstract class LineParser {
  protected readonly lex: Lexer;
  private readonly families: Families;
  private series = 0;
  /** The format's end marker (OpenMetrics' `# EOF`) was seen: only blank lines may follow. */
  protected ended = false;
  private readonly seriesKeys = new Set<string>();

  constructor(
    protected readonly text: string,
    private readonly maxSeries: number,
    private readonly maxLineLength: number,
    suffixes: SuffixTable,
  ) {
    this.lex = new Lexer(text);
    this.families = new Families(this.lex, suffixes, maxSeries);
  }

  /** Current 1-based line, for a failure the pass did not expect. */
  get line(): number {
    return this.lex.line;
  }

  /** The families, or OPENMETRICS_SYNTAX; throws ParseFailure. */
  parse(): MetricFamily[] | typeof OPENMETRICS_SYNTAX {
    const text = this.text;
    const len = text.length;
    let start = 0;
    while (start < len) {
      const nl = text.indexOf('\n', start);
      const lineEnd = nl === -1 ? len : nl;
      this.lex.line++;
      if (lineEnd - start > this.maxLineLength) this.lex.fail(`line longer than ${this.maxLineLength} characters`);
      let end = lineEnd;
      while (end > start && text.charCodeAt(end - 1) === CR) end--;
      if (!this.parseLine(start, end)) return OPENMETRICS_SYNTAX;
      start = lineEnd + 1;
    }
    return this.families.finish();
  }

  // Each parse method returns false when it meets syntax the format does not have (text format meeting
  // OpenMetrics).

  private parseLine(start: number, end: number): boolean {
    const p = skipBlanks(this.text, start, end);
    if (p === end) return true;
    if (this.ended) this.lex.fail('content after "# EOF"');
    return this.text.charCodeAt(p) === HASH ? this.parseComment(p + 1, end) : this.parseSample(p, end);
  }

  // ----- where the formats differ

  /** `# EOF` (alone on its line). */
  protected abstract onEof(): boolean;

  /** `# UNIT name ...`. */
  protected abstract onUnit(): boolean;

  protected abstract knowsType(type: TypeInfo): boolean;

  protected abstract isTimestamp(start: number, end: number): boolean;

  /** `#` and what follows after a sample's value and timestamp, from p (after the `#`). */
  protected abstract onExemplar(p: number, end: number): boolean;

  // ----- comments, HELP, TYPE

  private parseComment(p: number, end: number): boolean {
    const text = this.text;
    p = skipBlanks(text, p, end);
    const kwStart = p;
    p = skipNonBlanks(text, p, end);
    const kwLen = p - kwStart;
    if (kwLen === 3 && text.startsWith('EOF', kwStart)) {
      return skipBlanks(text, p, end) === end ? this.onEof() : true;
    }
    if (kwLen !== 4) return true;
    const keyword = text.slice(kwStart, p);
    if (keyword !== 'HELP' && keyword !== 'TYPE' && keyword !== 'UNIT') return true; // an ordinary comment
    p = skipBlanks(text, p, end);
    if (p === end) return true; // "# HELP" and nothing else: a comment, as in expfmt
    const nameStart = p;
    p = scanMetricName(text, p, end);
    if (p === nameStart || (p < end && !isBlank(text.charCodeAt(p)))) {
      this.lex.fail(`invalid metric name in ${keyword} line`);
    }
    const name = text.slice(nameStart, p);
    p = skipBlanks(text, p, end);
    if (keyword === 'HELP') this.families.help(name).help = this.lex.help(p, end);
    else if (keyword === 'TYPE') return this.parseType(name, p, end);
    else return this.onUnit();
    return true;
  }

  private parseType(name: string, p: number, end: number): boolean {
    const text = this.text;
    const typeStart = p;
    p = skipNonBlanks(text, p, end);
    if (p === typeStart) this.lex.fail(`missing type in TYPE line for ${q(name)}`);
    const typeText = text.slice(typeStart, p);
    if (skipBlanks(text, p, end) !== end) this.lex.fail(`unexpected text after the type of ${q(name)}`);
    const type = typeText.length <= 16 ? TYPES.get(typeText.toLowerCase()) : undefined;
    if (type === undefined) this.lex.fail(`unknown metric type ${q(typeText)}`);
    if (!this.knowsType(type)) return false;
    this.families.type(name, type);
    return true;
  }

  // ----- samples

  private parseSample(start: number, end: number): boolean {
    const lex: Lexer = this.lex;
    if (++this.series > this.maxSeries) {
      throw new ParseFailure('too_many_series', lex.line, `more than ${this.maxSeries} samples`);
    }
    const text = this.text;
    const nameEnd = scanMetricName(text, start, end);
    if (nameEnd === start) {
      lex.fail(text.charCodeAt(start) === OPEN_BRACE ? 'missing metric name' : 'invalid metric name');
    }
    let p = nameEnd;
    let c = p < end ? text.charCodeAt(p) : -1;
    if (c === SPACE || c === TAB) {
      p = skipBlanks(text, p, end);
      c = p < end ? text.charCodeAt(p) : -1;
    } else if (c !== OPEN_BRACE) {
      lex.fail(c === -1 ? 'missing value' : 'invalid metric name');
    }
    lex.labelCount = 0;
    let labelsEnd = nameEnd;
    let canonical = true;
    if (c === OPEN_BRACE) {
      canonical = p === nameEnd;
      labelsEnd = lex.labels(p + 1, end, true);
      canonical &&= lex.labelsCanonical;
      p = skipBlanks(text, labelsEnd, end);
    }
    if (p === end) lex.fail('missing value');

    const valueStart = p;
    p = skipNonBlanks(text, p, end);
    const value = parseNumber(text, valueStart, p);
    if (value === undefined) lex.fail(`invalid value ${q(text.slice(valueStart, p))}`);
    p = skipBlanks(text, p, end);
    if (p < end && text.charCodeAt(p) !== HASH) {
      // The timestamp is validated, then dropped (see index.ts).
      const tsStart = p;
      p = skipNonBlanks(text, p, end);
      if (!this.isTimestamp(tsStart, p)) lex.fail(`invalid timestamp ${q(text.slice(tsStart, p))}`);
      p = skipBlanks(text, p, end);
    }
    if (p < end) {
      if (text.charCodeAt(p) !== HASH) lex.fail('unexpected text after the timestamp');
      if (!this.onExemplar(p + 1, end)) return false;
    }

    // Reuse the family's own string for the common case of a sample named like its family.
    const families = this.families;
    const cur = families.currentName;
    const name =
      cur !== undefined && cur.length === nameEnd - start && text.startsWith(cur, start)
        ? cur
        : text.slice(start, nameEnd);
    const n = lex.labelCount;
    const labels: Record<string, string> = {};
    for (let i = 0; i < n; i++) labels[lex.labelNames[i]!] = lex.labelValues[i]!;

    const fam = families.sample(name, labels, value);
    // A canonically written sample is its own series key, without building a string.
    const key = n === 0 ? name : canonical ? text.slice(start, labelsEnd) : lex.canonicalKey(name);
    if (this.seriesKeys.has(key)) lex.fail(`duplicate series for ${q(name)}`);
    this.seriesKeys.add(key);
    // OpenMetrics creation timestamps have no counterpart in 0.0.4 (only OpenMetrics families own `_created`).
    if (families.suffix !== '_created') fam.samples.push({ name, labels, value });
    return true;
  }
}
