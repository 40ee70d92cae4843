import { relabelFamilies } from '../collectors/client-metrics.js';
import type { MetricFamily } from '../exposition/family.js';
import { renderSeries } from '../exposition/render.js';
import { escapeLabelValue } from '../exposition/escape.js';

const NO_SAMPLES: readonly never[] = Object.freeze([]);

/** A fresh flat string: not a slice that keeps a whole device body alive. */
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
 * The result is what relabelFamilies then rendering would give, built without a label set per sample.
 */
export function prerenderFamilies(
  families: readonly MetricFamily[],
  deviceId: string,
  deviceName: string,
  interner = new Interner(),
): { families: MetricFamily[]; invalid: number } {
  let invalid = 0;
  const prefix = `device_id="${escapeLabelValue(deviceId)}",device_name="${escapeLabelValue(deviceName)}"`;
  const out: MetricFamily[] = [];
  for (const f of families) {
    if (!f.name.startsWith('tailscaled_')) continue;
    // Usually the device's labels are simply put first; a device label of the same name needs renaming
    // (exported_device_id), which relabelFamilies does, at the cost of a label set per sample.
    const renames = f.samples.some((s) => 'device_id' in s.labels || 'device_name' in s.labels);
    const rendered = renames ? renderSeries(relabelFamilies([f], deviceId, deviceName)[0]!) : renderSeries(f, prefix);
    invalid += rendered.invalid;
    out.push({
      name: interner.get(f.name),
      help: interner.get(f.help),
      type: f.type,
      samples: NO_SAMPLES,
      unique: true,
      rendered: { text: rendered.text, series: rendered.series },
    });
  }
  return { families: out, invalid };
}
