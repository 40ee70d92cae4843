// What /health and /debug report about refreshing: the last outcome, and a bounded history.

export interface CycleRecord {
  readonly startedAt: string;
  readonly durationSeconds: number;
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
  if (reason === 'connect' && /ECONNREFUSED/.test(message)) return 'connection refused: the web client is off on the device; run `tailscale set --webclient` there (Tailscale 1.78 or later)';
  if (reason === 'timeout') return 'no answer in time: the tailnet policy probably does not allow tcp:5252 from the exporter to this device, or the device is unreachable';
  if (reason === 'http_status' && status !== undefined && status >= 300 && status < 400) return 'redirected: the web client answers requests not addressed to its Tailscale IP with a 301; scrape by IP';
  if (reason === 'http_status' && status === 404) return 'not found: the client does not serve /metrics; Tailscale 1.78 or later is needed';
  if (reason === 'too_large') return 'the response exceeds CLIENT_METRICS_MAX_BYTES';
  if (reason === 'too_many_series') return 'the device sends more series than CLIENT_METRICS_MAX_SERIES';
  if (reason === 'parse') return 'the response is not valid Prometheus text format';
  return '';
}

import type { Selection } from '../devices/targets.js';

const HISTORY = 20;

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
}
