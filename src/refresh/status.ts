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
  readonly since: string;
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
