import type { MetricFamily, MetricType, Sample } from './family.js';
import { escapeHelp, escapeLabelValue, formatValue, isValidLabelName, isValidMetricName } from './escape.js';

export interface RenderStats {
  /** Series written. */
  readonly series: number;
  /** Samples dropped for an invalid metric or label name. */
  readonly invalid: number;
  /** Samples dropped because the same series was already written. */
  readonly duplicates: number;
  /** Families merged away because an earlier family of the same name had another type (first one wins). */
  readonly typeConflicts: number;
}

export interface Rendered {
  readonly text: string;
  readonly stats: RenderStats;
}

const SUFFIXES: Record<MetricType, readonly string[]> = {
  // Text format 0.0.4: a counter's samples carry the family name itself (which ends in _total).
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/** A sample belongs to its family only under the names the type allows (e.g. `x_bucket` for histogram `x`). */
function sampleNameFits(familyName: string, type: MetricType, sampleName: string): boolean {
  if (!sampleName.startsWith(familyName)) return false;
  return SUFFIXES[type].includes(sampleName.slice(familyName.length));
}

/**
 * Text exposition format 0.0.4. Families with the same name are merged into one HELP/TYPE block (first
 * type and help win), families are sorted by name, samples keep their order, and a series already written
 * is dropped: the output always parses, whatever the collectors or devices handed in.
 */
export function render(families: readonly MetricFamily[]): Rendered {
  const merged = new Map<string, { name: string; help: string; type: MetricType; parts: (readonly Sample[])[] }>();
  let typeConflicts = 0;
  let invalid = 0;
  for (const fam of families) {
    if (!isValidMetricName(fam.name)) {
      invalid += fam.samples.length;
      continue;
    }
    const existing = merged.get(fam.name);
    if (existing === undefined) {
      merged.set(fam.name, { name: fam.name, help: fam.help, type: fam.type, parts: [fam.samples] });
    } else if (existing.type !== fam.type) {
      typeConflicts++;
      invalid += fam.samples.length;
    } else {
      existing.parts.push(fam.samples);
    }
  }

  const names = [...merged.keys()].sort();
  const out: string[] = [];
  let series = 0;
  let duplicates = 0;
  // One set across all families: a histogram's `h_count` and a gauge family named `h_count` would
  // otherwise both write the same series.
  const seen = new Set<string>();
  for (const name of names) {
    const fam = merged.get(name)!;
    const lines: string[] = [];
    for (const samples of fam.parts) {
      for (const s of samples) {
        const line = sampleLine(fam.name, fam.type, s);
        if (line === undefined) {
          invalid++;
          continue;
        }
        const key = seriesKey(s);
        if (seen.has(key)) {
          duplicates++;
          continue;
        }
        seen.add(key);
        lines.push(line);
      }
    }
    if (lines.length === 0) continue;
    out.push(`# HELP ${name} ${escapeHelp(fam.help)}\n# TYPE ${name} ${fam.type}\n`);
    for (const l of lines) out.push(l);
    series += lines.length;
  }
  return { text: out.join(''), stats: { series, invalid, duplicates, typeConflicts } };
}

function sampleLine(familyName: string, type: MetricType, s: Sample): string | undefined {
  if (!sampleNameFits(familyName, type, s.name)) return undefined;
  let labelText = '';
  for (const key in s.labels) {
    if (!isValidLabelName(key)) return undefined;
    const v = s.labels[key]!;
    labelText += labelText === '' ? `${key}="${escapeLabelValue(v)}"` : `,${key}="${escapeLabelValue(v)}"`;
  }
  return labelText === ''
    ? `${s.name} ${formatValue(s.value)}\n`
    : `${s.name}{${labelText}} ${formatValue(s.value)}\n`;
}

/** Series identity: sample name plus labels in name order (label order in the input does not matter). */
function seriesKey(s: Sample): string {
  const keys = Object.keys(s.labels);
  if (keys.length > 1) keys.sort();
  let key = s.name;
  for (const k of keys) key += `\u0000${k}\u0001${s.labels[k]}`;
  return key;
}
