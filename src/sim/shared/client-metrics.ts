// The `tailscaled_*` client metrics a device's web client serves (tailscale-facts §2.1), plus the
// deliberately broken variants used by device faults. Pure text generation, no I/O.
import { fnv1a32 } from '../../util/fnv.js';
import { isExitRoute, type SimDevice } from './device.js';

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

type Labels = ReadonlyArray<readonly [string, string]>;

interface FamilyDef {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
}

interface ClientSample {
  readonly labels: Labels;
  readonly value: number;
}

export interface ClientFamily extends FamilyDef {
  readonly samples: ClientSample[];
}

const FAMILIES = {
  inBytes: {
    name: 'tailscaled_inbound_bytes_total',
    type: 'counter',
    help: 'Counts the number of bytes received from other peers',
  },
  outBytes: {
    name: 'tailscaled_outbound_bytes_total',
    type: 'counter',
    help: 'Counts the number of bytes sent to other peers',
  },
  inPackets: {
    name: 'tailscaled_inbound_packets_total',
    type: 'counter',
    help: 'Counts the number of packets received from other peers',
  },
  outPackets: {
    name: 'tailscaled_outbound_packets_total',
    type: 'counter',
    help: 'Counts the number of packets sent to other peers',
  },
  inDropped: {
    name: 'tailscaled_inbound_dropped_packets_total',
    type: 'counter',
    help: 'Counts the number of dropped packets received by the node from other peers',
  },
  outDropped: {
    name: 'tailscaled_outbound_dropped_packets_total',
    type: 'counter',
    help: 'Counts the number of packets dropped while being sent to other peers',
  },
  health: { name: 'tailscaled_health_messages', type: 'gauge', help: 'Number of health messages broken down by type.' },
  advertised: {
    name: 'tailscaled_advertised_routes',
    type: 'gauge',
    help: 'Number of advertised network routes (e.g. by a subnet router)',
  },
  approved: {
    name: 'tailscaled_approved_routes',
    type: 'gauge',
    help: 'Number of approved network routes (e.g. by a subnet router)',
  },
  homeDerp: { name: 'tailscaled_home_derp_region_id', type: 'gauge', help: 'The ID of the current home DERP region' },
  serveIn: {
    name: 'tailscaled_serve_inbound_bytes_total',
    type: 'counter',
    help: 'Counts the number of bytes received on Serve connections for Tailscale Services',
  },
  serveOut: {
    name: 'tailscaled_serve_outbound_bytes_total',
    type: 'counter',
    help: 'Counts the number of bytes sent on Serve connections for Tailscale Services',
  },
} as const satisfies Record<string, FamilyDef>;

type FamilyKey = keyof typeof FAMILIES;

/** Mean growth per second of one series of each counter family, before the per-series factor. */
const RATE_PER_SECOND: Partial<Record<FamilyKey, number>> = {
  inBytes: 40_000,
  outBytes: 25_000,
  inPackets: 45,
  outPackets: 30,
  inDropped: 0.2,
  outDropped: 0.05,
  serveIn: 2_000,
  serveOut: 6_000,
};

const PATHS = ['direct_ipv4', 'direct_ipv6', 'derp', 'peer_relay_ipv4'] as const;
const TRAFFIC: readonly FamilyKey[] = ['inBytes', 'outBytes', 'inPackets', 'outPackets'];
const MORE_DROP_REASONS = ['multicast', 'link_local_unicast', 'too_short', 'unknown_protocol'] as const;
/** Keeps a misconfigured seriesPerDevice from producing an unbounded body. */
const MAX_SERIES = 100_000;
/** Size of the natural (unpadded) set below. */
const NATURAL_SERIES = 24;

interface SeriesDef {
  readonly family: FamilyKey;
  readonly labels: Labels;
}

/** The families a device answers with at `elapsedSeconds` since the simulation started. */
export function clientFamilies(device: SimDevice, elapsedSeconds: number): ClientFamily[] {
  const count = Math.min(device.clientMetrics.seriesPerDevice ?? NATURAL_SERIES, MAX_SERIES);
  const byFamily = new Map<FamilyKey, ClientFamily>();
  let taken = 0;
  for (const series of seriesOrder()) {
    if (taken >= count) break;
    taken += 1;
    let family = byFamily.get(series.family);
    if (family === undefined) {
      family = { ...FAMILIES[series.family], samples: [] };
      byFamily.set(series.family, family);
    }
    family.samples.push({ labels: series.labels, value: sampleValue(device, series, Math.max(0, elapsedSeconds)) });
  }
  return [...byFamily.values()];
}

/**
 * Every series a device may report, most essential first, so `seriesPerDevice` can cut the list
 * anywhere: gauges, traffic per path, drops, then rarer labels, then Serve services without end.
 */
function* seriesOrder(): Generator<SeriesDef> {
  yield { family: 'homeDerp', labels: [] };
  yield { family: 'advertised', labels: [] };
  yield { family: 'approved', labels: [] };
  yield { family: 'health', labels: [['type', 'warning']] };
  for (const family of TRAFFIC) for (const path of PATHS) yield { family, labels: [['path', path]] };
  for (const family of ['inDropped', 'outDropped'] as const) {
    yield { family, labels: [['reason', 'acl']] };
    yield { family, labels: [['reason', 'error']] };
  }
  for (const family of TRAFFIC) yield { family, labels: [['path', 'peer_relay_ipv6']] };
  for (const reason of MORE_DROP_REASONS) {
    yield { family: 'inDropped', labels: [['reason', reason]] };
    yield { family: 'outDropped', labels: [['reason', reason]] };
  }
  for (let i = 1; i <= MAX_SERIES; i++) {
    yield { family: 'serveIn', labels: [['service', `svc:sim-${i}`]] };
    yield { family: 'serveOut', labels: [['service', `svc:sim-${i}`]] };
  }
}

function sampleValue(device: SimDevice, series: SeriesDef, elapsedSeconds: number): number {
  switch (series.family) {
    case 'homeDerp':
      return device.clientMetrics.homeDerpRegionId;
    case 'health':
      return device.clientMetrics.healthWarnings;
    case 'advertised':
      return subnetRoutes(device.advertisedRoutes).length;
    case 'approved': {
      const enabled = new Set(device.enabledRoutes ?? []);
      return subnetRoutes(device.advertisedRoutes).filter((r) => enabled.has(r)).length;
    }
    default:
      return counterValue(device.nodeId, series, elapsedSeconds);
  }
}

function subnetRoutes(routes: readonly string[] | undefined): string[] {
  return (routes ?? []).filter((r) => !isExitRoute(r));
}

/** The paths a device's traffic counters are labelled with. */
export const TRAFFIC_PATHS = PATHS;
export type TrafficPath = (typeof PATHS)[number];

/**
 * What the device's traffic counter `family` with label path=`path` reads `elapsedSeconds` after the start:
 * the value its /metrics serves (then elapsed >= 0), extended before the start for simulated history.
 */
export function trafficCounter(
  nodeId: string,
  family: 'inBytes' | 'outBytes' | 'inPackets' | 'outPackets',
  path: TrafficPath,
  elapsedSeconds: number,
): number {
  return counterValue(nodeId, { family, labels: [['path', path]] }, elapsedSeconds);
}

/** base + rate × elapsed, with base and rate fixed per device and series so rates differ but never go negative. */
function counterValue(nodeId: string, series: SeriesDef, elapsedSeconds: number): number {
  const key = `${nodeId}|${series.family}|${series.labels.map(([k, v]) => `${k}=${v}`).join(',')}`;
  const h = fnv1a32(key);
  const rate = (RATE_PER_SECOND[series.family] ?? 1) * (0.25 + (h % 1000) / 666);
  const base = ((h >>> 10) % 10_000) * (RATE_PER_SECOND[series.family] ?? 1);
  return Math.floor(base + rate * elapsedSeconds);
}

/** Prometheus text format 0.0.4. */
export function renderText(families: readonly ClientFamily[]): string {
  let out = '';
  for (const f of families) {
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) out += `${f.name}${renderLabels(s.labels)} ${s.value}\n`;
  }
  return out;
}

/** OpenMetrics 1.0: counter families are named without `_total`, samples keep it; ends with `# EOF`. */
export function renderOpenMetrics(families: readonly ClientFamily[]): string {
  let out = '';
  for (const f of families) {
    const base = f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name;
    out += `# TYPE ${base} ${f.type}\n# HELP ${base} ${escapeHelp(f.help)}\n`;
    for (const s of f.samples) out += `${f.name}${renderLabels(s.labels)} ${s.value}\n`;
  }
  return `${out}# EOF\n`;
}

function renderLabels(labels: Labels): string {
  if (labels.length === 0) return '';
  return `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Text that a strict 0.0.4 parser must reject: unclosed label sets, non-numeric values, stray words. */
export function malformedText(): string {
  return [
    '# HELP tailscaled_inbound_bytes_total Counts the number of bytes received from other peers',
    '# TYPE tailscaled_inbound_bytes_total counter',
    'tailscaled_inbound_bytes_total{path="derp" 1027',
    'tailscaled_inbound_bytes_total{path="direct_ipv4"} twelve',
    '# TYPE tailscaled_inbound_bytes_total gauge',
    'this is not { an exposition line',
    '{path="orphan"} 3',
    '',
  ].join('\n');
}

/**
 * Valid text whose label values carry every escape (quote, backslash, newline) and characters that
 * look like syntax, and whose labels try to overwrite the exporter's own device_id / device_name.
 */
export function labelInjectionText(): string {
  return [
    '# HELP tailscaled_inbound_bytes_total Counts bytes \\\\ with a backslash\\nand a "quoted" second line',
    '# TYPE tailscaled_inbound_bytes_total counter',
    'tailscaled_inbound_bytes_total{path="derp\\"} 1\\ntailscaled_fake 2",device_id="spoofed-id",device_name="spoofed-name"} 100',
    'tailscaled_inbound_bytes_total{path="C:\\\\temp\\\\",device_name="x\\ny"} 7',
    'tailscaled_inbound_bytes_total{path="ünïcødé ✓ 日本 😀",device_id="} # {=,"} 9',
    '# HELP tailscaled_health_messages Number of health messages broken down by type.',
    '# TYPE tailscaled_health_messages gauge',
    'tailscaled_health_messages{type="warning\\n# TYPE evil counter"} 3',
    '',
  ].join('\n');
}

/** One family with `series` distinct label sets (Serve services are the unbounded label in the wild). */
export function manySeriesText(series: number): string {
  const n = Math.max(0, Math.min(series, 10 * MAX_SERIES));
  const def = FAMILIES.serveIn;
  const lines = [`# HELP ${def.name} ${def.help}`, `# TYPE ${def.name} ${def.type}`];
  for (let i = 0; i < n; i++) lines.push(`${def.name}{service="svc:many-${i}"} ${i}`);
  return `${lines.join('\n')}\n`;
}

/** Header of the huge-body fault; `hugeChunk` supplies the rest. */
export function hugeHeader(): string {
  const def = FAMILIES.serveIn;
  return `# HELP ${def.name} ${def.help}\n# TYPE ${def.name} ${def.type}\n`;
}

/** `lines` valid sample lines numbered from `first`, for streaming a body of arbitrary size. */
export function hugeChunk(first: number, lines: number): string {
  let out = '';
  for (let i = first; i < first + lines; i++) out += `${FAMILIES.serveIn.name}{service="svc:huge-${i}"} ${i}\n`;
  return out;
}
