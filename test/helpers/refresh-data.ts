import type { DeviceScrapeState, RefreshData } from '../../src/collectors/collector.js';
import type { Device } from '../../src/control/device.js';
import { RequestStats } from '../../src/control/request-stats.js';
import { EMPTY_INVENTORY } from '../../src/control/inventory.js';

export function refreshData(devices: readonly Device[] | undefined, overrides: Partial<RefreshData> = {}): RefreshData {
  return {
    nowSeconds: 1_750_000_000,
    version: '9.9.9',
    devices,
    api: { up: true, lastSuccessSeconds: 1_750_000_000, listDurationSeconds: 0.1, stats: new RequestStats() },
    selections: [],
    scrapes: new Map<string, DeviceScrapeState>(),
    cycle: { durationSeconds: 0.5, scrapeDurationSeconds: 0.25, startedSeconds: 1_750_000_000 },
    errors: {
      deviceScrapeErrors: new Map(),
      apiRefreshFailures: 0,
      cycleOverruns: 0,
      addressRefusals: 0,
      invalidApiDevices: 0,
      renderDropped: 0,
      typeConflicts: 0,
    },
    process: { startSeconds: 1_749_999_000, rssBytes: 1, heapBytes: 1 },
    inventory: EMPTY_INVENTORY,
    ...overrides,
  };
}
