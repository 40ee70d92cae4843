import type { MetricFamily } from '../exposition/family.js';
import { clientMetricsCollector } from './client-metrics.js';
import type { Collector, RefreshData } from './collector.js';
import { deviceConnectivityCollector } from './device-connectivity.js';
import { makeDeviceInfoCollector, type DeviceInfoOptions } from './device-info.js';
import { makeDeviceVersionsCollector } from './device-versions.js';
import { coverageCollector } from './coverage.js';
import { makeExpectedCollector } from './expected.js';
import type { ExpectedDevices } from '../config/expected-devices.js';
import { deviceRoutesCollector } from './device-routes.js';
import { deviceTimesCollector } from './device-times.js';
import { collectorSuccessFamily, exporterCollector } from './exporter.js';

export interface CollectorOptions extends DeviceInfoOptions {
  readonly minClientVersion: string | undefined;
  readonly expectedDevices: () => ExpectedDevices | undefined;
  /** False on replicas other than shard 0: the API device families come from one replica only. */
  readonly apiDeviceMetrics: boolean;
}

/** Every collector, in a fixed order (no import side effects decide what runs). */
export function buildCollectors(o: CollectorOptions): Collector[] {
  const api = [makeDeviceInfoCollector(o), deviceTimesCollector, deviceRoutesCollector, deviceConnectivityCollector, makeDeviceVersionsCollector(o.minClientVersion), makeExpectedCollector(o.expectedDevices)];
  return [...(o.apiDeviceMetrics ? api : []), clientMetricsCollector, coverageCollector, exporterCollector];
}

export const COLLECTORS: readonly Collector[] = buildCollectors({ labelsFromTags: [], userLabel: (u) => u, minClientVersion: undefined, expectedDevices: () => undefined, apiDeviceMetrics: true });

/** Runs each collector; one that throws loses only its own families and reports success 0. */
export function runCollectors(
  data: RefreshData,
  collectors: readonly Collector[] = COLLECTORS,
  onError: (name: string, err: unknown) => void = () => {},
): MetricFamily[] {
  const families: MetricFamily[] = [];
  const results: Array<readonly [string, boolean]> = [];
  for (const c of collectors) {
    try {
      families.push(...c.collect(data));
      results.push([c.name, true]);
    } catch (err) {
      onError(c.name, err);
      results.push([c.name, false]);
    }
  }
  families.push(collectorSuccessFamily(results));
  return families;
}
