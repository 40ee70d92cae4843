// The shared vocabulary of the exposition stage: what collectors produce, what the device-metrics
// parser produces, and what the renderer consumes. Plain readonly data, no behaviour beyond builders.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** Label names to values, in the order they are rendered. */
export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  /** Full sample name: the family name, or the family name plus `_bucket`, `_sum`, `_count`, `_total`, ... */
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly Sample[];
  /**
   * A device's series of this family already rendered as text (its client metrics, rendered once when it
   * is scraped and kept between cycles); `samples` is then empty. Only the exposition stage makes these
   * (exposition/device-text.ts), and its writer takes no other: nothing outside it can hand in unchecked text.
   */
  readonly rendered?: RenderedSeries;
}

/** Opaque: made and read only by the exposition stage. */
export interface RenderedSeries {
  /** Lines in the text. */
  readonly series: number;
}

/** Builds a family whose samples all carry the family's own name (gauges, counters, untyped). */
export function family(
  name: string,
  type: MetricType,
  help: string,
  samples: ReadonlyArray<readonly [Labels, number]>,
): MetricFamily {
  return { name, type, help, samples: samples.map(([labels, value]) => ({ name, labels, value })) };
}

/** A family filled sample by sample: what `family(name, type, help, rows)` gives, without the rows. */
export class FamilyBuilder {
  readonly #samples: Sample[] = [];
  constructor(
    readonly name: string,
    readonly type: MetricType,
    readonly help: string,
  ) {}
  add(labels: Labels, value: number): void {
    this.#samples.push({ name: this.name, labels, value });
  }
  build(): MetricFamily {
    return { name: this.name, type: this.type, help: this.help, samples: this.#samples };
  }
}

export const gauge = (name: string, help: string, samples: ReadonlyArray<readonly [Labels, number]>): MetricFamily =>
  family(name, 'gauge', help, samples);

export const counter = (name: string, help: string, samples: ReadonlyArray<readonly [Labels, number]>): MetricFamily =>
  family(name, 'counter', help, samples);

export const boolValue = (b: boolean | undefined | null): number => (b ? 1 : 0);
