import type { DeviceScrapeState } from '../collectors/collector.js';
import type { ScrapeResult } from '../devices/scraper.js';
import type { ScrapeTarget } from '../devices/targets.js';
import type { MetricFamily } from '../exposition/family.js';

// The scraped devices' recent past, kept the way blackbox_exporter's prober history keeps probes: a value
// the refresher adds each cycle's results to, with the time, and reads back. It decides what is re-served
// while a device fails (retention), counts failures by device and reason, and says when a device starts or
// stops failing, so that only changes are logged. It has no clock: every call is given the time.

/** A device's last good client metrics are re-served while its scrapes fail, for this many intervals. */
export const RETAIN_INTERVALS = 3;

/** Whether data last good at `lastSuccessSeconds` is still served at `nowSeconds`: for exactly `retainSeconds`. */
export function retained(lastSuccessSeconds: number | undefined, nowSeconds: number, retainSeconds: number): boolean {
  return lastSuccessSeconds !== undefined && nowSeconds - lastSuccessSeconds <= retainSeconds;
}

type Failure = Extract<ScrapeResult, { ok: false }>;

/** A device that started or stopped failing, in the order of the results. */
export type ScrapeChange =
  | { readonly kind: 'recovered'; readonly target: ScrapeTarget }
  | { readonly kind: 'failing'; readonly result: Failure };

export class ScrapeHistory {
  readonly #retainSeconds: number;
  #states = new Map<string, DeviceScrapeState>();
  /** `${device id}\u0000${reason}` -> failed scrapes. */
  readonly #errors = new Map<string, number>();
  readonly #failingSinceMs = new Map<string, number>();

  constructor(retainSeconds: number) {
    this.#retainSeconds = retainSeconds;
  }

  /** Each device scraped in the last cycle: its result and the families served for it, by device id. */
  get states(): ReadonlyMap<string, DeviceScrapeState> {
    return this.#states;
  }

  /** Failed scrapes by `${device id}\u0000${reason}`, for the devices still scraped. */
  get errors(): ReadonlyMap<string, number> {
    return this.#errors;
  }

  /** When the device's current run of failures began (Unix ms); undefined while it is scraped fine. */
  failingSinceMs(deviceId: string): number | undefined {
    return this.#failingSinceMs.get(deviceId);
  }

  /**
   * A device answered during the cycle: its new families take the place of the previous ones at once, so
   * the two are never held together (the previous ones are kept only to re-serve while the device fails).
   */
  replaceFamilies(deviceId: string, families: readonly MetricFamily[], nowSeconds: number): void {
    const previous = this.#states.get(deviceId);
    if (previous !== undefined) this.#states.set(deviceId, { ...previous, families, lastSuccessSeconds: nowSeconds });
  }

  /**
   * Adds one cycle's results, taken at `nowSeconds`. A device not among them is forgotten (its series and
   * error counters end). Returns the devices that recovered or started failing.
   */
  add(results: readonly ScrapeResult[], nowSeconds: number): ScrapeChange[] {
    const changes: ScrapeChange[] = [];
    const next = new Map<string, DeviceScrapeState>();
    for (const r of results) {
      const id = r.target.deviceId;
      if (r.ok) {
        if (this.#failingSinceMs.delete(id)) changes.push({ kind: 'recovered', target: r.target });
        next.set(id, { last: r, families: r.families, lastSuccessSeconds: nowSeconds });
        continue;
      }
      const key = `${id}\u0000${r.reason}`;
      this.#errors.set(key, (this.#errors.get(key) ?? 0) + 1);
      if (!this.#failingSinceMs.has(id)) {
        this.#failingSinceMs.set(id, nowSeconds * 1000);
        changes.push({ kind: 'failing', result: r });
      }
      const previous = this.#states.get(id);
      const last = previous?.lastSuccessSeconds;
      next.set(id, {
        last: r,
        families: retained(last, nowSeconds, this.#retainSeconds) ? previous?.families : undefined,
        lastSuccessSeconds: last,
      });
    }
    for (const key of this.#errors.keys()) if (!next.has(key.split('\u0000')[0]!)) this.#errors.delete(key);
    for (const id of this.#failingSinceMs.keys()) if (!next.has(id)) this.#failingSinceMs.delete(id);
    this.#states = next;
    return changes;
  }
}
