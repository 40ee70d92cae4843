// Parser for the metrics devices serve (`tailscaled` client metrics): Prometheus text exposition format
// 0.0.4 (text.ts), and OpenMetrics 1.0 text (openmetrics.ts), which is normalized to the 0.0.4 data model
// (families.ts) so that exposition/render.ts can write it out again. This entry point chooses the format.
//
// The input is untrusted: every device on the tailnet can put any bytes into it. So the parser
//  - never throws: any input returns a ParseResult (an unexpected exception becomes a 'parse' error);
//  - is a hand-written character scanner (lexer.ts), no regular expressions;
//  - bounds the work and memory one device can cause: maxLineLength, maxSeries, and at most
//    maxSeries + 1024 families (families declared by HELP/TYPE lines without samples cost memory too);
//  - rejects rather than guesses: one malformed line fails the whole payload with a 1-based line number
//    and a short message in which device-supplied text is quoted and truncated.

import type { MetricFamily } from '../../exposition/family.js';
import { CR, type FailureReason, LF, ParseFailure, SPACE, TAB } from './lexer.js';
import { OpenMetricsParser } from './openmetrics.js';
import { type LineParser, OPENMETRICS_SYNTAX } from './lines.js';
import { TextParser } from './text.js';

export { parseNumber } from './lexer.js';

export interface ParseOptions {
  /**
   * Most sample lines accepted; one more fails the payload with reason 'too_many_series' (as does a
   * payload naming more than maxSeries + 1024 families). Default 10000.
   */
  maxSeries?: number;
  /** Longest line accepted, in UTF-16 code units, excluding the line feed. Default 64 KiB. */
  maxLineLength?: number;
  /** The response's Content-Type: `application/openmetrics-text` selects OpenMetrics outright. */
  contentType?: string | undefined;
}

type ParseFormat = 'text-0.0.4' | 'openmetrics';

export type ParseResult =
  { ok: true; families: MetricFamily[]; format: ParseFormat } | { ok: false; error: ParseError };

interface ParseError {
  reason: FailureReason;
  /** 1-based line of the offending input (0 if the input was not a string). */
  line: number;
  message: string;
}

const DEFAULT_MAX_SERIES = 10_000;
const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;

/**
 * Parses one device's exposition text. The format: OpenMetrics if the Content-Type says so or the text
 * ends with `# EOF`; otherwise text format 0.0.4, unless the text uses an OpenMetrics-only construct
 * (`# UNIT`, types info/stateset/gaugehistogram/unknown, exemplars, a `# EOF` line), in which case it is
 * parsed again, from the top, as OpenMetrics.
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
  if (!isOpenMetricsType(options?.contentType) && !endsWithEofMarker(text)) {
    const result = run(new TextParser(text, maxSeries, maxLineLength), 'text-0.0.4');
    if (result !== OPENMETRICS_SYNTAX) return result;
    // OpenMetrics-only syntax in text format: a producer that left out its final `# EOF`.
  }
  // OpenMetrics has every construct the text pass stops at: this pass always ends in a result.
  return run(new OpenMetricsParser(text, maxSeries, maxLineLength), 'openmetrics') as ParseResult;
}

function limitOption(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && value >= 0 ? Math.floor(value) : fallback;
}

/** `application/openmetrics-text`, with any parameters, in any case. */
function isOpenMetricsType(contentType: string | undefined): boolean {
  if (typeof contentType !== 'string') return false;
  const semi = contentType.indexOf(';');
  return (
    (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/openmetrics-text'
  );
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

function run(parser: LineParser, format: ParseFormat): ParseResult | typeof OPENMETRICS_SYNTAX {
  try {
    const families = parser.parse();
    return families === OPENMETRICS_SYNTAX ? families : { ok: true, families, format };
  } catch (e) {
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
