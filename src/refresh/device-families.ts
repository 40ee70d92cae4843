import { relabelFamilies } from '../collectors/client-metrics.js';
import type { MetricFamily } from '../exposition/family.js';
import { renderSeries } from '../exposition/render.js';

const NO_SAMPLES: readonly never[] = Object.freeze([]);

/** A fresh flat string: neither a rope of pieces nor a slice that keeps a whole device body alive. */
const copyString = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

/**
 * Family names and HELP texts are the same on every device: one copy per cycle serves them all. A new
 * table per cycle, so names a device stops sending are not kept forever.
 */
export class Interner {
  readonly #strings = new Map<string, string>();
  get(s: string): string {
    let copy = this.#strings.get(s);
    if (copy === undefined) this.#strings.set(s, (copy = copyString(s)));
    return copy;
  }
}

/**
 * A device's re-exported families with their series rendered to text, once, when the device is scraped:
 * kept between cycles (and re-served while the device fails), 2,500 devices' metrics then cost a few MB
 * of strings instead of hundreds of thousands of sample and label objects, and no parsed body is kept.
 */
export function prerenderFamilies(
  families: readonly MetricFamily[],
  deviceId: string,
  deviceName: string,
  interner = new Interner(),
): { families: MetricFamily[]; invalid: number } {
  let invalid = 0;
  const out = relabelFamilies(families, deviceId, deviceName).map((f): MetricFamily => {
    const rendered = renderSeries(f);
    invalid += rendered.invalid;
    return {
      name: interner.get(f.name),
      help: interner.get(f.help),
      type: f.type,
      samples: NO_SAMPLES,
      unique: true,
      rendered: { text: copyString(rendered.text), series: rendered.series },
    };
  });
  return { families: out, invalid };
}
