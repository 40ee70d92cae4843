// What /health, /debug and the status page report about refreshing: the last outcome, and a bounded history.

export interface CycleRecord {
  readonly startedAt: string;
  readonly durationSeconds: number;
  /** From the cycle's start to its last device answer (tsmetrics_scrape_cycle_duration_seconds). */
  readonly scrapeDurationSeconds: number;
  readonly apiOk: boolean;
  readonly apiError?: string;
  readonly devicesDiscovered: number;
  readonly devicesEligible: number;
  readonly devicesScraped: number;
  readonly scrapeFailures: number;
}

export interface FailingDevice {
  readonly deviceId: string;
  readonly deviceName: string;
  readonly reason: string;
  readonly message: string;
  readonly hint: string;
  readonly since: string;
}

/** What a failure usually means on a real tailnet, for /debug. */
export function failureHint(reason: string, message: string, status?: number): string {
  if (reason === 'connect' && /ECONNREFUSED/.test(message))
    return 'connection refused: the web client is off on the device; run `tailscale set --webclient` there (Tailscale 1.78 or later)';
  if (reason === 'timeout')
    return 'no answer in time: the tailnet policy probably does not allow tcp:5252 from the exporter to this device, or the device is unreachable';
  if (reason === 'http_status' && status !== undefined && status >= 300 && status < 400)
    return 'redirected: the web client answers requests not addressed to its Tailscale IP with a 301; scrape by IP';
  if (reason === 'http_status' && status === 404)
    return 'not found: the client does not serve /metrics; Tailscale 1.78 or later is needed';
  if (reason === 'too_large') return 'the response exceeds CLIENT_METRICS_MAX_BYTES';
  if (reason === 'too_many_series') return 'the device sends more series than CLIENT_METRICS_MAX_SERIES';
  if (reason === 'parse') return 'the response is not valid Prometheus text format';
  return '';
}

import type { Selection } from '../devices/targets.js';
import type { DeviceScrapeState } from '../collectors/collector.js';
import type { CollectorOutcome } from '../collectors/index.js';

const HISTORY = 20;

/** A collector's outcome in the last cycle, and its most recent error even when it has recovered since. */
export interface CollectorStatus extends CollectorOutcome {
  readonly lastError?: { readonly message: string; readonly at: string };
}

export class RefreshStatus {
  readonly startedAtMs: number;
  lastCycleAtMs: number | undefined;
  lastApiSuccessAtMs: number | undefined;
  devicesDiscovered = 0;
  devicesScraped = 0;
  #history: CycleRecord[] = [];
  failingDevices: FailingDevice[] = [];
  /** The selection of the last cycle: what /sd lists and /probe may scrape. */
  selections: readonly Selection[] = [];
  /**
   * Each scraped device's last result, by device id: the refresher's own map of the last finished cycle,
   * shared (not copied), so the status page costs the refresh nothing.
   */
  scrapes: ReadonlyMap<string, DeviceScrapeState> = new Map();
  #collectors: CollectorStatus[] = [];

  constructor(startedAtMs: number) {
    this.startedAtMs = startedAtMs;
  }

  record(cycle: CycleRecord, atMs: number): void {
    this.lastCycleAtMs = atMs;
    if (cycle.apiOk) this.lastApiSuccessAtMs = atMs;
    this.devicesDiscovered = cycle.devicesDiscovered;
    this.devicesScraped = cycle.devicesScraped;
    this.#history.push(cycle);
    if (this.#history.length > HISTORY) this.#history.shift();
  }

  history(): readonly CycleRecord[] {
    return [...this.#history];
  }

  /** Notes this cycle's collector outcomes; an error is remembered until the next one replaces it. */
  recordCollectors(outcomes: readonly CollectorOutcome[], atMs: number): void {
    const previous = new Map(this.#collectors.map((c) => [c.collector, c.lastError]));
    this.#collectors = outcomes.map((o) => {
      const lastError =
        o.error === undefined ? previous.get(o.collector) : { message: o.error, at: new Date(atMs).toISOString() };
      return lastError === undefined ? o : { ...o, lastError };
    });
  }

  collectors(): readonly CollectorStatus[] {
    return this.#collectors;
  }
}
