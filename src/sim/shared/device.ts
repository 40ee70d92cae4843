// The simulated device: the Tailscale API Device object (wire names and types, tailscale-facts §1.3)
// plus what the simulator needs to serve its client metrics.
import { keyFrom, numericId, stableNodeId, tailnetIPv4, tailnetIPv6 } from './ids.js';
import { DAY_MS, isoTime, ZERO_TIME } from './time.js';

export const MAGICDNS_SUFFIX = 'tail1234.ts.net';
/** The tag every metrics-serving device of both simulators carries (tsmetrics' SCRAPE_TAG default). */
export const EXPORTER_TAG = 'tag:exporter';
/** The routes an exit node advertises; every other route is a subnet route. */
export const EXIT_ROUTES: readonly string[] = ['0.0.0.0/0', '::/0'];
const DEFAULT_CLIENT_VERSION = '1.80.2-t62b8bf6a0-g3c35ee987';
const DEFAULT_USER = 'admin@example.com';

interface DerpLatency {
  latencyMs: number;
  preferred?: boolean;
}

interface ClientSupports {
  hairPinning: boolean | null;
  ipv6: boolean | null;
  pcp: boolean | null;
  pmp: boolean | null;
  udp: boolean | null;
  upnp: boolean | null;
}

interface ClientConnectivity {
  endpoints: string[];
  mappingVariesByDestIP: boolean;
  /** Keyed by DERP region NAME, e.g. "Frankfurt". */
  latency: Record<string, DerpLatency>;
  clientSupports: ClientSupports;
}

interface PostureIdentity {
  serialNumbers?: string[];
  disabled?: boolean;
}

export interface Distro {
  name: string;
  version: string;
  codeName: string;
}

/**
 * The Device object as `GET /devices?fields=all` returns it. Optional members are the ones the API
 * omits: `lastSeen` (while connected or if never seen), `multipleConnections` (unless true),
 * `tailnetLockError` (unless set), `tags` (untagged or external), and the fields=all extras when unknown.
 */
export interface DeviceRecord {
  addresses: string[];
  id: string;
  nodeId: string;
  user: string;
  name: string;
  hostname: string;
  clientVersion: string;
  updateAvailable: boolean;
  os: string;
  created: string;
  connectedToControl: boolean;
  lastSeen?: string;
  keyExpiryDisabled: boolean;
  expires: string;
  authorized: boolean;
  isExternal: boolean;
  multipleConnections?: boolean;
  machineKey: string;
  nodeKey: string;
  blocksIncomingConnections: boolean;
  enabledRoutes?: string[];
  advertisedRoutes?: string[];
  clientConnectivity?: ClientConnectivity;
  tags?: string[];
  tailnetLockError?: string;
  tailnetLockKey: string;
  sshEnabled?: boolean;
  postureIdentity?: PostureIdentity;
  isEphemeral: boolean;
  distro?: Distro;
}

/** What the device's `/metrics` endpoint reports beyond what follows from the API record. */
interface ClientMetricsProfile {
  homeDerpRegionId: number;
  healthWarnings: number;
  /** Total samples per answer; undefined means the natural set (about 24). */
  seriesPerDevice?: number;
}

export interface SimDeviceSpec extends DeviceRecord {
  /** Whether the device runs the web client so `http://<ip>:<port>/metrics` answers. */
  servesMetrics: boolean;
  clientMetrics: ClientMetricsProfile;
}

export interface SimDevice extends SimDeviceSpec {
  /** 127.0.X.Y where its `/metrics` listens; null when it serves no metrics. */
  readonly loopbackAddress: string | null;
}

/** DERP regions by id and the name the API uses as the latency key. */
const DERP_REGIONS: ReadonlyMap<number, string> = new Map([
  [1, 'New York City'],
  [2, 'San Francisco'],
  [4, 'Frankfurt'],
  [7, 'Tokyo'],
  [8, 'London'],
  [9, 'Dallas'],
]);

/** Fills every field `partial` leaves out with a plausible online Linux device. */
export function buildDevice(
  partial: Partial<SimDeviceSpec>,
  seed: string,
  index: number,
  nowMs: number,
): SimDeviceSpec {
  const hostname = partial.hostname ?? `device-${index}`;
  const external = partial.isExternal ?? false;
  const homeRegion = partial.clientMetrics?.homeDerpRegionId ?? 4;
  const defaults: SimDeviceSpec = {
    addresses: [tailnetIPv4(index), tailnetIPv6(index)],
    id: numericId(seed),
    nodeId: stableNodeId(seed),
    user: DEFAULT_USER,
    name: `${dnsLabel(hostname, 'device')}.${MAGICDNS_SUFFIX}`,
    hostname,
    clientVersion: external ? '' : DEFAULT_CLIENT_VERSION,
    updateAvailable: false,
    os: 'linux',
    created: external ? '' : isoTime(nowMs - 90 * DAY_MS - index * 60_000),
    connectedToControl: true,
    keyExpiryDisabled: false,
    expires: isoTime(nowMs + 120 * DAY_MS + index * 60_000),
    authorized: true,
    isExternal: external,
    machineKey: external ? '' : keyFrom('mkey', seed),
    nodeKey: keyFrom('nodekey', seed),
    blocksIncomingConnections: false,
    enabledRoutes: [],
    advertisedRoutes: [],
    clientConnectivity: connectivity(index, homeRegion),
    tailnetLockKey: keyFrom('tlpub', seed),
    sshEnabled: false,
    postureIdentity: { disabled: true },
    isEphemeral: false,
    servesMetrics: false,
    clientMetrics: { homeDerpRegionId: homeRegion, healthWarnings: 0 },
  };
  const device: SimDeviceSpec = { ...defaults, ...partial };
  if (device.keyExpiryDisabled && partial.expires === undefined) device.expires = ZERO_TIME;
  return device;
}

/** Client connectivity measuring three DERP regions, the home region marked preferred. */
function connectivity(index: number, homeRegionId: number): ClientConnectivity {
  const latency: Record<string, DerpLatency> = {};
  const others = [1, 4, 8].filter((id) => id !== homeRegionId).slice(0, 2);
  for (const id of [homeRegionId, ...others]) {
    const name = DERP_REGIONS.get(id) ?? `Region ${id}`;
    latency[name] =
      id === homeRegionId ? { latencyMs: 8.5 + (index % 7), preferred: true } : { latencyMs: 40 + id * 9.25 };
  }
  return {
    endpoints: [`203.0.113.${(index % 250) + 1}:41641`, `192.168.1.${(index % 250) + 2}:41641`],
    mappingVariesByDestIP: false,
    latency,
    clientSupports: {
      hairPinning: null,
      ipv6: index % 3 !== 0,
      pcp: false,
      pmp: false,
      udp: true,
      upnp: index % 2 === 0,
    },
  };
}

export function isExitRoute(route: string): boolean {
  return EXIT_ROUTES.includes(route);
}

/** True if `key` names this device: nodeId, numeric id, hostname or MagicDNS name. */
export function deviceMatches(device: DeviceRecord, key: string): boolean {
  return device.nodeId === key || device.id === key || device.hostname === key || device.name === key;
}

/** MagicDNS-style label (and Headscale's given name): lowercase letters, digits and dashes. */
export function dnsLabel(hostname: string, fallback: string): string {
  const label = hostname
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return label === '' ? fallback : label.slice(0, 63);
}
