import { relabelFamilies } from '../collectors/client-metrics.js';
import type { MetricFamily } from './family.js';
import { renderSeries } from './render.js';

// A scraped device's client metrics, relabelled and rendered to text once, when the device is scraped: kept
// between cycles (and re-served while the device fails), 2,500 devices' metrics then cost a few MB of
// strings instead of hundreds of thousands of sample and label objects, and no parsed body is kept.

const NO_SAMPLES: readonly never[] = Object.freeze([]);

/** A fresh flat string: not a slice that keeps a whole device body alive. */
const copyString = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

/** Label names seen in device metrics and whether they are valid; cleared if devices send too many. */
const MAX_LABEL_NAMES = 10_000;

/**
 * Renders the devices of one cycle. Family names and HELP texts are the same on every device: one copy per
 * cycle serves them all, and each label name is validated once. A new renderer per cycle, so names a device
 * stops sending are not kept forever.
 */
export class DeviceTextRenderer {
  readonly #strings = new Map<string, string>();
  readonly #labelNames = new Map<string, boolean>();

  /** The interned copy of `s`. */
  intern(s: string): string {
    let copy = this.#strings.get(s);
    if (copy === undefined) this.#strings.set(s, (copy = copyString(s)));
    return copy;
  }

  /**
   * The device's tailscaled_* families with device_id and device_name first and their series as text: what
   * relabelFamilies then rendering would give, built without a label set per sample. `dropped`: samples left
   * out as invalid or repeated.
   */
  render(
    families: readonly MetricFamily[],
    deviceId: string,
    deviceName: string,
  ): { families: MetricFamily[]; dropped: number } {
    if (this.#labelNames.size > MAX_LABEL_NAMES) this.#labelNames.clear();
    // Frozen: the renderer renders a frozen label set once and shares the text among the device's families.
    const device = Object.freeze({ device_id: deviceId, device_name: deviceName });
    let dropped = 0;
    const out: MetricFamily[] = [];
    for (const f of families) {
      if (!f.name.startsWith('tailscaled_')) continue;
      // Usually the device's labels are simply put first; a device label of the same name needs renaming
      // (exported_device_id), which relabelFamilies does, at the cost of a label set per sample.
      const renames = f.samples.some((s) => 'device_id' in s.labels || 'device_name' in s.labels);
      // The text keeps its family's name: the interned copy, not a slice that holds the device's body.
      const named = { ...f, name: this.intern(f.name) };
      const r = renames
        ? renderSeries(relabelFamilies([named], deviceId, deviceName)[0]!, undefined, this.#labelNames)
        : renderSeries(named, device, this.#labelNames);
      dropped += r.invalid + r.duplicates;
      out.push({
        name: named.name,
        help: this.intern(f.help),
        type: f.type,
        samples: NO_SAMPLES,
        rendered: r.rendered,
      });
    }
    return { families: out, dropped };
  }
}
