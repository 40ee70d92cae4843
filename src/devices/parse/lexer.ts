// Character-level scanning shared by both formats: names, label sets, quoted label values, HELP text,
// numbers. A hand-written scanner, no regular expressions: no catastrophic backtracking, and every index
// search is amortized O(input) (see nextQuote/nextBackslash). Errors are thrown as ParseFailure and turned
// into a result by the entry point (index.ts), which is the only place that catches them.

export const TAB = 9;
export const LF = 10;
export const CR = 13;
export const SPACE = 32;
const QUOTE = 34;
export const HASH = 35;
export const PLUS = 43;
const COMMA = 44;
export const MINUS = 45;
const DOT = 46;
export const ZERO = 48;
const NINE = 57;
const EQUALS = 61;
const BACKSLASH = 92;
const UNDERSCORE = 95;
const LOWER_N = 110;
const LOWER_E = 101;
export const OPEN_BRACE = 123;
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

export const isBlank = (c: number): boolean => c === SPACE || c === TAB;
export const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;

export function skipBlanks(text: string, p: number, end: number): number {
  while (p < end) {
    const c = text.charCodeAt(p);
    if (c !== SPACE && c !== TAB) break;
    p++;
  }
  return p;
}

export function skipNonBlanks(text: string, p: number, end: number): number {
  while (p < end) {
    const c = text.charCodeAt(p);
    if (c === SPACE || c === TAB) break;
    p++;
  }
  return p;
}

/** End of the metric name starting at p (p < end), or p itself if no name starts there. */
export function scanMetricName(text: string, p: number, end: number): number {
  let c = text.charCodeAt(p);
  if (c >= 128 || (CHAR_CLASS[c]! & METRIC_START) === 0) return p;
  p++;
  while (p < end && (c = text.charCodeAt(p)) < 128 && (CHAR_CLASS[c]! & METRIC_CONT) !== 0) p++;
  return p;
}

/** Quotes device-supplied text for an error message: truncated and JSON-escaped, so it is safe to log. */
export function q(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);
}

/** What `\c` stands for: label values and HELP text know the same three escapes (`\\`, `\"`, `\n`). */
function escaped(c: number): string | undefined {
  return c === BACKSLASH ? '\\' : c === QUOTE ? '"' : c === LOWER_N ? '\n' : undefined;
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
export function parseDecimal(text: string, start: number, end: number): number | undefined {
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

// ---------------------------------------------------------------------------------------------------
// Failures

/** Why a payload was rejected: malformed, or over a limit. */
export type FailureReason = 'parse' | 'too_many_series';

/** Thrown to fail the parse; not an Error, so no stack trace is captured. Caught only in index.ts. */
export class ParseFailure {
  constructor(
    readonly reason: FailureReason,
    readonly line: number,
    readonly message: string,
  ) {}
}

// ---------------------------------------------------------------------------------------------------
// The scanner state of one pass over one payload; not reentrant.

export class Lexer {
  /** Current 1-based line, set by the line loop; every failure reports it. */
  line = 0;
  /** Position after the last quoted string read by quoted(). */
  pos = 0;
  // Cached results of indexOf: the first '"' / '\' at or after the last position asked for (text.length if
  // none). Positions asked for only grow, so each character is searched at most once per pass, even on a
  // hostile line with thousands of labels.
  private quoteAt = -1;
  private backslashAt = -1;
  // The labels of the sample being parsed, written by labels(p, end, true).
  readonly labelNames: string[] = [];
  readonly labelValues: string[] = [];
  /** Where each label value is written (between its quotes, still escaped). */
  private readonly rawValueStart: number[] = [];
  private readonly rawValueEnd: number[] = [];
  labelCount = 0;
  /** The label set was written in canonical form: no blanks, names ascending, no trailing comma, not `{}`. */
  labelsCanonical = false;

  constructor(readonly text: string) {}

  fail(message: string): never {
    throw new ParseFailure('parse', this.line, message);
  }

  /**
   * Label set from p (just after `{`) through `}`; returns the position after `}`. With store, the labels
   * go to labelNames/labelValues (labelCount of them), checked for duplicates; without (exemplars), they
   * are only validated.
   */
  labels(p: number, end: number, store: boolean): number {
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
      const value = this.quoted(p + 1, end);
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

  /**
   * Identity of the sample just parsed: the text a canonical writer would produce for its name and labels,
   * `name{a="v",b="w"}` with names ascending and values as written (escaping is canonical: `"`, `\` and
   * LF can only be written as `\"`, `\\` and `\n`, and nothing else may be escaped).
   */
  canonicalKey(name: string): string {
    const text = this.text;
    const names = this.labelNames;
    const order = Array.from({ length: this.labelCount }, (_, i) => i).sort((a, b) => (names[a]! < names[b]! ? -1 : 1));
    const parts: string[] = [];
    for (const i of order) parts.push(`${names[i]!}="${text.slice(this.rawValueStart[i], this.rawValueEnd[i])}"`);
    return `${name}{${parts.join(',')}}`;
  }

  /** Quoted label value from p (just after the opening quote); leaves the position after the closing quote in pos. */
  private quoted(p: number, end: number): string {
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
        const unescaped = escaped(text.charCodeAt(backslash + 1));
        if (unescaped === undefined) {
          this.fail(`invalid escape sequence ${q(`\\${text[backslash + 1]}`)} in label value`);
        }
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

  /** HELP text from p to end: `\\`, `\n` and `\"` are unescaped, any other escape is an error. */
  help(p: number, end: number): string {
    const text = this.text;
    let b = this.nextBackslash(p);
    if (b >= end) return text.slice(p, end);
    let out = '';
    while (b < end) {
      if (b + 1 >= end) this.fail('HELP text ends with a backslash');
      const unescaped = escaped(text.charCodeAt(b + 1));
      if (unescaped === undefined) this.fail(`invalid escape sequence ${q(`\\${text[b + 1]}`)} in HELP text`);
      out += text.slice(p, b) + unescaped;
      p = b + 2;
      b = this.nextBackslash(p);
    }
    return out + text.slice(p, end);
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
}
