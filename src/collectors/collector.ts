import type { Labels, MetricFamily } from '../exposition/family.js';
import type { Device } from '../control/device.js';
import type { Selection } from '../devices/targets.js';
import type { ScrapeResult } from '../devices/scraper.js';
import type { RequestStats } from '../control/request-stats.js';
import type { InventoryData } from '../control/inventory.js';

/** What one device contributes from its client metrics to a snapshot. */
export interface DeviceScrapeState {
  /** The result of this cycle's scrape. */
  readonly last: ScrapeResult;
  /**
   * The families re-exported, relabelled and pre-rendered (exposition/device-text.ts): this cycle's on success,
   * the last good ones (if still fresh) on failure.
   */
  readonly families: readonly MetricFamily[] | undefined;
  /** Unix seconds of the last successful scrape. */
  readonly lastSuccessSeconds: number | undefined;
}

interface ErrorCounts {
  /** `${device_id}\u0000${reason}` -> count, kept for devices still present. */
  readonly deviceScrapeErrors: ReadonlyMap<string, number>;
  readonly apiRefreshFailures: number;
  readonly cycleOverruns: number;
  readonly addressRefusals: number;
  readonly invalidApiDevices: number;
  readonly renderDropped: number;
  readonly typeConflicts: number;
}

/** What is known as soon as the device list is in: all the API families need. */
export interface ListData {
  readonly nowSeconds: number;
  readonly version: string;
  /** True when the data comes from the built-in simulator (--demo, TEST_DEVICES). */
  readonly simulated?: boolean;
  /** The last good device list; undefined until the first successful API call. */
  readonly devices: readonly Device[] | undefined;
  readonly api: {
    readonly up: boolean;
    readonly lastSuccessSeconds: number | undefined;
    /** Duration of this cycle's device list call, retries included. */
    readonly listDurationSeconds: number;
    readonly stats: RequestStats;
    /** Why this cycle's device list call failed. */
    readonly error?: string | undefined;
  };
  readonly selections: readonly Selection[];
  /** Users, keys, settings, DNS, services, policy: fetched on INVENTORY_INTERVAL, last good data kept. */
  readonly inventory: InventoryData;
}

/** The immutable record of one refresh cycle, once its device scrapes are done. */
export interface RefreshData extends ListData {
  readonly scrapes: ReadonlyMap<string, DeviceScrapeState>;
  readonly cycle: {
    readonly durationSeconds: number;
    readonly scrapeDurationSeconds: number;
    readonly startedSeconds: number;
  };
  readonly errors: ErrorCounts;
  readonly process: { readonly startSeconds: number; readonly rssBytes: number; readonly heapBytes: number };
}

/** Pure and synchronous: no I/O, no clock reads. */
export interface CollectorOf<D extends ListData> {
  /** The public collector name (COLLECTORS, tsmetrics_collector_success); several collectors may share one. */
  readonly name: string;
  collect(data: D): MetricFamily[];
  /**
   * The same work as `collect` in pieces: the generator yields between them and the refresh runs each
   * piece in turn with socket work (see `stepwise`). Collectors without it run in one piece.
   */
  steps?(data: D): Generator<void, MetricFamily[], void>;
  /** How the data this collector renders was fetched: a failed fetch makes the collector unsuccessful. */
  source?(data: D): {
    readonly ok: boolean | undefined;
    readonly durationSeconds: number;
    readonly error?: string | undefined;
  };
}

/** Needs only the device list and inventory: runs, and is rendered, while the devices are being scraped. */
export interface ListCollector extends CollectorOf<ListData> {
  readonly stage: 'list';
}

/** Needs this cycle's device scrapes or its own figures: runs after the scrapes. */
export interface CycleCollector extends CollectorOf<RefreshData> {
  readonly stage: 'cycle';
}

export type Collector = ListCollector | CycleCollector;

/** Devices a stepwise collector handles between two yields: a few milliseconds of work at most. */
export const DEVICES_PER_STEP = 500;

/** Whether a stepwise collector yields before the device at index `i`. */
export const pauseBefore = (i: number): boolean => i > 0 && i % DEVICES_PER_STEP === 0;

/**
 * A collector written as steps. One collector over 10,000 devices is 10-60 ms of work: run at once, it
 * would hold up every device answer and /metrics response meanwhile. `collect` runs the same steps to the end.
 */
export function stepwise<D extends ListData>(
  steps: (data: D) => Generator<void, MetricFamily[], void>,
): Pick<CollectorOf<D>, 'collect' | 'steps'> {
  return {
    steps,
    collect(data) {
      const pieces = steps(data);
      for (;;) {
        const r = pieces.next();
        if (r.done === true) return r.value;
      }
    },
  };
}

const labelsOfDevice = new WeakMap<object, { readonly device_id: string; readonly device_name: string }>();

/**
 * Device labels every per-device family starts with. One frozen object per device, shared by all its
 * series: the renderer escapes and formats a shared label set once instead of once per family.
 */
export function deviceLabels(d: Pick<Device, 'id' | 'name'>): {
  readonly device_id: string;
  readonly device_name: string;
} {
  let labels = labelsOfDevice.get(d);
  if (labels === undefined) {
    labels = Object.freeze({ device_id: d.id, device_name: d.name });
    labelsOfDevice.set(d, labels);
  }
  return labels;
}

/** The source of every device family: this cycle's device list call. */
export const deviceListSource = (d: ListData): { ok: boolean; durationSeconds: number; error: string | undefined } => ({
  ok: d.api.up,
  durationSeconds: d.api.listDurationSeconds,
  error: d.api.error,
});

/** One sample per item that has a value: a value the API did not send is an absent series, never 0. */
export function samplesOf<T>(
  items: readonly T[],
  labels: (item: T) => Labels,
  value: (item: T) => number | undefined,
): Array<readonly [Labels, number]> {
  const out: Array<readonly [Labels, number]> = [];
  for (const item of items) {
    const v = value(item);
    if (v !== undefined) out.push([labels(item), v]);
  }
  return out;
}
