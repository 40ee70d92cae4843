import type { Labels, MetricFamily, Sample } from '../exposition/family.js';
import type { CycleCollector, DeviceScrapeState } from './collector.js';

// Re-exports each scraped device's tailscaled_* families with device_id and device_name added. Types are
// kept (counters stay counters); families from many devices merge in the renderer under one HELP/TYPE.
// The refresher stores each device's families pre-rendered (exposition/device-text.ts); the collector
// only orders them.

/** Prometheus' own convention for a target label that collides with ours: prefix `exported_`. */
function relabel(labels: Labels, deviceId: string, deviceName: string): Labels {
  const out: Record<string, string> = { device_id: deviceId, device_name: deviceName };
  for (const key in labels) {
    let name = key;
    while (name in out) name = `exported_${name}`;
    out[name] = labels[key]!;
  }
  return out;
}

export function relabelFamilies(
  families: readonly MetricFamily[],
  deviceId: string,
  deviceName: string,
): MetricFamily[] {
  const out: MetricFamily[] = [];
  for (const f of families) {
    if (!f.name.startsWith('tailscaled_')) continue;
    const samples: Sample[] = f.samples.map((s) => ({
      name: s.name,
      value: s.value,
      labels: relabel(s.labels, deviceId, deviceName),
    }));
    out.push({ name: f.name, help: f.help, type: f.type, samples });
  }
  return out;
}

export const clientMetricsCollector: CycleCollector = {
  name: 'client_metrics',
  stage: 'cycle',
  collect({ scrapes }) {
    // Deterministic order whatever order scrapes finished in.
    const states = [...scrapes.values()].sort(byDevice);
    return states.flatMap((s) => s.families ?? []);
  },
};

function byDevice(a: DeviceScrapeState, b: DeviceScrapeState): number {
  const x = a.last.target;
  const y = b.last.target;
  return x.deviceName < y.deviceName
    ? -1
    : x.deviceName > y.deviceName
      ? 1
      : x.deviceId < y.deviceId
        ? -1
        : x.deviceId > y.deviceId
          ? 1
          : 0;
}
