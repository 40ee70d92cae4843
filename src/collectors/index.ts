import type { MetricFamily } from '../exposition/family.js';
import { clientMetricsCollector } from './client-metrics.js';
import type { Collector, RefreshData } from './collector.js';
import { deviceConnectivityCollector } from './device-connectivity.js';
import { deviceInfoCollector } from './device-info.js';
import { deviceRoutesCollector } from './device-routes.js';
import { deviceTimesCollector } from './device-times.js';
import { collectorSuccessFamily, exporterCollector } from './exporter.js';

/** Every collector, in a fixed order (no import side effects decide what runs). */
export const COLLECTORS: readonly Collector[] = [
  deviceInfoCollector,
  deviceTimesCollector,
  deviceRoutesCollector,
  deviceConnectivityCollector,
  clientMetricsCollector,
  exporterCollector,
];

/** Collectors of the API's device data: exported by one shard only when replicas split the work. */
export const API_DEVICE_COLLECTORS: readonly Collector[] = [deviceInfoCollector, deviceTimesCollector, deviceRoutesCollector, deviceConnectivityCollector];

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
