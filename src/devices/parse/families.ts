// Family resolution for both formats: TYPE and HELP lines, which family each sample belongs to (by the
// sample-name suffixes the family's type owns in the input's format), the checks a family's type puts on
// its samples, and the mapping onto the 0.0.4 data model with its name conflicts.

import type { Labels, MetricFamily, MetricType, Sample } from '../../exposition/family.js';
import { type Lexer, ParseFailure, parseNumber, q } from './lexer.js';

/** Metric types as written in TYPE lines; the OpenMetrics-only ones exist only while parsing. */
type Kind = MetricType | 'info' | 'stateset' | 'gaugehistogram' | 'unknown';

export interface TypeInfo {
  readonly kind: Kind;
  /** Only OpenMetrics knows this type: text format meeting it is OpenMetrics without its `# EOF`. */
  readonly openMetricsOnly: boolean;
}

export const TYPES: ReadonlyMap<string, TypeInfo> = new Map([
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

/** The sample-name suffixes each kind of family owns in one format ('' = named exactly like the family). */
export type SuffixTable = Readonly<Record<Kind, readonly string[]>>;

/** Every suffix either format knows; no entry is a suffix of another one, so at most one matches a name. */
const KNOWN_SUFFIXES = ['_bucket', '_count', '_sum', '_total', '_created', '_info', '_gsum', '_gcount'] as const;

/** Families that never receive a sample still cost memory; allow this many beyond maxSeries. */
const SPARE_FAMILIES = 1024;

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

/** The families of one pass, in the order they first appear. */
export class Families {
  /** Suffix of the sample last resolved by sample(). */
  suffix = '';
  private current: FamilyState | undefined;
  private readonly byName = new Map<string, FamilyState>();
  private readonly order: FamilyState[] = [];
  /** At most maxSeries + SPARE_FAMILIES families (declared by HELP/TYPE lines without samples too). */
  private readonly maxFamilies: number;

  constructor(
    private readonly lex: Lexer,
    private readonly suffixes: SuffixTable,
    maxSeries: number,
  ) {
    this.maxFamilies = maxSeries + SPARE_FAMILIES;
  }

  /** Name of the family the last sample, HELP or TYPE line belonged to. */
  get currentName(): string | undefined {
    return this.current?.name;
  }

  /** The family a HELP line names, made current; the caller sets its help text. */
  help(name: string): FamilyState {
    const fam = this.family(name);
    if (fam.hasHelp) this.lex.fail(`second HELP line for ${q(name)}`);
    if (fam.seen && fam !== this.current) this.lex.fail(`HELP line for ${q(name)} after its samples`);
    fam.hasHelp = true;
    this.current = fam;
    return fam;
  }

  /** A TYPE line: the family takes the type and the suffixes the type owns in this format. */
  type(name: string, type: TypeInfo): void {
    const fam = this.family(name);
    if (fam.hasType) this.lex.fail(`second TYPE line for ${q(name)}`);
    if (fam.seen) this.lex.fail(`TYPE line for ${q(name)} after its samples`);
    fam.kind = type.kind;
    fam.owns = this.suffixes[type.kind];
    fam.ownsBare = fam.owns.includes('');
    fam.hasType = true;
    this.current = fam;
  }

  /**
   * The family a sample belongs to, checked against the family's type; sets this.suffix. In this order:
   * the current family if the name is one of its sample names (`x_count` after `# TYPE x histogram`); the
   * family of exactly that name; the family whose name plus a suffix it owns gives the sample name; else
   * a new untyped family.
   */
  sample(name: string, labels: Labels, value: number): FamilyState {
    const fam = this.resolve(name);
    fam.seen = true;
    this.check(fam, this.suffix, labels, value);
    return fam;
  }

  private resolve(name: string): FamilyState {
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
      if (!exact.ownsBare) this.lex.fail(`sample ${q(name)} does not fit ${exact.kind} family ${q(name)}`);
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

  /** The family of that name, created untyped on first mention. */
  private family(name: string): FamilyState {
    let fam = this.byName.get(name);
    if (fam === undefined) {
      if (this.order.length >= this.maxFamilies) {
        throw new ParseFailure('too_many_series', this.lex.line, `more than ${this.maxFamilies} metric families`);
      }
      fam = newFamily(name, this.lex.line, this.suffixes.untyped);
      this.byName.set(name, fam);
      this.order.push(fam);
    }
    return fam;
  }

  /** Makes fam (not the current family) current; its samples must not have been interrupted. */
  private enter(fam: FamilyState): FamilyState {
    if (fam.seen) this.lex.fail(`samples of ${q(fam.name)} are not contiguous (family started on line ${fam.line})`);
    this.current = fam;
    return fam;
  }

  private check(fam: FamilyState, suffix: string, labels: Labels, value: number): void {
    switch (fam.kind) {
      case 'histogram':
      case 'gaugehistogram':
        if (suffix === '_bucket') {
          const le = labels['le'];
          if (le === undefined) this.lex.fail(`bucket of histogram ${q(fam.name)} without "le" label`);
          if (parseNumber(le, 0, le.length) === undefined) this.lex.fail(`invalid "le" label value ${q(le)}`);
          if (value < 0 && fam.kind === 'histogram') this.lex.fail(`negative bucket count in histogram ${q(fam.name)}`);
        } else if (suffix === '_count' && value < 0 && fam.kind === 'histogram') {
          this.lex.fail(`negative count in histogram ${q(fam.name)}`);
        }
        break;
      case 'summary':
        if (suffix === '') {
          const quantile = labels['quantile'];
          if (quantile === undefined) this.lex.fail(`sample of summary ${q(fam.name)} without "quantile" label`);
          if (parseNumber(quantile, 0, quantile.length) === undefined)
            this.lex.fail(`invalid "quantile" label value ${q(quantile)}`);
        }
        break;
      case 'counter':
        if (suffix !== '_created') {
          if (fam.counterSuffix === undefined) fam.counterSuffix = suffix;
          else if (fam.counterSuffix !== suffix)
            this.lex.fail(`counter ${q(fam.name)} mixes samples with and without "_total"`);
        }
        break;
      default:
        break;
    }
  }

  /**
   * The families with samples, mapped onto the 0.0.4 model: counter `x` with `x_total` samples becomes
   * `x_total`; info `x` becomes gauge `x_info`; stateset becomes gauge; unknown becomes untyped; gauge
   * histograms are dropped.
   */
  finish(): MetricFamily[] {
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
        this.lex.line = fam.line;
        this.lex.fail(`families ${q(clash.name)} and ${q(fam.name)} both become ${q(name)}`);
      }
      outNames.set(name, fam);
      out.push({ name, help: fam.help, type, samples: fam.samples });
    }
    return out;
  }
}
